"""The items store: dedup per source, capped updates, retention, stories, FTS search."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mediahub.model import Enclosure, Item, ParsedFeed, Source
from mediahub.store import Store
from mediahub.store.item_text import canonical_link, title_key
from mediahub.store.items import UPDATE_CAP

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
A = "https://a.example.org/feed.xml"
B = "https://b.example.net/rss"


def item(n: int, **changes: object) -> Item:
    base = Item(
        id=f"id-{n}",
        title=f"Headline number {n} about coaching",
        link=f"https://a.example.org/posts/{n}",
        published=NOW - timedelta(hours=n),
        updated=None,
        summary_html=f"<p>Body {n} of <em>the</em> story</p>",
        enclosures=(Enclosure("https://a.example.org/e.mp3", "audio/mpeg", 10, 5.0),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def feed(*items: Item, title: str = "Feed A") -> ParsedFeed:
    return ParsedFeed(
        title=title,
        link="https://a.example.org/",
        description=None,
        items=items,
        podcast_guid="pg-1",
        hub="https://hub.example/",
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "state" / "mediahub.sqlite")
    s.add_source(Source(url=A, topic="leadership"), NOW)
    s.add_source(Source(url=B, topic="leadership", title="B's blog"), NOW)
    return s


def test_new_items_are_counted_once_and_read_back_whole(store: Store) -> None:
    assert store.save_items(A, feed(item(1), item(2)), NOW) == 2
    assert store.save_items(A, feed(item(1), item(2), item(3)), NOW) == 1
    assert store.count_items(A) == 3
    newest = store.latest_items(A, 10)
    assert [s.item.id for s in newest] == ["id-1", "id-2", "id-3"]
    assert newest[0].item == item(1)
    state = store.get_source(A)
    assert state is not None
    assert (state.feed_title, state.podcast_guid, state.hub) == (
        "Feed A",
        "pg-1",
        "https://hub.example/",
    )


def test_same_id_in_two_sources_is_two_items(store: Store) -> None:
    store.save_items(A, feed(item(1)), NOW)
    assert store.save_items(B, feed(item(1)), NOW) == 1
    assert store.count_items() == 2


def test_changed_items_are_updated_but_capped_per_day(store: Store) -> None:
    store.save_items(A, feed(item(1)), NOW)
    for n in range(UPDATE_CAP + 3):
        store.save_items(A, feed(item(1, title=f"Edited {n}")), NOW + timedelta(minutes=n))
    (stored,) = store.latest_items(A, 5)
    assert stored.item.title == f"Edited {UPDATE_CAP - 1}"
    # a day later the next change goes through again
    store.save_items(A, feed(item(1, title="Next day")), NOW + timedelta(days=1, hours=1))
    assert store.latest_items(A, 5)[0].item.title == "Next day"
    assert [h.stored.item.title for h in store.search_items("next day")] == ["Next day"]
    assert store.search_items("edited") == []


def test_items_without_dates_sort_by_first_seen(store: Store) -> None:
    store.save_items(A, feed(item(1, published=None)), NOW - timedelta(days=2))
    store.save_items(A, feed(item(2, published=None), item(1, published=None)), NOW)
    assert [s.item.id for s in store.latest_items(A, 5)] == ["id-2", "id-1"]
    assert store.latest_items(A, 5)[1].sort_date == NOW - timedelta(days=2)


def test_retention_keeps_the_newest_and_what_the_feed_still_carries(store: Store) -> None:
    store.save_items(A, feed(*(item(n) for n in range(10))), NOW)
    store.save_items(A, feed(item(9)), NOW, keep_newest=3)
    kept = [s.item.id for s in store.latest_items(A, 20)]
    assert kept == ["id-0", "id-1", "id-2", "id-9"]
    store.save_items(A, feed(item(0)), NOW, keep_newest=None, keep_days=0)
    assert [s.item.id for s in store.latest_items(A, 20)] == ["id-0"]


def test_removing_a_source_removes_its_items_and_their_index(store: Store) -> None:
    store.save_items(A, feed(item(1)), NOW)
    assert store.search_items("coaching")
    store.remove_source(A)
    assert store.count_items() == 0
    assert store.search_items("coaching") == []


def test_canonical_links_drop_tracking() -> None:
    assert canonical_link("http://www.Example.org/a/?utm_source=x&b=2&a=1&fbclid=z#top") == (
        "https://example.org/a?a=1&b=2"
    )
    assert canonical_link("javascript:alert(1)") is None
    assert title_key("Why  Managers Fail — and What to Do!") == "why managers fail and what to do"
    assert title_key("Update") is None


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_title_keys_of_ascii_titles_split_where_the_word_pattern_does(title: str) -> None:
    """The byte-table shortcut for ASCII titles gives what the regex gives."""
    words = re.sub(r"[^\w]+", " ", title.casefold()).split()
    assert title_key(title) == (" ".join(words) if len(words) >= 4 else None)
    # Each ASCII character between words, controls and "_" among them.
    for code in range(128):
        text = f"one{chr(code)}two three four"
        words = re.sub(r"[^\w]+", " ", text.casefold()).split()
        assert title_key(text) == (" ".join(words) if len(words) >= 4 else None), code


_NUMBERS = st.one_of(
    st.none(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), st.booleans()
)


@given(
    st.lists(
        st.tuples(
            st.text(max_size=30), st.one_of(st.none(), st.text(max_size=12)), _NUMBERS, _NUMBERS
        ),
        max_size=3,
    )
)
@example([("u", None, None, math.nan), ('ü"\n', "a/b", 10**20, -math.inf)])
@example([("u", "t", True, 1e-7), ("u", "t", 5, 600.0)])
def test_enclosures_are_stored_as_json_dumps_writes_them(values: list[tuple[Any, ...]]) -> None:
    from mediahub.store.item_rows import _enclosures_json

    enclosures = [Enclosure(url, kind, length, duration) for url, kind, length, duration in values]
    assert _enclosures_json(enclosures) == json.dumps([list(v) for v in values])


def test_an_updated_date_at_another_offset_keeps_its_own_text() -> None:
    from mediahub.store.item_rows import ROW_PUBLISHED, ROW_UPDATED, item_row

    published = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    same_moment = published.astimezone(timezone(timedelta(hours=2)))
    row = item_row(Item("a", "T", None, published, same_moment))
    assert row[ROW_PUBLISHED] == published.isoformat()
    assert row[ROW_UPDATED] == same_moment.isoformat()
    once = item_row(Item("a", "T", None, published, published))
    assert once[ROW_UPDATED] == published.isoformat()
    assert item_row(Item("a", "T", None, None, None))[ROW_UPDATED] is None


def test_the_same_story_from_two_sources_is_one_story(store: Store) -> None:
    store.save_items(A, feed(item(1, link="https://news.example/x?utm_medium=rss")), NOW)
    store.save_items(B, feed(item(7, link="https://www.news.example/x/")), NOW)
    store.save_items(B, feed(item(8, title="A completely different headline here", link=None)), NOW)
    # same title, another link, within the window: same story
    store.save_items(
        A,
        feed(
            item(
                9,
                title="A completely different headline, here!",
                link="https://a.example.org/other",
            )
        ),
        NOW,
    )
    # same title long after: another story
    store.save_items(
        A,
        feed(
            item(
                10,
                title="A completely different headline here",
                published=NOW - timedelta(days=30),
                link="https://a.example.org/old",
            )
        ),
        NOW,
    )
    stories = {
        s.item.id: s.story for s in store.topic_items("leadership", NOW - timedelta(days=60), 50)
    }
    assert stories["id-1"] == stories["id-7"]
    assert stories["id-8"] == stories["id-9"]
    assert stories["id-10"] not in (stories["id-8"], stories["id-1"])
    carried = store.story_items([stories["id-1"]])
    assert {s.source_url for s in carried} == {A, B}


def test_search_words_prefixes_topic_and_hostile_syntax(store: Store) -> None:
    store.add_source(Source(url="https://c.example/", topic="music"), NOW)
    store.save_items(
        A,
        feed(
            item(1, title="Delegation without fear", summary_html="<p>Trust your <b>team</b></p>")
        ),
        NOW,
    )
    store.save_items("https://c.example/", feed(item(2, title="Delegation in bands")), NOW)
    hits = store.search_items("deleg team")
    assert [h.stored.item.title for h in hits] == ["Delegation without fear"]
    assert hits[0].topic == "leadership"
    assert "team" in hits[0].snippet and "<b>" not in hits[0].snippet
    assert len(store.search_items("delegation")) == 2
    assert [h.topic for h in store.search_items("delegation", topic="music")] == ["music"]
    for hostile in ('"', "AND OR NOT", "title:*", "NEAR(", "'; DROP TABLE items; --", ""):
        assert isinstance(store.search_items(hostile), list)
    assert store.count_items() == 2


def test_an_id_repeated_in_one_feed_is_one_item_updated_in_order(store: Store) -> None:
    """The batched write decides as saving the items one by one would."""
    saved = store.save_items(A, feed(item(1), item(1, title="Edited in the same feed")), NOW)
    assert saved == 1
    (stored,) = store.latest_items(A, 5)
    assert stored.item.title == "Edited in the same feed"
    assert [h.stored.item.id for h in store.search_items("edited")] == ["id-1"]
    assert store.search_items("headline") == []


def test_stories_across_sources_are_found_for_a_whole_batch(store: Store) -> None:
    store.save_items(A, feed(*(item(n, link=f"https://news.example/{n}") for n in range(30))), NOW)
    store.save_items(
        B, feed(*(item(n + 100, link=f"https://www.news.example/{n}/") for n in range(30))), NOW
    )
    stories = {
        s.item.id: s.story for s in store.topic_items("leadership", NOW - timedelta(days=9), 90)
    }
    assert all(stories[f"id-{n}"] == stories[f"id-{n + 100}"] for n in range(30))
    assert len(set(stories.values())) == 30


def test_a_batch_commits_its_writes_together_or_not_at_all(store: Store) -> None:
    with store.batch():
        store.save_items(A, feed(item(1)), NOW)
        store.save_items(B, feed(item(2)), NOW)
    assert store.count_items() == 2
    with pytest.raises(RuntimeError), store.batch():
        store.save_items(A, feed(item(3)), NOW)
        raise RuntimeError("a later write failed")
    assert store.count_items() == 2
    store.save_items(A, feed(item(4)), NOW)  # the store writes on its own again afterwards
    assert store.count_items() == 3


def test_rows_made_in_the_parse_workers_store_the_same_rows(tmp_path: Path) -> None:
    """save_items(rows=feed_rows(feed)) of a feed without its items, as the cycle calls
    it, writes what save_items(feed) does: the same rows, stories and search entries."""
    import pickle
    from dataclasses import replace

    from mediahub.store.item_rows import feed_rows

    feeds = [
        feed(item(1), item(2, link="https://a.example.org/x?utm_source=rss&b=2&a=1")),
        feed(item(2, title="Édition révisée, numéro deux"), item(3, link=None), item(4)),
        # An undated item, and one changed again within the same feed.
        feed(
            item(3, link=None, title="A later title of the third one"),
            item(5, published=None),
            item(6),
            item(6, title="The sixth one, changed within its own feed"),
        ),
    ]
    dumps = []
    for name, with_rows in (("plain", False), ("rows", True)):
        s = Store(tmp_path / name / "mediahub.sqlite")
        s.add_source(Source(url=A, topic="t"), NOW)
        s.add_source(Source(url=B, topic="t"), NOW)
        s.save_items(B, feed(item(4, title="Four words in this title")), NOW)
        for n, f in enumerate(feeds):
            when = NOW + timedelta(hours=n)
            if with_rows:
                # What crosses from a worker: the feed without items, and the rows.
                rows = pickle.loads(pickle.dumps(feed_rows(f)))
                s.save_items(A, replace(f, items=()), when, rows=rows)
            else:
                s.save_items(A, f, when)
        dumps.append(
            (
                s._db.execute("SELECT * FROM items ORDER BY rowid").fetchall(),
                s._db.execute("SELECT * FROM sources ORDER BY url").fetchall(),
                _index(s),
            )
        )
    assert dumps[0] == dumps[1]
    assert len(dumps[0][0]) == 7


def _index(store: Store) -> list[tuple[object, ...]]:
    """Every (word, item, column, position) the search index holds."""
    store._db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.words USING fts5vocab(main, items_fts, instance)"
    )
    return store._db.execute("SELECT * FROM temp.words ORDER BY 1, 2, 3, 4").fetchall()


def _indexed_words(store: Store) -> set[str]:
    return {str(row[0]) for row in _index(store)}


def test_updates_and_removals_take_their_words_out_of_the_index(store: Store) -> None:
    """The index keeps no text: it forgets a row by being told its words again, which
    the schema's triggers recompute from the row (updates, removals, retention, a
    source's items going with it). Saving leaves new words to update_search."""
    store.save_items(A, feed(item(1, summary_html="<p>alpha <b>beta</b> &amp; gamma</p>")), NOW)
    store.save_items(B, feed(item(2, summary_html="<p>delta</p>", author="Epsilon Writer")), NOW)
    assert _indexed_words(store) == set() and store.pending_search() == 2
    assert store.update_search() == 2 and store.pending_search() == 0
    assert {"alpha", "beta", "gamma", "delta", "epsilon"} <= _indexed_words(store)
    store.save_items(A, feed(item(1, summary_html="<p>zeta</p>")), NOW)  # an update
    assert not {"alpha", "beta", "gamma", "zeta"} & _indexed_words(store)
    assert store.pending_search() == 1
    assert [h.stored.item.id for h in store.search_items("zeta")] == ["id-1"]  # catches up
    assert "zeta" in _indexed_words(store) and store.pending_search() == 0
    store.save_items(B, feed(item(0)), NOW, keep_newest=1)  # retention drops id-2
    assert not {"delta", "epsilon"} & _indexed_words(store)
    store.remove_source(A)
    assert "zeta" not in _indexed_words(store)
    assert _index(store) == _rebuilt_index(store)
    store._db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")


def test_rows_changed_or_removed_before_they_are_indexed_leave_the_index_alone(
    store: Store,
) -> None:
    """A pending row's words are not in the index: changing or removing it must not
    take them out (a contentless index told to forget words it never held is corrupt)."""
    store.save_items(A, feed(item(1, summary_html="<p>first</p>"), item(2)), NOW)
    store.update_search()
    store.save_items(A, feed(item(3, summary_html="<p>pending</p>")), NOW)
    store.save_items(A, feed(item(3, summary_html="<p>revised</p>")), NOW)  # still pending
    store.save_items(A, feed(item(4, summary_html="<p>doomed</p>")), NOW)
    newest = item(9, published=NOW + timedelta(hours=1))
    store.save_items(A, feed(newest), NOW + timedelta(hours=1), keep_newest=1)  # 1-4 go
    assert store.pending_search() == 1 and _index(store) == _rebuilt_index(store) == []
    store._db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
    store.update_search()
    assert [h.stored.item.id for h in store.search_items("story")] == ["id-9"]
    assert not {"first", "pending", "revised", "doomed"} & _indexed_words(store)


def test_the_index_catches_up_in_chunks_with_progress(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediahub.store import items as items_module

    monkeypatch.setattr(items_module, "SEARCH_CHUNK", 3)
    store.save_items(A, feed(*(item(n) for n in range(8))), NOW)
    seen: list[tuple[int, int]] = []
    assert store.update_search(progress=lambda done, total: seen.append((done, total))) == 8
    assert seen == [(3, 8), (6, 8), (8, 8)]
    assert store.update_search() == 0 and len(store.search_items("headline")) == 8
    assert _index(store) == _rebuilt_index(store)


_WORDS = ("alpha", "beta", "gamma", "delta")


@given(
    st.lists(
        st.one_of(
            st.tuples(
                st.just("save"),
                st.sampled_from([A, B]),
                st.lists(st.tuples(st.integers(0, 5), st.sampled_from(_WORDS)), max_size=4),
                st.none() | st.integers(1, 3),
            ),
            st.tuples(st.just("index")),
            st.tuples(st.just("remove"), st.sampled_from([A, B])),
        ),
        max_size=12,
    )
)
def test_any_sequence_of_writes_keeps_the_index_exactly_the_indexed_rows(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[object, ...]]
) -> None:
    """Whatever is saved, changed, pruned, removed or indexed in whatever order, the
    index holds exactly the words of the rows not pending, and after update_search
    those of every row."""
    with Store(tmp_path_factory.mktemp("fts") / "mediahub.sqlite") as s:
        for step in steps:
            if step[0] == "save":
                _, url, entries, keep = step
                when = NOW + timedelta(minutes=len(s._db.execute("SELECT 1 FROM items").fetchall()))
                items = {n: item(n, summary_html=f"<p>{word} {n}</p>") for n, word in entries}  # type: ignore[union-attr]
                s.add_source(Source(url=str(url), topic="t"), NOW)
                s.save_items(str(url), feed(*items.values()), when, keep_newest=keep)  # type: ignore[arg-type]
            elif step[0] == "index":
                s.update_search()
            else:
                s.remove_source(str(step[1]))
            assert _index(s) == _rebuilt_index(s)
        s._db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
        s.update_search()
        assert s.pending_search() == 0
        assert _index(s) == _rebuilt_index(s)
        s._db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")


def _rebuilt_index(store: Store) -> list[tuple[object, ...]]:
    """What the index of the items stored now would be, built from scratch elsewhere
    (without the rows waiting for update_search)."""
    import sqlite3

    from mediahub.store.item_text import search_text

    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE items_fts USING fts5"
        " (title, body, content = '', tokenize = 'unicode61 remove_diacritics 2')"
    )
    rows = store._db.execute(
        "SELECT item_key, title, summary_html, content_html, author FROM items"
        " WHERE item_key NOT IN (SELECT item_key FROM search_pending)"
    )
    db.executemany(
        "INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)",
        ((key, title, search_text(s, c, a)) for key, title, s, c, a in rows),
    )
    db.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, items_fts, instance)")
    return db.execute("SELECT * FROM temp.words ORDER BY 1, 2, 3, 4").fetchall()


def test_a_database_with_the_old_search_index_is_migrated_and_searches_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database whose index kept its own copy of the text gets a contentless one:
    the same hits, in the same order, with the snippets the old index cut; and its
    rows leave the new index cleanly afterwards."""
    from mediahub import store as store_module
    from mediahub.store import item_text

    steps = store_module.MIGRATIONS["items"]
    # The old index held each body's text on one line, as snippets show it.
    monkeypatch.setattr(item_text, "search_text", item_text.snippet_text)
    long_text = "<p>" + " ".join(f"word{n}" for n in range(60)) + " coaching tail</p>"
    monkeypatch.setitem(store_module.MIGRATIONS, "items", steps[:2])
    path = tmp_path / "state" / "mediahub.sqlite"
    with Store(path) as old:
        _save_as_before(old)
        old.add_source(Source(url=A, topic="leadership"), NOW)
        old.add_source(Source(url=B, topic="leadership"), NOW)
        old.save_items(A, feed(item(1), item(2, summary_html=long_text)), NOW)
        old.save_items(B, feed(item(3, title="Coaching the coaches", author="Ann")), NOW)
        _index_as_saving_did(old)
        before = old._db.execute(
            "SELECT i.id, snippet(items_fts, 1, '', '', ' … ', 24) FROM items_fts"
            " JOIN items i ON i.rowid = items_fts.rowid WHERE items_fts MATCH ?"
            " ORDER BY bm25(items_fts, 5.0, 1.0), i.sort_date DESC",
            ('"coaching"*',),
        ).fetchall()
    assert len(before) == 3 and "…" in dict(before)["id-2"]
    monkeypatch.undo()
    with Store(path) as store:  # migrates
        assert store.pending_search() == 0
        assert [(h.stored.item.id, h.snippet) for h in store.search_items("coaching")] == before
        tables = {str(r[0]) for r in store._db.execute("SELECT name FROM sqlite_master")}
        assert "items_fts" in tables and "items_fts_content" not in tables
        assert _index(store) == _rebuilt_index(store)
        store.save_items(A, feed(item(1, summary_html="<p>revised</p>")), NOW)
        store.remove_source(B)
        assert {h.stored.item.id for h in store.search_items("coaching")} == {"id-1", "id-2"}
        assert _index(store) == _rebuilt_index(store)
        assert store.integrity_ok()


def _save_as_before(store: Store) -> None:
    """Let this version's save_items write into a database of an earlier schema: it
    lists new rows in search_pending, which such a database lacks (a temporary one
    takes them, gone with the connection)."""
    store._db.execute("CREATE TEMP TABLE search_pending (item_key INTEGER PRIMARY KEY)")


def _index_as_saving_did(store: Store) -> None:
    """Index every stored row, as saving items did before the index caught up apart
    (for databases made with earlier schemas, which have no search_pending)."""
    from mediahub.store import item_text

    rows = store._db.execute(
        "SELECT item_key, title, summary_html, content_html, author FROM items"
    ).fetchall()
    store._db.executemany(
        "INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)",
        [(key, title, item_text.search_text(s, c, a)) for key, title, s, c, a in rows],
    )


def test_rows_of_an_earlier_digest_format_are_rewritten_once_uncounted(store: Store) -> None:
    """Rows stored by an earlier version carry a digest over sanitised HTML (a bare
    SHA-256 or "2:"), which no item matches now that HTML is stored as fetched: seen
    again, such a row is rewritten in the current format without counting a change
    (the update cap is for feeds that change); from then on current digests decide."""
    from mediahub.store.item_rows import DIGEST_PREFIX

    first, second = item(1), item(2)
    store.save_items(A, feed(first, second), NOW)
    with store._transaction() as db:
        db.execute("UPDATE items SET content_hash = 'ab12', changes_today = 0 WHERE id = 'id-1'")
        db.execute("UPDATE items SET content_hash = '2:cd', changes_today = 0 WHERE id = 'id-2'")
    before = dict(store._db.execute("SELECT id, last_changed FROM items"))
    later = NOW + timedelta(hours=1)
    edited = replace(second, title="Headline number 2, corrected")
    assert store.save_items(A, feed(first, edited), later) == 0
    rows = {
        str(r[0]): r[1:]
        for r in store._db.execute(
            "SELECT id, content_hash, changes_today, last_changed FROM items"
        )
    }
    for key in ("id-1", "id-2"):
        assert rows[key][0].startswith(DIGEST_PREFIX)
        assert rows[key][1:] == (0, before[key])
    assert [s.item.title for s in store.latest_items(A, 5)] == [first.title, edited.title]
    assert _index(store) == _rebuilt_index(store)
    # From now on the current digests decide: the same feed again changes nothing, an
    # edit counts.
    assert store.save_items(A, feed(first, edited), later) == 0
    assert dict(store._db.execute("SELECT id, changes_today FROM items")) == {"id-1": 0, "id-2": 0}
    store.save_items(A, feed(first, replace(edited, title="Headline number 2, final")), later)
    assert dict(store._db.execute("SELECT id, changes_today FROM items")) == {"id-1": 0, "id-2": 1}


def test_scripts_styles_and_comments_are_not_searchable_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feed HTML is stored as fetched: what scripts, styles and comments hold is not
    prose and stays out of the index. A database indexed before that (its words taken
    with them) is re-indexed by its migration."""
    import re

    from mediahub import store as store_module
    from mediahub.store import item_text

    hostile = (
        "<p>Quiet coaching</p><script>trackerjs()</script><STYLE>.banner{}</STYLE>"
        "<!-- draftnote -->"
    )
    steps = store_module.MIGRATIONS["items"]
    monkeypatch.setattr(item_text, "_MARKUP", re.compile("<[^>]*>"))  # the old words
    monkeypatch.setitem(store_module.MIGRATIONS, "items", steps[:3])
    path = tmp_path / "state" / "mediahub.sqlite"
    with Store(path) as old:
        _save_as_before(old)
        old.add_source(Source(url=A, topic="leadership"), NOW)
        old.save_items(A, feed(item(1, summary_html=hostile)), NOW)
        _index_as_saving_did(old)
        assert old._db.execute(
            "SELECT rowid FROM items_fts WHERE items_fts MATCH 'trackerjs'"
        ).fetchall() == [(1,)]
    monkeypatch.undo()
    with Store(path) as store:  # migrates
        for word in ("trackerjs", "banner", "draftnote"):
            assert store.search_items(word) == [], word
        assert [h.stored.item.id for h in store.search_items("quiet")] == ["id-1"]
        assert _index(store) == _rebuilt_index(store)
        store.save_items(A, feed(item(2, summary_html=hostile)), NOW)
        assert store.search_items("trackerjs") == []
        assert {h.stored.item.id for h in store.search_items("coaching")} == {"id-1", "id-2"}
        assert _index(store) == _rebuilt_index(store)
        assert store.integrity_ok()


_LINKS = [
    "https://a.example.org/posts/1",
    "http://WWW.Example.ORG",
    "https://x.example/a/b//",
    "HTTPS://X.example/é/ü",
    " https://x.example/a",
    "https://x.example:8080/a",
    "https://x.example:443/a",
    "https://x.example/a?utm_source=1&b=2",
    "https://x.example/#frag",
    "ftp://x.example/a",
    "https://user@x.example/a",
    "https://[::1]/a",
    "https://x.example/a b",
    "https://x.example/a\tb",
    "https://.",
    "https:///path",
]


@pytest.mark.parametrize("url", _LINKS)
def test_the_plain_link_shortcut_agrees_with_urlsplit(url: str) -> None:
    from mediahub.store.item_text import _canonical_link

    assert canonical_link(url) == _canonical_link(url)


@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "Https", "ftp"]),
    host=st.from_regex(r"(www\.)?[A-Za-z0-9.-]{0,20}", fullmatch=True),
    path=st.text(max_size=30),
)
def test_canonical_links_agree_with_urlsplit_whatever_the_path(
    scheme: str, host: str, path: str
) -> None:
    from mediahub.store.item_text import _canonical_link

    url = f"{scheme}://{host}{path}"
    try:
        expected = _canonical_link(url)
    except ValueError:  # urlsplit refuses some netlocs: never the shortcut's
        return
    assert canonical_link(url) == expected


def test_the_content_digest_is_pinned_to_its_documented_bytes() -> None:
    """Stored digests outlive releases: a new way of computing one must give the same
    bytes (length in UTF-8, a colon, the text; "-" for a missing field), or every
    stored item would count as changed. The expected bytes are written out by hand."""
    import hashlib

    from mediahub.store.item_rows import DIGEST_PREFIX, ROW_DIGEST, item_row

    item = Item(
        id="ep-1",
        title="Caf\u00e9 \u2615",
        link="https://example.org/a",
        published=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        updated=None,
        author=None,
        summary_html="<p>hi</p>",
        content_html="x\udc80",
        enclosures=(Enclosure("https://example.org/a.mp3", "audio/mpeg", 1234, 61.5),),
        image=None,
    )
    expected = (
        b"9:Caf\xc3\xa9 \xe2\x98\x95"
        b"21:https://example.org/a"
        b"-"
        b"9:<p>hi</p>"
        b"4:x\xed\xb2\x80"
        b"-"
        b"25:2026-01-02T03:04:05+00:00"
        b"1:1"
        b"25:https://example.org/a.mp3"
        b"10:audio/mpeg"
        b"4:1234"
        b"4:61.5"
    )
    assert item_row(item)[ROW_DIGEST] == DIGEST_PREFIX + hashlib.sha256(expected).hexdigest()
    # An enclosure without type, length or duration: each a "-".
    bare = replace(item, enclosures=(Enclosure("https://example.org/b.mp3"),))
    expected_bare = expected.split(b"1:1")[0] + b"1:1" + b"25:https://example.org/b.mp3---"
    assert item_row(bare)[ROW_DIGEST] == DIGEST_PREFIX + hashlib.sha256(expected_bare).hexdigest()


def test_text_story_keys_are_migrated_to_integers_with_their_stories_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database whose link and title keys and stories were text gets integers: the
    same stories group the same items, each story keyed by its earliest item, and an
    item saved afterwards still finds its story by link or by title."""
    from mediahub import store as store_module
    from mediahub.store.item_text import story_key

    steps = store_module.MIGRATIONS["items"]
    monkeypatch.setitem(store_module.MIGRATIONS, "items", steps[:5])
    path = tmp_path / "state" / "mediahub.sqlite"
    c = "https://c.example.com/feed"
    with Store(path) as old:
        for url in (A, B, c):
            old.add_source(Source(url=url, topic="leadership"), NOW)
        old.save_items(A, feed(item(1), item(2)), NOW)
        old.save_items(B, feed(item(3, link="https://a.example.org/posts/1")), NOW)
        # What the text schema held: the keys as text, stories named by hashes.
        rows = old._db.execute("SELECT item_key, id, link, title FROM items").fetchall()
        named = {"id-1": "story:aaaa", "id-3": "story:aaaa", "id-2": "story:bbbb"}
        old._db.executemany(
            "UPDATE items SET link_key = ?, title_key = ?, story = ? WHERE item_key = ?",
            [(canonical_link(link), title_key(title), named[i], k) for k, i, link, title in rows],
        )
        assert old._db.execute("SELECT typeof(story) FROM items LIMIT 1").fetchone() == ("text",)
        keys = {i: k for k, i, _, _ in rows}
    monkeypatch.undo()
    with Store(path) as store:  # migrates
        migrated = dict(store._db.execute("SELECT id, story FROM items").fetchall())
        assert migrated == {"id-1": keys["id-1"], "id-3": keys["id-1"], "id-2": keys["id-2"]}
        assert {
            tuple(r)
            for r in store._db.execute("SELECT typeof(link_key), typeof(title_key) FROM items")
        } == {("integer", "integer")}
        link = store._db.execute("SELECT link_key FROM items WHERE id = 'id-2'").fetchone()[0]
        assert link == story_key("https://a.example.org/posts/2")
        # After: one item joins by link, another by title (within the window).
        store.save_items(c, feed(item(4, link="https://www.a.example.org/posts/2/")), NOW)
        store.save_items(c, feed(item(5, title=item(1).title, link="https://c.example.com/5")), NOW)
        stories = {
            s.item.id: s.story for s in store.topic_items("leadership", NOW - timedelta(days=9), 9)
        }
        assert stories["id-4"] == stories["id-2"] != stories["id-1"] == stories["id-5"]
        assert {s.item.id for s in store.story_items([stories["id-1"]])} == {"id-1", "id-3", "id-5"}
        # A story of its own is keyed by its own row, so keys never collide.
        store.save_items(c, feed(item(6, title="A headline no other source carried")), NOW)
        (own,) = store._db.execute("SELECT item_key, story FROM items WHERE id = 'id-6'")
        assert own[0] == own[1]
        assert store.integrity_ok()
        assert [h.stored.item.id for h in store.search_items("carried")] == ["id-6"]
