"""Run the server: one listening socket, N worker processes, the fast path in front.

The socket is bound once and inherited by workers forked before any event
loop or thread exists (pre-fork, as nginx does), so the kernel spreads
connections over the cores. Worker 0 (the first process) runs the background
jobs; the others only serve and count downloads. The standard asyncio loop
runs them (MEDIAHUB_LOOP=uvloop picks uvloop, see ``_loop_factory``). SIGTERM
or Ctrl-C stops every worker gracefully: listening stops, requests in flight
finish (up to ``SHUTDOWN_SECONDS``), download counts and the access log are
written out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from mediahub.serve.accesslog import AccessLog, BufferedAccessLogger
from mediahub.serve.app import OPTIONS, TEXT_CACHE
from mediahub.serve.fastpath import IDLE_SECONDS, FastProtocol

log = logging.getLogger("mediahub.serve")

SHUTDOWN_SECONDS = 10.0


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


class FastSite(web.BaseSite):
    """Like aiohttp's SockSite, with the fast path answering cached hits first."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, access: AccessLog) -> None:
        super().__init__(runner, backlog=1024)
        self._sock = sock
        self._access = access
        self._live: set[FastProtocol] = set()

    @property
    def name(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        await super().start()
        app = self._runner.app if isinstance(self._runner, web.AppRunner) else None
        assert app is not None and self._runner.server is not None
        fallback = self._runner.server
        cache = app[TEXT_CACHE]
        trusted = app[OPTIONS].trusted_proxies
        fast = app[OPTIONS].fast_targets
        head = app[OPTIONS].header_seconds

        def protocol() -> asyncio.Protocol:
            if not fast:
                return fallback()
            return FastProtocol(cache, fallback, self._access, self._live, trusted, head)

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(protocol, sock=self._sock, backlog=1024)

    async def stop(self) -> None:
        await super().stop()
        for connection in list(self._live):
            connection.close()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The standard loop, unless MEDIAHUB_LOOP=uvloop (and uvloop is installed).

    On the standard loop aiohttp sends media with sendfile(2); uvloop has none, so
    1 MiB ranges of an MP3 went at half the speed (0.31x nginx against 0.59x, side
    by side in bench/serve), while pages and 304s gained 15-25%. A podcast server's
    bytes are its media.
    """
    if os.environ.get("MEDIAHUB_LOOP") != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return new_loop


async def _serve(
    app: web.Application,
    sock: socket.socket,
    children: list[int],
    on_ready: Callable[[], None] | None,
) -> None:
    access = AccessLog()
    BufferedAccessLogger.sink = access
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log_class=BufferedAccessLogger,
        shutdown_timeout=SHUTDOWN_SECONDS,
        # aiohttp closes a connection whose request has not arrived by then (its
        # default is an hour); the fast path hands it only what it does not answer.
        keepalive_timeout=IDLE_SECONDS,
    )
    await runner.setup()
    site = FastSite(runner, sock, access)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if _TERMINATED:  # a SIGTERM that came while this process was still starting
        stop.set()
    watcher = None
    if not children and os.getpid() != _FIRST_PID:
        watcher = asyncio.create_task(_orphaned(stop, _FIRST_PID))
    if on_ready is not None:
        on_ready()
    try:
        await stop.wait()
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        if watcher is not None:
            watcher.cancel()
        await runner.cleanup()
        access.flush()
        if children:
            await asyncio.to_thread(_reap, children, SHUTDOWN_SECONDS + 5)


async def _orphaned(stop: asyncio.Event, parent: int) -> None:
    """A worker whose parent died (kill -9) stops too, instead of serving alone.

    ``parent`` is the pid that forked the worker, not whatever ``getppid`` says when
    the watch begins: a parent that died while the worker was still starting (its
    SIGTERM then came before the worker listened for it) has already left it to init,
    and a watch comparing against that would wait for a change that never comes.
    """
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    stop.set()


def _reap(children: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(children)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if not done:
                    continue
            waiting.discard(pid)
        time.sleep(0.05)
    for pid in waiting:  # did not stop in time
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


_FIRST_PID = os.getpid()

# Set by a SIGTERM that arrives before the event loop listens for it (``serve``).
_TERMINATED = False


def _note_termination(signum: int, frame: object) -> None:
    global _TERMINATED
    _TERMINATED = True


def _run(coro: Coroutine[Any, Any, None]) -> None:
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(coro)


def serve(
    make_app: Callable[[int], web.Application],
    sock: socket.socket,
    workers: int = 1,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve on ``sock`` with ``workers`` processes; ``make_app(i)`` builds worker i's app.

    Returns when the server was stopped by SIGTERM or SIGINT.
    """
    global _FIRST_PID
    _FIRST_PID = os.getpid()
    # Until each process's loop listens for it, a SIGTERM is noted, not fatal: it used
    # to kill the first process outright while its app was still being set up (after
    # the socket listened and a worker answered), so nothing was written out.
    signal.signal(signal.SIGTERM, _note_termination)
    children: list[int] = []
    for index in range(1, max(1, workers)):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # a worker: serve until told to stop, then leave without running atexit
            code = 0
            try:
                _run(_serve(make_app(index), sock, [], None))
            except BaseException:
                log.exception("worker %d failed", index)
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        children.append(pid)
    _run(_serve(make_app(0), sock, children, on_ready))
