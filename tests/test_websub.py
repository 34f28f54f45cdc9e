"""WebSub: a subscriber (an aiohttp app on 127.0.0.1) subscribes to the built-in hub,
is verified, and receives the signed feed the moment a scheduled episode goes live;
other hubs get a publish ping."""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from mediahub import config as config_module
from mediahub.publish.site import build
from mediahub.serve.jobs import PUBLISHER
from mediahub.serve.server import HUB, STORE, ServerOptions, make_server
from mediahub.store import Store
from tests.servers import ManualClock, running, wait_until
from tests.test_jobs import DUE, START, schedule_episode

SECRET = "a secret only the subscriber and the hub know"


class Subscriber:
    """Records what a WebSub hub sends; echoes challenges unless told to refuse."""

    def __init__(self, echo: bool = True) -> None:
        self.echo = echo
        self.checks: list[dict[str, str]] = []
        self.pushes: list[tuple[dict[str, str], bytes]] = []

    async def verify(self, request: web.Request) -> web.Response:
        self.checks.append(dict(request.query))
        if not self.echo:
            return web.Response(status=404)
        return web.Response(text=request.query["hub.challenge"])

    async def receive(self, request: web.Request) -> web.Response:
        self.pushes.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/callback", self.verify)
        app.router.add_post("/callback", self.receive)
        app.router.add_post("/ping", self.receive)
        return app


def post_form(url: str, form: dict[str, str]) -> int:
    data = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def hub_config(hub: Path, pings: str = "") -> config_module.Config:
    with (hub / "mediahub.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\n[aggregate]\nallow_private_networks = true\n\n{pings}")
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        build(config, store, START)
    return config


def test_a_subscriber_gets_the_signed_feed_when_an_episode_goes_live(hub: Path) -> None:
    schedule_episode(hub, DUE, "Listening at scale", "2027-01-02-listening-at-scale")
    subscriber, other_hub = Subscriber(), Subscriber()
    with running(subscriber.app()) as sub_server, running(other_hub.app()) as ping_server:
        config = hub_config(hub, f'[serve]\nwebsub_hubs = ["{ping_server.url}/ping"]\n')
        clock = ManualClock(START)
        # No aggregation: its first cycle brings the followed podcasts' GUIDs, and the
        # rebuild that adds them to the feed's podroll pushes that feed too, whenever
        # the cycle ends (before the episode is due, if the machine is slow).
        options = ServerOptions(
            watch=False, stats=False, tick=0.05, websub_retries=(0.1,), aggregate=False
        )
        app = make_server(config, options, clock)
        with running(app) as server:
            wait_until(lambda: app[PUBLISHER].builds >= 1, "the start-up rebuild")
            topic = f"{config.show.url}/feed.xml"
            callback = f"{sub_server.url}/callback"
            form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback}
            assert post_form(server.url + "/websub", {**form, "hub.secret": SECRET}) == 202
            wait_until(lambda: len(subscriber.checks) == 1, "the intent verification")
            check = subscriber.checks[0]
            assert check["hub.mode"] == "subscribe" and check["hub.topic"] == topic
            assert 60 <= int(check["hub.lease_seconds"]) <= 30 * 24 * 3600
            wait_until(
                lambda: bool(app[STORE].active_subscriptions(topic, clock())),
                "the verified subscription",
            )
            wait_until(
                lambda: app[HUB].verifications == [("subscribe", callback, True)],
                "the verification recorded as a success",
            )

            clock.set(datetime(2027, 1, 2, 10, 0, tzinfo=UTC))
            wait_until(lambda: len(subscriber.pushes) == 1, "the push after publishing")
            headers, body = subscriber.pushes[0]
            assert b"Listening at scale" in body
            assert body == (hub / "public" / "feed.xml").read_bytes()
            expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Hub-Signature"] == f"sha256={expected}"
            assert f'<{topic}>; rel="self"' in headers["Link"]
            assert headers["Content-Type"].startswith("application/rss+xml")

            wait_until(lambda: len(other_hub.pushes) == 1, "the publish ping")
            ping = urllib.parse.parse_qs(other_hub.pushes[0][1].decode())
            assert ping == {"hub.mode": ["publish"], "hub.url": [topic]}

            # The lease runs out: no more pushes.
            clock.set(datetime(2027, 3, 1, tzinfo=UTC))
            assert app[STORE].active_subscriptions(topic, clock()) == []


def test_an_unverified_callback_is_not_subscribed_and_bad_requests_are_refused(
    hub: Path,
) -> None:
    refuser = Subscriber(echo=False)
    with running(refuser.app()) as sub_server:
        config = hub_config(hub)
        app = make_server(config, ServerOptions(jobs=False, stats=False), ManualClock(START))
        with running(app) as server:
            topic = f"{config.show.url}/feed.xml"
            form = {
                "hub.mode": "subscribe",
                "hub.topic": topic,
                "hub.callback": f"{sub_server.url}/callback",
            }
            assert post_form(server.url + "/websub", form) == 202
            # Wait for the hub's verdict, not just the callback's answer being sent.
            wait_until(lambda: len(app[HUB].verifications) == 1, "the verification's outcome")
            assert len(refuser.checks) == 1
            assert app[HUB].verifications == [("subscribe", form["hub.callback"], False)]
            assert app[STORE].active_subscriptions(topic, START) == []
            assert post_form(server.url + "/websub", {**form, "hub.topic": "http://x/"}) == 400
            assert post_form(server.url + "/websub", {**form, "hub.mode": "publish"}) == 400
            assert post_form(server.url + "/websub", {**form, "hub.callback": "ftp://x"}) == 400


def test_a_feed_changed_by_aggregation_is_pushed_too(hub: Path) -> None:
    """Not only publishing changes the feed: the first cycle learns the followed
    podcasts' GUIDs, and the rebuild that lists them in the feed's podroll pushes
    that feed to subscribers like any other change."""
    from datetime import timedelta

    from mediahub.model import Subscription

    subscriber = Subscriber()
    with running(subscriber.app()) as sub_server:
        config = hub_config(hub)
        topic = f"{config.show.url}/feed.xml"
        before = (hub / "public" / "feed.xml").read_bytes()
        assert b"podcast:podroll" not in before
        with Store(config.paths.database) as store:  # subscribed before the server starts
            expires = START + timedelta(days=10)
            store.save_subscription(
                Subscription(topic, f"{sub_server.url}/callback", None, expires)
            )
        options = ServerOptions(watch=False, stats=False, tick=0.05, websub_retries=(0.1,))
        app = make_server(config, options, ManualClock(START))
        with running(app):
            wait_until(lambda: len(subscriber.pushes) == 1, "the push after the first cycle")
            _, body = subscriber.pushes[0]
            assert b"<podcast:podroll>" in body and b"podcast:remoteItem" in body
            assert body == (hub / "public" / "feed.xml").read_bytes()
