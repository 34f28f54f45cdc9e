"""Topic pages built from the items store by ``mediahub build``: safe, attributed, complete."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from mediahub import config as config_module
from mediahub.aggregate.opml import from_opml
from mediahub.aggregate.parse import parse_feed
from mediahub.model import Item, ParsedFeed, Source
from mediahub.publish.topics import build_topics, time_ago, topic_slug
from mediahub.store import Store
from tests.conftest import run_cli

A = "https://calm.example.org/feed.xml"
B = "https://steady.example.net/rss"
SILENT = "https://quiet.example.com/atom"
OTHER = "https://music.example.org/feed"

HOSTILE = (
    '<p>Read <a href="javascript:alert(1)">this</a> now'
    '<img src="x.png" onerror="alert(2)"><script>alert(3)</script>'
    '<form action="https://evil.example/"><input name="password"></form>'
    '<a href="https://ok.example/" onclick="alert(4)">fine link</a></p>'
)


def _feed(title: str, *items: Item) -> ParsedFeed:
    return ParsedFeed(
        title=title, link=f"https://{title.lower()}.example/", description=None, items=items
    )


def _populate(hub: Path, now: datetime) -> None:
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        store.add_source(Source(A, "Leadership & Teams"), now)
        store.add_source(Source(B, "Leadership & Teams", title="Steady <Blog>"), now)
        store.add_source(Source(SILENT, "Leadership & Teams"), now)
        store.add_source(Source(OTHER, "Music"), now)
        hour = timedelta(hours=1)
        store.save_items(
            A,
            _feed(
                "Calm",
                Item(
                    id="1",
                    title="Five questions for <your> first one-on-one",
                    link="https://calm.example.org/p/1?utm_source=rss",
                    published=now - 2 * hour,
                    updated=None,
                    summary_html=HOSTILE,
                ),
                Item(
                    id="2",
                    title="Calm item two",
                    link="https://calm.example.org/p/2",
                    published=now - 5 * hour,
                    updated=None,
                ),
            ),
            now,
        )
        store.save_items(
            B,
            _feed(
                "Steady",
                Item(
                    id="s1",
                    title="Shared story",
                    link="https://www.calm.example.org/p/1",
                    published=now - 3 * hour,
                    updated=None,
                    summary_html="<p>Also here</p>",
                ),
            ),
            now,
        )
        store.save_items(
            SILENT,
            _feed(
                "Quiet",
                Item(
                    id="q1",
                    title="Old news from the quiet source",
                    link="https://quiet.example.com/1",
                    published=now - timedelta(days=40),
                    updated=None,
                ),
            ),
            now,
        )
        store.save_items(
            OTHER,
            _feed(
                "Music",
                Item(
                    id="m1",
                    title="Chords",
                    link="https://music.example.org/1",
                    published=now - hour,
                    updated=None,
                ),
            ),
            now,
        )


def test_build_renders_topic_pages_without_any_hostile_markup(hub: Path) -> None:
    now = datetime.now(UTC)
    _populate(hub, now)
    result = run_cli("build", cwd=hub)
    assert result.code == 0, result.err
    topics = hub / "public" / "topics"
    index = (topics / "index.html").read_text(encoding="utf-8")
    assert 'href="/topics/leadership-teams/"' in index or "leadership-teams/" in index
    assert "Music" in index
    page = (topics / "leadership-teams" / "index.html").read_text(encoding="utf-8")

    # none of the hostile markup is left, the harmless parts are
    lowered = page.lower()
    for bad in ("<script", "alert(", "onerror", "onclick", "javascript:", "<form", "<input"):
        assert bad not in lowered, bad
    assert '<a href="https://ok.example/" rel="noopener noreferrer">fine link</a>' in page
    # titles are plain text, escaped
    assert "Five questions for &lt;your&gt; first one-on-one" in page
    assert "Steady &lt;Blog&gt;" in page
    # one box per active source; the source silent for 40 days is hidden
    assert page.count('<article class="box">') == 2
    assert "Old news from the quiet source" not in page
    assert "1 source is hidden" in page
    # the story both sources carried, with "also in"
    stories = page.split('class="stories"')[1].split("</section>")[0]
    assert "also in:" in stories and "Steady &lt;Blog&gt;" in stories
    # attribution: every river entry names and links its source
    river = page.split('class="river"')[1]
    assert river.count("From <a href=") == 3
    assert re.search(r"<time datetime=\"[^\"]+\">2 h ago</time>", river)
    assert "Chords" not in page  # another topic

    # the topic's Atom feed reads back through our own parser; the OPML lists its sources
    atom = (topics / "leadership-teams" / "feed.atom").read_bytes()
    ET.fromstring(atom)
    parsed = parse_feed(atom, "http://127.0.0.1/topics/leadership-teams/feed.atom")
    assert [i.title for i in parsed.items][:1] == ["Five questions for <your> first one-on-one"]
    assert "script" not in (parsed.items[0].summary_html or "")
    opml = from_opml((topics / "leadership-teams" / "sources.opml").read_bytes(), "opml")
    assert {s.url for s in opml.sources} == {A, B, SILENT}

    # a second build keeps the topic pages (they are planned, not removed as stale)
    again = run_cli("build", cwd=hub)
    assert again.code == 0, again.err
    assert (topics / "leadership-teams" / "index.html").read_text(encoding="utf-8") == page


def test_build_topics_alone_rewrites_only_topics(hub: Path) -> None:
    now = datetime.now(UTC)
    assert run_cli("build", cwd=hub).code == 0
    home = (hub / "public" / "index.html").read_bytes()
    _populate(hub, now)
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        written = build_topics(config, store, now)
    assert written == 1 + 3 * 2
    assert (hub / "public" / "topics" / "music" / "index.html").is_file()
    assert (hub / "public" / "index.html").read_bytes() == home


def test_no_sources_no_topic_pages(hub: Path) -> None:
    assert run_cli("build", cwd=hub).code == 0
    assert not (hub / "public" / "topics").exists()
    assert _TOPICS_LINK not in (hub / "public" / "index.html").read_text(encoding="utf-8")


_TOPICS_LINK = '<a href="/topics/">Topics</a>'


def _pages(public: Path) -> list[Path]:
    return sorted(p for p in public.rglob("*.html") if "topics" not in p.parts)


def test_the_first_sources_put_topics_in_every_page_menu(hub: Path) -> None:
    """Topic pages are found from the menu, on every page, once the hub follows feeds:
    the first build after the first source rewrites every page, later ones none."""
    assert run_cli("build", cwd=hub).code == 0
    public = hub / "public"
    _populate(hub, datetime.now(UTC))
    result = run_cli("build", cwd=hub)
    assert result.code == 0, result.err
    pages = _pages(public)
    assert len(pages) > 10
    missing = [p for p in pages if _TOPICS_LINK not in p.read_text(encoding="utf-8")]
    assert not missing, missing
    assert "0 written" in run_cli("build", cwd=hub).out


def test_aggregating_the_first_items_rebuilds_the_built_site(hub: Path) -> None:
    """'mediahub aggregate' on a site built before it followed anything writes the topic
    pages and the menus that link to them; after that, only topic pages."""
    assert run_cli("build", cwd=hub).code == 0
    public = hub / "public"
    first = run_cli("aggregate", "--all", cwd=hub)  # the example hub's file: sources
    assert first.code == 0, first.err
    assert (public / "topics" / "index.html").is_file()
    missing = [p for p in _pages(public) if _TOPICS_LINK not in p.read_text(encoding="utf-8")]
    assert not missing, missing
    home = (public / "index.html").stat().st_mtime_ns
    feed = hub / "feeds" / "quiet-mornings.xml"
    feed.write_text(
        feed.read_text(encoding="utf-8").replace(
            "<item>",
            "<item><title>One more morning</title><guid>extra-1</guid>"
            f"<pubDate>{format_datetime(datetime.now(UTC))}</pubDate></item><item>",
            1,
        ),
        encoding="utf-8",
    )
    again = run_cli("aggregate", "--all", cwd=hub)
    assert again.code == 0, again.err
    assert "1 new item" in again.out
    assert "One more morning" in (public / "topics" / "leadership" / "index.html").read_text(
        encoding="utf-8"
    )
    assert (public / "index.html").stat().st_mtime_ns == home


def test_slugs_and_ages() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert topic_slug("Leadership & Teams") == "leadership-teams"
    assert topic_slug("Économie") == "economie"
    assert topic_slug("???") == "topic"
    assert time_ago(now - timedelta(seconds=5), now) == "1 min ago"
    assert time_ago(now - timedelta(hours=3), now) == "3 h ago"
    assert time_ago(now - timedelta(days=1, hours=2), now) == "1 day ago"
