"""The one aiohttp client of the project: polite, bounded, guarded HTTP.

Every request goes through the network guard: IP literals are checked before
the request, host names on what they resolve to (``GuardedResolver``), and
redirects are followed by hand so that each hop is checked again. Bodies are
decompressed here, under the size limit, so a gzip bomb is cut off after
``max_bytes`` of output rather than after filling memory.
"""

from __future__ import annotations

import hashlib
import re
import socket
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from mediahub import __version__
from mediahub.aggregate.guard import NetworkGuard
from mediahub.errors import FetchError, GuardError

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
)
REDIRECTS = (301, 302, 303, 307, 308)
PERMANENT = (301, 308)
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Limits of one fetching session (from the [aggregate] table)."""

    concurrency: int = 32
    per_host: int = 2
    max_bytes: int = 15 * 1024 * 1024
    connect_timeout: float = 10.0
    total_timeout: float = 60.0
    max_redirects: int = 5
    user_agent: str = f"mediahub/{__version__}"


def user_agent(hub_url: str | None) -> str:
    """A User-Agent naming mediahub and the hub, so feed owners can see who fetches."""
    return f"mediahub/{__version__} (+{hub_url})" if hub_url else f"mediahub/{__version__}"


@dataclass(frozen=True, slots=True)
class Response:
    """A fetched resource: status 200 (body), 304 (not modified) or 410 (gone)."""

    url: str
    status: int
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # Where every hop of the redirect chain was permanent (301/308), the final URL.
    permanent_url: str | None = None
    # Freshness the server declared (Cache-Control max-age or Expires), in seconds.
    max_age: float | None = None

    @property
    def body_hash(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True, slots=True)
class Probe:
    """The answer to one ``Fetcher.probe``: final URL, status, headers, a body prefix."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""


class GuardedResolver(AbstractResolver):
    """Resolves with ``inner`` (the system resolver by default), then asks the guard.

    A name is refused if *any* address it resolves to is refused, so a name
    cannot smuggle a loopback address in among public ones.
    """

    def __init__(self, guard: NetworkGuard, inner: AbstractResolver | None = None) -> None:
        self.guard = guard
        self.inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            self.guard.check_address(result["host"], f"{host} (resolves to {result['host']})")
        return results

    async def close(self) -> None:
        await self.inner.close()


class Fetcher:
    """One aiohttp session with global and per-host connection limits.

    ``async with Fetcher(guard, settings) as fetcher: await fetcher.get(url)``.
    """

    def __init__(
        self,
        guard: NetworkGuard,
        settings: FetchSettings | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.guard = guard
        self.settings = settings or FetchSettings()
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        self._session = _session(self.guard, self.settings, self._resolver)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> Response:
        """GET ``url`` conditionally, following up to ``max_redirects`` guarded hops.

        Returns 200, 304 or 410 responses; raises FetchError (GuardError for a
        refused address) for everything else, with ``retry_after`` for 429/503.
        """
        if self._session is None:
            raise RuntimeError("use 'async with Fetcher(...)'")
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, permanent = url, True
        for _hop in range(self.settings.max_redirects + 1):
            self.guard.check_url(current)
            try:
                async with self._session.get(
                    current, headers=headers, allow_redirects=False
                ) as resp:
                    if resp.status in REDIRECTS:
                        location = resp.headers.get("Location")
                        if not location:
                            raise FetchError(current, f"HTTP {resp.status} without a Location")
                        permanent = permanent and resp.status in PERMANENT
                        current = urljoin(current, location)
                        continue
                    return await self._finish(url, current, resp, permanent)
            except (FetchError, GuardError):
                raise
            except TimeoutError:
                raise FetchError(
                    current,
                    f"timed out after {self.settings.total_timeout:g} s",
                    "the server is slow or down; it will be retried later",
                ) from None
            except aiohttp.ClientError as exc:
                raise FetchError(current, f"cannot fetch: {_describe(exc)}") from None
        raise FetchError(
            url, f"more than {self.settings.max_redirects} redirects", "fix the source's URL"
        )

    async def probe(
        self, url: str, method: str = "HEAD", headers: Mapping[str, str] | None = None
    ) -> Probe:
        """One request for its status and headers (``mediahub check``: HEAD, Range).

        Redirects are followed through the guard like ``get``; any status is
        returned, not raised; at most 64 KiB of the body is read.
        """
        if self._session is None:
            raise RuntimeError("use 'async with Fetcher(...)'")
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            self.guard.check_url(current)
            try:
                async with self._session.request(
                    method, current, headers=dict(headers or {}), allow_redirects=False
                ) as resp:
                    location = resp.headers.get("Location")
                    if resp.status in REDIRECTS and location:
                        current = urljoin(current, location)
                        continue
                    body = b"" if method == "HEAD" else await resp.content.read(_CHUNK)
                    return Probe(current, resp.status, dict(resp.headers), body)
            except GuardError:
                raise
            except TimeoutError:
                raise FetchError(
                    current, f"timed out after {self.settings.total_timeout:g} s"
                ) from None
            except aiohttp.ClientError as exc:
                raise FetchError(current, f"cannot fetch: {_describe(exc)}") from None
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects")

    async def _finish(
        self, asked: str, url: str, resp: aiohttp.ClientResponse, permanent: bool
    ) -> Response:
        moved = url if permanent and url != asked else None
        if resp.status == 304:
            return Response(
                url,
                304,
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                permanent_url=moved,
                max_age=_max_age(resp.headers),
            )
        if resp.status == 410:
            return Response(url, 410, permanent_url=moved)
        if resp.status != 200:
            retry = _retry_after(resp.headers.get("Retry-After"))
            raise FetchError(
                url,
                f"HTTP {resp.status} {resp.reason or ''}".rstrip(),
                f"retrying after {retry:g} s as the server asked" if retry else "",
                status=resp.status,
                retry_after=retry,
            )
        body = await read_limited(resp, self.settings.max_bytes, url)
        if not body or body.isspace():  # not strip(): that copies the whole body
            raise FetchError(url, "answered with an empty body", "check the feed URL")
        return Response(
            url,
            200,
            body,
            content_type=resp.headers.get("Content-Type"),
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            permanent_url=moved,
            max_age=_max_age(resp.headers),
        )


def _session(
    guard: NetworkGuard, settings: FetchSettings, resolver: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=settings.concurrency,
        limit_per_host=settings.per_host,
        resolver=GuardedResolver(guard, resolver),
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(
            total=settings.total_timeout, sock_connect=settings.connect_timeout
        ),
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )


async def read_limited(resp: aiohttp.ClientResponse, limit: int, where: str) -> bytes:
    """The decoded body, refused as soon as it would exceed ``limit`` bytes."""
    too_big = FetchError(
        where, f"body is larger than {limit / 1024 / 1024:g} MiB", "raise max_body_mb if it is real"
    )
    declared = resp.headers.get("Content-Length", "")
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > limit:
        raise too_big
    decoder = _Decoder(encoding, where)
    # Chunks joined once at the end: a growing bytearray copied a large body over and
    # over as it grew, then once more into bytes.
    chunks: list[bytes] = []
    size = 0
    # As received (no re-slicing into fixed sizes); the limit is checked after each.
    async for chunk in resp.content.iter_any():
        data = decoder.feed(chunk, limit - size + 1)
        chunks.append(data)
        size += len(data)
        if size > limit:
            raise too_big
    data = decoder.flush(limit - size + 1)
    chunks.append(data)
    if size + len(data) > limit:
        raise too_big
    return b"".join(chunks)


class _Decoder:
    """gzip/deflate decoding that never produces more than it is asked for."""

    def __init__(self, encoding: str, where: str) -> None:
        self.where = where
        self.raw_fallback = False
        if encoding in ("", "identity"):
            self.z: zlib._Decompress | None = None
        elif encoding in ("gzip", "x-gzip"):
            self.z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.z = zlib.decompressobj(zlib.MAX_WBITS)
            self.raw_fallback = True  # some servers send raw deflate without the zlib header
        else:
            raise FetchError(where, f"unsupported Content-Encoding {encoding!r}")

    def feed(self, data: bytes, room: int) -> bytes:
        if self.z is None:
            return data
        try:
            out = self.z.decompress(data, room)
        except zlib.error as exc:
            if not self.raw_fallback:
                raise FetchError(self.where, f"body cannot be decompressed: {exc}") from None
            self.raw_fallback = False
            self.z = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data, room)
        self.raw_fallback = False
        # Output stopped at ``room`` with input left: the caller sees it is over the limit.
        return out

    def flush(self, room: int) -> bytes:
        if self.z is None:
            return b""
        return self.z.decompress(self.z.unconsumed_tail, room) if self.z.unconsumed_tail else b""


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _max_age(headers: Mapping[str, str]) -> float | None:
    match = re.search(r"max-age\s*=\s*(\d+)", headers.get("Cache-Control", ""))
    if match:
        return float(match.group(1))
    return _retry_after(headers.get("Expires")) if headers.get("Expires") else None


def _describe(exc: aiohttp.ClientError) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def read_local(url: str, folder: Path, max_bytes: int) -> Response:
    """Read a ``file:`` source, which must lie inside ``folder`` (the hub's feeds folder)."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise FetchError(url, "is not a local file: URL", 'write e.g. "file:feeds/name.xml"')
    raw = unquote(parts.path)
    path = (folder.parent / raw if not raw.startswith("/") else Path(raw)).resolve()
    base = folder.resolve()
    if not path.is_relative_to(base):
        raise FetchError(
            url, f"is outside the feeds folder {base}", "put local feeds under [aggregate] files"
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchError(url, f"is larger than {max_bytes / 1024 / 1024:g} MiB")
        body = path.read_bytes()
    except FileNotFoundError:
        raise FetchError(url, f"no such file {path}", "check the path in the source") from None
    except OSError as exc:
        raise FetchError(url, f"cannot be read: {exc.strerror}") from None
    if not body.strip():
        raise FetchError(url, "is empty", "check the file")
    return Response(url, 200, body)


async def post(
    url: str,
    *,
    data: Mapping[str, str] | None = None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    guard: NetworkGuard,
    timeout: float = 10,
) -> int:
    """POST once (WebSub pings and content distribution) through the guard; the status.

    Redirects are not followed: a hub that moves answers 3xx, which the caller sees.
    """
    guard.check_url(url)
    settings = FetchSettings(total_timeout=timeout, connect_timeout=min(timeout, 10))
    async with _session(guard, settings) as session:
        try:
            async with session.post(
                url,
                data=dict(data) if data is not None else body,
                headers=dict(headers or {}),
                allow_redirects=False,
            ) as resp:
                await resp.content.read(_CHUNK)  # a short answer is enough; drop the rest
                return resp.status
        except GuardError:
            raise
        except TimeoutError:
            raise FetchError(url, f"timed out after {timeout:g} s", "try again later") from None
        except aiohttp.ClientError as exc:
            raise FetchError(url, f"cannot post: {_describe(exc)}") from None
