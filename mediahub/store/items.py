"""The items area of the store: aggregated items, deduplicated, searchable (FTS5).

Items are keyed per source by their id. A changed item (its content hash
differs) is updated, but at most ``UPDATE_CAP`` times a day, for feeds whose
items change on every fetch. Each item also carries a story key so the same
story from several sources shows once: the same canonical link (tracking
parameters dropped), or the same normalised title within ``STORY_WINDOW``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import datetime, timedelta
from typing import Any

from mediahub.model import Enclosure, Item, ParsedFeed, SearchHit, StoredItem
from mediahub.store.base import StoreBase
from mediahub.store.item_rows import (
    DIGEST_PREFIX,
    ROW_DIGEST,
    ROW_ID,
    ROW_LINK_KEY,
    ROW_PUBLISHED,
    ROW_TITLE_KEY,
    ItemRow,
    content_columns,
    feed_rows,
)
from mediahub.store.item_text import NON_WORD, search_text, snippet_text, story_key

# The triggers that keep search_pending and the contentless search index true when a
# row changes or goes (made by the migration that added search_pending; the one that
# rebuilds the table makes them again, as they go with it).
_SEARCH_TRIGGERS = """
    CREATE TRIGGER items_search_update
    AFTER UPDATE OF title, summary_html, content_html, author ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, title, body)
            SELECT 'delete', old.item_key, old.title,
                mediahub_search_text(old.summary_html, old.content_html, old.author)
            WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE item_key = old.item_key);
        INSERT OR IGNORE INTO search_pending (item_key) VALUES (old.item_key);
    END;
    CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, title, body)
            SELECT 'delete', old.item_key, old.title,
                mediahub_search_text(old.summary_html, old.content_html, old.author)
            WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE item_key = old.item_key);
        DELETE FROM search_pending WHERE item_key = old.item_key;
    END
    """

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE items (
        source_url TEXT NOT NULL REFERENCES sources(url) ON DELETE CASCADE ON UPDATE CASCADE,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT,
        published TEXT,
        updated TEXT,
        author TEXT,
        summary_html TEXT,
        content_html TEXT,
        enclosures TEXT NOT NULL DEFAULT '[]',
        image TEXT,
        content_hash TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        sort_date TEXT NOT NULL,
        last_changed TEXT NOT NULL,
        changes_today INTEGER NOT NULL DEFAULT 0,
        link_key TEXT,
        title_key TEXT,
        story TEXT NOT NULL,
        PRIMARY KEY (source_url, id)
    );
    CREATE INDEX items_by_date ON items (source_url, sort_date DESC);
    CREATE INDEX items_by_link_key ON items (link_key);
    CREATE INDEX items_by_title_key ON items (title_key, sort_date);
    CREATE INDEX items_by_story ON items (story);
    CREATE VIRTUAL TABLE items_fts USING fts5 (
        title, body, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        DELETE FROM items_fts WHERE rowid = old.rowid;
    END
    """,
    # The search index refers to items by rowid: make it an explicit INTEGER PRIMARY
    # KEY (item_key), which VACUUM keeps, instead of the implicit rowid it may renumber.
    """
    CREATE TABLE items_keyed (
        source_url TEXT NOT NULL REFERENCES sources(url) ON DELETE CASCADE ON UPDATE CASCADE,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT,
        published TEXT,
        updated TEXT,
        author TEXT,
        summary_html TEXT,
        content_html TEXT,
        enclosures TEXT NOT NULL DEFAULT '[]',
        image TEXT,
        content_hash TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        sort_date TEXT NOT NULL,
        last_changed TEXT NOT NULL,
        changes_today INTEGER NOT NULL DEFAULT 0,
        link_key TEXT,
        title_key TEXT,
        story TEXT NOT NULL,
        item_key INTEGER PRIMARY KEY,
        UNIQUE (source_url, id)
    );
    INSERT INTO items_keyed SELECT *, rowid FROM items;
    DROP TABLE items;
    ALTER TABLE items_keyed RENAME TO items;
    CREATE INDEX items_by_date ON items (source_url, sort_date DESC);
    CREATE INDEX items_by_link_key ON items (link_key);
    CREATE INDEX items_by_title_key ON items (title_key, sort_date);
    CREATE INDEX items_by_story ON items (story);
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        DELETE FROM items_fts WHERE rowid = old.rowid;
    END
    """,
    # The search index keeps no copy of the text (contentless): the items table holds
    # it already, and writing it twice was a third of what storing items cost. A
    # contentless index forgets a row only when told the words it indexed, which are
    # search_text() of the row's own columns: the trigger (and updates) recompute them
    # with the SQL function of that name, registered on every connection (FUNCTIONS).
    # Snippets are made at search time from the stored HTML.
    """
    DROP TRIGGER items_fts_delete;
    DROP TABLE items_fts;
    CREATE VIRTUAL TABLE items_fts USING fts5 (
        title, body, content = '', tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO items_fts (rowid, title, body)
        SELECT item_key, title, mediahub_search_text(summary_html, content_html, author)
        FROM items;
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, title, body) VALUES (
            'delete', old.item_key, old.title,
            mediahub_search_text(old.summary_html, old.content_html, old.author)
        );
    END
    """,
    # Feed HTML is stored as fetched (it used to be sanitised first), so search_text()
    # now drops script and style elements and comments with their content: the index
    # is rebuilt with it, as a contentless index must be whenever search_text changes.
    """
    INSERT INTO items_fts (items_fts) VALUES ('delete-all');
    INSERT INTO items_fts (rowid, title, body)
        SELECT item_key, title, mediahub_search_text(summary_html, content_html, author)
        FROM items
    """,
    # The search index catches up after storing instead of during it (as reader's
    # update_search does): indexing was half of what the aggregation cycle's writer
    # spent. search_pending lists the rows whose words are not in the index; every
    # other row's are. Saving lists each new row (_Batch.write: a trigger on insert
    # cost as much as the rest of storing a row); triggers keep it true for the rest:
    # a changed indexed row gives its old words back and is pending again; a removed
    # row gives its words back only if the index holds them.
    """
    DROP TRIGGER items_fts_delete;
    CREATE TABLE search_pending (item_key INTEGER PRIMARY KEY);
    """
    + _SEARCH_TRIGGERS,
    # Story keys as integers: link and title keys become 64-bit hashes of their text
    # (mediahub_key, as story_key makes them), and a story is the item_key of the
    # earliest item that told it, so a new story's key is its own row's and goes to
    # the end of its index. Indexes of 8-byte keys instead of 30- to 80-character
    # texts, one of them appended to: a cold cycle of 1,000 feeds wrote 100-160 MB
    # less and its writer spent 0.3-0.8 CPU-s less. The table is rebuilt because a
    # column declared TEXT would store the integers as text; item_key is kept, and
    # with it the search index and search_pending.
    """
    DROP TRIGGER items_search_update;
    DROP TRIGGER items_search_delete;
    CREATE TABLE items_int (
        source_url TEXT NOT NULL REFERENCES sources(url) ON DELETE CASCADE ON UPDATE CASCADE,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT,
        published TEXT,
        updated TEXT,
        author TEXT,
        summary_html TEXT,
        content_html TEXT,
        enclosures TEXT NOT NULL DEFAULT '[]',
        image TEXT,
        content_hash TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        sort_date TEXT NOT NULL,
        last_changed TEXT NOT NULL,
        changes_today INTEGER NOT NULL DEFAULT 0,
        link_key INTEGER,
        title_key INTEGER,
        story INTEGER NOT NULL,
        item_key INTEGER PRIMARY KEY,
        UNIQUE (source_url, id)
    );
    INSERT INTO items_int
        SELECT source_url, id, title, link, published, updated, author, summary_html,
            content_html, enclosures, image, content_hash, first_seen, sort_date,
            last_changed, changes_today, mediahub_key(link_key), mediahub_key(title_key),
            (SELECT min(teller.item_key) FROM items teller WHERE teller.story = items.story),
            item_key
        FROM items;
    DROP TABLE items;
    ALTER TABLE items_int RENAME TO items;
    CREATE INDEX items_by_date ON items (source_url, sort_date DESC);
    CREATE INDEX items_by_link_key ON items (link_key);
    CREATE INDEX items_by_title_key ON items (title_key);
    CREATE INDEX items_by_story ON items (story);
    """
    + _SEARCH_TRIGGERS,
)

# A changed item is rewritten at most this many times a day.
UPDATE_CAP = 4
# The same normalised title from two sources is one story if this close in time.
STORY_WINDOW = timedelta(days=3)
# Default retention: the newest N items of each source (items still in the feed are kept).
DEFAULT_KEEP = 500

_SELECT = (
    "SELECT i.source_url, i.id, i.title, i.link, i.published, i.updated, i.author,"
    " i.summary_html, i.content_html, i.enclosures, i.image, i.first_seen, i.sort_date,"
    " i.story FROM items i"
)


# SQL functions the items schema calls (registered by the Store on every connection).
FUNCTIONS: dict[str, tuple[int, Callable[..., str | int | float | None]]] = {
    "mediahub_search_text": (3, search_text),
    "mediahub_key": (1, story_key),
}


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _stored(row: Sequence[object]) -> StoredItem:
    (
        source_url,
        item_id,
        title,
        link,
        published,
        updated,
        author,
        summary,
        content,
        enclosures,
        image,
        first_seen,
        sort_date,
        story,
    ) = row
    item = Item(
        id=str(item_id),
        title=str(title),
        link=link if isinstance(link, str) else None,
        published=_when(published if isinstance(published, str) else None),
        updated=_when(updated if isinstance(updated, str) else None),
        author=author if isinstance(author, str) else None,
        summary_html=summary if isinstance(summary, str) else None,
        content_html=content if isinstance(content, str) else None,
        enclosures=tuple(Enclosure(*e) for e in json.loads(str(enclosures))),
        image=image if isinstance(image, str) else None,
    )
    return StoredItem(
        source_url=str(source_url),
        item=item,
        first_seen=datetime.fromisoformat(str(first_seen)),
        sort_date=datetime.fromisoformat(str(sort_date)),
        story=str(story),
    )


_INSERT = (
    "INSERT INTO items (rowid, source_url, id, title, link, published, updated, author,"
    " summary_html, content_html, enclosures, image, content_hash, first_seen,"
    " sort_date, last_changed, changes_today, link_key, title_key, story)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_UPDATE = (
    "UPDATE items SET title = ?, link = ?, published = ?, updated = ?, author = ?,"
    " summary_html = ?, content_html = ?, enclosures = ?, image = ?,"
    " content_hash = ?, sort_date = ?, last_changed = ?, changes_today = ?"
    " WHERE rowid = ?"
)
# Pending rows put into the search index (update_search), oldest first.
_INDEX_PENDING = (
    "INSERT INTO items_fts (rowid, title, body)"
    " SELECT i.item_key, i.title, mediahub_search_text(i.summary_html, i.content_html, i.author)"
    " FROM search_pending p JOIN items i ON i.item_key = p.item_key"
    " WHERE p.item_key <= ?"
)
# Rows put into the index per transaction (a cycle writing meanwhile waits at most one).
SEARCH_CHUNK = 2000
# Bound parameters per IN (...) list.
_CHUNK = 500


class _Known:
    """What the store holds of one item of the source being saved (mutable while batching)."""

    __slots__ = ("changes_today", "digest", "first_seen", "last_changed", "new", "rowid")

    def __init__(
        self,
        rowid: int,
        digest: str,
        last_changed: str,
        changes_today: int,
        first_seen: str,
        *,
        new: bool,
    ) -> None:
        self.rowid = rowid
        self.digest = digest
        self.last_changed = last_changed
        self.changes_today = changes_today
        self.first_seen = first_seen
        self.new = new


class _Batch:
    """One feed's items for one source, decided in memory and written in a few statements.

    The decisions are those of saving the items one by one (dedup by id, capped
    updates, stories from other sources): only other sources' items can lend a
    story, so nothing written in the batch changes another item's lookup. The
    search index is left to the schema's triggers and ``update_search``.
    """

    def __init__(self, db: sqlite3.Connection, source_url: str, now: datetime) -> None:
        self.db = db
        self.source_url = source_url
        self.now = now
        self.stamp = now.isoformat()
        self.known: dict[str, _Known] = {
            str(item_id): _Known(rowid, digest, last, count, first, new=False)
            for item_id, rowid, digest, last, count, first in db.execute(
                "SELECT id, rowid, content_hash, last_changed, changes_today, first_seen"
                " FROM items WHERE source_url = ?",
                (source_url,),
            )
        }
        # Explicit rowids for new rows (the writer holds the lock): stories are looked
        # up for the whole batch before it is written.
        self.next_rowid = int(db.execute("SELECT coalesce(max(rowid), 0) FROM items").fetchone()[0])
        # rowid -> what to insert (see add)
        self.inserts: dict[int, list[object]] = {}
        self.updates: dict[int, tuple[object, ...]] = {}

    def add(self, row: ItemRow) -> None:
        item_id, digest = row[ROW_ID], row[ROW_DIGEST]
        known = self.known.get(item_id)
        if known is None:
            self.next_rowid += 1
            rowid = self.next_rowid
            self.known[item_id] = _Known(rowid, digest, self.stamp, 0, self.stamp, new=True)
            sort_date = row[ROW_PUBLISHED] or self.stamp
            # [row, sort date, changes today, link key, title key, date for the story window]
            self.inserts[rowid] = [
                row,
                sort_date,
                0,
                row[ROW_LINK_KEY],
                row[ROW_TITLE_KEY],
                sort_date,
            ]
            return
        if known.digest == digest:
            return
        sort_date = row[ROW_PUBLISHED] or known.first_seen
        # A row stored by an earlier version (see DIGEST_PREFIX) is rewritten, uncounted.
        if known.digest.startswith(DIGEST_PREFIX):
            same_day = self.now - datetime.fromisoformat(known.last_changed) < timedelta(days=1)
            if same_day and known.changes_today >= UPDATE_CAP:
                return
            known.last_changed = known.last_changed if same_day else self.stamp
            known.changes_today = known.changes_today + 1 if same_day else 1
        known.digest = digest
        if known.new:
            # Changed again within the same feed: the row to insert takes the new values
            # (its keys and story stay those of the first, as an update would leave them).
            pending = self.inserts[known.rowid]
            pending[0], pending[1], pending[2] = row, sort_date, known.changes_today
            return
        self.updates[known.rowid] = (
            *content_columns(row),
            digest,
            sort_date,
            known.last_changed,
            known.changes_today,
            known.rowid,
        )

    def write(self) -> int:
        """Write the batch; return how many items were new."""
        db = self.db
        if self.updates:
            db.executemany(_UPDATE, self.updates.values())
        if self.inserts:
            stories = self._stories()
            db.executemany(
                _INSERT,
                (
                    self._row(rowid, pending, stories.get(rowid))
                    for rowid, pending in self.inserts.items()
                ),
            )
            # New rows wait for update_search (see the migration that made search_pending).
            db.executemany(
                "INSERT INTO search_pending (item_key) VALUES (?)",
                ((rowid,) for rowid in self.inserts),
            )
        return len(self.inserts)

    def _row(self, rowid: int, pending: list[Any], story: int | None) -> tuple[object, ...]:
        row, sort_date, changes, link_key, tkey, _ = pending
        if story is None:  # no other source told it: a story of its own, keyed by this row
            story = rowid
        return (
            rowid,
            self.source_url,
            row[ROW_ID],
            *content_columns(row),
            row[ROW_DIGEST],
            self.stamp,
            sort_date,
            self.stamp,
            changes,
            link_key,
            tkey,
            story,
        )

    def _stories(self) -> dict[int, int]:
        """Stories of new rows carried by other sources: the same link, else the same
        title within ``STORY_WINDOW`` (the earliest seen wins), in one query per kind."""
        found: dict[int, int] = {}
        by_link: dict[int, list[int]] = {}
        for rowid, pending in self.inserts.items():
            if isinstance(link_key := pending[3], int):
                by_link.setdefault(link_key, []).append(rowid)
        for key, story, _ in self._candidates("link_key", list(by_link)):
            for rowid in by_link.pop(key, ()):
                found[rowid] = story
        by_title: dict[int, list[int]] = {}
        for rowid, pending in self.inserts.items():
            if rowid not in found and isinstance(title_key := pending[4], int):
                by_title.setdefault(title_key, []).append(rowid)
        if not by_title:
            return found
        # Window bounds from each row's date when first seen in the batch, worked out
        # only for rows that another source's title matches (few; most have none).
        windows: dict[int, tuple[str, str]] = {}
        for key, story, sort_date in self._candidates("title_key", list(by_title), dated=True):
            for rowid in by_title.get(key, ()):
                if rowid not in windows:
                    windows[rowid] = self._window(self.inserts[rowid][5])
                low, high = windows[rowid]
                if rowid not in found and low <= sort_date <= high:
                    found[rowid] = story
        return found

    @staticmethod
    def _window(when: object) -> tuple[str, str]:
        moment = datetime.fromisoformat(str(when))
        return (moment - STORY_WINDOW).isoformat(), (moment + STORY_WINDOW).isoformat()

    def _candidates(
        self, column: str, keys: list[int], *, dated: bool = False
    ) -> Iterator[tuple[int, int, str]]:
        """Other sources' rows with one of these keys (key, story, sort date), earliest
        seen first."""
        # Ties (one cycle stamps every item alike) go to the earliest row in index order.
        order = "first_seen, sort_date, rowid" if dated else "first_seen, rowid"
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(
                f"SELECT {column}, story, sort_date FROM items"
                f" WHERE {column} IN ({marks}) AND source_url != ?"
                f" ORDER BY {order}",
                (*chunk, self.source_url),
            )


class ItemQueries(StoreBase):
    """Typed queries on the items tables (one base of Store)."""

    def save_items(
        self,
        source_url: str,
        feed: ParsedFeed,
        now: datetime,
        *,
        keep_newest: int | None = DEFAULT_KEEP,
        keep_days: int | None = None,
        rows: Sequence[ItemRow] | None = None,
    ) -> int:
        """Store a parsed feed's items for a source; return how many were new.

        ``rows``, if given, are ``feed_rows`` of the feed made elsewhere (in the
        parse workers), and the feed's own ``items`` are not read: the cycle sends
        the feed without them.

        Also records the feed's title, link, podcast:guid and hub on the source.
        Retention drops the oldest items beyond ``keep_newest`` or older than
        ``keep_days``, never one the feed still carries (it would come back as new).

        The whole feed is one transaction of a few batched statements: the source's
        known items are read in one query, stories are looked up per batch, and rows
        are written with ``executemany``. New and changed items wait for
        ``update_search`` to be found by ``search_items``.
        """
        with self._transaction() as db:
            db.execute(
                "UPDATE sources SET feed_title = coalesce(?, feed_title),"
                " site_link = coalesce(?, site_link), podcast_guid = coalesce(?, podcast_guid),"
                " hub = coalesce(?, hub) WHERE url = ?",
                (feed.title, feed.link, feed.podcast_guid, feed.hub, source_url),
            )
            if rows is None:
                rows = feed_rows(feed)
            batch = _Batch(db, source_url, now)
            for row in rows:
                batch.add(row)
            new = batch.write()
            # The source's items are those it had and the new ones (batch.known): if
            # they are within keep_newest and age does not count, none can go.
            if keep_days is not None or (
                keep_newest is not None and len(batch.known) > keep_newest
            ):
                self._prune(db, source_url, {r[ROW_ID] for r in rows}, now, keep_newest, keep_days)
        return new

    @staticmethod
    def _prune(
        db: sqlite3.Connection,
        source_url: str,
        current: set[str],
        now: datetime,
        keep_newest: int | None,
        keep_days: int | None,
    ) -> None:
        doomed: list[tuple[str, str]] = []
        rows = db.execute(
            "SELECT id, sort_date FROM items WHERE source_url = ? ORDER BY sort_date DESC",
            (source_url,),
        )
        cutoff = (now - timedelta(days=keep_days)).isoformat() if keep_days is not None else None
        for index, (item_id, sort_date) in enumerate(rows):
            too_many = keep_newest is not None and index >= keep_newest
            too_old = cutoff is not None and sort_date < cutoff
            if (too_many or too_old) and item_id not in current:
                doomed.append((source_url, item_id))
        db.executemany("DELETE FROM items WHERE source_url = ? AND id = ?", doomed)

    # -- reading -------------------------------------------------------------

    def count_items(self, source_url: str | None = None) -> int:
        if source_url is None:
            return int(self._db.execute("SELECT count(*) FROM items").fetchone()[0])
        return int(
            self._db.execute(
                "SELECT count(*) FROM items WHERE source_url = ?", (source_url,)
            ).fetchone()[0]
        )

    def latest_items(self, source_url: str, limit: int) -> list[StoredItem]:
        """A source's newest items, newest first."""
        rows = self._db.execute(
            f"{_SELECT} WHERE i.source_url = ? ORDER BY i.sort_date DESC, i.rowid DESC LIMIT ?",
            (source_url, limit),
        )
        return [_stored(row) for row in rows]

    def topic_items(self, topic: str, since: datetime, limit: int) -> list[StoredItem]:
        """The newest items of every source in a topic since ``since``, newest first."""
        rows = self._db.execute(
            f"{_SELECT} JOIN sources s ON s.url = i.source_url"
            " WHERE s.topic = ? AND i.sort_date >= ?"
            " ORDER BY i.sort_date DESC, i.rowid DESC LIMIT ?",
            (topic, since.isoformat(), limit),
        )
        return [_stored(row) for row in rows]

    def story_items(self, stories: Iterable[str]) -> list[StoredItem]:
        """Every item of the given stories (to list the sources that carried each)."""
        keys = sorted(set(stories))
        found: list[StoredItem] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"{_SELECT} WHERE i.story IN ({marks}) ORDER BY i.first_seen", chunk
            )
            found.extend(_stored(row) for row in rows)
        return found

    def last_item_date(self, source_url: str) -> datetime | None:
        """When a source last posted (its newest item's date, or when it was first seen)."""
        row = self._db.execute(
            "SELECT max(sort_date) FROM items WHERE source_url = ?", (source_url,)
        ).fetchone()
        return _when(row[0]) if row and row[0] else None

    # -- search --------------------------------------------------------------

    def pending_search(self) -> int:
        """How many stored items the search index does not hold yet."""
        return int(self._db.execute("SELECT count(*) FROM search_pending").fetchone()[0])

    def update_search(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Put the items stored since the last call into the search index; return how many.

        Saving items leaves indexing to this (reader's ``update_search`` does the
        same): the aggregation cycle's writer stores feeds in half the CPU time,
        and the index is brought up to date where time matters less, by ``mediahub
        serve`` after each cycle and by every search before it looks.
        ``progress(done, total)`` follows it, ``SEARCH_CHUNK`` items a transaction.
        """
        total = self.pending_search()
        done = 0
        while done < total:
            with self._transaction() as db:
                count, last = db.execute(
                    "SELECT count(*), max(item_key) FROM"
                    " (SELECT item_key FROM search_pending ORDER BY item_key LIMIT ?)",
                    (SEARCH_CHUNK,),
                ).fetchone()
                if not count:
                    break
                db.execute(_INDEX_PENDING, (last,))
                db.execute("DELETE FROM search_pending WHERE item_key <= ?", (last,))
            done += int(count)
            if progress is not None:
                progress(min(done, total), total)
        return done

    def search_items(
        self, query: str, topic: str | None = None, limit: int = 50
    ) -> list[SearchHit]:
        """Full-text search (FTS5) over titles and bodies; best match first.

        The query is taken as words, each a prefix, all required: no FTS syntax is
        exposed, so no user input can make the query fail. Items not indexed yet
        are indexed first (``update_search``).
        """
        self.update_search()
        words = [w for w in NON_WORD.sub(" ", query).split() if w]
        if not words:
            return []
        match = " ".join(f'"{w}"*' for w in words)
        params: list[object] = [match]
        topic_clause = ""
        if topic is not None:
            topic_clause = " AND s.topic = ?"
            params.append(topic)
        params.append(limit)
        rows = self._db.execute(
            "SELECT i.source_url, i.id, i.title, i.link, i.published, i.updated, i.author,"
            " i.summary_html, i.content_html, i.enclosures, i.image, i.first_seen,"
            " i.sort_date, i.story, s.topic, coalesce(s.title, s.feed_title)"
            " FROM items_fts JOIN items i ON i.rowid = items_fts.rowid"
            " JOIN sources s ON s.url = i.source_url"
            f" WHERE items_fts MATCH ?{topic_clause}"
            " ORDER BY bm25(items_fts, 5.0, 1.0), i.sort_date DESC LIMIT ?",
            params,
        ).fetchall()
        snippets = _snippets(match, [(row[2], row[7], row[8], row[6]) for row in rows])
        return [
            SearchHit(
                stored=_stored(row[:14]),
                topic=str(row[14]),
                source_title=row[15] if isinstance(row[15], str) else None,
                snippet=snippet,
            )
            for row, snippet in zip(rows, snippets, strict=True)
        ]


def _snippets(match: str, hits: Sequence[tuple[object, ...]]) -> list[str]:
    """FTS5 snippets of the hits' bodies for a query, in order.

    The store's index keeps no text, so the few hits of one search are indexed
    again, with their text, in a private in-memory FTS5 table of the same
    tokenizer: FTS5's own snippet() then cuts exactly what it cut before.
    """
    if not hits:
        return []
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute(
            "CREATE VIRTUAL TABLE hits USING fts5"
            " (title, body, tokenize = 'unicode61 remove_diacritics 2')"
        )
        db.executemany(
            "INSERT INTO hits (rowid, title, body) VALUES (?, ?, ?)",
            (
                (n, title, snippet_text(summary, content, author))  # type: ignore[arg-type]
                for n, (title, summary, content, author) in enumerate(hits)
            ),
        )
        found = dict(
            db.execute(
                "SELECT rowid, snippet(hits, 1, '', '', ' … ', 24) FROM hits WHERE hits MATCH ?",
                (match,),
            )
        )
    return [str(found.get(n) or "") for n in range(len(hits))]
