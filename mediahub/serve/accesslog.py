"""The access log in the combined format, buffered: one write a second, not one per request.

A line per request through the logging module costs more than answering a
cached page; here lines are formatted with one f-string and written in a
batch every second (and at shutdown). Both the fast path and the aiohttp
handler write to the same log.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from mediahub.serve.prepared import CLOCK

FLUSH_SECONDS = 1.0
FLUSH_BYTES = 64 * 1024


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class AccessLog:
    """Collects combined-format lines and writes them in batches."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lines: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def add(
        self,
        remote: str,
        request_line: str,
        status: int,
        size: int,
        referer: str,
        agent: str,
    ) -> None:
        line = (
            f'{remote} - - {CLOCK.log_time()} "{_quoted(request_line)}" {status} {size} '
            f'"{_quoted(referer or "-")}" "{_quoted(agent or "-")}"\n'
        )
        self._lines.append(line)
        self._size += len(line)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        lines, self._lines, self._size = self._lines, [], 0
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not stop serving
            pass


class BufferedAccessLogger(AbstractAccessLogger):
    """aiohttp's access-log hook, writing into the process's AccessLog."""

    sink: AccessLog = AccessLog()

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        version = request.version
        line = f"{request.method} {request.raw_path} HTTP/{version.major}.{version.minor}"
        self.sink.add(
            request.remote or "-",
            line,
            response.status,
            response.content_length if response.content_length is not None else 0,
            request.headers.get("Referer", ""),
            request.headers.get("User-Agent", ""),
        )

    @property
    def enabled(self) -> bool:
        return True
