"""The one HTML sanitiser for aggregated content: a strict allow-list (nh3).

Feed HTML is untrusted. It is stored as the feed had it (``feed_html``: cut to
a length and made encodable, nothing else) and cleaned when a page shows it
(``sanitize_html``, with the source's URL as the base for relative links):
cleaning at render time costs a page's dozen excerpts instead of every item of
every feed at parse time, which was 40% of parsing. Templates escape
everything else. No script, style, forms, frames, event handlers or
``javascript:`` URLs survive; ``data:`` URLs only as raster image sources;
links get ``rel="noopener noreferrer"``.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Literal
from urllib.parse import urljoin, urlsplit

import nh3

_TAGS = frozenset(nh3.ALLOWED_TAGS) - {"area", "map"}
# Dropped together with everything inside them, not just unwrapped.
_DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "form",
        "textarea",
        "select",
        "button",
        "iframe",
        "object",
        "embed",
        "noscript",
        "template",
        "svg",
        "math",
    }
)
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "time": {"datetime"},
}
_SCHEMES = frozenset({"http", "https", "mailto", "data"})
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp|avif);", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
# The sanitiser's time grows faster than linearly with some inputs (a megabyte of entity
# references takes seconds, fifteen take minutes, in native code no timer can stop), and
# no page shows more than a short excerpt: longer fragments are cut before cleaning.
MAX_HTML = 256 * 1024
MAX_TEXT = 4 * 1024


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Allow ``data:`` only as a raster image's src; everything else keeps its value."""
    if attribute in ("href", "src", "cite") and value.lstrip()[:5].lower() == "data:":
        if tag == "img" and attribute == "src" and _DATA_IMAGE.match(value.lstrip()):
            return value
        return None
    return value


@lru_cache(maxsize=64)
def _cleaner(base_url: str | None) -> nh3.Cleaner:
    """One cleaner per base URL (relative links are resolved against it)."""
    if base_url and urlsplit(base_url).scheme in ("http", "https"):
        return _make_cleaner(("rewrite_with_base", base_url))
    return _make_cleaner("pass_through")


def _make_cleaner(
    relative: Literal["pass_through"] | tuple[Literal["rewrite_with_base"], str],
) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        strip_comments=True,
        link_rel="noopener noreferrer",
        url_schemes=set(_SCHEMES),
        url_relative=relative,
    )


# Text the cleaner would only re-serialise: no markup, no references, nothing its input
# stream rewrites (CR, NUL). For it the cleaner's output is the text with ">" and U+00A0
# written as references (a differential test holds this against nh3).
_NEEDS_CLEANER = re.compile("[<&\r\x00]")


def sanitize_html(fragment: str, base_url: str | None = None) -> str:
    """Untrusted HTML -> HTML safe to put in a page as is."""
    if not fragment:
        return ""
    fragment = fragment[:MAX_HTML]
    if _NEEDS_CLEANER.search(fragment) is None and _encodable(fragment):
        # Plain text (most summaries): the same output without a parse and a serialise.
        return fragment.replace(">", "&gt;").replace("\xa0", "&nbsp;")
    return _cleaner(base_url).clean(fragment)


def feed_html(fragment: str) -> str:
    """Feed HTML as the store keeps it: at most ``MAX_HTML`` characters, lone surrogates
    (which neither SQLite nor the cleaner accept) replaced. Not safe to show as is."""
    fragment = fragment[:MAX_HTML]
    if not _encodable(fragment):
        fragment = fragment.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return fragment


def _encodable(text: str) -> bool:
    """False for lone surrogates, which the cleaner refuses (so the fast path must too)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_to_html(text: str) -> str:
    """Content declared as plain text: escaped, paragraphs kept."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text[:MAX_HTML]) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


@lru_cache(maxsize=1)
def _text_cleaner() -> nh3.Cleaner:
    """Every tag dropped (the text of most kept), made once for every title."""
    return nh3.Cleaner(tags=set(), clean_content_tags=set(_DROP_WITH_CONTENT))


def plain_text(fragment: str) -> str:
    """Any markup -> one line of plain text (titles): tags dropped, entities decoded.

    At most ``MAX_TEXT`` characters of a longer fragment are read: a title is a line.
    """
    if not fragment:
        return ""
    fragment = fragment[:MAX_TEXT]
    if "<" in fragment or "&" in fragment:
        stripped = _text_cleaner().clean(fragment)
        fragment = html.unescape(stripped)
    return _SPACE.sub(" ", fragment).strip()


# An absolute http(s) URL that urljoin would hand back unchanged: a plain host, no empty
# query, fragment or path parameters, no controls or spaces (which it strips or drops).
_PLAIN_ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[^\x00-\x20\x7f?#;]*)?"
    r"(?:\?[^\x00-\x20\x7f#]+)?(?:#[^\x00-\x20\x7f]+)?"
)


def absolute_url(url: str | None, base_url: str | None) -> str | None:
    """A link from a feed made absolute against the feed's URL; only http(s), else None."""
    if not url:
        return None
    url = url.strip()
    if _PLAIN_ABSOLUTE.fullmatch(url):
        # Most links: already absolute, so neither urljoin nor a scheme check changes them.
        return url
    try:
        if base_url:
            url = urljoin(base_url, url)
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            return None
    except ValueError:  # e.g. "http://[broken": an unbalanced IPv6 bracket
        return None
    return url


# Apple Podcasts renders only these in an item's description (our own show notes).
_APPLE_TAGS = {"p", "ol", "ul", "li", "a"}


@lru_cache(maxsize=1)
def _apple_cleaner() -> nh3.Cleaner:
    # Made once: nh3.clean builds its whole policy again on every call (a fifth of it).
    return nh3.Cleaner(
        tags=_APPLE_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
    )


def apple_description(html_text: str) -> str:
    """Show notes cut down to Apple's tag subset; text of other tags is kept, markup dropped.

    This is our own (trusted) HTML, so the policy only narrows markup; it lives here
    because this module is the one home of the HTML sanitiser library.
    """
    return str(_apple_cleaner().clean(html_text)).strip()
