"""Aggregation inside the running server: a local feed gains an item, and the served topic
page shows it without a restart, and search finds it; a source that fails first is
retried, not fatal."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web

from mediahub import config as config_module
from mediahub.publish.site import build
from mediahub.serve.jobs import PUBLISHER
from mediahub.serve.server import ServerOptions, make_server
from mediahub.store import Store
from tests.aggserver import serving_in_thread
from tests.servers import ManualClock, running, wait_until

START = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)


class FeedServer:
    """One RSS feed whose items (and health) the test changes while the hub runs."""

    def __init__(self) -> None:
        self.items: list[tuple[str, datetime]] = []
        self.failing = False
        self.requests = 0

    async def feed(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.failing:
            return web.Response(status=503, text="down for maintenance")
        entries = "".join(
            f"<item><title>{title}</title><link>https://news.example/{n}</link>"
            f"<guid>https://news.example/{n}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate></item>"
            for n, (title, when) in enumerate(self.items)
        )
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Local News</title>'
            f"<link>https://news.example/</link><description>d</description>{entries}"
            "</channel></rss>"
        )
        return web.Response(body=body.encode(), content_type="application/rss+xml")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/feed.xml", self.feed)
        return app


def fetch(url: str) -> str:
    """The page's text, or "" while it does not exist yet."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return ""
        raise


def test_a_new_item_reaches_the_served_topic_page_without_a_restart(hub: Path) -> None:
    source = FeedServer()
    source.failing = True
    with serving_in_thread(source.app()) as feed_base:
        with (hub / "mediahub.toml").open("a", encoding="utf-8") as toml:
            toml.write(
                f'\n[[sources]]\nurl = "{feed_base}/feed.xml"\ntopic = "tech"\n'
                '\n[aggregate]\nallow_private_networks = true\nfiles = "feeds"\n'
            )
        config = config_module.load(hub)
        with Store(config.paths.database) as store:
            build(config, store, START)
        clock = ManualClock(START)
        options = ServerOptions(watch=False, stats=False, tick=0.05, aggregate_idle=0.1)
        app = make_server(config, options, clock)
        with running(app) as server:
            wait_until(lambda: source.requests >= 1, "the first (failing) fetch")
            assert "ok" in fetch(server.url + "/healthz")  # a failing source harms nothing
            first_builds = app[PUBLISHER].builds

            source.failing = False
            source.items = [("Quiet servers win", START - timedelta(hours=1))]
            clock.set(START + timedelta(days=2))  # past any backoff
            wait_until(
                lambda: "Quiet servers win" in fetch(server.url + "/topics/tech/"),
                "the first item on the served topic page",
            )
            # The site was built before it followed anything: the first topic pages come
            # with a full rebuild (counted once it has finished), whose menus link to them.
            wait_until(lambda: app[PUBLISHER].builds > first_builds, "the full rebuild")
            assert '<a href="/topics/">Topics</a>' in fetch(server.url + "/")
            builds = app[PUBLISHER].builds

            later = START + timedelta(days=2, hours=1)
            source.items.insert(0, ("A second headline arrives", later))
            clock.set(START + timedelta(days=4))
            wait_until(
                lambda: "A second headline arrives" in fetch(server.url + "/topics/tech/"),
                "the new item on the served topic page",
            )
            assert app[PUBLISHER].builds == builds  # topics only, no full rebuild

            def indexed() -> bool:
                """Every stored item in the search index, put there by serve after the cycle
                (search_items would index them itself: the index is read directly)."""
                with Store(config.paths.database) as store:
                    found = store._db.execute(
                        "SELECT count(*) FROM items_fts WHERE items_fts MATCH 'headline'"
                    ).fetchone()[0]
                    return store.pending_search() == 0 and found == 1

            wait_until(indexed, "the new item in the search index")
