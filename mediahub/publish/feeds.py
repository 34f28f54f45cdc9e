"""Feeds: the podcast RSS (iTunes + Podcasting 2.0) with RFC 5005 archives, and the
posts' Atom feed and JSON Feed 1.1.

RSS and Atom are rendered from templates (a hub may override them) and parsed
once before they are published, so a broken template never reaches an app.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.parsers import expat

from jinja2 import Environment
from markupsafe import Markup

from mediahub.aggregate.sanitize import apple_description
from mediahub.errors import MediahubError
from mediahub.model import Episode, Post, Show, SourceState
from mediahub.publish.check import podcast_guid
from mediahub.publish.html import absolute_links
from mediahub.publish.links import Links
from mediahub.publish.templating import (
    cdata,
    rfc822,
    rfc3339,
    strip_xml_illegal,
    strip_xml_illegal_bytes,
)

__all__ = ["FeedPage", "podcast_guid", "render_atom", "render_json_feed", "render_podcast_feed"]


class FeedError(MediahubError):
    """The rendered feed is not well-formed XML (a template bug): it is not published."""


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One document of the podcast feed: the current feed.xml or an RFC 5005 archive."""

    path: str
    episodes: Sequence[Episode]
    is_archive: bool = False
    prev_archive: str | None = None
    next_archive: str | None = None


def archive_path(number: int) -> str:
    return f"feed/archive-{number}.xml"


def podcast_feed_pages(episodes: Sequence[Episode], limit: int) -> list[FeedPage]:
    """Split episodes (newest first) into feed.xml and stable archives.

    feed.xml holds the newest ``limit``; older ones are archived oldest first in
    chunks of ``limit``, so an archive only changes while it is the newest one.
    """
    current, older = list(episodes[:limit]), list(episodes[limit:])
    oldest_first = older[::-1]
    chunks = [oldest_first[i : i + limit] for i in range(0, len(oldest_first), limit)]
    count = len(chunks)
    pages = [
        FeedPage(
            path=Links.feed_path(),
            episodes=current,
            prev_archive=archive_path(count) if count else None,
        )
    ]
    for number, chunk in enumerate(chunks, start=1):
        pages.append(
            FeedPage(
                path=archive_path(number),
                episodes=chunk[::-1],
                is_archive=True,
                prev_archive=archive_path(number - 1) if number > 1 else None,
                next_archive=archive_path(number + 1) if number < count else None,
            )
        )
    return pages


def render_podcast_feed(
    env: Environment,
    show: Show,
    page: FeedPage,
    links: Links,
    show_image: str | None,
    updated: datetime | None,
    hubs: Sequence[str] = (),
    podroll: Sequence[SourceState] = (),
) -> bytes:
    """One podcast feed document as UTF-8 bytes; checked to be well-formed.

    The channel comes from the ``feed.xml`` template (a hub may override it); the
    items are rendered here, in code, since a feed of thousands of episodes is
    mostly items and they must be exactly right for every app. An archive's
    lastBuildDate is its own newest episode, so it stays byte-identical while
    newer episodes are published.
    """
    if page.is_archive and page.episodes:
        updated = max(e.date for e in page.episodes)
    item = ItemRenderer(show, links, show_image)
    channel = env.get_template("feed.xml").render(
        show=show,
        podcast=show.podcast,
        page=page,
        episodes=page.episodes,
        items=Markup(_ITEMS_HERE),
        links=links,
        show_image=show_image,
        updated=updated,
        hubs=hubs,
        podroll=podroll,
    )
    # The channel comes from a template a hub may override: expat reads it through.
    # The items are well-formed by construction (every value escaped or in CDATA),
    # so only characters XML forbids need looking for there, in one byte pass.
    head, found, tail = _well_formed(channel, page.path).partition(_ITEMS_HERE.encode())
    if not found:  # a hub's own template that does not print {{ items }}
        return head
    items = strip_xml_illegal_bytes("".join(item(e) for e in page.episodes).encode("utf-8"))
    return head + items + tail


# Where the template put {{ items }}; a comment, so the channel alone is well-formed.
_ITEMS_HERE = "<!-- mediahub: items -->"


class ItemRenderer:
    """Renders one ``<item>`` of the podcast feed: iTunes and Podcasting 2.0 tags."""

    def __init__(self, show: Show, links: Links, show_image: str | None) -> None:
        self.show = show
        self.links = links
        self.base = links.url("")
        self.show_image = show_image
        self.language = show.language

    def __call__(self, episode: Episode) -> str:
        links, x = self.links, _x
        notes = absolute_links(episode.notes_html, self.base)
        description = episode.description_html or apple_description(notes)
        description = absolute_links(description, self.base)
        explicit = self.show.explicit if episode.explicit is None else episode.explicit
        parts = [
            "    <item>\n"
            f"      <title>{x(episode.title)}</title>\n"
            f"      <itunes:title>{x(episode.title)}</itunes:title>\n"
            f"      <link>{x(links.page(episode))}</link>\n"
            f'      <guid isPermaLink="false">{x(episode.guid)}</guid>\n'
            f"      <pubDate>{rfc822(episode.date)}</pubDate>\n"
            f"      <description>{cdata(description)}</description>\n"
            f"      <content:encoded>{cdata(notes)}</content:encoded>\n"
            f"      <itunes:summary>{x(episode.summary)}</itunes:summary>\n"
            f"      <itunes:author>{x(self.show.author)}</itunes:author>\n"
            f'      <enclosure url="{x(links.media(episode))}" length="{episode.audio.size}"'
            f' type="{x(episode.audio.mime_type)}"/>\n'
            f"      <itunes:duration>{round(episode.audio.duration)}</itunes:duration>\n"
            f"      <itunes:episodeType>{x(episode.episode_type)}</itunes:episodeType>\n"
        ]
        if episode.season is not None:
            parts.append(
                f"      <itunes:season>{episode.season}</itunes:season>\n"
                f"      <podcast:season>{episode.season}</podcast:season>\n"
            )
        if episode.number is not None:
            parts.append(
                f"      <itunes:episode>{episode.number}</itunes:episode>\n"
                f"      <podcast:episode>{episode.number}</podcast:episode>\n"
            )
        parts.append(
            f"      <itunes:explicit>{'true' if explicit else 'false'}</itunes:explicit>\n"
        )
        image_path = links.episode_image_path(episode)
        image = links.url(image_path) if image_path else self.show_image
        if image:
            parts.append(f'      <itunes:image href="{x(image)}"/>\n')
        if episode.chapters_file:
            url = links.url(links.chapters_path(episode))
            parts.append(
                f'      <podcast:chapters url="{x(url)}" type="application/json+chapters"/>\n'
            )
        if episode.transcript_file:
            url = links.url(links.transcript_path(episode))
            parts.append(
                f'      <podcast:transcript url="{x(url)}" type="text/vtt"'
                f' language="{x(self.language)}"/>\n'
            )
        for path, mime in episode.transcript_extra:
            url = links.url(links.side_path(episode, path))
            parts.append(f'      <podcast:transcript url="{x(url)}" type="{x(mime)}"/>\n')
        for guest in episode.guests:
            parts.append(f'      <podcast:person role="guest">{x(guest)}</podcast:person>\n')
        for bite in episode.soundbites:
            parts.append(
                f'      <podcast:soundbite startTime="{bite.start}" duration="{bite.duration}">'
                f"{x(bite.title or '')}</podcast:soundbite>\n"
            )
        parts.append("    </item>\n")
        return "".join(parts)


def _x(text: str) -> str:
    """Escape text for XML content and attribute values (double-quoted)."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def render_atom(
    env: Environment,
    show: Show,
    entries: Sequence[Episode | Post],
    links: Links,
    path: str,
    title: str,
) -> bytes:
    """An Atom feed of posts (and, for the combined feed, episodes)."""
    text = env.get_template("entries.atom").render(
        show=show,
        entries=entries,
        links=links,
        path=path,
        title=title,
        updated=max((e.date for e in entries), default=None),
        body=lambda entry: absolute_links(_body(entry), links.url("")),
    )
    return _well_formed(text, path)


def render_json_feed(
    show: Show, entries: Sequence[Episode | Post], links: Links, path: str, title: str
) -> bytes:
    """JSON Feed 1.1 (there is no template: json.dumps cannot produce a broken document)."""
    items = []
    for entry in entries:
        item: dict[str, object] = {
            "id": entry.guid if isinstance(entry, Episode) else links.page(entry),
            "url": links.page(entry),
            "title": entry.title,
            "content_html": absolute_links(_body(entry), links.url("")),
            "summary": entry.summary,
            "date_published": rfc3339(entry.date),
        }
        if isinstance(entry, Post) and entry.tags:
            item["tags"] = list(entry.tags)
        if isinstance(entry, Episode):
            item["attachments"] = [
                {
                    "url": links.media(entry),
                    "mime_type": entry.audio.mime_type,
                    "size_in_bytes": entry.audio.size,
                    "duration_in_seconds": round(entry.audio.duration),
                }
            ]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": links.url(""),
        "feed_url": links.url(path),
        "description": show.description,
        "language": show.language,
        "authors": [{"name": show.author}],
        "items": items,
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _body(entry: Episode | Post) -> str:
    return entry.notes_html if isinstance(entry, Episode) else entry.body_html


def _well_formed(text: str, path: str) -> bytes:
    """The document as bytes, once expat has read it through without complaint.

    Characters XML forbids (control characters from odd tags or notes) are removed
    only when the first reading trips on something, so a clean feed is read once.
    """
    data = text.encode("utf-8")
    try:
        expat.ParserCreate().Parse(data, True)
        return data
    except expat.ExpatError:
        data = strip_xml_illegal(text).encode("utf-8")
    try:
        expat.ParserCreate().Parse(data, True)
    except expat.ExpatError as exc:
        raise FeedError(
            path,
            f"the rendered feed is not well-formed XML: {exc}",
            "fix the feed template (a hub's own templates/ may override it)",
        ) from None
    return data
