"""``mediahub search`` over items stored in the hub's real database, run as a user would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mediahub import config as config_module
from mediahub.aggregate.parse import parse_feed
from mediahub.model import Source
from mediahub.store import Store
from mediahub.store.item_text import search_text
from tests.conftest import run_cli

NOW = datetime.now(UTC)
LEAD = "https://lead.example.org/feed.xml"
BAND = "https://band.example.net/feed.xml"


def _rss(*items: tuple[str, str, str]) -> bytes:
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://x.example/{guid}</link>"
        f"<description>{text}</description>"
        f"<pubDate>{(NOW - timedelta(hours=1)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        "</item>"
        for guid, title, text in items
    )
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def _populate(hub: Path, *, first_schema: bool = False) -> None:
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        if first_schema:
            # This version's save_items lists new rows in search_pending (none in that
            # schema: a temporary one takes them); saving indexed them then.
            store._db.execute("CREATE TEMP TABLE search_pending (item_key INTEGER PRIMARY KEY)")
        store.add_source(Source(LEAD, "leadership", title="Lead Notes"), NOW)
        store.add_source(Source(BAND, "music"), NOW)
        store.save_items(
            LEAD,
            parse_feed(
                _rss(
                    (
                        "1",
                        "Delegation without fear",
                        "&lt;p&gt;Trust the &lt;b&gt;team&lt;/b&gt;.&lt;/p&gt;",
                    ),
                    ("2", "Feedback that lands", "Say what you saw, then ask."),
                ),
                LEAD,
            ),
            NOW,
        )
        store.save_items(
            BAND,
            parse_feed(
                _rss(
                    ("b1", "Delegating the setlist", "Who picks the encore?"),
                ),
                BAND,
            ),
            NOW,
        )
        if first_schema:
            rows = store._db.execute(
                "SELECT rowid, title, summary_html, content_html, author FROM items"
            ).fetchall()
            store._db.executemany(
                "INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)",
                [(key, title, search_text(s, c, a)) for key, title, s, c, a in rows],
            )


def test_search_finds_words_and_prefixes_as_json(hub: Path) -> None:
    _populate(hub)
    result = run_cli("search", "deleg", "--json", cwd=hub)
    assert result.code == 0, result.err
    hits = json.loads(result.out)
    assert {h["title"] for h in hits} == {"Delegation without fear", "Delegating the setlist"}
    result = run_cli("search", "trust team", "--json", cwd=hub)
    (hit,) = json.loads(result.out)
    assert hit["title"] == "Delegation without fear"
    assert hit["source_title"] == "Lead Notes" and hit["topic"] == "leadership"
    assert hit["link"] == "https://x.example/1"
    assert "team" in hit["snippet"] and "<" not in hit["snippet"]


def test_search_by_topic_and_plain_output(hub: Path) -> None:
    _populate(hub)
    result = run_cli("search", "delegat", "--topic", "music", cwd=hub)
    assert result.code == 0, result.err
    assert "Delegating the setlist" in result.out
    assert "Delegation without fear" not in result.out
    assert "1 item found" in result.err


def test_no_match_and_odd_queries_are_not_errors(hub: Path) -> None:
    _populate(hub)
    for query in ("zebra", '"unbalanced', "NEAR(a b", "title:x*", "-"):
        result = run_cli("search", query, "--json", cwd=hub)
        assert result.code == 0, (query, result.err)
        assert json.loads(result.out) == []


def test_search_outside_a_hub_is_a_user_error(tmp_path: Path) -> None:
    result = run_cli("search", "x", cwd=tmp_path)
    assert result.code == 2
    assert "Traceback" not in result.err
    assert run_cli("search", "--help", cwd=tmp_path).code == 0


def test_search_survives_removals_and_a_vacuum(hub: Path) -> None:
    """The index refers to items by an explicit INTEGER PRIMARY KEY, which VACUUM
    keeps: after a source goes and the database is compacted, every hit is still
    the item whose words matched."""
    import sqlite3

    _populate(hub)
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        store.remove_source(LEAD)  # leaves a gap below the band's rows
    with sqlite3.connect(config.paths.database) as db:
        columns = db.execute("PRAGMA table_info(items)").fetchall()
        assert [(c[1], c[2]) for c in columns if c[5]] == [("item_key", "INTEGER")]
    db = sqlite3.connect(config.paths.database)
    db.execute("VACUUM")
    db.close()
    with Store(config.paths.database) as store:
        hits = store.search_items("setlist")
        assert [h.stored.item.title for h in hits] == ["Delegating the setlist"]
        assert store.search_items("feedback") == []


def test_a_database_from_before_the_explicit_item_key_keeps_its_items(
    hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The migration rebuilds the items table around item_key, rowids kept, so the
    search index (keyed by them) still points at the same items."""
    from mediahub import store as store_module

    steps = store_module.MIGRATIONS["items"]
    monkeypatch.setitem(store_module.MIGRATIONS, "items", steps[:1])
    _populate(hub, first_schema=True)  # stored under the first schema: implicit rowids
    monkeypatch.setitem(store_module.MIGRATIONS, "items", steps)
    config = config_module.load(hub)
    with Store(config.paths.database) as store:  # migrates
        assert [h.stored.item.title for h in store.search_items("feedback")] == [
            "Feedback that lands"
        ]
        assert len(store.search_items("deleg")) == 2
        assert store.integrity_ok()
