"""``mediahub sources ...`` and ``mediahub aggregate`` run for real, as a user would."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aiohttp import web

from tests.aggserver import serving_in_thread
from tests.conftest import run_cli

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Found Feed</title>
<link>https://found.example/</link><item><guid>f1</guid><title>Found it</title>
<pubDate>Mon, 02 Nov 2026 07:30:00 GMT</pubDate></item></channel></rss>"""
PAGE = b"""<!doctype html><html><head><title>A blog</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="The blog's feed" href="/blog/rss">
</head><body>Hello</body></html>"""


def open_guard(hub: Path) -> None:
    """Test servers live on 127.0.0.1: allow loopback explicitly, as the issue asks."""
    text = (hub / "mediahub.toml").read_text(encoding="utf-8")
    text += '\n[aggregate]\nallow_networks = ["127.0.0.0/8"]\n'
    (hub / "mediahub.toml").write_text(text, encoding="utf-8")


def test_example_hub_aggregates_its_sample_feeds_and_builds_topic_pages(hub: Path) -> None:
    first = run_cli("aggregate", "--json", cwd=hub)
    assert first.code == 0, first.err
    report = json.loads(first.out)
    assert report["sources"] == 4 and report["errors"] == 0 and report["new_items"] >= 8
    assert run_cli("build", cwd=hub).code == 0
    topics = hub / "public" / "topics"
    assert {"leadership", "coaching", "podcasting"} <= {p.name for p in topics.iterdir()}
    page = (topics / "podcasting" / "index.html").read_text(encoding="utf-8")
    assert "Mic Check" in page and "Studio Log" in page
    again = run_cli("aggregate", "--all", cwd=hub)
    assert again.code == 0
    assert again.out.strip() == "4 sources: 0 fetched, 4 not modified, 0 new items, 0 errors"
    # People read the plain list in the hub's time zone (the example hub's is Stockholm).
    plain = run_cli("sources", "list", cwd=hub).out
    assert re.search(r"last \d{4}-\d\d-\d\d \d\d:\d\d CES?T, next ", plain), plain
    listing = json.loads(run_cli("sources", "list", "--json", cwd=hub).out)
    assert {s["status"] for s in listing} == {"ok"}
    assert all(s["next_fetch"] and s["error_count"] == 0 for s in listing)
    # RFC 3339 with the "T" (str() of a datetime has a space), as every --json prints it.
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", s["last_fetched"]) for s in listing)


def test_sources_add_discovers_the_feed_of_a_web_page(hub: Path) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    agents: list[str] = []

    async def feed(request: web.Request) -> web.Response:
        agents.append(request.headers.get("User-Agent", ""))
        return web.Response(body=FEED, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/blog/rss", feed)
    open_guard(hub)
    with serving_in_thread(app) as base:
        added = run_cli("sources", "add", f"{base}/", "--topic", "leadership", cwd=hub)
        assert added.code == 0, added.err
        assert f"{base}/blog/rss" in added.out
        result = run_cli("aggregate", cwd=hub)
    assert result.code == 0, result.err
    listing = json.loads(run_cli("sources", "list", "--json", "--topic", "leadership", cwd=hub).out)
    found = [s for s in listing if s["url"] == f"{base}/blog/rss"]
    assert found and found[0]["title"] == "The blog's feed"
    # The User-Agent names mediahub and the hub (site.url of the example hub).
    assert agents and all(a.startswith("mediahub/") for a in agents)
    assert "(+http://127.0.0.1:8000)" in agents[-1]


def test_guard_is_on_by_default_for_added_sources(hub: Path) -> None:
    result = run_cli("sources", "add", "http://127.0.0.1:9/feed", cwd=hub)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "loopback" in result.err
    assert "Traceback" not in result.err


def test_a_failing_source_gives_exit_3_and_names_it(hub: Path) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/feed", broken)
    open_guard(hub)
    with serving_in_thread(app) as base:
        assert run_cli("sources", "add", "--no-discover", f"{base}/feed", cwd=hub).code == 0
        result = run_cli("aggregate", cwd=hub)
    assert result.code == 3
    assert f"{base}/feed: HTTP 500" in result.err
    assert "1 errors" in result.out and "4 fetched" in result.out


def test_opml_export_then_import_into_another_hub(hub: Path, tmp_path: Path) -> None:
    assert (
        run_cli(
            "sources",
            "add",
            "--no-discover",
            "https://lead.example/feed",
            "--topic",
            "leadership",
            cwd=hub,
        ).code
        == 0
    )
    opml = tmp_path / "subs.opml"
    assert run_cli("sources", "export", "-o", str(opml), cwd=hub).code == 0
    assert b'xmlUrl="https://lead.example/feed"' in opml.read_bytes()
    other = tmp_path / "other"
    assert run_cli("init", str(other), cwd=tmp_path).code == 0
    result = run_cli("sources", "import", str(opml), cwd=other)
    assert result.code == 0, result.err
    assert "imported 1 source" in result.out
    assert result.err.count("only http(s)") == 4  # the example's file: sources stay local
    listing = json.loads(run_cli("sources", "list", "--json", cwd=other).out)
    assert [(s["url"], s["topic"]) for s in listing] == [
        ("https://lead.example/feed", "leadership")
    ]


def test_remove_and_bad_arguments_are_one_line_errors(hub: Path) -> None:
    assert run_cli("sources", "add", "--no-discover", "https://x.example/f", cwd=hub).code == 0
    assert run_cli("sources", "remove", "https://x.example/f", cwd=hub).code == 0
    missing = run_cli("sources", "remove", "https://x.example/f", cwd=hub)
    assert missing.code == 2 and "is not a source" in missing.err
    bad = run_cli("sources", "add", "gopher://x.example/", cwd=hub)
    assert bad.code == 2 and "gopher://x.example/" in bad.err
    not_opml = hub / "x.opml"
    not_opml.write_text("<html/>", encoding="utf-8")
    imp = run_cli("sources", "import", str(not_opml), cwd=hub)
    assert imp.code == 2 and "not OPML" in imp.err


def test_a_bad_sources_block_names_its_line(hub: Path) -> None:
    with (hub / "mediahub.toml").open("a", encoding="utf-8") as file:
        file.write('\n[[sources]]\nurl = "ftp://old.example/feed"\n')
    result = run_cli("aggregate", cwd=hub)
    assert result.code == 2
    assert "mediahub.toml:" in result.err and "sources.url" in result.err
    assert "ftp://old.example/feed" in result.err


def test_bad_aggregate_settings_name_the_key(hub: Path) -> None:
    with (hub / "mediahub.toml").open("a", encoding="utf-8") as file:
        file.write('\n[aggregate]\nallow_networks = ["not-a-network"]\n')
    result = run_cli("aggregate", cwd=hub)
    assert result.code == 2
    assert "aggregate.allow_networks" in result.err and "not-a-network" in result.err
    text = (hub / "mediahub.toml").read_text(encoding="utf-8")
    (hub / "mediahub.toml").write_text(
        text.replace('["not-a-network"]', "[]\nper_host = 0"), encoding="utf-8"
    )
    result = run_cli("aggregate", cwd=hub)
    assert result.code == 2 and "aggregate.per_host" in result.err and "out of range" in result.err
