"""The network guard refuses non-public addresses, in URLs, after resolving, and per hop."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from mediahub.aggregate.fetch import Fetcher, post
from mediahub.aggregate.guard import NetworkGuard, literal_address, refusal
from mediahub.errors import FetchError, GuardError
from tests.aggserver import serving

REFUSED = [
    "http://127.0.0.1/feed",
    "http://localhost/feed",
    "http://[::1]/feed",
    "http://0.0.0.0/feed",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/feed",
    "http://172.16.0.1/feed",
    "http://192.168.1.1/feed",
    "http://100.64.0.1/feed",
    "http://[::ffff:127.0.0.1]/feed",
    "http://2130706433/feed",
    "http://0x7f.0.0.1/feed",
    "http://0177.0.0.1/feed",
    "http://127.1/feed",
    "http://[fd00::1]/feed",
    "http://[fe80::1]/feed",
    "http://224.0.0.1/feed",
    "http://240.0.0.1/feed",
    "http://[64:ff9b::a00:1]/feed",
]


@pytest.mark.parametrize("url", REFUSED)
def test_guard_refuses_non_public_literals(url: str) -> None:
    with pytest.raises(GuardError) as caught:
        NetworkGuard().check_url(url)
    assert "allow_private_networks" in caught.value.line()


@pytest.mark.parametrize("url", REFUSED)
def test_fetcher_refuses_before_sending_anything(url: str) -> None:
    # The check happens before a connection is attempted: nothing is sent to these addresses.
    async def go() -> None:
        async with Fetcher(NetworkGuard()) as fetcher:
            await fetcher.get(url)

    with pytest.raises(GuardError):
        asyncio.run(go())


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "93.184.215.14"])
def test_public_addresses_pass(address: str) -> None:
    NetworkGuard().check_address(address)
    assert refusal(literal_address(address) or pytest.fail()) is None  # type: ignore[arg-type]


def test_odd_numeric_hosts_decode_like_inet_aton() -> None:
    assert str(literal_address("2130706433")) == "127.0.0.1"
    assert str(literal_address("0x7f.0.0.1")) == "127.0.0.1"
    assert str(literal_address("0177.1")) == "127.0.0.1"
    assert str(literal_address("10.1")) == "10.0.0.1"
    assert literal_address("example.org") is None
    with pytest.raises(GuardError):
        literal_address("1.2.3.999")


def test_schemes_other_than_http_are_refused() -> None:
    for url in ("file:///etc/passwd", "gopher://example.org/", "ftp://example.org/f"):
        with pytest.raises(GuardError):
            NetworkGuard().check_url(url)


def test_allow_list_and_switch_open_the_guard() -> None:
    NetworkGuard(allow_private=True).check_url("http://127.0.0.1/")
    guard = NetworkGuard.from_settings(False, ["10.0.0.0/8"])
    guard.check_url("http://10.1.2.3/")
    with pytest.raises(GuardError):
        guard.check_url("http://192.168.1.1/")


class FixedResolver(AbstractResolver):
    """Resolves every name to one address: stands in for DNS, which tests may not use."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=self.address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def test_a_host_name_resolving_to_loopback_is_refused() -> None:
    resolver = FixedResolver("127.0.0.1")

    async def go() -> None:
        async with Fetcher(NetworkGuard(), resolver=resolver) as fetcher:
            await fetcher.get("http://feeds.example.org/rss")

    with pytest.raises(GuardError) as caught:
        asyncio.run(go())
    assert resolver.asked == ["feeds.example.org"]
    assert "127.0.0.1" in caught.value.line()


def test_a_host_name_resolving_to_metadata_is_refused_for_posts_too() -> None:
    resolver = FixedResolver("169.254.169.254")
    guard = NetworkGuard()

    async def go() -> None:
        async with Fetcher(guard, resolver=resolver) as fetcher:
            await fetcher.get("http://hub.example.org/")

    with pytest.raises(GuardError):
        asyncio.run(go())
    with pytest.raises(GuardError):
        asyncio.run(post("http://127.0.0.1:9/hub", data={"hub.mode": "publish"}, guard=guard))


def test_a_redirect_to_loopback_is_refused_on_that_hop() -> None:
    """A public-looking first hop (allowed by the allow-list) redirects to loopback."""
    hits: list[str] = []

    async def redirect(request: web.Request) -> web.Response:
        hits.append(request.path)
        raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/secret")

    async def secret(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="<rss/>")

    app = web.Application()
    app.router.add_get("/feed", redirect)
    app.router.add_get("/secret", secret)

    async def go() -> None:
        # The test server binds 127.0.0.2 (loopback too); only that address is allowed.
        async with serving(app, host="127.0.0.2") as base:
            guard = NetworkGuard.from_settings(False, ["127.0.0.2/32"])
            async with Fetcher(guard) as fetcher:
                await fetcher.get(f"{base}/feed")

    with pytest.raises(GuardError) as caught:
        asyncio.run(go())
    assert hits == ["/feed"], "the loopback hop must never be requested"
    assert "127.0.0.1" in caught.value.line()


def test_post_returns_status_through_an_open_guard() -> None:
    got: list[bytes] = []

    async def hub(request: web.Request) -> web.Response:
        got.append(await request.read())
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/hub", hub)

    async def go() -> int:
        async with serving(app) as base:
            return await post(
                f"{base}/hub",
                data={"hub.mode": "publish", "hub.url": "https://x.example/"},
                guard=NetworkGuard(allow_private=True),
            )

    assert asyncio.run(go()) == 202
    assert got == [b"hub.mode=publish&hub.url=https%3A%2F%2Fx.example%2F"]


def test_post_to_a_closed_port_is_a_fetch_error() -> None:
    from tests.conftest import free_port

    with pytest.raises(FetchError):
        asyncio.run(
            post(
                f"http://127.0.0.1:{free_port()}/hub",
                body=b"x",
                guard=NetworkGuard(allow_private=True),
            )
        )
