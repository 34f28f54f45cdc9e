"""What the store derives from an item's text: the keys that match one story across
sources, and the words the search index holds.

Pure functions: the parse workers compute the story keys (``item_rows``), and
the store registers ``search_text`` and ``story_key`` as SQL functions
(``items.FUNCTIONS``), so what triggers recompute is what was indexed.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "NON_WORD",
    "canonical_link",
    "plain",
    "search_text",
    "snippet_text",
    "story_key",
    "title_key",
]

_TRACKING = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|igshid|yclid"
    r"|ref|ref_src|cmpid|icid|ncid|sr_share|at_medium|at_campaign)$",
    re.IGNORECASE,
)
# Markup, in one pass: script and style elements and comments with what they hold (not
# prose; unclosed ones to the end), then any other tag.
_MARKUP = re.compile(
    r"<(script|style)\b.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)|<[^>]*>", re.IGNORECASE | re.DOTALL
)
NON_WORD = re.compile(r"[^\w]+")
# title_key's ASCII case: each ASCII byte that NON_WORD matches (all but letters, digits
# and "_") made a space, for bytes.translate.
_ASCII_SPACES = bytes(
    c if chr(c).isalnum() or c == ord("_") else ord(" ") for c in range(128)
) + bytes(range(128, 256))
# An http(s) link with a plain host and path only (canonical_link's common case).
_PLAIN_LINK = re.compile(r"(?i:https?)://([A-Za-z0-9.-]+)(/[^?#\x00-\x20\x7f-\x9f]*)?")


def canonical_link(url: str | None) -> str | None:
    """A link without tracking parameters, fragment, ``www.`` or trailing slash."""
    if not url:
        return None
    plain = _PLAIN_LINK.fullmatch(url)
    if plain is not None:
        # Most links (no port, query, fragment or odd characters): what the general
        # path below makes of them, without urlsplit's objects (a third of the cost).
        host, path = plain.groups()
        return f"https://{host.lower().removeprefix('www.')}{(path or '').rstrip('/') or '/'}"
    return _canonical_link(url)


def _canonical_link(url: str) -> str | None:
    """``canonical_link`` of any link, through urlsplit."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = (
        urlencode(
            sorted(
                (k, v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if not _TRACKING.match(k)
            )
        )
        if parts.query
        else ""
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, query, ""))


def title_key(title: str) -> str | None:
    """A title folded for comparison: case, accents, punctuation and spacing ignored."""
    folded = title.casefold()
    if folded.isascii():
        # ASCII is its own NFKD form, with no combining marks; what NON_WORD splits on,
        # a byte table turns to spaces three times faster than the regex.
        ascii_words = folded.encode("ascii").translate(_ASCII_SPACES).split()
        return b" ".join(ascii_words).decode("ascii") if len(ascii_words) >= 4 else None
    folded = unicodedata.normalize("NFKD", folded)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = NON_WORD.sub(" ", folded).split()
    # Very short titles ("Update", "Episode 3") say too little to merge stories on.
    if len(words) < 4:
        return None
    return " ".join(words)


def story_key(text: str | None) -> int | None:
    """A link or title key (``canonical_link``, ``title_key``) as the store indexes it:
    a signed 64-bit hash of its text (also SQL: mediahub_key).

    Stories are matched on equal keys only, and 8 bytes index far more cheaply than
    the text; two different texts sharing a key (odds about 1 in 10^19 a pair) would
    merge two stories on a topic page, nothing worse.
    """
    if text is None:
        return None
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _words(fragment: str | None) -> str:
    """Feed HTML -> its text: scripts, styles and comments dropped with what they hold,
    other tags dropped, references decoded, spacing as it was.

    The store keeps feed HTML as fetched. Changing what this returns changes
    ``search_text``: see there.
    """
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = _MARKUP.sub(" ", fragment)
    if "&" in fragment:
        fragment = html.unescape(fragment)
    return fragment


def plain(fragment: str | None) -> str:
    """Sanitised HTML -> one line of plain text (snippets)."""
    # str.split() splits on exactly what the regex \s matches, several times faster.
    return " ".join(_words(fragment).split())


def search_text(summary_html: str | None, content_html: str | None, author: str | None) -> str:
    """The words the search index holds for an item's body (also SQL: mediahub_search_text).

    The index is contentless, so deleting a row means repeating exactly these words:
    the delete trigger recomputes them from the stored columns with this function.
    Changing what it returns therefore needs a migration that rebuilds the index.
    Spacing is left as it is (the tokenizer ignores it; snippets use ``plain``).
    """
    return " ".join(filter(None, (_words(summary_html), _words(content_html), author or "")))


def snippet_text(summary_html: str | None, content_html: str | None, author: str | None) -> str:
    """What a search snippet is cut from: the body's words on one line."""
    return " ".join(filter(None, (plain(summary_html), plain(content_html), author or "")))
