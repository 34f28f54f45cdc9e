"""The fetcher against real aiohttp servers on 127.0.0.1 (guard opened for loopback)."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from mediahub.aggregate.fetch import Fetcher, FetchSettings, Response
from mediahub.aggregate.guard import NetworkGuard
from mediahub.errors import FetchError
from tests.aggserver import serving

LOOPBACK = NetworkGuard.from_settings(False, ["127.0.0.0/8"])
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fetch(
    routes: dict[str, Handler],
    path: str = "/feed",
    settings: FetchSettings | None = None,
    **kwargs: Any,
) -> Response:
    app = web.Application()
    for route, handler in routes.items():
        app.router.add_get(route, handler)

    async def go() -> Response:
        async with serving(app) as base, Fetcher(LOOPBACK, settings) as fetcher:
            return await fetcher.get(f"{base}{path}", **kwargs)

    return asyncio.run(go())


def test_200_then_304_with_validators_sent_back() -> None:
    seen: list[tuple[str | None, str | None, str | None]] = []

    async def feed(request: web.Request) -> web.Response:
        seen.append(
            (
                request.headers.get("If-None-Match"),
                request.headers.get("If-Modified-Since"),
                request.headers.get("User-Agent"),
            )
        )
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(
            body=FEED,
            content_type="application/rss+xml",
            headers={
                "ETag": '"v1"',
                "Last-Modified": "Mon, 02 Nov 2026 07:30:00 GMT",
                "Cache-Control": "max-age=3600",
            },
        )

    first = fetch({"/feed": feed})
    assert (first.status, first.body, first.etag) == (200, FEED, '"v1"')
    assert first.last_modified == "Mon, 02 Nov 2026 07:30:00 GMT"
    assert first.max_age == 3600
    assert first.content_type is not None and "rss" in first.content_type
    second = fetch({"/feed": feed}, etag=first.etag, last_modified=first.last_modified)
    assert (second.status, second.body) == (304, b"")
    assert seen[1][:2] == ('"v1"', "Mon, 02 Nov 2026 07:30:00 GMT")
    assert seen[0][2] is not None and seen[0][2].startswith("mediahub/")


def test_permanent_redirect_chain_reports_the_new_url_and_temporary_does_not() -> None:
    async def old(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/middle")

    async def middle(request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect("/new")

    async def temp(request: web.Request) -> web.Response:
        raise web.HTTPFound("/new")

    async def new(request: web.Request) -> web.Response:
        return web.Response(body=FEED)

    routes: dict[str, Handler] = {"/old": old, "/middle": middle, "/temp": temp, "/new": new}
    moved = fetch(routes, "/old")
    assert moved.status == 200 and moved.url.endswith("/new")
    assert moved.permanent_url is not None and moved.permanent_url.endswith("/new")
    temporary = fetch(routes, "/temp")
    assert temporary.status == 200 and temporary.permanent_url is None


def test_redirect_loops_stop_after_five_hops() -> None:
    hops: list[str] = []

    async def loop(request: web.Request) -> web.Response:
        hops.append(request.path)
        raise web.HTTPFound(f"/loop{len(hops)}")

    app_routes: dict[str, Handler] = {"/{name}": loop}
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(app_routes, "/loop")
    assert len(hops) == 6


def test_410_gone_is_a_result() -> None:
    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=410)

    assert fetch({"/feed": gone}).status == 410


def test_429_carries_retry_after() -> None:
    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "120"})

    with pytest.raises(FetchError) as caught:
        fetch({"/feed": busy})
    assert caught.value.status == 429 and caught.value.retry_after == 120


def test_503_with_http_date_retry_after() -> None:
    async def down(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "Fri, 31 Dec 2099 23:59:59 GMT"})

    with pytest.raises(FetchError) as caught:
        fetch({"/feed": down})
    assert caught.value.status == 503
    assert caught.value.retry_after is not None and caught.value.retry_after > 86400


def test_a_slow_server_hits_the_timeout() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=FEED)

    with pytest.raises(FetchError, match="timed out"):
        fetch({"/feed": slow}, settings=FetchSettings(total_timeout=0.3))


def test_oversize_body_is_cut_at_the_limit() -> None:
    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()  # chunked: no Content-Length to refuse up front
        await resp.prepare(request)
        for _ in range(64):
            await resp.write(b"x" * 65536)
        await resp.write_eof()
        return resp

    with pytest.raises(FetchError, match="larger than"):
        fetch({"/feed": big}, settings=FetchSettings(max_bytes=1024 * 1024))


def test_declared_oversize_is_refused_before_reading() -> None:
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"y" * (2 * 1024 * 1024))

    with pytest.raises(FetchError, match="larger than"):
        fetch({"/feed": big}, settings=FetchSettings(max_bytes=1024 * 1024))


def test_gzip_bomb_is_cut_on_the_decompressed_stream() -> None:
    bomb = gzip.compress(b"\0" * (32 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 1024 * 1024

    async def serve_bomb(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(FetchError, match="larger than 1 MiB"):
        fetch({"/feed": serve_bomb}, settings=FetchSettings(max_bytes=1024 * 1024))


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_bodies_are_decoded(encoding: str, encode: Callable[[bytes], bytes]) -> None:
    async def feed(request: web.Request) -> web.Response:
        assert "gzip" in request.headers["Accept-Encoding"]
        return web.Response(body=encode(FEED), headers={"Content-Encoding": encoding})

    assert fetch({"/feed": feed}).body == FEED


def test_an_empty_body_is_an_error() -> None:
    async def empty(request: web.Request) -> web.Response:
        return web.Response(body=b"  \n")

    with pytest.raises(FetchError, match="empty body"):
        fetch({"/feed": empty})


def test_a_refused_connection_is_a_fetch_error() -> None:
    from tests.conftest import free_port

    async def go() -> None:
        async with Fetcher(LOOPBACK) as fetcher:
            await fetcher.get(f"http://127.0.0.1:{free_port()}/feed")

    with pytest.raises(FetchError, match="cannot fetch"):
        asyncio.run(go())


def test_per_host_limit_caps_parallel_requests() -> None:
    active = 0
    peak = 0

    async def feed(request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.05)
        active -= 1
        return web.Response(body=FEED)

    app = web.Application()
    app.router.add_get("/feed/{n}", feed)

    async def go() -> None:
        async with serving(app) as base, Fetcher(LOOPBACK, FetchSettings(per_host=2)) as f:
            await asyncio.gather(*(f.get(f"{base}/feed/{n}") for n in range(8)))

    asyncio.run(go())
    assert peak == 2
