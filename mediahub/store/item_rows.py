"""An item as the row the store writes, with what saving derives from the item alone.

The aggregation cycle makes these rows in its parse workers (on every core), and
only they cross back to the store's writer; ``items`` stores them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import Final

from mediahub.model import Enclosure, Item, ParsedFeed
from mediahub.store.item_text import canonical_link, story_key, title_key

__all__ = [
    "DIGEST_PREFIX",
    "ROW_DIGEST",
    "ROW_ID",
    "ROW_LINK_KEY",
    "ROW_PUBLISHED",
    "ROW_TITLE_KEY",
    "ROW_UPDATED",
    "ItemRow",
    "content_columns",
    "feed_rows",
    "item_row",
]

# An item as the store writes it, with what saving derives from it alone (its content
# digest and story keys): id, title, link, published, updated, author, summary_html,
# content_html, enclosures (JSON), image, digest, link key, title key. Columns title to
# image are in table order (content_columns); the positions the writer reads are named below.
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


def content_columns(row: ItemRow) -> tuple[object, ...]:
    """The content columns of a row (title .. image), in the items table's order."""
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
