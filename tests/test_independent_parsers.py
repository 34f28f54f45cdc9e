"""Two parsers we did not write read every tag our feed emits, with the values we meant.

podcast-partytime (the Podcast Index's parser, Node) and podcastparser (gPodder's)
read the example hub's built feed. The expected values come from the feed as
ElementTree reads it, anchored to the sources (the audio file's size, the
configured category, podcast:guid by its definition); a tag the feed emits that
no mapping below covers fails the coverage test, so new tags get checked too.
"""

from __future__ import annotations

import io
import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import podcastparser
import pytest

from mediahub.publish.check import ATOM, CONTENT, ITUNES, PODCAST, podcast_guid
from tests.conftest import REQUIRE_TOOLS, copy_example_hub, require_tool, run_cli

NS = {"itunes": ITUNES, "podcast": PODCAST, "content": CONTENT, "atom": ATOM}
OLD_PODCAST_NS = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
READER_JS = """
const { parseFeed } = require("podcast-partytime");
const xml = require("fs").readFileSync(process.argv[2], "utf8");
const feed = parseFeed(xml, { allowMissingGuid: false });
const plain = (key, value) =>
  value instanceof Date ? value.toISOString() : value instanceof Set ? [...value] : value;
process.stdout.write(JSON.stringify(feed, plain));
"""


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hub = copy_example_hub(tmp_path_factory.mktemp("parsers") / "hub")
    result = run_cli("build", cwd=hub)
    assert result.code == 0, result.err
    return hub


@pytest.fixture(scope="session")
def partytime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    npm = require_tool("npm")
    require_tool("node")
    folder = tmp_path_factory.mktemp("partytime")
    (folder / "package.json").write_text('{"private": true}', encoding="utf-8")
    proc = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", "podcast-partytime@5"],
        cwd=folder, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        message = f"npm could not install podcast-partytime: {proc.stderr.strip()[-300:]}"
        if REQUIRE_TOOLS:
            pytest.fail(message)
        pytest.skip(message)
    (folder / "read.js").write_text(READER_JS, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def partytime(built: Path, partytime_dir: Path) -> dict[str, Any]:
    proc = subprocess.run(
        ["node", "read.js", str(built / "public" / "feed.xml")],
        cwd=partytime_dir, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.fixture(scope="session")
def feed(built: Path) -> ET.Element:
    root = ET.parse(built / "public" / "feed.xml").getroot()
    channel = root.find("channel")
    assert channel is not None
    return channel


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path, NS)
    assert found is not None, path
    return (found.text or "").strip()


def _same_moment(iso: str, rfc822: str) -> bool:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) == parsedate_to_datetime(rfc822)


def _words(html: str) -> str:
    return " ".join(html.split())


def _bool(text: str) -> bool:
    return {"true": True, "false": False, "yes": True, "no": False}[text]


# tag path -> check(feed element, partytime object): one per tag partytime reads.
Check = Callable[[ET.Element, dict[str, Any]], None]
CHANNEL: dict[str, Check] = {
    "title": lambda c, p: _eq(p["title"], _text(c, "title")),
    "link": lambda c, p: _eq(p["link"], _text(c, "link")),
    "description": lambda c, p: _eq(_words(p["description"]), _words(_text(c, "description"))),
    "language": lambda c, p: _eq(p["language"], _text(c, "language")),
    "generator": lambda c, p: _eq(p["generator"], _text(c, "generator")),
    "lastBuildDate": lambda c, p: _true(
        _same_moment(p["lastBuildDate"], _text(c, "lastBuildDate"))
    ),
    "copyright": lambda c, p: _eq(p["copyright"], _text(c, "copyright")),
    "atom:link": lambda c, p: _eq(
        p["pubsub"]["self"],
        c.find("atom:link[@rel='self']", NS).get("href"),  # type: ignore[union-attr]
    ),
    "itunes:author": lambda c, p: _eq(p["author"], _text(c, "itunes:author")),
    "itunes:owner": lambda c, p: _eq(
        p["owner"],
        {
            "name": _text(c, "itunes:owner/itunes:name"),
            "email": _text(c, "itunes:owner/itunes:email"),
        },
    ),
    "itunes:image": lambda c, p: _eq(p["itunesImage"], c.find("itunes:image", NS).get("href")),  # type: ignore[union-attr]
    "image": lambda c, p: _eq(p["image"]["url"], _text(c, "image/url")),
    "itunes:category": lambda c, p: _eq(p["itunesCategory"], _categories(c)),
    "itunes:explicit": lambda c, p: _eq(p["explicit"], _bool(_text(c, "itunes:explicit"))),
    "itunes:type": lambda c, p: _eq(p["itunesType"], _text(c, "itunes:type")),
    "itunes:block": lambda c, p: _eq(p["itunesBlock"], _bool(_text(c, "itunes:block"))),
    "itunes:complete": lambda c, p: _eq(p["itunesComplete"], _bool(_text(c, "itunes:complete"))),
    "itunes:new-feed-url": lambda c, p: _eq(p["itunesNewFeedUrl"], _text(c, "itunes:new-feed-url")),
    "podcast:guid": lambda c, p: _eq(p["guid"], _text(c, "podcast:guid")),
    "podcast:locked": lambda c, p: (
        _eq(p["locked"], _bool(_text(c, "podcast:locked"))),
        _eq(p["podcastOwner"], c.find("podcast:locked", NS).get("owner")),  # type: ignore[union-attr]
    ),
    "podcast:medium": lambda c, p: _eq(p["medium"], _text(c, "podcast:medium")),
}
ITEM: dict[str, Check] = {
    "title": lambda i, p: _eq(p["title"], _text(i, "title")),
    "itunes:title": lambda i, p: _eq(p["title"], _text(i, "itunes:title")),
    "link": lambda i, p: _eq(p["link"], _text(i, "link")),
    "guid": lambda i, p: _eq(p["guid"], _text(i, "guid")),
    "pubDate": lambda i, p: _true(_same_moment(p["pubDate"], _text(i, "pubDate"))),
    "description": lambda i, p: _eq(_words(p["description"]), _words(_text(i, "description"))),
    "content:encoded": lambda i, p: _eq(p["content"].strip(), _text(i, "content:encoded")),
    "itunes:summary": lambda i, p: _eq(p["summary"], _text(i, "itunes:summary")),
    "itunes:author": lambda i, p: _eq(p["author"], _text(i, "itunes:author")),
    "enclosure": lambda i, p: _eq(
        p["enclosure"],
        {
            "url": i.find("enclosure").get("url"),  # type: ignore[union-attr]
            "length": int(i.find("enclosure").get("length", "")),  # type: ignore[union-attr]
            "type": i.find("enclosure").get("type"),  # type: ignore[union-attr]
        },
    ),
    "itunes:duration": lambda i, p: _eq(p["duration"], int(_text(i, "itunes:duration"))),
    "itunes:episodeType": lambda i, p: _eq(p["itunesEpisodeType"], _text(i, "itunes:episodeType")),
    "itunes:season": lambda i, p: _eq(p["itunesSeason"], int(_text(i, "itunes:season"))),
    "itunes:episode": lambda i, p: _eq(p["itunesEpisode"], int(_text(i, "itunes:episode"))),
    "itunes:explicit": lambda i, p: _eq(p["explicit"], _bool(_text(i, "itunes:explicit"))),
    "itunes:image": lambda i, p: _eq(p["itunesImage"], i.find("itunes:image", NS).get("href")),  # type: ignore[union-attr]
    "podcast:season": lambda i, p: _eq(
        p["podcastSeason"]["number"], int(_text(i, "podcast:season"))
    ),
    "podcast:episode": lambda i, p: _eq(
        p["podcastEpisode"]["number"], int(_text(i, "podcast:episode"))
    ),
    "podcast:chapters": lambda i, p: _eq(
        p["podcastChapters"], dict(i.find("podcast:chapters", NS).attrib)  # type: ignore[union-attr]
    ),
    "podcast:transcript": lambda i, p: _eq(
        p["podcastTranscripts"], [dict(t.attrib) for t in i.findall("podcast:transcript", NS)]
    ),
    "podcast:person": lambda i, p: _eq(
        [(x["name"], x["role"].lower()) for x in p["podcastPeople"]],
        [((x.text or "").strip(), x.get("role", "host")) for x in i.findall("podcast:person", NS)],
    ),
}  # fmt: skip


def _eq(got: object, expected: object) -> None:
    assert got == expected


def _true(value: bool) -> None:
    assert value


def _categories(channel: ET.Element) -> list[str]:
    names = []
    for top in channel.findall("itunes:category", NS):
        subs = top.findall("itunes:category", NS)
        names += [f"{top.get('text')} > {s.get('text')}" for s in subs] or [top.get("text") or ""]
    return names


def _tag(element: ET.Element) -> str:
    for prefix, uri in NS.items():
        if element.tag.startswith(f"{{{uri}}}"):
            return f"{prefix}:{element.tag[len(uri) + 2 :]}"
    return element.tag


def test_every_tag_we_emit_has_an_independent_reading(feed: ET.Element) -> None:
    emitted = {_tag(child) for child in feed if child.tag != "item"}
    items = feed.findall("item")
    assert items
    item_tags = {_tag(child) for item in items for child in item}
    assert emitted - set(CHANNEL) == set(), "add the new channel tags to CHANNEL"
    assert item_tags - set(ITEM) == set(), "add the new item tags to ITEM"


def test_partytime_reads_every_channel_tag(feed: ET.Element, partytime: dict[str, Any]) -> None:
    for child in feed:
        if child.tag != "item":
            CHANNEL[_tag(child)](feed, partytime)


def test_partytime_reads_every_item_tag(feed: ET.Element, partytime: dict[str, Any]) -> None:
    items = feed.findall("item")
    # partytime skips items without an enclosure; ours all have one.
    assert [i["guid"] for i in partytime["items"]] == [_text(i, "guid") for i in items]
    for item, read in zip(items, partytime["items"], strict=True):
        for child in item:
            ITEM[_tag(child)](item, read)


def test_the_values_are_the_ones_the_sources_say(built: Path, partytime: dict[str, Any]) -> None:
    """Anchors outside the feed: a feed that is wrong everywhere alike still fails here."""
    audio = next((built / "episodes").glob("*/*.mp3"))
    (item,) = partytime["items"]
    assert item["enclosure"]["length"] == audio.stat().st_size
    assert item["title"].startswith("Writing before coaching")
    assert partytime["itunesCategory"] == ["Business > Management"]
    assert partytime["guid"] == podcast_guid("http://127.0.0.1:8000/feed.xml")
    assert partytime["explicit"] is False


def test_podcastparser_reads_the_feed(built: Path, feed: ET.Element) -> None:
    xml = (built / "public" / "feed.xml").read_bytes()
    # podcastparser 0.6.11 knows podcast: tags only under the namespace's old address.
    xml = xml.replace(PODCAST.encode(), OLD_PODCAST_NS.encode())
    parsed = podcastparser.parse("http://127.0.0.1:8000/feed.xml", io.BytesIO(xml))
    assert parsed["title"] == _text(feed, "title")
    assert parsed["link"] == _text(feed, "link")
    assert parsed["language"] == _text(feed, "language")
    assert parsed["itunes_author"] == _text(feed, "itunes:author")
    assert parsed["itunes_owner"]["email"] == _text(feed, "itunes:owner/itunes:email")
    assert parsed["cover_url"] == feed.find("itunes:image", NS).get("href")  # type: ignore[union-attr]
    assert parsed["itunes_categories"] == [c.split(" > ") for c in _categories(feed)]
    assert parsed["explicit"] is _bool(_text(feed, "itunes:explicit"))
    assert parsed["type"] == _text(feed, "itunes:type")
    items = feed.findall("item")
    assert len(parsed["episodes"]) == len(items)
    for episode, item in zip(parsed["episodes"], items, strict=True):
        enclosure = item.find("enclosure")
        assert enclosure is not None
        assert episode["guid"] == _text(item, "guid")
        assert episode["title"] == _text(item, "title")
        assert episode["link"] == _text(item, "link")
        assert episode["published"] == int(
            parsedate_to_datetime(_text(item, "pubDate")).timestamp()
        )
        assert episode["total_time"] == int(_text(item, "itunes:duration"))
        assert episode["enclosures"] == [
            {
                "url": enclosure.get("url"),
                "file_size": int(enclosure.get("length", "")),
                "mime_type": enclosure.get("type"),
            }
        ]
        assert episode["number"] == int(_text(item, "itunes:episode"))
        assert episode["season"] == int(_text(item, "itunes:season"))
        assert episode["type"] == _text(item, "itunes:episodeType")
        assert episode["explicit"] is _bool(_text(item, "itunes:explicit"))
        assert _words(episode["description_html"]) == _words(_text(item, "content:encoded"))
        chapters = item.find("podcast:chapters", NS)
        if chapters is not None:
            assert episode["chapters_json_url"] == chapters.get("url")
        transcript = item.find("podcast:transcript", NS)
        if transcript is not None:
            assert episode["transcript_url"] == transcript.get("url")
        guests = [(p.text or "").strip() for p in item.findall("podcast:person", NS)]
        assert [p["name"] for p in episode.get("persons", [])] == guests
