"""Topic pages, All Top style: /topics/ lists topics, /topics/<topic>/ shows one box per
source with its latest headlines, a river of the newest items, and the stories carried
by several sources; plus an Atom feed and an OPML file per topic.

Everything shown comes from the items store. Titles are plain text (autoescaped);
summaries were sanitised when parsed and are sanitised again here before being
marked safe, so a store filled by an older, looser policy cannot leak markup.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from mediahub.aggregate.opml import to_opml
from mediahub.aggregate.sanitize import plain_text, sanitize_html
from mediahub.config import Config
from mediahub.files import exclusive
from mediahub.model import SourceState, StoredItem
from mediahub.publish.links import Links
from mediahub.publish.templating import environment, page_globals, rfc3339, strip_xml_illegal
from mediahub.publish.writer import Writer
from mediahub.store import Store

# Headlines per source box, items in the river, how long a silent source stays shown.
HEADLINES = 5
RIVER = 40
SILENT_AFTER = timedelta(days=28)
STORY_DAYS = timedelta(days=7)
# Summaries longer than this are shown as a plain-text excerpt instead of HTML.
SUMMARY_HTML_MAX = 1500
EXCERPT = 280
ATOM_NS = "http://www.w3.org/2005/Atom"


def topic_slug(topic: str) -> str:
    """A topic name as a URL path segment: lowercase ASCII words joined by dashes."""
    folded = unicodedata.normalize("NFKD", topic).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-") or "topic"


def time_ago(moment: datetime, now: datetime) -> str:
    """A short age for people ("5 min ago", "3 h ago", "2 days ago")."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''} ago"


@dataclass
class Box:
    """One source on a topic page with its latest headlines."""

    state: SourceState
    name: str
    items: list[StoredItem]


@dataclass
class Story:
    """A story carried by several sources: the first one seen, and the others."""

    lead: StoredItem
    also: list[StoredItem] = field(default_factory=list)


@dataclass
class Topic:
    name: str
    slug: str
    sources: list[SourceState]
    boxes: list[Box]
    river: list[StoredItem]
    stories: list[Story]
    hidden: int


def source_name(state: SourceState) -> str:
    return state.source.title or state.feed_title or state.source.url


def summary_markup(stored: StoredItem) -> Markup:
    """The item's summary as safe markup: sanitised HTML if short, else a text excerpt.

    The store keeps feed HTML as fetched: this is where it is cleaned, relative links
    resolved against the source's URL.
    """
    item = stored.item
    html = item.summary_html or item.content_html or ""
    if not html:
        return Markup("")
    if len(html) <= SUMMARY_HTML_MAX:
        # Safe to mark: the allow-list sanitiser just cleaned it.
        return Markup(sanitize_html(html, stored.source_url))
    text = plain_text(html)
    if len(text) > EXCERPT:
        text = text[:EXCERPT].rsplit(" ", 1)[0] + "…"
    return Markup("<p>{}</p>").format(text)


def collect(store: Store, now: datetime) -> list[Topic]:
    """Everything the topic pages show, read from the store."""
    by_topic: dict[str, list[SourceState]] = defaultdict(list)
    for state in store.list_sources():
        by_topic[state.source.topic].append(state)
    topics: list[Topic] = []
    for name in sorted(by_topic, key=str.casefold):
        sources = by_topic[name]
        names = {s.source.url: source_name(s) for s in sources}
        boxes: list[Box] = []
        hidden = 0
        for state in sources:
            last = store.last_item_date(state.source.url)
            if last is None or now - last > SILENT_AFTER or state.gone:
                hidden += 1
                continue
            items = store.latest_items(state.source.url, HEADLINES)
            boxes.append(Box(state, names[state.source.url], items))
        boxes.sort(key=lambda b: b.items[0].sort_date, reverse=True)
        river = store.topic_items(name, now - SILENT_AFTER, RIVER)
        recent = store.topic_items(name, now - STORY_DAYS, 1000)
        stories = _stories(store, recent, names)
        topics.append(Topic(name, topic_slug(name), sources, boxes, river, stories, hidden))
    return topics


def _stories(store: Store, recent: list[StoredItem], names: dict[str, str]) -> list[Story]:
    keys = {s.story for s in recent}
    grouped: dict[str, list[StoredItem]] = defaultdict(list)
    for stored in store.story_items(keys):
        if stored.source_url in names:
            grouped[stored.story].append(stored)
    stories: list[Story] = []
    for members in grouped.values():
        sources: dict[str, StoredItem] = {}
        for stored in members:
            sources.setdefault(stored.source_url, stored)
        if len(sources) > 1:
            lead, *also = sources.values()
            stories.append(Story(lead, also))
    stories.sort(key=lambda s: (len(s.also), s.lead.sort_date), reverse=True)
    return stories[:10]


def atom_feed(topic: Topic, links: Links, names: dict[str, str], title: str) -> bytes:
    """An Atom feed of a topic's river; every entry names and links its source."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    root = ET.Element(f"{{{ATOM_NS}}}feed")
    base = f"topics/{topic.slug}/"
    sub(root, "title", f"{title}: {topic.name}")
    sub(root, "id", links.url(base))
    sub(root, "link", rel="self", href=links.url(base + "feed.atom"))
    sub(root, "link", rel="alternate", href=links.url(base))
    newest = topic.river[0].sort_date if topic.river else datetime(1970, 1, 1).astimezone()
    sub(root, "updated", rfc3339(newest))
    for stored in topic.river:
        item = stored.item
        entry = sub(root, "entry")
        sub(entry, "title", item.title or "(untitled)")
        sub(entry, "id", f"{stored.source_url}#{item.id}" if not item.link else item.link)
        if item.link:
            sub(entry, "link", rel="alternate", href=item.link)
        sub(entry, "updated", rfc3339(item.updated or stored.sort_date))
        sub(entry, "published", rfc3339(stored.sort_date))
        author = sub(entry, "author")
        sub(author, "name", item.author or names.get(stored.source_url, stored.source_url))
        source = sub(entry, "source")
        sub(source, "title", names.get(stored.source_url, stored.source_url))
        sub(source, "link", rel="self", href=stored.source_url)
        summary = str(summary_markup(stored))
        if summary:
            sub(entry, "summary", summary, type="html")
    ET.indent(root)
    # ElementTree escapes markup but keeps control characters XML 1.0 forbids (feeds carry them).
    text = strip_xml_illegal(ET.tostring(root, encoding="unicode"))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + text.encode("utf-8")


def plan_topics(
    writer: Writer,
    env: Environment,
    links: Links,
    common: dict[str, Any],
    store: Store,
    now: datetime,
    prefix: str = "topics/",
) -> int:
    """Plan every topic page, feed and OPML into ``writer``; return how many files."""
    topics = collect(store, now)
    if not topics:
        return 0
    title = common["show"].title
    context: dict[str, Any] = {
        **common,
        "now": now,
        "time_ago": lambda moment: time_ago(moment, now),
        "summary": summary_markup,
    }
    writer.add(
        prefix + "index.html", env.get_template("topics.html").render(**context, topics=topics)
    )
    count = 1
    for topic in topics:
        names = {s.source.url: source_name(s) for s in topic.sources}
        folder = f"{prefix}{topic.slug}/"
        page = env.get_template("topic.html").render(**context, topic=topic, names=names)
        writer.add(folder + "index.html", page)
        writer.add(folder + "feed.atom", atom_feed(topic, links, names, title))
        writer.add(folder + "sources.opml", to_opml(f"{title}: {topic.name}", topic.sources, now))
        count += 3
    return count


def site_lacks_topics(config: Config) -> bool:
    """The built site has no topic pages yet, so its pages' menus lack the link to them:
    the first topic pages come with a full build, not ``build_topics`` alone."""
    return not (config.paths.output / "topics" / "index.html").is_file()


def build_topics(config: Config, store: Store, now: datetime) -> int:
    """Rebuild only the topic pages (after an aggregation cycle); return files written.

    Uses its own writer confined to topics/, so the rest of the site is untouched;
    a full ``mediahub build`` plans the same files through ``plan_topics``.
    """
    links = Links(config.show.url)
    writer = Writer(config.paths.output / "topics")
    common = page_globals(config.show, links, topics=True)
    with exclusive(config.paths.output_lock):  # not while a build writes the site
        plan_topics(writer, environment(config.paths.templates), links, common, store, now, "")
        return writer.commit().written
