"""HTML prepared for feeds: absolute links (Apple's tag subset comes from the sanitiser)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

_LINK_ATTR = re.compile(r'(\s(?:href|src|poster)=")(/[^"]*|(?!\w+:)[^"#][^"]*)"')


def absolute_links(html: str, base_url: str) -> str:
    """Make root-relative and relative ``href``/``src`` values absolute: feeds have no base."""
    if 'href="' not in html and 'src="' not in html and 'poster="' not in html:
        return html
    origin = base_url if base_url.endswith("/") else base_url + "/"
    host = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))

    def fix(match: re.Match[str]) -> str:
        value = match.group(2)
        absolute = host + value if value.startswith("/") else urljoin(origin, value)
        return f'{match.group(1)}{absolute}"'

    return _LINK_ATTR.sub(fix, html)
