"""Find the feed behind a website URL: ``<link rel="alternate">`` first, then common paths.

``sources add https://example.org`` should just work: if the URL already
answers with a feed it is kept; if it answers with HTML, its advertised
feeds are tried in order; failing that, the paths sites usually use.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

from mediahub.aggregate.fetch import Fetcher, Response
from mediahub.errors import FetchError

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
)
COMMON_PATHS = (
    "/feed",
    "/feed.xml",
    "/rss",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/podcast.xml",
)
_HTML_SNIFF = 1024


class DiscoveryError(FetchError):
    """No feed could be found at or behind a URL."""


@dataclass(frozen=True, slots=True)
class Discovered:
    url: str
    title: str | None = None
    how: str = "direct"  # direct | link | path


class _Links(HTMLParser):
    """Collects ``<link rel="alternate" type="feed type" href>`` from a page's HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        if tag != "link":
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in FEED_TYPES and values.get("href"):
            self.found.append((values["href"], values.get("title") or None))


def feed_links(html: str, page_url: str) -> list[tuple[str, str | None]]:
    """Absolute URLs (and titles) of the feeds a page advertises, in page order."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    seen: set[str] = set()
    links = []
    for href, title in parser.found:
        url = urljoin(base, href.strip())
        if url not in seen:
            seen.add(url)
            links.append((url, title))
    return links


def looks_like_feed(resp: Response) -> bool:
    """A cheap sniff (the parser decides for real): feed types or a feed's root element."""
    kind = (resp.content_type or "").split(";")[0].strip().lower()
    head = resp.body[:_HTML_SNIFF].lstrip().lower()
    if kind in ("text/html", "application/xhtml+xml") or head.startswith(
        (b"<!doctype html", b"<html")
    ):
        return False
    return (
        kind in FEED_TYPES
        or b"<rss" in head
        or b"<feed" in head
        or b"<rdf:rdf" in head
        or (head.startswith(b"{") and b"jsonfeed.org" in resp.body[:4096])
    )


async def discover(fetcher: Fetcher, url: str) -> Discovered:
    """The feed at or behind ``url``; raises DiscoveryError naming what was tried."""
    page = await fetcher.get(url)
    if page.status != 200:
        raise DiscoveryError(url, f"answered HTTP {page.status}", "check the address")
    if looks_like_feed(page):
        return Discovered(page.url, how="direct")
    charset = "utf-8"
    if page.content_type and "charset=" in page.content_type:
        charset = page.content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
    try:
        html = page.body.decode(charset, errors="replace")
    except LookupError:
        html = page.body.decode("utf-8", errors="replace")
    tried: list[str] = []
    for candidate, title in feed_links(html, page.url):
        found = await _try(fetcher, candidate, tried)
        if found:
            return Discovered(found, title, how="link")
    for path in COMMON_PATHS:
        found = await _try(fetcher, urljoin(page.url, path), tried)
        if found:
            return Discovered(found, how="path")
    raise DiscoveryError(
        url,
        f"is a web page without a feed (tried {len(tried)} addresses)",
        "give the feed's own URL",
    )


async def _try(fetcher: Fetcher, url: str, tried: list[str]) -> str | None:
    tried.append(url)
    try:
        resp = await fetcher.get(url)
    except FetchError:
        return None
    return resp.url if resp.status == 200 and looks_like_feed(resp) else None
