"""The aiohttp application that serves public/: pages, feeds and media with HTTP Range.

aiohttp's FileResponse does the protocol work (Range, If-Range, HEAD,
ETag/Last-Modified and 304s, sendfile); this module decides which file a URL
may name, its exact type and how long it may be cached.
"""

from __future__ import annotations

import gzip
import logging
import os
import stat
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from mediahub.catalog.tags import AUDIO_SUFFIXES
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
_CACHE_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How the server treats requests: which proxies to trust, dev-mode extras."""

    trusted_proxies: frozenset[str] = frozenset()
    dev: bool = False


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


@dataclass(frozen=True, slots=True)
class _Text:
    """One small text file held in memory with its gzip form and validators."""

    key: tuple[int, int, int]
    etag: str
    mtime: float
    plain: bytes
    gzipped: bytes | None


class TextCache:
    """Small text files (pages, feeds) kept in memory, re-read when their stat changes."""

    def __init__(self) -> None:
        self._entries: OrderedDict[Path, _Text] = OrderedDict()

    def get(self, path: Path, st: os.stat_result) -> _Text:
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        entry = self._entries.get(path)
        if entry is not None and entry.key == key:
            self._entries.move_to_end(path)
            return entry
        plain = path.read_bytes()
        packed = gzip.compress(plain, compresslevel=6, mtime=0) if len(plain) > 512 else None
        entry = _Text(key, f"{st.st_mtime_ns:x}-{st.st_size:x}", st.st_mtime, plain, packed)
        self._entries[path] = entry
        if len(self._entries) > _CACHE_ENTRIES:
            self._entries.popitem(last=False)
        return entry


TEXT_CACHE = web.AppKey("text_cache", TextCache)


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


def _serve_text(request: web.Request, path: Path, st: os.stat_result) -> web.Response:
    entry = request.app[TEXT_CACHE].get(path, st)
    headers = {
        hdrs.CONTENT_TYPE: content_type(path),
        hdrs.CACHE_CONTROL: cache_control(path),
        hdrs.VARY: "Accept-Encoding",
        hdrs.ACCEPT_RANGES: "bytes",
        hdrs.LAST_MODIFIED: formatdate(entry.mtime, usegmt=True),
    }
    if path.suffix.lower() in _CORS:
        headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = "*"
    wants_gzip = (
        entry.gzipped is not None
        and "gzip" in request.headers.get(hdrs.ACCEPT_ENCODING, "").lower()
    )
    etag = entry.etag + ("-gz" if wants_gzip else "")
    headers[hdrs.ETAG] = f'"{etag}"'
    if _not_modified(request, (entry.etag, entry.etag + "-gz"), entry.mtime):
        return web.Response(status=304, headers=headers)
    if wants_gzip:
        headers[hdrs.CONTENT_ENCODING] = "gzip"
        return web.Response(body=entry.gzipped, headers=headers)
    return web.Response(body=entry.plain, headers=headers)


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
    response = web.FileResponse(path, headers=headers)
    counter = request.app.get(COUNTER)
    if counter is None or suffix not in AUDIO_SUFFIXES:
        return response
    # Send it here, so the download counter sees what was actually served.
    await response.prepare(request)
    await response.write_eof()
    served = 0
    if request.method == "GET" and response.status in (200, 206):
        served = response.content_length or 0
    counter.served(
        request.remote or "",
        request.headers.get(hdrs.USER_AGENT, ""),
        path.relative_to(root).as_posix(),
        (path, st.st_size, st.st_mtime_ns),
        served,
    )
    return response


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
    app[TEXT_CACHE] = TextCache()
    app.router.add_get("/healthz", healthz)
    app.router.add_routes(routes)
    app.router.add_get("/{tail:.*}", serve_file)
    return app
