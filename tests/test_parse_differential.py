"""The fast path must agree with feedparser wherever it takes a document.

For every shared-corpus document and a set of generated feeds: if ``fast_parse``
accepts the body, ``parse_feed`` (fast path) and ``parse_feed(fast=False)``
(feedparser) must give equal ParsedFeeds — ids, titles, links, dates, authors,
enclosures and content after sanitising, and the feed's own fields. Documents
the fast parser is known to read differently must be refused (and so still be
feedparser's), which the hand-written cases below pin down.
"""

from __future__ import annotations

import gzip
from dataclasses import fields, replace
from pathlib import Path

import pytest

from bench.parse import generate_feed
from mediahub.aggregate.fastparse import fast_parse, refusal
from mediahub.aggregate.parse import ParseError, parse_feed
from mediahub.model import ParsedFeed
from tests.conftest import corpus_documents

URL = "https://feeds.example.org/feed.xml"


def differences(reference: ParsedFeed, candidate: ParsedFeed) -> list[str]:
    """Every field where the two parses disagree, item by item, readable."""
    found = [
        f"feed.{f.name}: {getattr(reference, f.name)!r} != {getattr(candidate, f.name)!r}"
        for f in fields(ParsedFeed)
        if f.name != "items" and getattr(reference, f.name) != getattr(candidate, f.name)
    ]
    if len(reference.items) != len(candidate.items):
        found.append(f"{len(reference.items)} items != {len(candidate.items)}")
    for n, (a, b) in enumerate(zip(reference.items, candidate.items, strict=False)):
        for f in fields(a):
            if getattr(a, f.name) != getattr(b, f.name):
                found.append(
                    f"item {n}.{f.name}: {getattr(a, f.name)!r:.120} != {getattr(b, f.name)!r:.120}"
                )
    return found


def _unzipped(body: bytes) -> bytes:
    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


def _check(body: bytes, url: str) -> bool:
    """True when the fast path took the body (and then agreed), False when refused."""
    body = _unzipped(body)
    if fast_parse(body) is None:
        return False
    try:
        reference = parse_feed(body, url, fast=False)
    except ParseError as exc:  # pragma: no cover - a failure message, not a branch
        pytest.fail(f"{url}: the fast path accepted what feedparser refuses: {exc.line()}")
    problems = differences(reference, parse_feed(body, url))
    assert not problems, f"{url}:\n" + "\n".join(problems[:10])
    return True


@pytest.fixture(scope="module")
def corpus() -> list[Path]:
    return corpus_documents()


def test_fast_path_agrees_with_feedparser_on_the_corpus(corpus: list[Path]) -> None:
    taken = [p.name for p in corpus if _check(p.read_bytes(), f"https://f.example.org/{p.name}")]
    # Not vacuous: the real-world podcast and news feeds that are plain UTF-8 do go fast.
    assert len(taken) >= 12, taken
    assert "partytime__real-world__dk-podcast.xml" in taken
    assert "node-feedparser__tpm.atom" in taken


@pytest.mark.parametrize("kind", ["rss", "atom", "podcast", "podcast-summary"])
def test_fast_path_agrees_with_feedparser_on_generated_feeds(kind: str) -> None:
    taken = sum(
        _check(generate_feed(seed, 10 + seed * 7 % 60, kind), f"https://g.example.org/{seed}")
        for seed in range(12)
    )
    if kind == "podcast-summary":
        assert taken == 0  # itunes:summary before <description>: feedparser's call
    else:
        assert taken >= 6, kind


def test_a_differing_parse_is_reported() -> None:
    body = generate_feed(3, 12, "podcast")
    feed = parse_feed(body, URL)
    item = feed.items[4]
    items = (*feed.items[:4], replace(item, title=item.title + "!"), *feed.items[5:])
    changed = replace(feed, items=items)
    assert differences(feed, changed) == [f"item 4.title: {item.title!r} != {item.title + '!'!r}"]
    assert differences(feed, replace(feed, ttl_seconds=1))[0].startswith("feed.ttl_seconds")


RSS_HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
    b'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    b'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>Notes</title>'
)
ITEM = b"<item><title>One</title><guid>g1</guid><description>Body</description></item>"

# Each of these is read differently by feedparser-rs (or is feedparser's to judge).
REFUSED = {
    "unclosed": RSS_HEAD + ITEM + b"</channel>",
    "latin-1": RSS_HEAD.replace(b"utf-8", b"iso-8859-1") + ITEM + b"</channel></rss>",
    "summary first": RSS_HEAD + b"<item><title>A</title><itunes:summary>S</itunes:summary>"
    b"<description>D</description></item></channel></rss>",
    "live item title": RSS_HEAD
    + b"<podcast:liveItem><title>Live</title></podcast:liveItem>"
    + ITEM
    + b"</channel></rss>",
    "html title": RSS_HEAD.replace(b"<title>Notes", b"<title>&lt;b&gt;Notes&lt;/b&gt;")
    + ITEM
    + b"</channel></rss>",
    "xml:base": RSS_HEAD + ITEM.replace(b"<item>", b'<item xml:base="/x/">') + b"</channel></rss>",
    "cp1252 reference": RSS_HEAD + ITEM.replace(b"Body", b"don&#146;t") + b"</channel></rss>",
    "cp1252 hex": RSS_HEAD + ITEM.replace(b"Body", b"&#x93;hi&#x94;") + b"</channel></rss>",
    "raw C1 character": RSS_HEAD + ITEM.replace(b"Body", b"don\xc2\x92t") + b"</channel></rss>",
    "nested item": RSS_HEAD + b"<item><title>A</title>" + ITEM + b"</item></channel></rss>",
    "atom xhtml": b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry>'
    b'<id>e</id><title>E</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
    b"<p>x</p></div></content></entry></feed>",
    "doctype": b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]>'
    + RSS_HEAD[RSS_HEAD.index(b"<rss") :]
    + ITEM
    + b"</channel></rss>",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_documents_read_differently_go_to_feedparser(name: str) -> None:
    body = REFUSED[name]
    assert refusal(body) is not None
    try:
        expected = parse_feed(body, URL, fast=False)
    except ParseError:
        with pytest.raises(ParseError):
            parse_feed(body, URL)
        return
    assert parse_feed(body, URL) == expected


def test_plain_feed_goes_fast_and_a_non_utf8_charset_does_not() -> None:
    body = RSS_HEAD + ITEM + b"</channel></rss>"
    assert refusal(body) is None
    assert refusal(body, "application/rss+xml; charset=utf-8") is None
    assert refusal(body, "text/xml; charset=windows-1252") is not None
    assert [item.id for item in parse_feed(body, URL).items] == ["g1"]
