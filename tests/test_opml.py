"""OPML 2.0 export with topics as groups, and import of what we and others write."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from mediahub.aggregate.opml import OpmlError, from_opml, to_opml
from mediahub.model import Source, SourceState

SOURCES = [
    SourceState(
        Source("https://lead.example/feed", "leadership", "Lead Weekly"),
        site_link="https://lead.example/",
    ),
    SourceState(Source("https://coach.example/rss", "coaching"), feed_title="Coach Notes"),
    SourceState(Source("https://pod.example/podcast.xml", "leadership")),
]


def test_round_trip_keeps_urls_topics_and_titles() -> None:
    data = to_opml("Followed by The Quiet Leader", SOURCES)
    root = ET.fromstring(data)
    assert root.get("version") == "2.0"
    groups = root.findall("body/outline")
    assert [g.get("text") for g in groups] == ["coaching", "leadership"]
    assert [o.get("xmlUrl") for o in groups[1]] == [
        "https://lead.example/feed",
        "https://pod.example/podcast.xml",
    ]
    assert groups[1][0].get("htmlUrl") == "https://lead.example/"
    imported = from_opml(data, "subs.opml")
    assert imported.skipped == ()
    got = {s.url: (s.topic, s.title) for s in imported.sources}
    assert got == {
        "https://lead.example/feed": ("leadership", "Lead Weekly"),
        "https://coach.example/rss": ("coaching", "Coach Notes"),
        "https://pod.example/podcast.xml": ("leadership", None),
    }


def test_flat_and_nested_lists_from_other_readers() -> None:
    data = b"""<?xml version="1.0"?>
<opml version="1.0"><head><title>x</title></head><body>
  <outline text="Flat" type="rss" xmlUrl="https://flat.example/f"/>
  <outline title="Work"><outline text="Team">
     <outline text="Deep" xmlUrl="https://deep.example/f"/></outline></outline>
  <outline text="dup" xmlUrl="https://flat.example/f"/>
  <outline text="local" xmlUrl="file:///etc/passwd"/>
</body></opml>"""
    imported = from_opml(data, "x.opml", default_topic="misc")
    assert [(s.url, s.topic) for s in imported.sources] == [
        ("https://flat.example/f", "misc"),
        ("https://deep.example/f", "Team"),
    ]
    assert len(imported.skipped) == 2
    assert "listed twice" in imported.skipped[0]
    assert "only http(s)" in imported.skipped[1]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"<html><body/></html>", "not OPML"),
        (b"<opml><body>", "not well-formed"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>', "DTD"),
    ],
)
def test_bad_files_are_one_line_errors(data: bytes, problem: str) -> None:
    with pytest.raises(OpmlError) as caught:
        from_opml(data, "subs.opml")
    assert caught.value.line().startswith("subs.opml: ")
    assert problem in caught.value.line()
