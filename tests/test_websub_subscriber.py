"""WebSub subscriber: a source advertising a hub (a fake hub on 127.0.0.1) is subscribed,
the intent verified, a signed push lands on the served topic page without polling, a
forged push is ignored, and the lease is renewed before it ends."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from mediahub import config as config_module
from mediahub.publish.site import build
from mediahub.serve.server import SUBSCRIBER, ServerOptions, make_server
from mediahub.store import Store
from tests.conftest import free_port
from tests.servers import ManualClock, running, wait_until
from tests.test_serve_aggregate import fetch

START = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)


def rss(base: str, titles: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><guid>urn:test:{t}</guid><link>https://n.example/{n}</link>"
        f"<pubDate>Fri, 01 Jan 2027 08:0{n}:00 GMT</pubDate></item>"
        for n, t in enumerate(titles)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>Pushy</title><link>https://n.example/</link><description>d</description>"
        f'<atom:link rel="hub" href="{base}/hub"/><atom:link rel="self" href="{base}/feed.xml"/>'
        f"{items}</channel></rss>"
    ).encode()


class FakeHub:
    """A publisher's feed and its hub: records subscriptions and verifies them."""

    def __init__(self) -> None:
        self.base = ""
        self.titles = ["Polled headline"]
        self.feed_requests = 0
        self.requests: list[dict[str, str]] = []
        self.verified: list[bool] = []

    async def feed(self, request: web.Request) -> web.Response:
        self.feed_requests += 1
        return web.Response(body=rss(self.base, self.titles), content_type="application/rss+xml")

    async def hub(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append(form)
        asyncio.get_running_loop().run_in_executor(None, self._verify, form)
        return web.Response(status=202)

    def _verify(self, form: dict[str, str]) -> None:
        query = {
            "hub.mode": "subscribe",
            "hub.topic": form["hub.topic"],
            "hub.challenge": "chal-" + str(len(self.requests)),
            "hub.lease_seconds": "86400",
        }
        url = form["hub.callback"] + "?" + urllib.parse.urlencode(query)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                self.verified.append(response.read() == query["hub.challenge"].encode())
        except urllib.error.URLError:
            self.verified.append(False)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/feed.xml", self.feed)
        app.router.add_post("/hub", self.hub)
        return app


def push(callback: str, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/rss+xml"}
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    request = urllib.request.Request(callback, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_pushes_from_a_sources_hub_reach_the_topic_page(hub: Path) -> None:
    publisher = FakeHub()
    with running(publisher.app()) as origin:
        publisher.base = origin.url
        port = free_port()
        config = _follow_pushy(hub, origin.url, port)
        clock = ManualClock(START)
        options = ServerOptions(watch=False, stats=False, tick=0.05, aggregate_idle=0.1)
        app = make_server(config, options, clock)
        with running(app, port) as server:
            wait_until(lambda: publisher.verified == [True], "a verified subscription")
            form = publisher.requests[0]
            assert form["hub.mode"] == "subscribe"
            assert form["hub.topic"] == f"{origin.url}/feed.xml"
            callback = form["hub.callback"]
            assert callback.startswith(server.url + "/websub/callback/")
            wait_until(
                lambda: "Polled headline" in fetch(server.url + "/topics/tech/"),
                "the polled item on the topic page",
            )
            subscriber = app[SUBSCRIBER]
            polls = publisher.feed_requests

            forged = rss(origin.url, ["Forged headline", "Polled headline"])
            assert push(callback, forged, "sha256=" + "0" * 64) == 202
            assert push(callback, forged, None) == 202
            wait_until(lambda: len(subscriber.pushes) == 2, "the forged pushes handled")
            assert all(outcome.startswith("refused") for _, outcome in subscriber.pushes)

            body = rss(origin.url, ["Pushed headline", "Polled headline"])
            signature = hmac.new(form["hub.secret"].encode(), body, hashlib.sha256).hexdigest()
            assert push(callback, body, f"sha256={signature}") == 204
            wait_until(
                lambda: "Pushed headline" in fetch(server.url + "/topics/tech/"),
                "the pushed item on the served topic page",
            )
            assert "Forged headline" not in fetch(server.url + "/topics/tech/")
            assert publisher.feed_requests == polls  # it came by push, not by polling

            # Near the end of the lease, the subscription is renewed.
            clock.set(START + timedelta(days=1) - timedelta(hours=1))
            wait_until(lambda: len(publisher.requests) >= 2, "the lease renewed")
            wait_until(lambda: publisher.verified[:2] == [True, True], "the renewal verified")
            # A callback that was never handed out is refused.
            assert push(server.url + "/websub/callback/nope", body, None) == 410


def _follow_pushy(hub: Path, origin: str, public_port: int) -> config_module.Config:
    with (hub / "mediahub.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            f'\n[[sources]]\nurl = "{origin}/feed.xml"\ntopic = "tech"\n'
            '\n[aggregate]\nallow_private_networks = true\nfiles = "feeds"\n'
            f'\n[serve]\npublic_url = "http://127.0.0.1:{public_port}"\n'
        )
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        build(config, store, START)
    return config


def test_a_worker_that_did_not_subscribe_answers_the_hub_and_takes_pushes(hub: Path) -> None:
    """Workers share subscriptions through the store: the process running the jobs
    subscribes; the hub's verification and pushes reach another one (as they do when
    ``mediahub serve --workers N`` shares one socket)."""
    publisher = FakeHub()
    with running(publisher.app()) as origin:
        publisher.base = origin.url
        other_port = free_port()  # the public URL points at the worker without jobs
        config = _follow_pushy(hub, origin.url, other_port)
        clock = ManualClock(START)
        jobs = ServerOptions(watch=False, stats=False, tick=0.05, aggregate_idle=0.1)
        serving_only = ServerOptions(jobs=False, watch=False, stats=False)
        first, other = make_server(config, jobs, clock), make_server(config, serving_only, clock)
        with running(first), running(other, other_port) as server:
            wait_until(lambda: publisher.verified == [True], "verified by the other worker")
            form = publisher.requests[0]
            assert form["hub.callback"].startswith(server.url + "/websub/callback/")
            body = rss(origin.url, ["Pushed to another worker", "Polled headline"])
            signature = hmac.new(form["hub.secret"].encode(), body, hashlib.sha256).hexdigest()
            assert push(form["hub.callback"], body, f"sha256={signature}") == 204
            assert other[SUBSCRIBER].pushes == [(f"{origin.url}/feed.xml", "stored 1")]
            wait_until(
                lambda: "Pushed to another worker" in fetch(server.url + "/topics/tech/"),
                "the pushed item on the topic page",
            )
        # The subscription outlives the server: a restart needs no new one.
        with Store(config.paths.database) as store:
            [kept] = store.subscribed()
        assert kept.expires is not None and kept.topic == f"{origin.url}/feed.xml"


def test_serve_with_two_workers_takes_pushes(hub: Path) -> None:
    """The real command: two worker processes on one socket, pushes answered 204."""
    from tests.conftest import serving

    publisher = FakeHub()
    with running(publisher.app()) as origin:
        publisher.base = origin.url
        port = free_port()
        _follow_pushy(hub, origin.url, port)
        with serving(hub, port, "--workers", "2", "--no-watch"):
            wait_until(lambda: publisher.verified == [True], "a verified subscription", 60)
            form = publisher.requests[0]
            for n in range(6):  # new connections: the kernel hands them to either worker
                body = rss(origin.url, [f"Push number {n}", "Polled headline"])
                digest = hmac.new(form["hub.secret"].encode(), body, hashlib.sha256)
                assert push(form["hub.callback"], body, f"sha256={digest.hexdigest()}") == 204
            wait_until(
                lambda: all(
                    f"Push number {n}" in fetch(f"http://127.0.0.1:{port}/topics/tech/")
                    for n in range(6)
                ),
                "every pushed item on the topic page",
                60,
            )
