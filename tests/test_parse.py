"""parse_feed on feeds written for these tests: RSS, Atom, JSON Feed, and broken ones."""

from __future__ import annotations

import gzip
import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediahub.aggregate.parse import ParseError, duration_seconds, parse_feed
from mediahub.aggregate.sanitize import sanitize_html
from mediahub.model import ParsedFeed

URL = "https://feeds.example.org/leadership/rss.xml"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0"
     xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel>
  <title>Field Notes on Leading &amp;amp; Growing</title>
  <link>https://example.org/notes/</link>
  <description>Short notes for new managers.</description>
  <ttl>90</ttl>
  <sy:updatePeriod>daily</sy:updatePeriod>
  <sy:updateFrequency>2</sy:updateFrequency>
  <podcast:guid>5a1f3c3e-0000-4000-8000-00000000abcd</podcast:guid>
  <atom:link rel="hub" href="https://hub.example.net/"/>
  <atom:link rel="self" href="https://feeds.example.org/leadership/rss.xml"/>
  <image><url>https://example.org/cover.png</url><title>x</title><link>https://example.org/</link></image>
  <item>
    <title>One-on-ones that &lt;b&gt;matter&lt;/b&gt; &amp; last</title>
    <link>/notes/one-on-ones</link>
    <guid isPermaLink="false">note-17</guid>
    <pubDate>Mon, 02 Nov 2026 07:30:00 +0100</pubDate>
    <author>sam@example.org (Sam Okafor)</author>
    <description><![CDATA[<p>Ask <em>one</em> question.</p><script>steal()</script>]]></description>
    <enclosure url="https://cdn.example.org/ep17.mp3" length="1234567" type="audio/mpeg"/>
    <itunes:duration>1:02:03</itunes:duration>
    <itunes:image href="https://example.org/ep17.jpg"/>
  </item>
  <item>
    <title>Undated note</title>
    <link>https://example.org/notes/undated</link>
  </item>
  <item>
    <description>Only a body, no title, link or date.</description>
  </item>
</channel>
</rss>
"""


def test_rss_items_are_normalised() -> None:
    feed = parse_feed(RSS, URL, "application/rss+xml")
    assert feed.title == "Field Notes on Leading & Growing"
    assert feed.link == "https://example.org/notes/"
    assert feed.podcast_guid == "5a1f3c3e-0000-4000-8000-00000000abcd"
    assert feed.hub == "https://hub.example.net/"
    assert feed.self_url == URL
    # the larger of <ttl> (90 min) and sy:updatePeriod daily / 2 (12 h)
    assert feed.ttl_seconds == 12 * 3600
    assert feed.image == "https://example.org/cover.png"
    assert feed.bozo is None
    first, undated, bare = feed.items
    assert first.id == "note-17"
    assert first.title == "One-on-ones that matter & last"
    assert first.link == "https://feeds.example.org/notes/one-on-ones"
    assert first.published == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
    assert first.updated == first.published
    # Feed HTML is kept as fetched and cleaned when a page shows it.
    assert first.summary_html == "<p>Ask <em>one</em> question.</p><script>steal()</script>"
    assert sanitize_html(first.summary_html, URL) == "<p>Ask <em>one</em> question.</p>"
    assert first.image == "https://example.org/ep17.jpg"
    (enclosure,) = first.enclosures
    assert enclosure.url == "https://cdn.example.org/ep17.mp3"
    assert (enclosure.type, enclosure.length, enclosure.duration) == ("audio/mpeg", 1234567, 3723)
    # no guid: the link is the id; no date: None, never "now"
    assert undated.id == "https://example.org/notes/undated"
    assert undated.published is None and undated.updated is None
    # no guid, no link: a stable hash of its content
    assert bare.id.startswith("sha1:")
    assert parse_feed(RSS, URL).items[2].id == bare.id


def test_atom_with_xhtml_content_and_relative_links() -> None:
    body = b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.com/">
  <title type="html">A &amp;lt;coach&amp;gt;'s log</title>
  <link rel="alternate" href="https://blog.example.com/"/>
  <id>urn:uuid:1</id><updated>2026-10-01T10:00:00Z</updated>
  <entry>
    <id>tag:blog.example.com,2026:1</id>
    <title type="text">Feedback &lt;fast&gt;</title>
    <link rel="alternate" href="posts/feedback"/>
    <updated>2026-10-01T10:00:00Z</updated>
    <published>2026-09-30T08:00:00-04:00</published>
    <author><name>Ana Lind</name></author>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p onclick="x()">See <a href="/about">about</a> <img src="pic.png"/></p></div></content>
  </entry>
</feed>"""
    feed = parse_feed(body, "https://blog.example.com/atom.xml")
    assert feed.title == "A <coach>'s log"
    (item,) = feed.items
    assert item.title == "Feedback <fast>"
    assert item.link == "https://blog.example.com/posts/feedback"
    assert item.published == datetime(2026, 9, 30, 12, 0, tzinfo=UTC)
    assert item.updated == datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    assert item.author == "Ana Lind"
    assert item.content_html is not None
    assert 'href="https://blog.example.com/about"' in item.content_html
    assert 'src="https://blog.example.com/pic.png"' in item.content_html
    assert "onclick" not in item.content_html


def test_malformed_xml_keeps_what_feedparser_recovers() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title>
<item><title>Good one</title><link>https://example.org/1</link></item>
<item><title>Bad & worse</title><link>https://example.org/2?a=1&b=2</link></item>
</channel>"""
    feed = parse_feed(body, URL)
    assert feed.bozo  # says what was wrong
    titles = [item.title for item in feed.items]
    assert titles[0] == "Good one"
    assert len(titles) == 2
    assert feed.items[1].link == "https://example.org/2?a=1&b=2"


def test_wrong_encoding_is_decoded_as_well_as_it_can_be() -> None:
    text = (
        '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel>'
        "<title>Новости</title><item><title>Лидерство</title><guid>a</guid></item>"
        "</channel></rss>"
    )
    body = text.encode("windows-1251")
    # the server claims UTF-8, the bytes are windows-1251 as the document says
    feed = parse_feed(body, URL, "application/xml; charset=utf-8")
    assert feed.items[0].id == "a"
    assert feed.items[0].title  # decoded to something, no crash
    # with no header the declaration wins and the text is exact
    assert parse_feed(body, URL).items[0].title == "Лидерство"
    # bytes that are not valid in the declared encoding still give the items
    broken = text.replace("windows-1251", "utf-8").encode("windows-1251")
    assert [i.id for i in parse_feed(broken, URL).items] == ["a"]


@pytest.mark.parametrize("name", [b"\x80utf-8", b"\x00utf-8", b"utf-8\x00", b"utf\xff-8"])
@pytest.mark.parametrize("fast", [True, False])
def test_an_unreadable_encoding_name_in_the_declaration_is_ignored(name: bytes, fast: bool) -> None:
    # feedparser itself raised on these (UnicodeDecodeError, "embedded null character"):
    # found by the fuzz test. The name is malformed, the feed is not.
    body = (
        b'<?xml version="1.0" encoding="' + name + b'"?><rss version="2.0"><channel>'
        b"<title>T</title><item><title>Listening first</title><guid>a</guid></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, URL, fast=fast)
    assert [(i.id, i.title) for i in feed.items] == [("a", "Listening first")]
    assert feed.bozo is not None and "declaration" in feed.bozo


def test_an_unreadable_encoding_name_without_a_way_round_is_a_one_line_error() -> None:
    # UTF-16: the declaration cannot be cut out as bytes, so the feed is refused, clearly.
    text = '<?xml version="1.0" encoding="utf\x00-16"?><rss version="2.0"><channel></channel></rss>'
    with pytest.raises(ParseError) as caught:
        parse_feed(b"\xff\xfe" + text.encode("utf-16-le"), URL)
    assert URL in caught.value.line() and "\n" not in caught.value.line()


@pytest.mark.parametrize("ref", ["&#xD800;", "&#57343;", "&#x110000;", "&#99999999999;"])
@pytest.mark.parametrize("fast", [True, False])
def test_a_reference_to_no_character_becomes_a_replacement_character(ref: str, fast: bool) -> None:
    # feedparser raised on these (UnicodeEncodeError, ValueError, OverflowError).
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>Before{ref}after</title><guid>a{ref}</guid></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, URL, fast=fast)
    assert [(i.id, i.title) for i in feed.items] == [("a\ufffd", "Before\ufffdafter")]
    assert feed.bozo is not None and "character references" in feed.bozo


def test_lone_surrogates_in_a_json_feed_become_replacement_characters() -> None:
    # JSON may escape a lone surrogate; no UTF-8 (the store's, a page's) can hold one.
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "T\\ud800",'
        b' "items": [{"id": "a\\udfff", "title": "Half \\ud83d, whole \\ud83d\\ude00",'
        b' "content_html": "<p>\\udc00</p>"}]}'
    )
    feed = parse_feed(body, URL)
    (item,) = feed.items
    assert (feed.title, item.id) == ("T\ufffd", "a\ufffd")
    assert item.title == "Half \ufffd, whole \U0001f600"
    assert item.content_html is not None and "\ufffd" in item.content_html
    for text in (feed.title, item.id, item.title, item.content_html):
        text.encode("utf-8")  # what the store and the pages do with it


def test_duplicate_guids_are_disambiguated_and_exact_repeats_dropped() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
<item><guid>same</guid><title>First</title><link>https://e.org/1</link></item>
<item><guid>same</guid><title>Second</title><link>https://e.org/2</link></item>
<item><guid>same</guid><title>First</title><link>https://e.org/1</link></item>
</channel></rss>"""
    items = parse_feed(body, URL).items
    assert [i.title for i in items] == ["First", "Second"]
    assert items[0].id == "same"
    assert items[1].id.startswith("same#") and items[1].id != items[0].id
    # stable across parses, so the store sees the same ids next time
    assert parse_feed(body, URL).items[1].id == items[1].id


def test_json_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Coach's notes",
        "home_page_url": "https://notes.example.net/",
        "feed_url": "https://notes.example.net/feed.json",
        "hubs": [{"type": "WebSub", "url": "https://hub.example.net/"}],
        "items": [
            {
                "id": 42,
                "url": "https://notes.example.net/42",
                "title": "Delegation <i>is</i> trust",
                "content_html": '<p>Hi<img src="x" onerror="alert(1)"></p>',
                "date_published": "2026-10-05T09:00:00+02:00",
                "authors": [{"name": "Kim"}],
                "attachments": [
                    {
                        "url": "https://notes.example.net/42.m4a",
                        "mime_type": "audio/x-m4a",
                        "size_in_bytes": 9000,
                        "duration_in_seconds": 61.5,
                    }
                ],
            },
            {"id": "t", "content_text": "a < b\n\nsecond"},
            "not an item",
        ],
    }
    feed = parse_feed(json.dumps(doc).encode(), "https://notes.example.net/feed.json")
    assert feed.title == "Coach's notes"
    assert feed.hub == "https://hub.example.net/"
    first, second = feed.items
    assert first.id == "42"
    assert first.title == "Delegation is trust"
    assert first.published == datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
    assert first.author == "Kim"
    assert first.content_html == '<p>Hi<img src="x" onerror="alert(1)"></p>'
    assert (
        sanitize_html(first.content_html, "https://notes.example.net/feed.json")
        == '<p>Hi<img src="https://notes.example.net/x"></p>'
    )
    assert first.enclosures[0].duration == 61.5
    assert first.enclosures[0].length == 9000
    assert second.content_html == "<p>a &lt; b</p><p>second</p>"
    assert second.published is None


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>no feed</p></body></html>",
        b"",
        b"<!-- nothing -->",
        b'{"hello": "world"}',
        b"{not json",
        b"/etc/hostname",
    ],
)
def test_not_a_feed_is_a_parse_error_naming_the_url(body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, URL)
    assert caught.value.where == URL
    assert "\n" not in caught.value.line()


def test_gzip_body_without_content_encoding_is_opened() -> None:
    feed = parse_feed(gzip.compress(RSS), URL)
    assert len(feed.items) == 3


def test_runs_in_a_process_pool_and_results_pickle() -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        feeds = list(pool.map(parse_feed, [RSS, RSS], [URL, URL]))
    assert all(isinstance(f, ParsedFeed) for f in feeds)
    assert feeds[0] == parse_feed(RSS, URL)
    assert pickle.loads(pickle.dumps(feeds[0])) == feeds[0]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3723", 3723), ("1:02:03", 3723), ("02:03", 123), ("", None), ("soon", None)],
)
def test_duration_seconds(text: str, seconds: float | None) -> None:
    assert duration_seconds(text) == seconds


_OFFSETS = ["+0000", "-0500", "+0530", "-0930", "+1400", "GMT", "UT", "UTC", "Z", "gmt"]


@given(
    moment=st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)),
    offset=st.sampled_from(_OFFSETS),
    day_name=st.sampled_from(["", "Mon, ", "tue, ", "Sun ", "WED,  "]),
    upper=st.booleans(),
    pad=st.booleans(),
)
def test_the_plain_rfc822_reading_is_feedparsers(
    moment: datetime, offset: str, day_name: str, upper: bool, pad: bool
) -> None:
    """The fast path's reading of "Mon, 02 Nov 2026 07:30:00 +0000" dates is exactly
    feedparser's, including at the ends of the calendar (offsets past year 9999)."""
    from feedparser.datetimes import _parse_date

    from mediahub.aggregate.parse import _plain_rfc822

    day = f"{moment.day:02d}" if pad else str(moment.day)
    raw = f"{day_name}{day} {moment:%b} {moment.year:04d} {moment:%H:%M:%S} {offset}"
    raw = raw.upper() if upper else raw
    fast = _plain_rfc822(raw)
    assert fast is not None or moment.year in (1000, 9999)
    assert (fast or _parse_date(raw)) == _parse_date(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "Mon, 31 Feb 2026 07:30:00 +0000",  # no such day: feedparser's other handlers try
        "Mon, 02 November 2026 07:30:00 +0000",
        "Mon, 02 Nov 26 07:30:00 +0000",
        "Mon, 02 Nov 2026 07:30 +0000",
        "Mon, 02 Nov 2026 07:30:00 EST",
        "Mon, 02 Nov 2026 07:30:00 +0000 (UTC)",
        "2026-11-02T07:30:00Z",
        "Mon, 02 Nov 2026 25:30:00 +0000",
    ],
)
def test_dates_in_other_forms_are_left_to_feedparser(raw: str) -> None:
    from feedparser.datetimes import _parse_date

    from mediahub.aggregate.parse import _plain_rfc822

    assert _plain_rfc822(raw) is None
    entry = parse_feed(
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><guid>g</guid><title>One</title><pubDate>"
        + raw.encode()
        + b"</pubDate></item></channel></rss>",
        "https://x.example/feed",
    ).items[0]
    expected = _parse_date(raw)
    if expected is None:
        assert entry.published is None
    else:
        assert entry.published is not None
        assert entry.published.utctimetuple()[:6] == tuple(expected)[:6]
