"""The aiohttp application that serves public/: pages, feeds and media with HTTP Range.

aiohttp's FileResponse does the protocol work (Range, If-Range, HEAD,
ETag/Last-Modified and 304s, sendfile); this module decides which file a URL
may name, its exact type and how long it may be cached.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.typedefs import Handler, LooseHeaders

from mediahub.catalog.tags import AUDIO_SUFFIXES
from mediahub.serve import livereload
from mediahub.serve.prepared import Prepared, PreparedCache, choose_encoding
from mediahub.serve.stats import DownloadCounter

PUBLIC_DIR = web.AppKey("public_dir", Path)

_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip",
    ".txt": "text/plain; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
_SPECIAL = {
    "feed.xml": "application/rss+xml; charset=utf-8",
    "chapters.json": "application/json+chapters",
}
_MEDIA = frozenset(
    {
        ".mp3",
        ".m4a",
        ".mp4",
        ".aac",
        ".ogg",
        ".oga",
        ".opus",
        ".flac",
        ".wav",
        ".jpg",
        ".jpeg",
        ".png",
        ".webp",
    }
)

log = logging.getLogger("mediahub.serve")

# Text worth compressing, served from memory (small, read often); everything else streams.
_COMPRESSIBLE = frozenset(
    {
        ".html",
        ".xml",
        ".rss",
        ".atom",
        ".json",
        ".css",
        ".js",
        ".vtt",
        ".srt",
        ".txt",
        ".opml",
        ".svg",
    }
)
_CORS = frozenset({".vtt", ".srt", ".json", ".xml", ".rss", ".atom"})
_MEMORY_LIMIT = 2 * 1024 * 1024
_ZERO_SUFFIX = re.compile(r"^\s*bytes\s*=\s*-\s*0+\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How the server treats requests: which proxies to trust, dev-mode extras."""

    trusted_proxies: frozenset[str] = frozenset()
    dev: bool = False
    # Record which request targets name which cached file, for the fast path.
    fast_targets: bool = False
    # serve.header_timeout: to send a request head once begun; and keep-alive idling.
    header_seconds: float = 20.0


OPTIONS = web.AppKey("options", ServeOptions)
COUNTER = web.AppKey("download_counter", DownloadCounter)


def content_type(path: Path) -> str:
    return _SPECIAL.get(path.name) or _TYPES.get(path.suffix.lower(), "application/octet-stream")


def cache_control(path: Path) -> str:
    """Feeds and pages change when something is published; media never changes in place."""
    if path.suffix.lower() in _MEDIA:
        return "public, max-age=604800"
    if path.name == "feed.xml" or path.suffix.lower() in (".xml", ".rss", ".atom"):
        return "public, max-age=60"
    return "public, max-age=300"


def resolve_inside(root: Path, tail: str) -> Path | None:
    """The file under ``root`` that URL path ``tail`` names, or None if it would leave root.

    Symlinks are resolved before the check, so a link pointing out is refused too.
    """
    if "\x00" in tail or "\\" in tail:
        return None
    parts = [p for p in tail.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    candidate = root.joinpath(*parts)
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return resolved if resolved.is_relative_to(root) else None


TEXT_CACHE = web.AppKey("text_cache", PreparedCache)


def _not_modified(request: web.Request, etags: tuple[str, ...], mtime: float) -> bool:
    """RFC 9110 13.1: If-None-Match wins over If-Modified-Since (weak comparison)."""
    if_none = request.headers.get(hdrs.IF_NONE_MATCH)
    if if_none is not None:
        if if_none.strip() == "*":
            return True
        offered = {tag.strip().removeprefix("W/").strip('"') for tag in if_none.split(",")}
        return any(tag in offered for tag in etags)
    since = request.if_modified_since
    return since is not None and int(mtime) <= since.timestamp()


def _text_headers(path: Path) -> dict[str, str]:
    headers: dict[str, str] = {
        hdrs.CONTENT_TYPE: content_type(path),
        hdrs.CACHE_CONTROL: cache_control(path),
    }
    if path.suffix.lower() in _CORS:
        headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = "*"
    return headers


def _serve_text(request: web.Request, path: Path, st: os.stat_result) -> web.Response:
    cache = request.app[TEXT_CACHE]
    entry = cache.get(path, st, _text_headers(path))
    if request.app[OPTIONS].fast_targets and request.raw_path.isascii():
        cache.remember(request.raw_path.encode("ascii"), entry)
    if request.app[OPTIONS].dev and path.suffix.lower() == ".html":
        return _with_reload(request, entry)
    encoding = choose_encoding(request.headers.get(hdrs.ACCEPT_ENCODING, ""), entry.offered())
    variant = entry.variants[encoding]
    if _not_modified(request, entry.etags, entry.mtime):
        return web.Response(status=304, headers=variant.headers)
    return web.Response(body=variant.body, headers=variant.headers)


def _with_reload(request: web.Request, entry: Prepared) -> web.Response:
    """--dev: the page with the live-reload script, uncompressed, never cached by the browser."""
    plain = entry.variants["identity"]
    headers = {k: v for k, v in plain.headers.items() if k not in ("ETag", "Last-Modified")}
    headers[hdrs.CACHE_CONTROL] = "no-store"
    return web.Response(body=livereload.inject(plain.body), headers=headers)


# Targets the fast path may resolve itself: no escapes, no query, nothing to decode.
_PLAIN_TARGET = re.compile(rb"/[A-Za-z0-9._~/-]*")


def _target_loader(root: Path, cache: PreparedCache) -> Callable[[bytes], Prepared | None]:
    """For the fast path: the prepared text file a plain target names, as serve_file finds it.

    None whenever serve_file would do anything else (redirect, 404, stream a file).
    """

    def load(target: bytes) -> Prepared | None:
        if _PLAIN_TARGET.fullmatch(target) is None:
            return None
        tail = target[1:].decode("ascii")
        path = resolve_inside(root, tail)
        if path is not None and path.is_dir():
            if not tail.endswith("/") and tail:
                return None
            path = resolve_inside(root, f"{tail}/index.html")
        if path is None or path.suffix.lower() not in _COMPRESSIBLE:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MEMORY_LIMIT:
            return None
        entry = cache.get(path, st, _text_headers(path))
        cache.remember(target, entry)
        return entry

    return load


async def serve_file(request: web.Request) -> web.StreamResponse:
    root = request.app[PUBLIC_DIR]
    tail = request.match_info.get("tail", "")
    path = resolve_inside(root, tail)
    if path is not None and path.is_dir():
        if not request.path.endswith("/"):
            raise web.HTTPMovedPermanently(location=request.path + "/")
        path = resolve_inside(root, f"{tail}/index.html")
    if path is None:
        return not_found(root)
    try:
        st = path.stat()
    except OSError:
        return not_found(root)
    if not stat.S_ISREG(st.st_mode):
        return not_found(root)
    if _ZERO_SUFFIX.match(request.headers.get(hdrs.RANGE, "")):
        # aiohttp reads "bytes=-0" as the whole file; RFC 9110 14.1.1: unsatisfiable.
        raise web.HTTPRequestRangeNotSatisfiable(
            headers={hdrs.CONTENT_RANGE: f"bytes */{st.st_size}"}
        )
    suffix = path.suffix.lower()
    if (
        suffix in _COMPRESSIBLE
        and st.st_size <= _MEMORY_LIMIT
        and hdrs.RANGE not in request.headers
        and hdrs.IF_MATCH not in request.headers
        and hdrs.IF_UNMODIFIED_SINCE not in request.headers
    ):
        return _serve_text(request, path, st)
    headers = {hdrs.CONTENT_TYPE: content_type(path), hdrs.CACHE_CONTROL: cache_control(path)}
    if suffix in _CORS:
        headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = "*"
    counter = request.app.get(COUNTER)
    if counter is None or suffix not in AUDIO_SUFFIXES:
        return web.FileResponse(path, headers=headers)
    relative = path.relative_to(root).as_posix()

    def sent(response: web.StreamResponse) -> None:
        """Count what was actually served (a HEAD, 304 or 416 serves no audio)."""
        served = 0
        if request.method == "GET" and response.status in (200, 206):
            served = response.content_length or 0
        counter.served(
            request.remote or "",
            request.headers.get(hdrs.USER_AGENT, ""),
            relative,
            (path, st.st_size, st.st_mtime_ns),
            served,
        )

    return _CountedFile(path, sent, headers=headers)


class _CountedFile(web.FileResponse):
    """A FileResponse that reports, once sent, what it served (for download statistics)."""

    def __init__(
        self, path: Path, sent: Callable[[web.StreamResponse], None], headers: LooseHeaders
    ) -> None:
        super().__init__(path, headers=headers)
        self._sent = sent

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        writer = await super().prepare(request)
        self._sent(self)
        return writer


async def healthz(request: web.Request) -> web.Response:
    """For load balancers and uptime checks: the process answers and public/ is there."""
    ok = (request.app[PUBLIC_DIR] / "index.html").is_file()
    return web.json_response({"ok": ok}, status=200 if ok else 503)


def not_found(root: Path) -> web.Response:
    page = root / "404.html"
    body = page.read_bytes() if page.is_file() else b"<h1>Not found</h1>"
    return web.Response(status=404, body=body, content_type="text/html", charset="utf-8")


@web.middleware
async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Honour X-Forwarded-For/-Proto/-Host only from a proxy the configuration trusts."""
    trusted = request.app[OPTIONS].trusted_proxies
    if trusted and request.remote in trusted:
        changes: dict[str, str] = {}
        client = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        if client:
            changes["remote"] = client
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            changes["scheme"] = proto
        host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        if host:
            changes["host"] = host
        if changes:
            request = request.clone(**changes)  # type: ignore[arg-type]
    return await handler(request)


def make_app(
    public_dir: Path, options: ServeOptions | None = None, routes: Sequence[web.RouteDef] = ()
) -> web.Application:
    """The static side: public/ with the right types, validators, ranges and compression.

    ``routes`` (the hub, the stats page, ...) are matched before the files.
    """
    app = web.Application(middlewares=[forwarded])
    app[PUBLIC_DIR] = public_dir.resolve()
    app[OPTIONS] = options or ServeOptions()
    app[TEXT_CACHE] = cache = PreparedCache()
    if app[OPTIONS].fast_targets:
        cache.loader = _target_loader(app[PUBLIC_DIR], cache)
    app.router.add_get("/healthz", healthz)
    app.router.add_routes(routes)
    app.router.add_get("/{tail:.*}", serve_file)
    return app
