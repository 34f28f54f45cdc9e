"""Building the example hub: pages, the podcast feed as podcast apps read it, stable GUIDs."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import mutagen
import podcastparser
import pytest
import yaml

from tests.conftest import run_cli


def front_matter(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    return dict(yaml.safe_load(text.split("---")[1]))


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def built(hub: Path) -> Path:
    result = run_cli("build", cwd=hub)
    assert result.code == 0, result.err
    return hub


def test_feed_matches_the_sources_as_podcastparser_reads_it(built: Path) -> None:
    feed_path = built / "public" / "feed.xml"
    with feed_path.open("rb") as stream:
        parsed = podcastparser.parse("http://127.0.0.1:8000/feed.xml", stream)
    assert parsed["title"] == "The Quiet Leader"
    assert parsed["cover_url"] == "http://127.0.0.1:8000/cover.jpg"
    folders = sorted(p.parent for p in (built / "episodes").glob("*/episode.md"))
    assert len(parsed["episodes"]) == len(folders) >= 1
    by_guid = {e["guid"]: e for e in parsed["episodes"]}
    tz = ZoneInfo("Europe/Stockholm")
    for folder in folders:
        meta = front_matter(folder / "episode.md")
        episode = by_guid[str(meta["guid"])]
        assert episode["title"] == meta["title"]
        when = meta["date"]
        when = datetime.fromisoformat(when) if isinstance(when, str) else when
        assert isinstance(when, datetime)
        assert episode["published"] == int(when.replace(tzinfo=tz).timestamp())
        (audio,) = folder.glob("*.mp3")
        (enclosure,) = episode["enclosures"]
        assert enclosure["url"] == (
            f"http://127.0.0.1:8000/episodes/{folder.name}/{folder.name}.mp3"
        )
        assert enclosure["file_size"] == audio.stat().st_size
        assert enclosure["mime_type"] == "audio/mpeg"
        assert episode["total_time"] == round(mutagen.File(audio).info.length)
        assert episode["link"] == f"http://127.0.0.1:8000/episodes/{folder.name}/"
        # The published media is the same bytes as the source.
        published = built / "public" / "episodes" / folder.name / f"{folder.name}.mp3"
        assert published.read_bytes() == audio.read_bytes()


def test_pages_exist_link_the_feed_and_list_newest_first(built: Path) -> None:
    public = built / "public"
    pages = sorted(public.rglob("*.html"))
    names = {p.relative_to(public).as_posix() for p in pages}
    expected = {"index.html", "404.html", "episodes/index.html", "archive/index.html",
                "tags/index.html", "tags/listening/index.html"}
    expected |= {f"posts/{p.stem}/index.html" for p in (built / "posts").glob("*.md")}
    expected |= {f"episodes/{p.name}/index.html" for p in (built / "episodes").glob("*-*")}
    assert expected <= names, expected - names
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert '<link rel="alternate" type="application/rss+xml"' in html, page
        assert 'href="http://127.0.0.1:8000/feed.xml"' in html
    home = (public / "index.html").read_text(encoding="utf-8")
    titles = [
        "Writing before coaching",
        "The question after the question",
        "Deciding in the open",
        "Saying the hard thing plainly",
        "A page a morning",
        "The first ninety days are for listening",
    ]
    positions = [home.index(t) for t in titles]
    assert positions == sorted(positions), "home page is not newest first"
    episode_page = next(public.glob("episodes/*/index.html")).read_text(encoding="utf-8")
    assert '<audio id="player" controls' in episode_page
    assert "download" in episode_page and ".mp3" in episode_page
    assert "Why write first?" in episode_page  # a chapter
    assert "Ask one more question than feels comfortable." in episode_page  # the transcript


def test_rebuild_without_changes_writes_nothing_and_is_identical(built: Path) -> None:
    before = tree_digest(built / "public")
    again = run_cli("build", "--json", cwd=built)
    assert again.code == 0, again.err
    assert '"written": 0' in again.out
    assert tree_digest(built / "public") == before


def test_guid_is_written_once_and_survives_a_lost_database(hub: Path) -> None:
    source = next(hub.glob("episodes/*/episode.md"))
    text = source.read_text(encoding="utf-8")
    without = "\n".join(line for line in text.splitlines() if not line.startswith("guid:")) + "\n"
    source.write_text(without, encoding="utf-8")
    assert run_cli("build", cwd=hub).code == 0
    guid = front_matter(source)["guid"]
    assert isinstance(guid, str) and len(guid) == 36
    # The rest of the file is untouched: only the guid line was added.
    assert source.read_text(encoding="utf-8").replace(f"guid: {guid}\n", "") == without
    shutil.rmtree(hub / ".mediahub")
    assert run_cli("build", cwd=hub).code == 0
    assert front_matter(source)["guid"] == guid
    assert f">{guid}</guid>" in (hub / "public" / "feed.xml").read_text(encoding="utf-8")


def test_drafts_and_future_entries_are_not_published(hub: Path) -> None:
    future = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)
    (hub / "posts" / "next-year.md").write_text(
        f"---\ntitle: Not yet\ndate: {future.isoformat()}\n---\nSoon.\n", encoding="utf-8"
    )
    (hub / "posts" / "draft.md").write_text(
        "---\ntitle: Half done\ndate: 2026-01-01\ndraft: true\n---\nWIP.\n", encoding="utf-8"
    )
    result = run_cli("build", cwd=hub)
    assert result.code == 0, result.err
    assert "(2 scheduled or draft)" in result.out
    assert not (hub / "public" / "posts" / "next-year").exists()
    assert not (hub / "public" / "posts" / "draft").exists()


def test_build_url_overrides_the_base_url(hub: Path) -> None:
    result = run_cli("build", "--url", "https://pod.example.org/show/", cwd=hub)
    assert result.code == 0, result.err
    feed = (hub / "public" / "feed.xml").read_text(encoding="utf-8")
    assert 'href="https://pod.example.org/show/feed.xml"' in feed
    page = (hub / "public" / "index.html").read_text(encoding="utf-8")
    assert 'href="/show/static/style.css"' in page


def test_a_removed_post_disappears_from_the_site(built: Path) -> None:
    (built / "posts" / "a-page-a-morning.md").unlink()
    assert run_cli("build", cwd=built).code == 0
    assert not (built / "public" / "posts" / "a-page-a-morning").exists()
