"""``mediahub check``: every rule has a feed that passes it and feeds that break it.

The feeds here are written by hand, and the files they point at (audio bytes,
artwork made with Pillow, chapters, transcripts) are real files in tmp_path,
resolved the way ``mediahub check`` resolves a build.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image

from mediahub.publish.check import (
    ERROR,
    PASS,
    RULES,
    SKIP,
    WARNING,
    check_feed,
    feed_errors,
    podcast_guid,
)
from mediahub.publish.check_files import LocalFiles
from mediahub.publish.check_remote import check_url
from tests.conftest import Served, free_port, run_cli

BASE = "https://quiet.example/show"
FEED_URL = f"{BASE}/feed.xml"


def good_feed() -> str:
    guid = podcast_guid(FEED_URL)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel>
  <title>Field Notes</title>
  <link>{BASE}/</link>
  <description><![CDATA[<p>Short talks on small things.</p>]]></description>
  <language>en</language>
  <lastBuildDate>Mon, 09 Nov 2026 06:00:00 GMT</lastBuildDate>
  <atom:link href="{FEED_URL}" rel="self" type="application/rss+xml"/>
  <itunes:author>Ada Example</itunes:author>
  <itunes:owner><itunes:name>Ada</itunes:name><itunes:email>ada@example.org</itunes:email></itunes:owner>
  <itunes:image href="{BASE}/cover.jpg"/>
  <itunes:category text="Society &amp; Culture">
    <itunes:category text="Philosophy"/>
  </itunes:category>
  <itunes:explicit>false</itunes:explicit>
  <itunes:type>episodic</itunes:type>
  <podcast:guid>{guid}</podcast:guid>
  <item>
    <title>Second</title>
    <guid isPermaLink="false">ep-2</guid>
    <pubDate>Mon, 09 Nov 2026 06:00:00 +0100</pubDate>
    <description><![CDATA[<p>Two.</p>]]></description>
    <enclosure url="{BASE}/ep2.mp3" length="2000" type="audio/mpeg"/>
    <itunes:episode>2</itunes:episode>
    <itunes:episodeType>full</itunes:episodeType>
    <itunes:explicit>false</itunes:explicit>
    <podcast:chapters url="{BASE}/ep2/chapters.json" type="application/json+chapters"/>
    <podcast:transcript url="{BASE}/ep2/transcript.vtt" type="text/vtt"/>
    <podcast:transcript url="{BASE}/ep2/transcript.srt" type="application/x-subrip"/>
  </item>
  <item>
    <title>First</title>
    <guid isPermaLink="false">ep-1</guid>
    <pubDate>Mon, 02 Nov 2026 06:00:00 GMT</pubDate>
    <description><![CDATA[<p>One.</p>]]></description>
    <enclosure url="{BASE}/ep1.mp3" length="1000" type="audio/mpeg"/>
    <itunes:episode>1</itunes:episode>
    <itunes:image href="{BASE}/ep1/cover.png"/>
  </item>
</channel>
</rss>
"""


CHAPTERS = {
    "version": "1.2.0",
    "chapters": [
        {"startTime": 0, "title": "Hello"},
        {"startTime": 12.5, "title": "The point", "url": "https://example.org/"},
    ],
}
VTT = "WEBVTT\n\n00:00.000 --> 00:04.000\n<v Ada>Hello.\n\n00:04.000 --> 00:09.500\nGoodbye.\n"
SRT = "1\n00:00:00,000 --> 00:00:04,000\nHello.\n\n2\n00:00:04,000 --> 00:00:09,500\nGoodbye.\n"


def image(
    path: Path, size: tuple[int, int] = (1400, 1400), mode: str = "RGB", fmt: str = "JPEG"
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, "white" if mode != "P" else 0).save(path, fmt)


@pytest.fixture
def public(tmp_path: Path) -> Path:
    """The files the good feed points at, as a build would leave them."""
    root = tmp_path / "public"
    (root / "ep2").mkdir(parents=True)
    (root / "ep1.mp3").write_bytes(b"\xff\xfb" * 500)
    (root / "ep2.mp3").write_bytes(b"\xff\xfb" * 1000)
    image(root / "cover.jpg")
    image(root / "ep1" / "cover.png", fmt="PNG")
    (root / "ep2" / "chapters.json").write_text(json.dumps(CHAPTERS), encoding="utf-8")
    (root / "ep2" / "transcript.vtt").write_text(VTT, encoding="utf-8")
    (root / "ep2" / "transcript.srt").write_text(SRT, encoding="utf-8")
    return root


def run(xml: str, public: Path) -> dict[str, tuple[str, str]]:
    results = check_feed(xml.encode("utf-8"), feed_url=FEED_URL, resolve=LocalFiles(BASE, public))
    assert [r.rule for r in results] == [r.name for r in RULES]
    return {r.rule: (r.status, r.message) for r in results}


def test_the_good_feed_passes_every_local_rule(public: Path) -> None:
    rows = run(good_feed(), public)
    assert rows.pop("media-http")[0] == SKIP  # needs --url: see the served tests below
    assert {rule: status for rule, (status, _) in rows.items()} == dict.fromkeys(rows, PASS)


@dataclass(frozen=True)
class Case:
    rule: str
    status: str
    old: str = ""
    new: str = ""
    # Changes the files instead of (or as well as) the feed text.
    files: Callable[[Path], None] | None = None
    more: tuple[tuple[str, str], ...] = ()
    says: str = ""

    def __str__(self) -> str:
        return f"{self.rule}:{self.says or self.new[:30]}"


def _write(rel: str, data: str | bytes) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        target = root / rel
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")

    return change


def _image(rel: str, size: tuple[int, int], mode: str = "RGB", fmt: str = "JPEG"):  # type: ignore[no-untyped-def]
    return lambda root: image(root / rel, size, mode, fmt)


ITEM2_GUID = '<guid isPermaLink="false">ep-2</guid>'
CASES = [
    Case("well-formed", ERROR, "<title>Field Notes</title>", "<title>Field & Notes</title>",
         says="not well-formed"),
    Case("well-formed", ERROR, 'encoding="UTF-8"', 'encoding="ISO-8859-1"', says="not UTF-8"),
    Case("well-formed", ERROR, "<rss version", '<!DOCTYPE rss [<!ENTITY a "b">]>\n<rss version',
         says="entities"),
    Case("well-formed", ERROR, '<rss version="2.0"', '<rss version="0.91"', says="<rss"),
    Case("namespaces", ERROR, "http://www.itunes.com/dtds/podcast-1.0.dtd",
         "http://www.itunes.com/DTDs/Podcast-1.0.dtd", says="should be"),
    Case("namespaces", ERROR, "https://podcastindex.org/namespace/1.0",
         "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
         says="should be"),
    Case("channel-tags", ERROR, "<language>en</language>", "", says="no language"),
    Case("channel-tags", ERROR, f'<itunes:image href="{BASE}/cover.jpg"/>', "",
         says="no itunes:image"),
    Case("channel-tags", WARNING, "<itunes:author>Ada Example</itunes:author>", "",
         says="no itunes:author"),
    Case("item-tags", ERROR, ITEM2_GUID, "", says="has no guid"),
    Case("item-tags", ERROR, ' type="audio/mpeg"/>', "/>", says="no type"),
    Case("item-tags", WARNING, 'length="1000" type="audio/mpeg"', 'length="1000" type="audio/ogg"',
         says="does not play"),
    Case("description-length", ERROR, "<p>Two.</p>", "é" * 2001, says="4002 bytes"),
    Case("category", ERROR, 'text="Society &amp; Culture"', 'text="Society and culture"',
         says="Society & Culture"),
    Case("category", ERROR, 'text="Philosophy"', 'text="Management"', says="not a subcategory"),
    Case("explicit", WARNING, "<itunes:explicit>false</itunes:explicit>\n  <itunes:type>",
         "<itunes:explicit>no</itunes:explicit>\n  <itunes:type>", says="old form"),
    Case("explicit", ERROR, "<itunes:explicit>false</itunes:explicit>\n  <itunes:type>",
         "<itunes:explicit>maybe</itunes:explicit>\n  <itunes:type>", says='"maybe"'),
    Case("episode-numbers", ERROR, "<itunes:type>episodic</itunes:type>",
         "<itunes:type>serial</itunes:type>", more=(("<itunes:episode>1</itunes:episode>", ""),),
        says="serial"),
    Case("episode-numbers", ERROR, "<itunes:episode>2</itunes:episode>",
         "<itunes:episode>0</itunes:episode>", says="whole number"),
    Case("unique-guids", ERROR, ITEM2_GUID, '<guid isPermaLink="false">ep-1</guid>',
         says="repeats the guid"),
    Case("unique-enclosures", ERROR, f"{BASE}/ep2.mp3", f"{BASE}/ep1.mp3", says="repeats"),
    Case("enclosure-length", ERROR, 'length="2000"', 'length="1999"', says="2000 bytes"),
    Case("enclosure-length", ERROR, files=lambda root: (root / "ep1.mp3").unlink(),
         says="not in the build"),
    Case("enclosure-length", ERROR, 'length="2000"', 'length="2 MB"', says="not a size"),
    Case("dates", ERROR, "Mon, 02 Nov 2026 06:00:00 GMT", "2026-11-02T06:00:00Z",
         says="not an RFC 2822"),
    Case("dates", ERROR, "Mon, 02 Nov 2026 06:00:00 GMT", "Tue, 02 Nov 2026 06:00:00 GMT",
         says="was a Mon"),
    Case("dates", ERROR, "Mon, 09 Nov 2026 06:00:00 GMT", "Mon, 09 Nov 26 06:00:00 GMT",
         says="not an RFC 2822"),
    Case("ascii-urls", ERROR, f"{BASE}/ep2.mp3", f"{BASE}/épisode 2.mp3", says="non-ASCII"),
    Case("ascii-urls", ERROR, f"<link>{BASE}/</link>", "<link>/show/</link>", says="absolute"),
    Case("artwork", ERROR, files=_image("cover.jpg", (1000, 1000)), says="outside 1400-3000"),
    Case("artwork", ERROR, files=_image("cover.jpg", (1400, 1500)), says="not square"),
    Case("artwork", ERROR, files=_image("cover.jpg", (1400, 1400), "CMYK"), says="mode CMYK"),
    Case("artwork", ERROR, files=_image("ep1/cover.png", (1400, 1400), "RGBA", "PNG"),
         says="mode RGBA"),
    Case("artwork", ERROR, files=_image("cover.jpg", (1400, 1400), "P", "GIF"), says="GIF"),
    Case("artwork", ERROR, files=_image("ep1/cover.png", (3001, 3001), fmt="PNG"),
         says="outside"),
    Case("artwork", ERROR, files=_write("cover.jpg", b"not an image"), says="not a readable"),
    Case("podcast-guid", ERROR, "</podcast:guid>", "x</podcast:guid>", says="not a UUID"),
    Case("podcast-guid", ERROR, podcast_guid(FEED_URL), "0b9f1c2e-5d3a-4c7b-9e8f-1a2b3c4d5e6f",
         says="version 5"),
    Case("podcast-guid", WARNING, podcast_guid(FEED_URL), podcast_guid("example.org/other.xml"),
         says="not the one derived"),
    Case("podcast-guid", WARNING, f"<podcast:guid>{podcast_guid(FEED_URL)}</podcast:guid>", "",
         says="no podcast:guid"),
    Case("chapters", ERROR, files=_write("ep2/chapters.json", json.dumps(
        {"version": "1.2.0", "chapters": [{"startTime": 9}, {"startTime": 3}]})),
         says="before chapter 1"),
    Case("chapters", ERROR, files=_write("ep2/chapters.json", '{"chapters": []}'),
         says="version"),
    Case("chapters", ERROR, files=_write("ep2/chapters.json", '{"version": "1.2", '),
         says="not UTF-8 JSON"),
    Case("chapters", ERROR, files=_write("ep2/chapters.json", json.dumps(
        {"version": "1.2.0", "chapters": [{"title": "no start"}]})), says="startTime"),
    Case("chapters", ERROR, 'type="application/json+chapters"', 'type="application/json"',
         says="type"),
    Case("transcripts", ERROR, files=_write("ep2/transcript.vtt", VTT.replace("WEBVTT", "")),
         says="WEBVTT"),
    Case("transcripts", ERROR, files=_write("ep2/transcript.vtt", VTT.replace("00:04.000 -->",
         "00:04 -->", 1)), says="not a WebVTT cue"),
    Case("transcripts", ERROR, files=_write("ep2/transcript.srt", SRT.replace(",000 -->",
         ".000 -->")), says="SRT"),
    Case("transcripts", ERROR, files=_write("ep2/transcript.vtt", VTT.replace("00:09.500",
         "00:01.500")), says="ends before"),
    Case("transcripts", ERROR, 'type="text/vtt"', 'type="text/x-vtt"', says="type"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_rule_fails_on_a_feed_that_breaks_it(case: Case, public: Path) -> None:
    xml = good_feed()
    if case.old:
        assert case.old in xml, case.old
        xml = xml.replace(case.old, case.new)
    for old, new in case.more:
        assert old in xml, old
        xml = xml.replace(old, new)
    if case.files:
        case.files(public)
    status, message = run(xml, public)[case.rule]
    assert status == case.status, message
    assert case.says in message


def test_a_serial_show_with_every_episode_numbered_passes(public: Path) -> None:
    xml = good_feed().replace("<itunes:type>episodic", "<itunes:type>serial")
    assert run(xml, public)["episode-numbers"][0] == PASS


def test_every_rule_has_a_failing_case() -> None:
    assert {case.rule for case in CASES} | {"media-http"} == {rule.name for rule in RULES}


def test_descriptions_are_limited_in_bytes_not_characters(public: Path) -> None:
    assert (
        run(good_feed().replace("<p>Two.</p>", "é" * 2000), public)["description-length"][0] == PASS
    )


def test_a_malformed_feed_skips_the_other_rules(public: Path) -> None:
    results = check_feed(b"<rss><channel>", resolve=LocalFiles(BASE, public))
    assert results[0].status == ERROR
    assert {r.status for r in results[1:]} == {SKIP}


def test_errors_become_one_line_build_errors(public: Path) -> None:
    xml = good_feed().replace(ITEM2_GUID, '<guid isPermaLink="false">ep-1</guid>')
    results = check_feed(xml.encode(), feed_url=FEED_URL, resolve=LocalFiles(BASE, public))
    errors = feed_errors(results)
    assert len(errors) == 1
    assert errors[0].line().startswith("feed.xml: unique-guids: item 2 ('First') repeats")
    assert "(remove the copied guid" in errors[0].line()


def test_planned_files_are_checked_before_they_are_written(public: Path) -> None:
    """A build checks the feed against what it is about to write, not the old public/."""
    planned = {"ep1.mp3": b"x" * 1000, "ep2.mp3": public / "ep2.mp3"}
    resolve = LocalFiles(BASE, public, planned)
    assert resolve(f"{BASE}/ep1.mp3", False).size == 1000  # type: ignore[union-attr]
    assert resolve(f"{BASE}/../etc/passwd", True) is None
    assert resolve("https://elsewhere.example/ep1.mp3", False) is None


def test_podcast_guid_follows_its_definition() -> None:
    assert podcast_guid("https://podnews.net/rss") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert podcast_guid("podnews.net/rss/") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert podcast_guid("http://podnews.net/rss//") == "9b024349-ccf0-5f69-a609-6b82873eab3c"


# -- the command, on a real build and over HTTP -----------------------------------


def test_check_passes_the_example_hub_build(hub: Path) -> None:
    assert run_cli("build", cwd=hub).code == 0
    result = run_cli("check", "--json", cwd=hub)
    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    statuses = {row["rule"]: row["status"] for row in report["results"]}
    assert report["errors"] == 0
    for rule in ("enclosure-length", "artwork", "chapters", "transcripts", "category"):
        assert statuses[rule] == PASS, rule
    assert statuses["media-http"] == SKIP


def test_check_exits_1_and_names_the_fix_when_a_rule_fails(hub: Path) -> None:
    assert run_cli("build", cwd=hub).code == 0
    media = next((hub / "public" / "episodes").glob("*/*.mp3"))
    media.write_bytes(media.read_bytes()[:-10])
    result = run_cli("check", cwd=hub)
    assert result.code == 1, result.out + result.err
    assert "ERROR enclosure-length" in result.out
    assert "the file has" in result.out
    assert "fix: rebuild" in result.out
    assert "Traceback" not in result.err


def test_check_before_any_build_is_a_one_line_user_error(hub: Path) -> None:
    result = run_cli("check", cwd=hub)
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"mediahub: error: {hub / 'public' / 'feed.xml'}: does not exist "
        "(run 'mediahub build' first)"
    ]


def test_check_url_asks_the_server_for_head_and_a_range(served_hub: Served) -> None:
    result = run_cli("check", "--url", f"{served_hub.url}/feed.xml", "--json", cwd=served_hub.root)
    assert result.code == 0, result.out + result.err
    rows = {row["rule"]: row for row in json.loads(result.out)["results"]}
    assert rows["media-http"]["status"] == PASS, rows["media-http"]
    for rule in ("enclosure-length", "artwork", "chapters", "transcripts"):
        assert rows[rule]["status"] == PASS, rows[rule]


def _serve_and_check(routes: web.RouteTableDef) -> dict[str, tuple[str, str]]:
    async def scenario(port: int) -> dict[str, tuple[str, str]]:
        app = web.Application()
        app.add_routes(routes)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            results = await check_url(f"http://127.0.0.1:{port}/feed.xml")
        finally:
            await runner.cleanup()
        return {r.rule: (r.status, r.message) for r in results}

    return asyncio.run(scenario(free_port()))


def _feed_for(port_url: str) -> str:
    return good_feed().replace(BASE, port_url)


def test_media_that_ignore_range_requests_fail_the_url_check() -> None:
    routes = web.RouteTableDef()
    audio = b"\xff\xfb" * 1000

    @routes.get("/feed.xml")
    async def feed(request: web.Request) -> web.Response:
        return web.Response(
            body=_feed_for(f"http://{request.host}").encode(), content_type="application/rss+xml"
        )

    @routes.route("*", "/{name}.mp3")
    async def media(request: web.Request) -> web.Response:
        # Answers the whole file to every request, Range or not: apps cannot seek.
        return web.Response(body=audio, content_type="audio/mpeg")

    rows = _serve_and_check(routes)
    status, message = rows["media-http"]
    assert status == ERROR
    assert "Range: bytes=0-1 answered 200 with 2000 bytes, not 206 with 2" in message
    # ep1.mp3 is 2000 bytes here but the feed says 1000: the size comes from HEAD.
    assert rows["enclosure-length"][0] == ERROR
    # Artwork and chapters are missing on this server: the rules say so by URL.
    assert rows["artwork"][0] == ERROR and "cannot be fetched" in rows["artwork"][1]


def test_an_unreachable_feed_url_is_a_one_line_user_error() -> None:
    port = free_port()
    result = run_cli("check", "--url", f"http://127.0.0.1:{port}/feed.xml", cwd=Path.cwd())
    assert result.code == 2, result.out + result.err
    assert result.err.startswith(f"mediahub: error: http://127.0.0.1:{port}/feed.xml: cannot fetch")
    assert "Traceback" not in result.err
