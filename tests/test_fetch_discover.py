"""Feed autodiscovery: advertised links first, then common paths, else a clear error."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from mediahub.aggregate.discover import Discovered, DiscoveryError, discover, feed_links
from mediahub.aggregate.fetch import Fetcher
from mediahub.aggregate.guard import NetworkGuard
from tests.aggserver import serving

GUARD = NetworkGuard.from_settings(False, ["127.0.0.0/8"])
ATOM = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'


def test_feed_links_in_page_order_resolved_against_base() -> None:
    html = """<html><head><base href="https://cdn.example/site/">
    <link rel="alternate stylesheet" type="text/css" href="a.css">
    <link rel="alternate" type="application/atom+xml" href="atom.xml" title="Atom">
    <link rel="Alternate" type="application/rss+xml; charset=utf-8" href="/rss">
    <link rel="alternate" type="text/html" href="/fr/">
    <link rel="alternate" type="application/atom+xml" href="atom.xml"></head></html>"""
    assert feed_links(html, "https://www.example/") == [
        ("https://cdn.example/site/atom.xml", "Atom"),
        ("https://cdn.example/rss", None),
    ]


def run(routes: dict[str, bytes | tuple[bytes, str]], path: str = "/") -> Discovered:
    app = web.Application()
    for route, answer in routes.items():
        body, kind = answer if isinstance(answer, tuple) else (answer, "text/html")

        async def handler(
            request: web.Request, body: bytes = body, kind: str = kind
        ) -> web.Response:
            return web.Response(body=body, content_type=kind)

        app.router.add_get(route, handler)

    async def go() -> Discovered:
        async with serving(app) as base, Fetcher(GUARD) as fetcher:
            return await discover(fetcher, f"{base}{path}")

    return asyncio.run(go())


def test_a_feed_url_is_kept_as_it_is() -> None:
    found = run({"/feed": (ATOM, "application/atom+xml")}, "/feed")
    assert found.how == "direct" and found.url.endswith("/feed")


def test_common_paths_when_the_page_advertises_nothing() -> None:
    found = run({"/": b"<html><body>no links</body></html>", "/atom.xml": (ATOM, "text/xml")})
    assert found.how == "path" and found.url.endswith("/atom.xml")


def test_an_advertised_link_that_is_not_a_feed_is_skipped() -> None:
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/broken">'
    found = run({"/": page, "/broken": b"<html>oops</html>", "/feed": (ATOM, "text/xml")})
    assert found.url.endswith("/feed")


def test_no_feed_anywhere_is_one_clear_error() -> None:
    with pytest.raises(DiscoveryError) as caught:
        run({"/": b"<html><body>just a page</body></html>"})
    assert "without a feed" in caught.value.line() and "tried 8 addresses" in caught.value.line()
