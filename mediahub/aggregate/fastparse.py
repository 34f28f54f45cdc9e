"""The fast path in front of feedparser: feedparser-rs (Rust) behind a strict gate.

feedparser is the reference for what an item is, and it is slow. feedparser-rs
parses the same documents many times faster, but it is more forgiving than it
admits (an unclosed ``</rss>`` is not "bozo" to it) and differs from feedparser
at the edges. So it is used only for documents where a differential test over
the shared corpus and generated feeds shows the two agree, and only through
this adapter, which turns its objects into the feedparser-shaped mappings that
``parse.py`` normalises for both paths alike.

Which documents go to feedparser instead (``fast_parse`` returns None):

- anything not well-formed XML by expat, or declaring a DOCTYPE (entities):
  feedparser's recovery from broken XML is the behaviour we keep;
- anything not strict UTF-8 (a BOM, a UTF-16/32 or legacy declared encoding, a
  charset in Content-Type other than UTF-8, undecodable bytes): feedparser's
  encoding detection is the reference;
- roots other than an unprefixed RSS 0.9x/2.0 ``<rss>`` or Atom 1.0 ``<feed>``:
  RSS 1.0 (RDF), Atom 0.3 and prefixed roots were not shown to agree;
- an ``<item>``/``<entry>`` anywhere but directly under the channel/feed, or
  a count of entries that differs from the XML's: feedparser finds nested and
  namespaced ones, feedparser-rs does not;
- RSS: an item with any ``*:summary`` (feedparser files description and
  itunes:summary as summary or content by their order); a ``<title>`` inside
  anything but channel, item, image or textInput (podcast:liveItem titles
  overwrite feedparser's channel title); a title that feedparser would sniff as
  HTML (a closing tag or an entity reference in its text);
- Atom: XHTML or out-of-line (``src``) text constructs;
- an xml:base anywhere; references to C1 controls (``&#146;``), which
  feedparser repairs as cp1252;
- feeds where feedparser-rs reports a problem, hits one of its limits
  (entries, enclosures, links, content blocks), or loses an entry's date.

Dates are not taken from feedparser-rs: the raw strings go to feedparser's own
date parser in ``parse.py``, so both paths read every date alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

import feedparser_rs

__all__ = ["FastDocument", "fast_parse"]

# feedparser-rs's default limits: a feed at one of them may have been cut short.
_LIMIT_ENTRIES = 10_000
_LIMIT_ENCLOSURES = 20
_LIMIT_LINKS = 50
_LIMIT_CONTENT = 10

_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.IGNORECASE)
_UTF8 = frozenset({"utf-8", "utf8"})
_ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class FastDocument:
    """A feed the fast path accepted: feedparser-shaped channel and entries."""

    channel: dict[str, Any]
    entries: list[dict[str, Any]]


class _Refused(Exception):
    """The document is left to feedparser."""


def fast_parse(body: bytes, content_type: str | None = None) -> FastDocument | None:
    """The fast parse of a plain, well-formed UTF-8 feed; None means "use feedparser"."""
    try:
        return _attempt(body, content_type)
    except _Refused:
        return None


def refusal(body: bytes, content_type: str | None = None) -> str | None:
    """Why the fast path leaves this body to feedparser, or None if it takes it."""
    try:
        _attempt(body, content_type)
    except _Refused as exc:
        return str(exc)
    return None


def _attempt(body: bytes, content_type: str | None) -> FastDocument:
    _gate_encoding(body, content_type)
    shape = _gate_structure(body)
    parsed = feedparser_rs.parse(body, sanitize_html=False, resolve_relative_uris=False)
    if parsed.bozo:
        raise _Refused("the fast parser reports a problem")
    if parsed.version not in _VERSIONS[shape.root]:
        raise _Refused(f"version {parsed.version!r}")
    if len(parsed.entries) != shape.entries:
        raise _Refused(f"{len(parsed.entries)} entries where the XML has {shape.entries}")
    entries = [_entry(e, shape, n) for n, e in enumerate(parsed.entries)]
    dated = {n for n, e in enumerate(entries) if e["published"] or e["updated"] or e["created"]}
    if dated != shape.dated:
        raise _Refused("entries whose dates the fast parser lost")
    return FastDocument(_channel(parsed.feed, shape), entries)


_VERSIONS = {
    "rss": frozenset({"rss20", "rss091u", "rss091n", "rss092", "rss093", "rss094", "rss"}),
    "atom": frozenset({"atom10"}),
}


def _gate_encoding(body: bytes, content_type: str | None) -> None:
    charset = _CHARSET.search(content_type or "")
    if charset and charset.group(1).lower() not in _UTF8:
        raise _Refused("a charset other than UTF-8 in Content-Type")
    if body[:3] == b"\xef\xbb\xbf" or body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body:
        raise _Refused("a BOM or NUL bytes")
    head = body[:200].lstrip()
    if head.startswith(b"<?xml"):
        declared = _DECLARATION.match(head)
        if declared and declared.group(1).decode("ascii").lower() not in _UTF8:
            raise _Refused("a declared encoding other than UTF-8")
    if body.isascii():  # ASCII is UTF-8, and this test makes no copy of the body
        return
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused("bytes that are not UTF-8") from None


class _Shape:
    """One expat pass: well-formedness plus the structures the two parsers read apart.

    Element names arrive as "namespace local prefix" (prefix only when one was used).
    """

    def __init__(self) -> None:
        self.root = ""
        self.entries = 0
        self.stack: list[str] = []
        self.entry_depth = 0
        # Atom: the declared type of each text construct, per entry (-1: the feed).
        self.types: dict[tuple[int, str], str] = {}
        # Entries that carry a date element of their own, by index.
        self.dated: set[int] = set()

    def start(self, name: str, attributes: dict[str, str]) -> None:
        # Called for every element of every feed: the cheapest tests first.
        local = name.split(" ", 2)[1] if " " in name else name
        if not self.stack:
            if name == "rss":
                self.root, self.entry_depth = "rss", 3
            elif name == _ATOM_FEED:
                self.root, self.entry_depth = "atom", 2
            else:
                raise _Refused("not an unprefixed <rss> or Atom 1.0 <feed> root")
        depth = len(self.stack) + 1
        if local in _DATES and depth == self.entry_depth + 1 and self.entries:
            self.dated.add(self.entries - 1)
        if self.root == "rss":
            if local == "item":
                if depth != self.entry_depth:
                    raise _Refused("an <item> out of place")
                self.entries += 1
            elif local == "summary" and "item" in self.stack:
                raise _Refused("an item with a *:summary, which feedparser files by order")
            elif name == "title" and self.stack[-1] not in _RSS_TITLED:
                raise _Refused(f"a <title> inside <{self.stack[-1]}>")
        else:
            if local == "entry":
                if name != _ATOM_ENTRY or depth != self.entry_depth:
                    raise _Refused("an <entry> out of place")
                self.entries += 1
            elif local in _ATOM_TEXT and name == f"{_ATOM} {local}":
                kind = attributes.get("type", "text")
                if kind not in _ATOM_TYPES or "src" in attributes:
                    raise _Refused(f"Atom {local} of type {kind!r}")
                owner = self.entries - 1 if depth == self.entry_depth + 1 else -1
                if depth <= self.entry_depth + 1:
                    self.types[(owner, local)] = _ATOM_TYPES[kind]
        self.stack.append(name)

    def end(self, name: str) -> None:
        self.stack.pop()


_ATOM_FEED = f"{_ATOM} feed"
_ATOM_ENTRY = f"{_ATOM} entry"
_DATES = frozenset({"pubDate", "date", "published", "updated", "issued", "modified", "created"})
_ATOM_TEXT = frozenset({"title", "subtitle", "summary", "content"})
_ATOM_TYPES = {"text": "text/plain", "html": "text/html", "text/html": "text/html"}
_RSS_TITLED = frozenset({"channel", "item", "image", "textInput", "textinput"})
# cp1252 characters written as references to C1 controls (or as the raw C1 characters):
# feedparser repairs them. Two patterns, not one alternation: each starts with a literal,
# which the regex engine finds with a fast substring search (8x faster over 85 MB).
_C1_REFERENCE = re.compile(rb"&#(?:12[89]|1[3-5][0-9]|x[89][0-9a-fA-F]);")
_C1_RAW = re.compile(rb"\xc2[\x80-\x9f]")


def _gate_structure(body: bytes) -> _Shape:
    """Well-formed XML without a DOCTYPE, rooted at <rss> or an Atom 1.0 <feed>."""
    # An xml:base attribute is always spelled so (the xml prefix is bound to its
    # namespace and no other prefix may be), so one substring search finds every one
    # before the parse instead of a test of each element's attributes in it. (A feed
    # that only mentions xml:base in its text goes to feedparser too: slower, not wrong.)
    if b"xml:base" in body:
        raise _Refused("an xml:base")
    # A byte search first: the raw pattern's first byte is rare outside C1 and Latin-1.
    if _C1_REFERENCE.search(body) or (b"\xc2" in body and _C1_RAW.search(body)):
        raise _Refused("references to C1 control characters")
    shape = _Shape()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.namespace_prefixes = True
    parser.buffer_text = True

    def doctype(*_: object) -> None:
        raise _Refused("a DOCTYPE")

    parser.StartElementHandler = shape.start
    parser.EndElementHandler = shape.end
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(body, True)
    except expat.ExpatError:
        raise _Refused("not well-formed XML") from None
    return shape


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _detail(detail: Any, kind: str | None = None) -> dict[str, Any] | None:
    """A text construct; ``kind`` is the type the document declared (Atom), if known."""
    # xml:base never reaches here (the gate refuses it); feedparser-rs's own "base"
    # is the channel link, which feedparser does not use, so it is left out.
    if detail is None:
        return None
    return {"type": kind or detail.type, "value": detail.value}


# feedparser calls RSS text "HTML" when it has a closing tag or an entity reference.
_HTMLISH = re.compile(r"</\w|&#?\w+;")


def _title(value: Any, detail: Any, shape: _Shape, owner: int) -> tuple[str, Any]:
    """RSS titles are plain text to feedparser unless they look like HTML: those go to it."""
    text = _text(value)
    if shape.root == "atom":
        return text, _detail(detail, shape.types.get((owner, "title"), "text/plain"))
    if _HTMLISH.search(text):
        raise _Refused("an RSS title that feedparser would sniff as HTML")
    return text, {"type": "text/plain", "value": text}


def _channel(feed: Any, shape: _Shape) -> dict[str, Any]:
    links = [{"rel": link.rel, "href": link.href} for link in feed.links or ()]
    if len(links) >= _LIMIT_LINKS * 2:
        raise _Refused("as many feed links as the fast parser keeps")
    title, title_detail = _title(feed.title, feed.title_detail, shape, -1)
    channel: dict[str, Any] = {
        "title": title,
        "title_detail": title_detail,
        "link": feed.link,
        "subtitle": _text(feed.subtitle),
        "links": links,
        "ttl": feed.ttl,
    }
    if feed.podcast is not None and feed.podcast.guid:
        channel["podcast_guid"] = feed.podcast.guid
    if feed.syndication is not None:
        channel["sy_updateperiod"] = feed.syndication.update_period or ""
        channel["sy_updatefrequency"] = feed.syndication.update_frequency or "1"
    if feed.image is not None and (feed.image.href or feed.image.url):
        channel["image"] = {"href": feed.image.href or feed.image.url}
    return channel


def _entry(entry: Any, shape: _Shape, index: int) -> dict[str, Any]:
    links = [{"rel": link.rel, "href": link.href} for link in entry.links or ()]
    enclosures = [
        {"href": e.href, "length": e.length or "", "type": e.type} for e in entry.enclosures or ()
    ]
    kinds = shape.types
    content = [_detail(part, kinds.get((index, "content"))) for part in entry.content or ()]
    if (
        len(links) >= _LIMIT_LINKS
        or len(enclosures) >= _LIMIT_ENCLOSURES
        or len(content) >= _LIMIT_CONTENT
    ):
        raise _Refused("an entry at one of the fast parser's limits")
    title, title_detail = _title(entry.title, entry.title_detail, shape, index)
    # feedparser-rs copies an Atom feed's author into its entries; feedparser does not.
    rss = shape.root == "rss"
    author = _text(entry.author) if rss or entry.author_detail is not None else ""
    result: dict[str, Any] = {
        "id": entry.id or "",
        "link": entry.link,
        "links": links,
        "title": title,
        "title_detail": title_detail,
        "summary": _text(entry.summary),
        "summary_detail": _detail(entry.summary_detail, kinds.get((index, "summary"))),
        "content": content,
        "author": author,
        "enclosures": enclosures,
        # Raw strings: parse.py reads them with feedparser's own date parser.
        "published": _text(entry.published),
        "created": _text(entry.created),
        "updated": _text(entry.updated),
        "media_thumbnail": [{"url": t.url} for t in entry.media_thumbnail or ()],
        "media_content": [
            {"url": m.url, "medium": m.medium, "type": m.type} for m in entry.media_content or ()
        ],
    }
    if entry.itunes is not None:
        result["itunes_duration"] = entry.itunes.duration
        if entry.itunes.image:
            result["image"] = {"href": entry.itunes.image}
    return result
