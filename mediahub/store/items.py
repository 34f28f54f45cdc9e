"""The items area of the store: aggregated items, deduplicated, searchable (FTS5).

Items are keyed per source by their id. A changed item (its content hash
differs) is updated, but at most ``UPDATE_CAP`` times a day, for feeds whose
items change on every fetch. Each item also carries a story key so the same
story from several sources shows once: the same canonical link (tracking
parameters dropped), or the same normalised title within ``STORY_WINDOW``.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mediahub.model import Enclosure, Item, ParsedFeed, SearchHit, StoredItem
from mediahub.store.base import StoreBase

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
)

# A changed item is rewritten at most this many times a day.
UPDATE_CAP = 4
# The same normalised title from two sources is one story if this close in time.
STORY_WINDOW = timedelta(days=3)
# Default retention: the newest N items of each source (items still in the feed are kept).
DEFAULT_KEEP = 500

_TRACKING = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|igshid|yclid"
    r"|ref|ref_src|cmpid|icid|ncid|sr_share|at_medium|at_campaign)$",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\w]+")

_SELECT = (
    "SELECT i.source_url, i.id, i.title, i.link, i.published, i.updated, i.author,"
    " i.summary_html, i.content_html, i.enclosures, i.image, i.first_seen, i.sort_date,"
    " i.story FROM items i"
)


def canonical_link(url: str | None) -> str | None:
    """A link without tracking parameters, fragment, ``www.`` or trailing slash."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, query, ""))


def title_key(title: str) -> str | None:
    """A title folded for comparison: case, accents, punctuation and spacing ignored."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = _WORD.sub(" ", folded).split()
    # Very short titles ("Update", "Episode 3") say too little to merge stories on.
    if len(words) < 4:
        return None
    return " ".join(words)


def plain(fragment: str | None) -> str:
    """Sanitised HTML -> plain text for the search index and snippets."""
    if not fragment:
        return ""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", fragment))).strip()


def _hash(item: Item) -> str:
    data = json.dumps(
        [
            item.title,
            item.link,
            item.author,
            item.summary_html,
            item.content_html,
            [(e.url, e.type, e.length, e.duration) for e in item.enclosures],
            item.image,
            item.published.isoformat() if item.published else None,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _enclosures_json(enclosures: Sequence[Enclosure]) -> str:
    return json.dumps([[e.url, e.type, e.length, e.duration] for e in enclosures])


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
    ) -> int:
        """Store a parsed feed's items for a source; return how many were new.

        Also records the feed's title, link, podcast:guid and hub on the source.
        Retention drops the oldest items beyond ``keep_newest`` or older than
        ``keep_days``, never one the feed still carries (it would come back as new).
        """
        new = 0
        with self._transaction() as db:
            db.execute(
                "UPDATE sources SET feed_title = coalesce(?, feed_title),"
                " site_link = coalesce(?, site_link), podcast_guid = coalesce(?, podcast_guid),"
                " hub = coalesce(?, hub) WHERE url = ?",
                (feed.title, feed.link, feed.podcast_guid, feed.hub, source_url),
            )
            for item in feed.items:
                new += self._save_one(db, source_url, item, now)
            self._prune(db, source_url, {i.id for i in feed.items}, now, keep_newest, keep_days)
        return new

    def _save_one(self, db: sqlite3.Connection, source_url: str, item: Item, now: datetime) -> int:
        digest = _hash(item)
        row = db.execute(
            "SELECT rowid, content_hash, last_changed, changes_today, first_seen FROM items"
            " WHERE source_url = ? AND id = ?",
            (source_url, item.id),
        ).fetchone()
        if row is not None:
            rowid, old_hash, last_changed, changes_today, first_seen = row
            if old_hash == digest:
                return 0
            same_day = now - datetime.fromisoformat(last_changed) < timedelta(days=1)
            if same_day and changes_today >= UPDATE_CAP:
                return 0
            sort_date = item.published or datetime.fromisoformat(first_seen)
            db.execute(
                "UPDATE items SET title = ?, link = ?, published = ?, updated = ?, author = ?,"
                " summary_html = ?, content_html = ?, enclosures = ?, image = ?,"
                " content_hash = ?, sort_date = ?, last_changed = ?, changes_today = ?"
                " WHERE rowid = ?",
                (
                    item.title,
                    item.link,
                    _iso(item.published),
                    _iso(item.updated),
                    item.author,
                    item.summary_html,
                    item.content_html,
                    _enclosures_json(item.enclosures),
                    item.image,
                    digest,
                    sort_date.isoformat(),
                    last_changed if same_day else now.isoformat(),
                    changes_today + 1 if same_day else 1,
                    rowid,
                ),
            )
            db.execute("DELETE FROM items_fts WHERE rowid = ?", (rowid,))
            self._index(db, rowid, item)
            return 0
        sort_date = item.published or now
        link_key = canonical_link(item.link)
        tkey = title_key(item.title)
        story = self._story(db, source_url, link_key, tkey, sort_date) or (
            "story:" + hashlib.sha1(f"{source_url}\x1f{item.id}".encode()).hexdigest()[:20]
        )
        cursor = db.execute(
            "INSERT INTO items (source_url, id, title, link, published, updated, author,"
            " summary_html, content_html, enclosures, image, content_hash, first_seen,"
            " sort_date, last_changed, changes_today, link_key, title_key, story)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,?)",
            (
                source_url,
                item.id,
                item.title,
                item.link,
                _iso(item.published),
                _iso(item.updated),
                item.author,
                item.summary_html,
                item.content_html,
                _enclosures_json(item.enclosures),
                item.image,
                digest,
                now.isoformat(),
                sort_date.isoformat(),
                now.isoformat(),
                link_key,
                tkey,
                story,
            ),
        )
        self._index(db, cursor.lastrowid, item)
        return 1

    @staticmethod
    def _index(db: sqlite3.Connection, rowid: int | None, item: Item) -> None:
        body = " ".join(
            filter(None, (plain(item.summary_html), plain(item.content_html), item.author or ""))
        )
        db.execute(
            "INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)", (rowid, item.title, body)
        )

    @staticmethod
    def _story(
        db: sqlite3.Connection,
        source_url: str,
        link_key: str | None,
        tkey: str | None,
        when: datetime,
    ) -> str | None:
        """The story of an item from another source with the same link or title."""
        if link_key:
            row = db.execute(
                "SELECT story FROM items WHERE link_key = ? AND source_url != ?"
                " ORDER BY first_seen LIMIT 1",
                (link_key, source_url),
            ).fetchone()
            if row:
                return str(row[0])
        if tkey:
            row = db.execute(
                "SELECT story FROM items WHERE title_key = ? AND source_url != ?"
                " AND sort_date BETWEEN ? AND ? ORDER BY first_seen LIMIT 1",
                (
                    tkey,
                    source_url,
                    (when - STORY_WINDOW).isoformat(),
                    (when + STORY_WINDOW).isoformat(),
                ),
            ).fetchone()
            if row:
                return str(row[0])
        return None

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

    def search_items(
        self, query: str, topic: str | None = None, limit: int = 50
    ) -> list[SearchHit]:
        """Full-text search (FTS5) over titles and bodies; best match first.

        The query is taken as words, each a prefix, all required: no FTS syntax is
        exposed, so no user input can make the query fail.
        """
        words = [w for w in _WORD.sub(" ", query).split() if w]
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
            " i.sort_date, i.story, s.topic, coalesce(s.title, s.feed_title),"
            " snippet(items_fts, 1, '', '', ' … ', 24)"
            " FROM items_fts JOIN items i ON i.rowid = items_fts.rowid"
            " JOIN sources s ON s.url = i.source_url"
            f" WHERE items_fts MATCH ?{topic_clause}"
            " ORDER BY bm25(items_fts, 5.0, 1.0), i.sort_date DESC LIMIT ?",
            params,
        )
        return [
            SearchHit(
                stored=_stored(row[:14]),
                topic=str(row[14]),
                source_title=row[15] if isinstance(row[15], str) else None,
                snippet=str(row[16] or ""),
            )
            for row in rows
        ]
