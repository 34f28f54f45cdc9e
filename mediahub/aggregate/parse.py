"""Feed bytes -> ParsedFeed: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed
through our own parser. The only feedparser user.

``parse_feed`` runs in a process pool: it is a top-level function of bytes,
keeps no state between calls and never fetches anything. feedparser's own
sanitiser and relative-URI resolution are turned off (they are half its
time); every HTML field is cleaned once here by ``sanitize`` (nh3), so what
the store holds is already safe.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import io
import re
import time
import zlib
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
from feedparser.datetimes import _parse_date

from mediahub.aggregate.fastparse import fast_parse
from mediahub.aggregate.jsonfeed import looks_like_json, parse_json_feed
from mediahub.aggregate.sanitize import (
    MAX_TEXT,
    absolute_url,
    feed_html,
    plain_text,
    sanitize_html,
    text_to_html,
)
from mediahub.errors import ParseError, unexpected
from mediahub.model import Enclosure, Item, ParsedFeed

__all__ = ["ParseError", "duration_seconds", "parse_feed"]


# A gzip body served without Content-Encoding (a .xml.gz file) is opened up to this size.
MAX_INFLATED = 15 * 1024 * 1024


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, *, fast: bool = True
) -> ParsedFeed:
    """Parse one downloaded feed body; raise ParseError when it is not a feed.

    ``fast=False`` skips the fast path (``fastparse``): the differential test and
    the benchmark use it to get feedparser's answer for the same body.

    ParseError is all it raises. The parsers read hostile bytes, and an exception
    none of them means to raise (a bug in feedparser or in ours: feedparser once
    raised UnicodeDecodeError on an encoding name) is still only this feed's
    failure; escaping, it would stop a whole aggregation cycle.
    """
    try:
        return _parse(body, url, content_type, fast)
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(
            url,
            f"the parser failed on this feed ({unexpected(exc)})",
            "the other feeds were not affected; if the feed reads fine elsewhere, report it",
        ) from None


def _parse(body: bytes, url: str, content_type: str | None, fast: bool) -> ParsedFeed:
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body, url)
    if looks_like_json(body, content_type):
        return parse_json_feed(body, url)
    if fast and (document := fast_parse(body, content_type)) is not None:
        return _build(document.channel, [_dated(e) for e in document.entries], url, None)
    return _parse_xml(body, url, content_type)


def _dated(entry: dict[str, Any]) -> dict[str, Any]:
    """The fast path's raw date strings, read as feedparser's own date parser reads them."""
    for key in ("published", "created", "updated"):
        raw = entry.get(key)
        entry[key + "_parsed"] = (_plain_rfc822(raw) or _parse_date(raw)) if raw else None
    return entry


# An RFC 822 date as feeds almost always write it: "Mon, 02 Nov 2026 07:30:00 +0000".
_RFC822 = re.compile(
    r"\s*(?:(?:mon|tue|wed|thu|fri|sat|sun),?\s+)?(\d{1,2})\s+"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+(\d{4})\s+"
    r"(\d\d):(\d\d):(\d\d)\s+(?:([+-])(\d\d)(\d\d)|gmt|ut|utc|z)\s*",
    re.IGNORECASE,
)
_MONTHS = {
    m: n
    for n, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def _plain_rfc822(raw: str) -> time.struct_time | None:
    """feedparser's reading of the commonest date form, at a fraction of its cost
    (its handler chain was about a fifth of ``parse_feed`` under cProfile); None for
    anything else, which goes to feedparser's ``_parse_date`` as before.

    The same result as feedparser by construction: its first handler (W3C-DTF)
    wants four leading digits, which this form never has, so its RFC 822 handler
    decides, and this is that handler's arithmetic for the one form. Tests hold the
    two equal on generated dates (test_parse) and the corpus (test_parse_differential).
    """
    match = _RFC822.fullmatch(raw)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, off_hours, off_minutes = match.groups()
    try:
        stamp = datetime(
            int(year), _MONTHS[month.title()], int(day), int(hour), int(minute), int(second)
        )
        if sign:
            offset = timedelta(hours=int(off_hours), minutes=int(off_minutes))
            stamp = stamp - offset if sign == "+" else stamp + offset
        return stamp.utctimetuple()
    except (ValueError, OverflowError):
        return None  # feedparser's other handlers may still read it


def _gunzip(body: bytes, url: str) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, MAX_INFLATED)
    except zlib.error as exc:
        raise ParseError(url, f"is a damaged gzip file: {exc}", "check the feed") from None
    if inflater.unconsumed_tail:
        raise ParseError(
            url, f"inflates to more than {MAX_INFLATED} bytes", "this is not a feed we accept"
        )
    return data


def _parse_xml(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    # No content-location: feedparser would then rewrite relative guids into URLs, so
    # an id would change with the feed's address. Links are made absolute here instead.
    headers = {"content-type": content_type} if content_type else {}
    bozo = None
    try:
        parsed = _feedparser(body, headers)
    except (UnicodeError, ValueError, OverflowError) as exc:
        parsed, bozo = _reparsed(body, headers, url, exc)
    if not parsed.get("version") and not parsed.entries:
        raise ParseError(url, _not_a_feed_reason(parsed), "check that the URL points at a feed")
    problem = parsed.get("bozo_exception")
    # A wrong or missing Content-Type says nothing about the document itself.
    if parsed.get("bozo") and not isinstance(problem, feedparser.NonXMLContentType):
        bozo = bozo or _one_line(str(problem or "malformed feed"))
    return _build(parsed.feed, parsed.entries, url, bozo)


def _feedparser(body: bytes, headers: Mapping[str, str]) -> Any:
    # A stream, never bytes or str: feedparser would treat those as a path or URL to open.
    return feedparser.parse(
        io.BytesIO(body),
        response_headers=dict(headers),
        resolve_relative_uris=False,
        sanitize_html=False,
    )


def _reparsed(
    body: bytes, headers: Mapping[str, str], url: str, problem: Exception
) -> tuple[Any, str]:
    """feedparser's reading of a body it raised on (``problem``), once what it cannot
    get past is taken out; and a note of what was.

    feedparser raises, instead of reporting the feed as malformed, on an encoding
    name in the XML declaration that is not UTF-8 or holds a NUL (it decodes the
    name and hands it to bytes.decode unchecked), and on a character reference to
    a surrogate or past U+10FFFF (UnicodeEncodeError, ValueError, OverflowError).
    XML allows neither: the name is dropped with its declaration, as if there were
    none, and the references become U+FFFD.
    """
    repaired, fixes = _repaired(body)
    if fixes:
        with suppress(UnicodeError, ValueError, OverflowError):
            return _feedparser(repaired, headers), "ignored " + " and ".join(fixes)
    raise ParseError(
        url,
        f"could not be read ({_one_line(str(problem))})",
        "check the encoding named on the feed's first line, and its bytes",
    )


# The encoding name in an XML declaration, and the form XML allows it.
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"'?]*)""")
_ENCODING_NAME = re.compile(rb"[A-Za-z][A-Za-z0-9._-]*")
# A numeric character reference.
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _repaired(body: bytes) -> tuple[bytes, list[str]]:
    """``body`` without what feedparser raises on (see ``_reparsed``), and what that was."""
    fixes = []
    start = len(codecs.BOM_UTF8) if body.startswith(codecs.BOM_UTF8) else 0
    end = body.find(b"?>", start) if body.startswith(b"<?xml", start) else -1
    declared = _DECLARED_ENCODING.search(body, start, end) if end >= 0 else None
    if declared is not None and not _ENCODING_NAME.fullmatch(declared[1]):
        body = body[:start] + body[end + 2 :]
        fixes.append("an XML declaration whose encoding name is not one")

    def no_character(ref: re.Match[bytes]) -> bytes:
        digits = (ref[1] or ref[2]).lstrip(b"0")
        # More than 8 digits is past U+10FFFF either way (and int() refuses thousands).
        code = 0x110000 if len(digits) > 8 else int(digits or b"0", 16 if ref[1] else 10)
        return b"&#xFFFD;" if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else ref[0]

    referenced = _CHARREF.sub(no_character, body)
    if referenced != body:
        fixes.append("character references to no character (made U+FFFD)")
    return referenced, fixes


def _build(
    channel: Mapping[str, Any],
    entries: Iterable[Mapping[str, Any]],
    url: str,
    bozo: str | None,
) -> ParsedFeed:
    """Feedparser-shaped channel and entries (from either path) -> ParsedFeed."""
    base = url  # xml:base, where given, is honoured per entry
    items = _disambiguate(_item(entry, base) for entry in entries)
    links = channel.get("links") or []
    return ParsedFeed(
        title=_title(channel) or None,
        link=absolute_url(channel.get("link"), base),
        description=plain_text(channel.get("subtitle", "")) or None,
        items=tuple(items),
        hub=_rel_link(links, "hub", base),
        self_url=_rel_link(links, "self", base),
        podcast_guid=_podcast_guid(channel),
        ttl_seconds=_ttl_seconds(channel),
        image=_channel_image(channel, base),
        bozo=bozo,
    )


def _not_a_feed_reason(parsed: Mapping[str, Any]) -> str:
    exc = parsed.get("bozo_exception")
    if exc is not None and "xml" not in type(exc).__name__.lower():
        return f"is not an RSS, Atom or JSON feed ({_one_line(str(exc))})"
    return "is not an RSS, Atom or JSON feed"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _item(entry: Mapping[str, Any], feed_base: str) -> Item:
    base = _entry_base(entry, feed_base)
    link = absolute_url(entry.get("link"), base) or _alternate(entry, base)
    published = _when(entry.get("published_parsed")) or _when(entry.get("created_parsed"))
    # dict.get: FeedParserDict maps a missing "updated" to "published" with a warning.
    updated = _when(dict.get(entry, "updated_parsed"))  # type: ignore[call-overload]
    title = _title(entry)
    # Relative links are resolved when the HTML is shown, against the source's URL; an
    # entry with an xml:base of its own (rare) is cleaned and resolved here instead.
    own_base = base if base != feed_base else None
    summary = _html_of(entry.get("summary_detail"), entry.get("summary"), own_base)
    content = None
    for part in entry.get("content") or ():
        content = _html_of(part, part.get("value"), own_base)
        if content:
            break
    if summary and content and summary == content:
        summary = None
    raw_id = (entry.get("id") or "").strip() or (link or "")
    if not raw_id:
        raw_id = "sha1:" + _digest(title, str(published or updated or ""), content or summary or "")
    return Item(
        id=raw_id,
        title=title,
        link=link,
        published=published or updated,
        updated=updated or published,
        author=plain_text(entry.get("author", "")) or None,
        summary_html=summary or None,
        content_html=content or None,
        enclosures=tuple(_enclosures(entry, base)),
        image=_entry_image(entry, base),
    )


def _title(node: Mapping[str, Any]) -> str:
    """Plain text: HTML titles lose their tags, text titles keep every character."""
    value = node.get("title") or ""
    if (node.get("title_detail") or {}).get("type") == "text/plain":
        return " ".join(value[:MAX_TEXT].split())
    return plain_text(value)


def _entry_base(entry: Mapping[str, Any], feed_base: str) -> str:
    for key in ("content", "summary_detail", "title_detail"):
        detail = entry.get(key)
        if isinstance(detail, list):
            detail = detail[0] if detail else None
        if detail and detail.get("base"):
            return absolute_url(detail["base"], feed_base) or feed_base
    return feed_base


def _html_of(
    detail: Mapping[str, Any] | None, value: str | None, own_base: str | None
) -> str | None:
    if not value:
        return None
    kind = (detail or {}).get("type", "text/html")
    if kind == "text/plain":
        return text_to_html(value)
    if own_base is not None:
        return sanitize_html(value, own_base) or None
    return feed_html(value) or None  # cleaned when shown (see sanitize.py)


def _alternate(entry: Mapping[str, Any], base: str) -> str | None:
    for link in entry.get("links") or ():
        if link.get("rel", "alternate") == "alternate":
            found = absolute_url(link.get("href"), base)
            if found:
                return found
    return None


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def _disambiguate(items: Iterable[Item]) -> list[Item]:
    """Repeated ids in one feed: exact repeats dropped, different items given a suffix."""
    seen: dict[str, Item] = {}
    result: list[Item] = []
    for item in items:
        if item.id in seen:
            first = seen[item.id]
            if (first.title, first.link, first.content_html) == (
                item.title,
                item.link,
                item.content_html,
            ):
                continue
            digest = _digest(item.title, item.link or "", str(item.published or ""))[:12]
            item = _with_id(item, f"{item.id}#{digest}")
            if item.id in seen:
                continue
        seen[item.id] = item
        result.append(item)
    return result


def _with_id(item: Item, new_id: str) -> Item:
    return replace(item, id=new_id)


_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def duration_seconds(text: Any) -> float | None:
    """itunes:duration as seconds: "SS", "MM:SS" or "HH:MM:SS"."""
    if text is None:
        return None
    text = str(text).strip()
    try:
        value = float(text)
        return value if value >= 0 else None
    except ValueError:
        pass
    match = _CLOCK.match(text)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


def _enclosures(entry: Mapping[str, Any], base: str) -> list[Enclosure]:
    duration = duration_seconds(entry.get("itunes_duration"))
    found: list[Enclosure] = []
    seen: set[str] = set()
    for enclosure in entry.get("enclosures") or ():
        url = absolute_url(enclosure.get("href") or enclosure.get("url"), base)
        if not url or url in seen:
            continue
        seen.add(url)
        try:
            length = int(str(enclosure.get("length", "")).strip() or 0) or None
        except ValueError:
            length = None
        if length is not None and length < 0:
            length = None
        found.append(
            Enclosure(
                url=url,
                type=(enclosure.get("type") or None),
                length=length,
                duration=duration if not found else None,
            )
        )
    return found


def _entry_image(entry: Mapping[str, Any], base: str) -> str | None:
    image = entry.get("image")
    if isinstance(image, Mapping) and image.get("href"):
        return absolute_url(image["href"], base)
    for thumb in entry.get("media_thumbnail") or ():
        found = absolute_url(thumb.get("url"), base)
        if found:
            return found
    for media in entry.get("media_content") or ():
        if media.get("medium") == "image" or str(media.get("type", "")).startswith("image/"):
            found = absolute_url(media.get("url"), base)
            if found:
                return found
    return None


def _channel_image(channel: Mapping[str, Any], base: str) -> str | None:
    image = channel.get("image")
    if isinstance(image, Mapping):
        return absolute_url(image.get("href") or image.get("url"), base)
    return None


def _rel_link(links: Iterable[Mapping[str, Any]], rel: str, base: str) -> str | None:
    for link in links:
        if link.get("rel") == rel:
            found = absolute_url(link.get("href"), base)
            if found:
                return found
    return None


def _podcast_guid(channel: Mapping[str, Any]) -> str | None:
    value = channel.get("podcast_guid")
    return str(value).strip() or None if value else None


_PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 604800,
    "monthly": 2592000,
    "yearly": 31536000,
}


def _ttl_seconds(channel: Mapping[str, Any]) -> int | None:
    """The larger of <ttl> (minutes) and sy:updatePeriod / sy:updateFrequency."""
    found: list[int] = []
    try:
        ttl = int(str(channel.get("ttl", "")).strip())
        if ttl > 0:
            found.append(ttl * 60)
    except ValueError:
        pass
    period = _PERIODS.get(str(channel.get("sy_updateperiod", "")).strip().lower())
    if period:
        try:
            frequency = max(1, int(str(channel.get("sy_updatefrequency", "1")).strip()))
        except ValueError:
            frequency = 1
        found.append(period // frequency)
    return max(found) if found else None
