"""The fast path: cached pages and feeds answered straight from prepared bytes.

Most requests a hub gets are a page or the feed (often a conditional GET
answered 304). For those, parsing the request into aiohttp's objects and
building a Response costs far more than the answer itself. ``FastProtocol``
reads plain ``GET``/``HEAD`` HTTP/1.1 requests for targets the aiohttp handler
has already served from the prepared cache, and writes the prepared status
line, headers and body in one call.

Anything else -- a request body, Range, other methods or versions, a target
not yet cached, a header it does not understand the meaning of, a trusted
proxy's request -- hands the connection (with every byte read so far) to
aiohttp's own protocol for the rest of its life, so behaviour stays exactly
aiohttp's for everything but the cached hits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from mediahub.serve.accesslog import AccessLog
from mediahub.serve.prepared import CLOCK, PreparedCache, choose_encoding

MAX_HEAD = 8192
# A client that sends requests but does not read the answers: past this many bytes
# waiting to be sent, aiohttp (which waits for the socket to drain) takes over.
MAX_UNSENT = 1024 * 1024
IDLE_SECONDS = 75.0
_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
# Headers whose meaning the fast path does not implement: aiohttp answers these requests.
_HAND_OVER = frozenset(
    {
        b"content-length",
        b"transfer-encoding",
        b"range",
        b"if-range",
        b"if-match",
        b"if-unmodified-since",
        b"expect",
        b"upgrade",
    }
)


class FastProtocol(asyncio.Protocol):
    """One connection: cached hits answered here, the rest handed to aiohttp."""

    def __init__(
        self,
        cache: PreparedCache,
        fallback: Callable[[], asyncio.Protocol],
        log: AccessLog,
        live: set[FastProtocol],
        trusted: frozenset[str] = frozenset(),
        head_seconds: float = 20.0,
    ) -> None:
        self._cache = cache
        self._head_seconds = head_seconds
        # Set while a request head is arriving: a client that trickles it (slow-loris)
        # is answered 408 and closed when it runs out; the idle check alone would
        # not, since each byte counts as activity.
        self._head_timer: asyncio.TimerHandle | None = None
        self._fallback = fallback
        self._log = log
        self._live = live
        self._trusted = trusted
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._remote = "-"
        self._handed = False
        self._busy = False
        self._idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        self._remote = str(peer[0]) if isinstance(peer, tuple) and peer else "-"
        if self._remote in self._trusted:
            self._hand_over(b"")  # X-Forwarded-* needs aiohttp's middleware
            return
        self._live.add(self)
        self._idle = asyncio.get_running_loop().call_later(IDLE_SECONDS, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._live.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        self._stop_head_timer()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._handed or self._transport is None or not self._buffer:
            return
        self._transport.write(_REQUEST_TIMEOUT)
        self._transport.close()

    def close(self) -> None:
        """Shutdown: an idle keep-alive connection is simply closed."""
        if self._transport is not None and not self._handed:
            self._transport.close()

    def _check_idle(self) -> None:
        if self._handed or self._transport is None:
            return
        if not self._busy:
            self._transport.close()
            return
        self._busy = False
        self._idle = asyncio.get_running_loop().call_later(IDLE_SECONDS, self._check_idle)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        self._busy = True
        while buffer:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    self._stop_head_timer()
                    self._hand_over(buffer)
                    return
                self._buffer = buffer
                if self._head_timer is None:
                    loop = asyncio.get_running_loop()
                    self._head_timer = loop.call_later(self._head_seconds, self._head_timeout)
                return
            self._stop_head_timer()
            assert self._transport is not None
            unsent = self._transport.get_write_buffer_size()
            if end > MAX_HEAD or unsent > MAX_UNSENT or not self._answer(buffer[:end]):
                # Oversized heads too: aiohttp's parser enforces the header limits.
                self._hand_over(buffer)
                return
            buffer = buffer[end + 4 :]
            if self._transport is None or self._transport.is_closing():
                return
        self._buffer = b""

    def _answer(self, head: bytes) -> bool:
        """Answer one request from the cache; False (nothing written) if aiohttp must."""
        line_end = head.find(b"\r\n")
        request_line = head if line_end < 0 else head[:line_end]
        parts = request_line.split(b" ")
        if len(parts) != 3 or parts[2] != b"HTTP/1.1" or parts[0] not in (b"GET", b"HEAD"):
            return False
        entry = self._cache.lookup(parts[1])
        if entry is None:
            return False
        fields: dict[bytes, bytes] = {}
        if line_end >= 0:
            for raw in head[line_end + 2 :].split(b"\r\n"):
                name, sep, value = raw.partition(b":")
                if not sep or not name or name[-1:] in b" \t" or raw[:1] in b" \t":
                    return False  # malformed or folded: let the real parser refuse it
                key = name.lower()
                if key in _HAND_OVER or key in fields:
                    return False
                fields[key] = value.strip()
        if b"host" not in fields:
            return False
        try:
            text = {k: v.decode("latin-1") for k, v in fields.items()}
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
            return False
        encoding = choose_encoding(text.get(b"accept-encoding", ""), entry.offered())
        variant = entry.variants[encoding]
        close = text.get(b"connection", "").lower() == "close"
        tail = (
            b"Date: " + CLOCK.header() + (b"\r\nConnection: close" if close else b"") + b"\r\n\r\n"
        )
        if entry.not_modified(text.get(b"if-none-match"), text.get(b"if-modified-since")):
            status, size = 304, 0
            out = variant.not_modified_head + tail
        else:
            status = 200
            if parts[0] == b"HEAD":
                size = 0
                out = variant.ok_head + tail
            else:
                size = len(variant.body)
                out = variant.ok_head + tail + variant.body
        assert self._transport is not None
        self._transport.write(out)
        self._log.add(
            self._remote,
            request_line.decode("latin-1"),
            status,
            size,
            text.get(b"referer", ""),
            text.get(b"user-agent", ""),
        )
        if close:
            self._transport.close()
        return True

    def _hand_over(self, pending: bytes) -> None:
        """From now on aiohttp's protocol owns the connection, starting with ``pending``."""
        self._handed = True
        self._buffer = b""
        self._live.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        transport = self._transport
        assert transport is not None
        protocol = self._fallback()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if pending:
            protocol.data_received(pending)
