"""The podcast feed: RSS 2.0 with the iTunes namespace, rendered from a template."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

from jinja2 import Environment

from mediahub.errors import MediahubError
from mediahub.model import Episode, Show
from mediahub.publish.links import Links


class FeedError(MediahubError):
    """The rendered feed is not well-formed XML (a template bug): it is not published."""


def render_podcast_feed(
    env: Environment,
    show: Show,
    episodes: Sequence[Episode],
    links: Links,
    show_image: str | None,
    updated: datetime | None,
) -> bytes:
    """The podcast feed as UTF-8 bytes, newest episode first; checked to be well-formed."""
    text = env.get_template("feed.xml").render(
        show=show, episodes=episodes, links=links, show_image=show_image, updated=updated
    )
    data = text.encode("utf-8")
    try:
        ET.fromstring(data)
    except ET.ParseError as exc:
        raise FeedError(
            "feed.xml",
            f"the rendered feed is not well-formed XML: {exc}",
            "fix the feed.xml template",
        ) from None
    return data
