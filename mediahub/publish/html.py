"""HTML prepared for feeds: absolute links, and the small tag set Apple Podcasts shows."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import nh3

# Apple Podcasts renders only these in an item's description.
_APPLE_TAGS = {"p", "ol", "ul", "li", "a"}
_LINK_ATTR = re.compile(r'(\s(?:href|src|poster)=")(/[^"]*|(?!\w+:)[^"#][^"]*)"')


def absolute_links(html: str, base_url: str) -> str:
    """Make root-relative and relative ``href``/``src`` values absolute: feeds have no base."""
    origin = base_url if base_url.endswith("/") else base_url + "/"
    host = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))

    def fix(match: re.Match[str]) -> str:
        value = match.group(2)
        absolute = host + value if value.startswith("/") else urljoin(origin, value)
        return f'{match.group(1)}{absolute}"'

    return _LINK_ATTR.sub(fix, html)


def apple_description(html: str) -> str:
    """Show notes cut down to Apple's tags; text of other tags is kept, markup dropped."""
    return str(
        nh3.clean(
            html,
            tags=_APPLE_TAGS,
            attributes={"a": {"href"}},
            url_schemes={"http", "https", "mailto"},
            link_rel=None,
        )
    ).strip()
