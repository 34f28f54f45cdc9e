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
import math
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import datetime, timedelta
from json.encoder import encode_basestring_ascii
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mediahub.model import Enclosure, Item, ParsedFeed, SearchHit, StoredItem
from mediahub.store.base import StoreBase

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

_TRACKING = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|igshid|yclid"
    r"|ref|ref_src|cmpid|icid|ncid|sr_share|at_medium|at_campaign)$",
    re.IGNORECASE,
)
# Markup, in one pass: script and style elements and comments with what they hold (not
# prose; unclosed ones to the end), then any other tag.
_MARKUP = re.compile(
    r"<(script|style)\b.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)|<[^>]*>", re.IGNORECASE | re.DOTALL
)
_WORD = re.compile(r"[^\w]+")
# title_key's ASCII case: each ASCII byte that _WORD matches (all but letters, digits
# and "_") made a space, for bytes.translate.
_ASCII_SPACES = bytes(
    c if chr(c).isalnum() or c == ord("_") else ord(" ") for c in range(128)
) + bytes(range(128, 256))
# An http(s) link with a plain host and path only (canonical_link's common case).
_PLAIN_LINK = re.compile(r"(?i:https?)://([A-Za-z0-9.-]+)(/[^?#\x00-\x20\x7f-\x9f]*)?")

_SELECT = (
    "SELECT i.source_url, i.id, i.title, i.link, i.published, i.updated, i.author,"
    " i.summary_html, i.content_html, i.enclosures, i.image, i.first_seen, i.sort_date,"
    " i.story FROM items i"
)


def canonical_link(url: str | None) -> str | None:
    """A link without tracking parameters, fragment, ``www.`` or trailing slash."""
    if not url:
        return None
    plain = _PLAIN_LINK.fullmatch(url)
    if plain is not None:
        # Most links (no port, query, fragment or odd characters): what the general
        # path below makes of them, without urlsplit's objects (a third of the cost).
        host, path = plain.groups()
        return f"https://{host.lower().removeprefix('www.')}{(path or '').rstrip('/') or '/'}"
    return _canonical_link(url)


def _canonical_link(url: str) -> str | None:
    """``canonical_link`` of any link, through urlsplit."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = (
        urlencode(
            sorted(
                (k, v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if not _TRACKING.match(k)
            )
        )
        if parts.query
        else ""
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, query, ""))


def title_key(title: str) -> str | None:
    """A title folded for comparison: case, accents, punctuation and spacing ignored."""
    folded = title.casefold()
    if folded.isascii():
        # ASCII is its own NFKD form, with no combining marks; what _WORD splits on,
        # a byte table turns to spaces three times faster than the regex.
        ascii_words = folded.encode("ascii").translate(_ASCII_SPACES).split()
        return b" ".join(ascii_words).decode("ascii") if len(ascii_words) >= 4 else None
    folded = unicodedata.normalize("NFKD", folded)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = _WORD.sub(" ", folded).split()
    # Very short titles ("Update", "Episode 3") say too little to merge stories on.
    if len(words) < 4:
        return None
    return " ".join(words)


def story_key(text: str | None) -> int | None:
    """A link or title key (``canonical_link``, ``title_key``) as the store indexes it:
    a signed 64-bit hash of its text (also SQL: mediahub_key).

    Stories are matched on equal keys only, and 8 bytes index far more cheaply than
    the text; two different texts sharing a key (odds about 1 in 10^19 a pair) would
    merge two stories on a topic page, nothing worse.
    """
    if text is None:
        return None
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _words(fragment: str | None) -> str:
    """Feed HTML -> its text: scripts, styles and comments dropped with what they hold,
    other tags dropped, references decoded, spacing as it was.

    The store keeps feed HTML as fetched. Changing what this returns changes
    ``search_text``: see there.
    """
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = _MARKUP.sub(" ", fragment)
    if "&" in fragment:
        fragment = html.unescape(fragment)
    return fragment


def plain(fragment: str | None) -> str:
    """Sanitised HTML -> one line of plain text (snippets)."""
    # str.split() splits on exactly what the regex \s matches, several times faster.
    return " ".join(_words(fragment).split())


def search_text(summary_html: str | None, content_html: str | None, author: str | None) -> str:
    """The words the search index holds for an item's body (also SQL: mediahub_search_text).

    The index is contentless, so deleting a row means repeating exactly these words:
    the delete trigger recomputes them from the stored columns with this function.
    Changing what it returns therefore needs a migration that rebuilds the index.
    Spacing is left as it is (the tokenizer ignores it; snippets use ``plain``).
    """
    return " ".join(filter(None, (_words(summary_html), _words(content_html), author or "")))


def _snippet_text(summary_html: str | None, content_html: str | None, author: str | None) -> str:
    """What a search snippet is cut from: the body's words on one line."""
    return " ".join(filter(None, (plain(summary_html), plain(content_html), author or "")))


# SQL functions the items schema calls (registered by the Store on every connection).
FUNCTIONS: dict[str, tuple[int, Callable[..., str | int | float | None]]] = {
    "mediahub_search_text": (3, search_text),
    "mediahub_key": (1, story_key),
}


# An item's content digest (content_hash): "3:" and the SHA-256 of its fields, each
# length-prefixed, over the feed's HTML as fetched. Rows of earlier versions carry a
# digest over sanitised HTML (a bare SHA-256, or "2:"), which no item compares equal to
# any more: such a row is rewritten once in the current format, and not counted as a
# change (the update cap is for feeds that change, not for a new version of mediahub).
DIGEST_PREFIX = "3:"


def _hash(item: Item, published: str | None) -> str:
    """The item's content digest: what decides that a stored item changed.

    ``published`` is the item's date as the row stores it (``_iso``), made once.
    """
    fields: list[str | None] = [
        item.title,
        item.link,
        item.author,
        item.summary_html,
        item.content_html,
        item.image,
        published,
        str(len(item.enclosures)),
    ]
    for e in item.enclosures:
        fields += (e.url, e.type, _text(e.length), _text(e.duration))
    # Each field length-prefixed by its size in UTF-8, all encoded at once: for ASCII
    # text (nearly every field) the size is the length, so only the joined text is
    # encoded, instead of a call per field.
    parts: list[str] = []
    for field in fields:
        if field is None:
            parts.append("-")
        else:
            size = len(field) if field.isascii() else len(field.encode("utf-8", "surrogatepass"))
            parts.append(f"{size}:")
            parts.append(field)
    data = "".join(parts).encode("utf-8", "surrogatepass")
    return DIGEST_PREFIX + hashlib.sha256(data).hexdigest()


def _text(value: int | float | None) -> str | None:
    return None if value is None else str(value)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _enclosures_json(enclosures: Sequence[Enclosure]) -> str:
    """``json.dumps`` of ``[[url, type, length, duration], ...]``, the same text.

    The usual values (text, whole lengths, finite durations) are written here with
    json's own string encoder: json.dumps builds an encoder on every call, which
    was most of the cost, an item with an enclosure at a time.
    """
    if not enclosures:
        return "[]"
    out = []
    for e in enclosures:
        url, kind, length, duration = e.url, e.type, e.length, e.duration
        if (
            type(url) is not str
            or (kind is not None and type(kind) is not str)
            or (length is not None and type(length) is not int)
            or (duration is not None and not _finite_number(duration))
        ):
            return json.dumps([[e.url, e.type, e.length, e.duration] for e in enclosures])
        out.append(
            f"[{encode_basestring_ascii(url)}, "
            f"{'null' if kind is None else encode_basestring_ascii(kind)}, "
            f"{'null' if length is None else repr(length)}, "
            f"{'null' if duration is None else repr(duration)}]"
        )
    return f"[{', '.join(out)}]"


def _finite_number(value: object) -> bool:
    """An int, or a float json writes as repr() does (not NaN or infinite)."""
    return type(value) is int or (type(value) is float and math.isfinite(value))


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


# An item as the store writes it, with what saving derives from it alone (its content
# digest and story keys): id, title, link, published, updated, author, summary_html,
# content_html, enclosures (JSON), image, digest, link key, title key. Columns title to
# image are in table order (_content); the positions the writer reads are named below.
#
# Pure functions of the item, so the aggregation cycle makes rows in its parse workers
# (on every core), and they cross to the store's writer as tuples of strings: unpickling
# Item objects (their dates, enclosures and slots one by one) cost the writer's process
# nearly twice what the same text in tuples does. A plain tuple, not a NamedTuple: one
# pickles in about 60% of the time and loads in about 70% (a NamedTuple's rows go
# through Python's __getnewargs__ and __new__ each), 0.3 CPU-s of a cold cycle of 1,000
# feeds.
ItemRow = tuple[
    str,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str,
    str | None,
    str,
    int | None,
    int | None,
]
ROW_ID: Final = 0
ROW_PUBLISHED: Final = 3
ROW_UPDATED: Final = 4
ROW_DIGEST: Final = 10
ROW_LINK_KEY: Final = 11
ROW_TITLE_KEY: Final = 12


def _content(row: ItemRow) -> tuple[object, ...]:
    """The content columns of a row (title .. image), as the table and _UPDATE order them."""
    return row[1:10]


def item_row(item: Item) -> ItemRow:
    published = _iso(item.published)
    # Most feeds give one date, and the parser makes it both (isoformat is not cheap):
    # the same moment at the same offset is the same text.
    same = item.updated == item.published and (
        item.updated is None or item.updated.utcoffset() == item.published.utcoffset()  # type: ignore[union-attr]
    )
    updated = published if same else _iso(item.updated)
    return (
        item.id,
        item.title,
        item.link,
        published,
        updated,
        item.author,
        item.summary_html,
        item.content_html,
        _enclosures_json(item.enclosures),
        item.image,
        _hash(item, published),
        story_key(canonical_link(item.link)),
        story_key(title_key(item.title)),
    )


def feed_rows(feed: ParsedFeed) -> tuple[ItemRow, ...]:
    """``item_row`` of each of a feed's items, in order (``save_items(rows=...)``)."""
    return tuple(item_row(item) for item in feed.items)


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
            *_content(row),
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
            *_content(row),
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
                (n, title, _snippet_text(summary, content, author))  # type: ignore[arg-type]
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
