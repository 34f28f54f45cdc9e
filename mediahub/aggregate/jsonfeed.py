"""JSON Feed 1.0 and 1.1 (jsonfeed.org) -> ParsedFeed: a small parser of our own.

feedparser does not read JSON Feed. Fields follow the spec; anything of the
wrong type is ignored rather than trusted, HTML is sanitised, text escaped.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from mediahub.aggregate.sanitize import absolute_url, feed_html, plain_text, text_to_html
from mediahub.errors import ParseError
from mediahub.model import Enclosure, Item, ParsedFeed

VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    """JSON by its media type or by its first character."""
    if content_type and "json" in content_type.lower():
        return True
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


# A lone surrogate: JSON may escape one ("\ud800"), but it is no character, and
# UTF-8 (the store's, every page's) cannot hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return _characters(value.strip()) or None


def _characters(text: str) -> str:
    """``text`` with each lone surrogate made U+FFFD (json.loads pairs the rest)."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _date(value: Any) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse a JSON Feed; raise ParseError if the body is not one."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(
            url, f"is not valid JSON: {exc}", "check that the URL points at a feed"
        ) from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(VERSION_PREFIX):
        raise ParseError(
            url, "is JSON but not a JSON Feed (no jsonfeed.org version)", "check the URL"
        )
    raw_items = doc.get("items")
    if not isinstance(raw_items, list):
        raise ParseError(url, "is a JSON Feed without an 'items' list", "check the feed")
    items: list[Item] = []
    seen: set[str] = set()
    for raw in raw_items:
        if isinstance(raw, dict):
            item = _item(raw, url)
            if item.id in seen:
                digest = hashlib.sha1(
                    f"{item.title}\x1f{item.link}\x1f{item.published}".encode()
                ).hexdigest()[:12]
                item = Item(**{**_fields(item), "id": f"{item.id}#{digest}"})
                if item.id in seen:
                    continue
            seen.add(item.id)
            items.append(item)
    hub = None
    for entry in doc.get("hubs") or ():
        if isinstance(entry, dict) and (found := absolute_url(_text(entry.get("url")), url)):
            hub = found
            break
    return ParsedFeed(
        title=plain_text(_text(doc.get("title")) or "") or None,
        link=absolute_url(_text(doc.get("home_page_url")), url),
        description=plain_text(_text(doc.get("description")) or "") or None,
        items=tuple(items),
        hub=hub,
        self_url=absolute_url(_text(doc.get("feed_url")), url),
        image=absolute_url(_text(doc.get("icon")) or _text(doc.get("favicon")), url),
    )


def _fields(item: Item) -> dict[str, Any]:
    return {name: getattr(item, name) for name in Item.__slots__}


def _author(raw: dict[str, Any]) -> str | None:
    authors = raw.get("authors")
    if isinstance(authors, list):
        names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
        joined = ", ".join(n for n in names if n)
        if joined:
            return plain_text(joined)
    author = raw.get("author")
    if isinstance(author, dict) and (name := _text(author.get("name"))):
        return plain_text(name)
    return None


def _item(raw: dict[str, Any], url: str) -> Item:
    link = absolute_url(_text(raw.get("url")), url) or absolute_url(
        _text(raw.get("external_url")), url
    )
    title = plain_text(_text(raw.get("title")) or "")
    content = None
    if html := _text(raw.get("content_html")):
        content = feed_html(html) or None  # cleaned when shown
    elif text := _text(raw.get("content_text")):
        content = text_to_html(text) or None
    summary = _text(raw.get("summary"))
    published = _date(raw.get("date_published"))
    updated = _date(raw.get("date_modified"))
    raw_id = raw.get("id")
    item_id = _characters(str(raw_id).strip()) if isinstance(raw_id, (str, int)) else ""
    if not item_id:
        item_id = (
            link
            or "sha1:" + hashlib.sha1(f"{title}\x1f{published}\x1f{content}".encode()).hexdigest()
        )
    enclosures: list[Enclosure] = []
    for attachment in raw.get("attachments") or ():
        if not isinstance(attachment, dict):
            continue
        href = absolute_url(_text(attachment.get("url")), url)
        if not href:
            continue
        size = attachment.get("size_in_bytes")
        duration = attachment.get("duration_in_seconds")
        enclosures.append(
            Enclosure(
                url=href,
                type=_text(attachment.get("mime_type")),
                length=int(size) if isinstance(size, (int, float)) and size > 0 else None,
                duration=float(duration)
                if isinstance(duration, (int, float)) and duration >= 0
                else None,
            )
        )
    return Item(
        id=item_id,
        title=title,
        link=link,
        published=published or updated,
        updated=updated or published,
        author=_author(raw),
        summary_html=text_to_html(summary) if summary else None,
        content_html=content,
        enclosures=tuple(enclosures),
        image=absolute_url(_text(raw.get("image")) or _text(raw.get("banner_image")), url),
    )
