"""``mediahub serve --dev``: pages reload themselves in the browser after every rebuild.

Only in dev mode, HTML pages get a tiny script that listens on a Server-Sent
Events stream; each rebuild (an edit, a scheduled entry, new aggregated items)
sends ``reload``. Built files are never changed: the script is added as the
page is served, so public/ stays what any web server would serve.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from aiohttp import web

PATH = "/_mediahub/livereload"
SCRIPT = (
    b"<script>/* mediahub --dev live reload */(() => {"
    b'const events = new EventSource("' + PATH.encode() + b'");'
    b'events.addEventListener("reload", () => location.reload());'
    b"})();</script>"
)
CLOSING = web.AppKey("livereload_closing", asyncio.Event)


class Streams:
    """How many pages are listening right now (tests wait for theirs)."""

    def __init__(self) -> None:
        self.open = 0


STREAMS = web.AppKey("livereload_streams", Streams)


def inject(page: bytes) -> bytes:
    """The page with the reload script before ``</body>`` (or at the end)."""
    at = page.rfind(b"</body>")
    return page + SCRIPT if at < 0 else page[:at] + SCRIPT + page[at:]


async def _closing(app: web.Application) -> AsyncIterator[None]:
    app[CLOSING] = asyncio.Event()
    app[STREAMS] = Streams()
    yield


def routes(changes: Callable[[], asyncio.Event | None]) -> list[web.RouteDef]:
    """The event stream; ``changes()`` is the event the next rebuild sets (or None)."""

    async def stream(request: web.Request) -> web.StreamResponse:
        closing = request.app[CLOSING]
        if changes() is None:
            raise web.HTTPNotFound(text="no background rebuilds run, so nothing to reload\n")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        await response.write(b": waiting for the next rebuild\n\n")
        stop = asyncio.ensure_future(closing.wait())
        streams = request.app[STREAMS]
        streams.open += 1
        try:
            while not closing.is_set():
                changed = changes()
                if changed is None:
                    break
                wait = asyncio.ensure_future(changed.wait())
                await asyncio.wait({wait, stop}, return_when=asyncio.FIRST_COMPLETED)
                wait.cancel()
                if changed.is_set():
                    await response.write(b"event: reload\ndata: rebuilt\n\n")
        finally:
            streams.open -= 1
            stop.cancel()
        return response

    return [web.get(PATH, stream)]


async def _on_shutdown(app: web.Application) -> None:
    app[CLOSING].set()  # end every open stream, so shutdown does not wait on them


def install(app: web.Application) -> None:
    """What the streams need of the app: a signal that it is shutting down."""
    app.cleanup_ctx.append(_closing)
    app.on_shutdown.append(_on_shutdown)
