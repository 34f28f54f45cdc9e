"""The aiohttp application that serves public/: pages, feeds and media with HTTP Range.

aiohttp's FileResponse does the protocol work (Range, If-Range, HEAD,
ETag/Last-Modified and 304s, sendfile); this module decides which file a URL
may name, its exact type and how long it may be cached.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

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


def content_type(path: Path) -> str:
    return _SPECIAL.get(path.name) or _TYPES.get(path.suffix.lower(), "application/octet-stream")


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


async def serve_file(request: web.Request) -> web.StreamResponse:
    root = request.app[PUBLIC_DIR]
    tail = request.match_info.get("tail", "")
    path = resolve_inside(root, tail)
    if path is not None and path.is_dir():
        if not request.path.endswith("/"):
            raise web.HTTPMovedPermanently(location=request.path + "/")
        path = resolve_inside(root, f"{tail}/index.html")
    if path is None or not path.is_file():
        return not_found(root)
    headers = {"Content-Type": content_type(path)}
    if path.suffix.lower() in _MEDIA:
        headers["Cache-Control"] = "public, max-age=86400"
    else:
        headers["Cache-Control"] = "public, max-age=300"
    return web.FileResponse(path, headers=headers)


def not_found(root: Path) -> web.Response:
    page = root / "404.html"
    body = page.read_bytes() if page.is_file() else b"<h1>Not found</h1>"
    return web.Response(status=404, body=body, content_type="text/html", charset="utf-8")


def make_app(public_dir: Path) -> web.Application:
    app = web.Application()
    app[PUBLIC_DIR] = public_dir.resolve()
    app.router.add_get("/{tail:.*}", serve_file)
    return app
