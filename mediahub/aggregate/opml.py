"""OPML 2.0 in and out: the list of sources, with topics as outline groups.

Export writes one ``<outline text="topic">`` per topic holding one
``type="rss"`` outline per source. Import accepts that and the flat or nested
lists other readers write: a source's topic is the text of its nearest
enclosing group, else the ``default_topic``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from itertools import groupby
from urllib.parse import urlsplit

from mediahub.errors import MediahubError
from mediahub.model import Source, SourceState

MAX_OPML_BYTES = 5 * 1024 * 1024


class OpmlError(MediahubError):
    """A file given to ``sources import`` is not usable OPML."""


@dataclass(frozen=True, slots=True)
class Imported:
    """What an OPML file held: the sources, and the outlines that were skipped and why."""

    sources: tuple[Source, ...]
    skipped: tuple[str, ...]


def to_opml(title: str, sources: Sequence[SourceState], now: datetime | None = None) -> bytes:
    """OPML 2.0 of ``sources`` grouped by topic (topics and sources sorted, so output is stable)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    ordered = sorted(sources, key=lambda s: (s.source.topic, s.source.url))
    for topic, group in groupby(ordered, key=lambda s: s.source.topic):
        folder = ET.SubElement(body, "outline", text=topic, title=topic)
        for state in group:
            name = state.source.title or state.feed_title or state.source.url
            attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": state.source.url}
            if state.site_link:
                attrs["htmlUrl"] = state.site_link
            ET.SubElement(folder, "outline", attrs)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(ET.tostring(root, encoding="utf-8"))


def from_opml(data: bytes, where: str, default_topic: str = "general") -> Imported:
    """Sources listed in an OPML document; raises OpmlError if it is not OPML at all."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(where, f"is larger than {MAX_OPML_BYTES // 1024 // 1024} MiB", "split it")
    if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
        # No OPML needs a DTD; refusing one rules out entity expansion attacks.
        raise OpmlError(where, "declares a DTD or entities", "remove the <!DOCTYPE> block")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OpmlError(where, f"is not well-formed XML: {exc}", "export it again") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise OpmlError(where, "is not OPML (no <opml><body>)", "give an OPML subscription list")
    sources: list[Source] = []
    skipped: list[str] = []
    seen: set[str] = set()

    def walk(node: ET.Element, topic: str | None) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            text = (outline.get("title") or outline.get("text") or "").strip()
            if not url:
                walk(outline, text or topic)
                continue
            scheme = urlsplit(url).scheme
            if scheme not in ("http", "https"):
                skipped.append(f"{url}: only http(s) sources are imported")
            elif url in seen:
                skipped.append(f"{url}: listed twice")
            else:
                seen.add(url)
                title = text if text and text != url else None
                sources.append(Source(url=url, topic=topic or default_topic, title=title))
            walk(outline, topic)

    walk(body, None)
    return Imported(tuple(sources), tuple(skipped))
