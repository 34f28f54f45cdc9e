"""Small text files (pages, feeds) prepared once: body, gzip and brotli forms, header blocks.

Both ways of answering share these: the aiohttp handler (``app.py``) and the
fast path (``fastpath.py``), which writes the prepared bytes straight to the
socket. An entry is re-checked against the file's stat at most once per
``REVALIDATE`` seconds (like nginx's ``open_file_cache_valid``), so a hot page
costs no system call per request and a rebuilt page is served within a second.
"""

from __future__ import annotations

import gzip
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

_brotli: Any
try:  # brotli packs text ~15-20% smaller than gzip; without it, gzip only
    import brotli as _brotli  # type: ignore[import-untyped,no-redef]
except ImportError:  # pragma: no cover - depends on what is installed
    _brotli = None

REVALIDATE = 1.0
MIN_COMPRESS = 512
CACHE_ENTRIES = 512
ENCODINGS = ("br", "gzip", "identity")


def brotli_available() -> bool:
    return _brotli is not None


def choose_encoding(accept: str, offered: tuple[str, ...]) -> str:
    """The best of ``offered`` (brotli, then gzip) that Accept-Encoding allows; else identity."""
    if not accept:
        return "identity"
    allowed: dict[str, float] = {}
    for part in accept.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        allowed[name.strip()] = q
    star = allowed.get("*", 0.0)
    for encoding in offered:
        if allowed.get(encoding, star) > 0:
            return encoding
    return "identity"


class HttpDate:
    """The current IMF-fixdate and access-log time, recomputed once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._date = b""
        self._log = ""

    def _refresh(self) -> None:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._date = formatdate(now, usegmt=True).encode()
            self._log = time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(now))

    def header(self) -> bytes:
        self._refresh()
        return self._date

    def log_time(self) -> str:
        self._refresh()
        return self._log


CLOCK = HttpDate()


def _block(headers: dict[str, str]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")


@dataclass(frozen=True, slots=True)
class Variant:
    """One encoding of an entry: its body, ETag and the headers of a 200 and of a 304."""

    encoding: str
    body: bytes
    etag: str
    headers: dict[str, str]
    ok_head: bytes  # "HTTP/1.1 200 OK\r\n" + headers (no Date, no final CRLF)
    not_modified_head: bytes


@dataclass(slots=True)
class Prepared:
    """A small text file ready to send in every encoding a client may ask for."""

    path: Path
    key: tuple[int, int, int]
    etag: str  # the identity form's; the others add -gz / -br
    mtime: float
    last_modified: str
    variants: dict[str, Variant]
    checked: float = field(default=0.0)

    @property
    def etags(self) -> tuple[str, ...]:
        return tuple(v.etag for v in self.variants.values())

    def offered(self) -> tuple[str, ...]:
        return tuple(e for e in ENCODINGS if e in self.variants and e != "identity")

    def not_modified(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        """RFC 9110 13.1: If-None-Match wins over If-Modified-Since (weak comparison).

        If-Modified-Since is compared as the exact date we sent (what clients echo);
        the aiohttp handler parses other forms.
        """
        if if_none_match is not None:
            if if_none_match.strip() == "*":
                return True
            offered = {t.strip().removeprefix("W/").strip('"') for t in if_none_match.split(",")}
            return any(tag in offered for tag in self.etags)
        return if_modified_since is not None and if_modified_since.strip() == self.last_modified


def _key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def prepare(path: Path, st: os.stat_result, base_headers: dict[str, str]) -> Prepared:
    """Read ``path`` and precompute its compressed forms and header blocks."""
    plain = path.read_bytes()
    etag = f"{st.st_mtime_ns:x}-{len(plain):x}"
    last_modified = formatdate(st.st_mtime, usegmt=True)
    bodies = {"identity": plain}
    if len(plain) >= MIN_COMPRESS:
        bodies["gzip"] = gzip.compress(plain, compresslevel=6, mtime=0)
        if _brotli is not None:
            bodies["br"] = _brotli.compress(plain, quality=9, mode=_brotli.MODE_TEXT)
    variants: dict[str, Variant] = {}
    for encoding, body in bodies.items():
        tag = etag + {"identity": "", "gzip": "-gz", "br": "-br"}[encoding]
        headers = {
            **base_headers,
            "Vary": "Accept-Encoding",
            "Accept-Ranges": "bytes",
            "Last-Modified": last_modified,
            "ETag": f'"{tag}"',
        }
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        head = _block(headers)
        variants[encoding] = Variant(
            encoding,
            body,
            tag,
            headers,
            b"HTTP/1.1 200 OK\r\n" + head + f"Content-Length: {len(body)}\r\n".encode(),
            b"HTTP/1.1 304 Not Modified\r\n" + head,
        )
    return Prepared(path, _key(st), etag, st.st_mtime, last_modified, variants, time.monotonic())


class PreparedCache:
    """Prepared entries by file, and by the raw request target that named them (fast path)."""

    def __init__(self, limit: int = CACHE_ENTRIES) -> None:
        self._limit = limit
        # Finds and prepares the file a target names when it is not cached yet (app.py).
        self.loader: Callable[[bytes], Prepared | None] | None = None
        self._by_path: OrderedDict[Path, Prepared] = OrderedDict()
        self._by_target: dict[bytes, Prepared] = {}

    def get(self, path: Path, st: os.stat_result, base_headers: dict[str, str]) -> Prepared:
        """The entry for a file just stat'ed; re-read if it changed."""
        entry = self._by_path.get(path)
        if entry is not None and entry.key == _key(st):
            entry.checked = time.monotonic()
            self._by_path.move_to_end(path)
            return entry
        entry = prepare(path, st, base_headers)
        self._by_path[path] = entry
        if len(self._by_path) > self._limit:
            self._by_path.popitem(last=False)
        return entry

    def remember(self, target: bytes, entry: Prepared) -> None:
        """Let the fast path answer ``target`` (a raw request target) from ``entry``."""
        if len(self._by_target) >= self._limit:
            self._by_target.clear()
        self._by_target[target] = entry

    def lookup(self, target: bytes) -> Prepared | None:
        """The entry for a raw request target, if known and still fresh (stat at most 1/s)."""
        entry = self._by_target.get(target)
        if entry is not None:
            now = time.monotonic()
            if now - entry.checked < REVALIDATE:
                return entry
            try:
                st = entry.path.stat()
            except OSError:
                st = None
            if st is not None and _key(st) == entry.key and self._by_path.get(entry.path) is entry:
                entry.checked = now
                return entry
            del self._by_target[target]
        return None if self.loader is None else self.loader(target)

    def clear(self) -> None:
        """After a rebuild: forget everything (the next request re-reads)."""
        self._by_path.clear()
        self._by_target.clear()
