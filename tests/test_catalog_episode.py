"""`mediahub episode add`: record, add, build, and a podcast app downloads it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mediahub.catalog import tags
from mediahub.content import read_document
from mediahub.model import TagSet
from tests.audio_fixtures import copy_fixture, ffprobe_chapters, ffprobe_duration, make_jpeg
from tests.conftest import free_port, require_tool, run_cli, serving

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
}


def record(path: Path, text: str) -> Path:
    """A freshly recorded interview: espeak-ng speech encoded by ffmpeg, no tags at all."""
    espeak = require_tool("espeak-ng")
    ffmpeg = require_tool("ffmpeg")
    wav = path.with_suffix(".wav")
    subprocess.run([espeak, "-s", "160", "-w", str(wav), text], check=True, timeout=60)
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-i",
            str(wav),
            "-map_metadata",
            "-1",
            "-id3v2_version",
            "0",
            "-ac",
            "1",
            "-b:a",
            "48k",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    wav.unlink()
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_add_build_and_gpodder_downloads_it(hub: Path, tmp_path: Path) -> None:
    studio = tmp_path / "studio"
    studio.mkdir()
    audio = record(
        studio / "take3.mp3",
        "Welcome back to the quiet leader. Today we talk about feedback. "
        "First, why feedback is hard. Then, how to ask for it. Thanks for listening.",
    )
    original = sha(audio)
    duration = ffprobe_duration(audio)
    (studio / "chapters.txt").write_text(
        "00:00 Welcome\n00:03.5 Why feedback is hard\n00:06 How to ask\n", encoding="utf-8"
    )
    (studio / "t.vtt").write_text(
        "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\n<v Maya>Welcome back.\n", encoding="utf-8"
    )
    (studio / "notes.md").write_text("We talk about **feedback**.\n", encoding="utf-8")
    cover = make_jpeg(studio / "cover.jpg", side=1400)
    result = run_cli(
        "episode", "add", str(audio), "--title", "Asking for feedback",
        "--summary", "How to ask for feedback, and why it is hard.",
        "--notes", str(studio / "notes.md"), "--chapters", str(studio / "chapters.txt"),
        "--transcript", str(studio / "t.vtt"), "--image", str(cover),
        "--date", "2026-11-09 07:30", "--season", "1", "--number", "2",
        "--guest", "Ada Byron", "--guest", "Sam Okafor", "--json",
        cwd=hub,
    )  # fmt: skip
    assert result.code == 0, result.err
    added = json.loads(result.out)
    assert sha(audio) == original, "the user's original was changed"
    folder = hub / "episodes" / "2026-11-09-asking-for-feedback"
    assert added["folder"] == str(folder)
    assert added["url"] == "http://127.0.0.1:8000/episodes/2026-11-09-asking-for-feedback/"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2026-11-09-asking-for-feedback.mp3",
        "chapters.json",
        "cover.jpg",
        "episode.md",
        "transcript.vtt",
    ]
    assert not [p for p in (hub / "episodes").iterdir() if p.name.startswith(".")]
    doc = read_document(folder / "episode.md")
    assert doc.meta == {
        "title": "Asking for feedback",
        "date": "2026-11-09 07:30",
        "summary": "How to ask for feedback, and why it is hard.",
        "season": 1,
        "number": 2,
        "type": "full",
        "guests": ["Ada Byron", "Sam Okafor"],
        "image": "cover.jpg",
        "guid": added["guid"],
    }
    assert "**feedback**" in doc.body
    copy = folder / "2026-11-09-asking-for-feedback.mp3"
    info = tags.read(copy)
    assert (info.title, info.artist, info.album, info.genre) == (
        "Asking for feedback",
        "Maya Lindqvist",
        "The Quiet Leader",
        "Podcast",
    )
    assert (info.guid, info.feed_url, info.podcast) == (
        added["guid"],
        "http://127.0.0.1:8000/feed.xml",
        True,
    )
    assert [a.size for a in info.artwork] == [cover.stat().st_size]
    expected_chapters = [(0.0, "Welcome"), (3.5, "Why feedback is hard"), (6.0, "How to ask")]
    assert ffprobe_chapters(copy) == expected_chapters
    assert abs(ffprobe_duration(copy) - duration) <= 0.05

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    built = run_cli("build", "--url", base, cwd=hub)
    assert built.code == 0, built.err
    feed = ET.parse(hub / "public" / "feed.xml").getroot()
    [item] = [i for i in feed.iter("item") if i.findtext("guid") == added["guid"]]
    enclosure = item.find("enclosure")
    assert enclosure is not None
    assert enclosure.get("length") == str(copy.stat().st_size)
    assert item.findtext("itunes:duration", namespaces=NS) == str(round(info.duration))
    image = item.find("itunes:image", NS)
    assert image is not None and image.get("href", "").endswith("/cover.jpg")
    chapters_link = item.find("podcast:chapters", NS)
    assert chapters_link is not None
    published = hub / "public" / chapters_link.get("url", "").removeprefix(base + "/")
    chapters = json.loads(published.read_text(encoding="utf-8"))["chapters"]
    assert [(c["startTime"], c["title"]) for c in chapters] == [
        (s if s % 1 else int(s), t) for s, t in expected_chapters
    ]

    gpo = require_tool("gpo")
    with serving(hub, port, "--url", base):
        env = {
            **os.environ,
            "GPODDER_HOME": str(tmp_path / "gpodder-home"),
            "GPODDER_DOWNLOAD_DIR": str(tmp_path / "downloads"),
        }

        def gpodder(*args: str) -> str:
            proc = subprocess.run(
                [gpo, *args], env=env, capture_output=True, text=True, timeout=120, check=False
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            return proc.stdout + proc.stderr

        gpodder("subscribe", f"{base}/feed.xml")
        assert "2 new episodes" in gpodder("update")
        assert added["guid"] in gpodder("episodes", "--guid")
        log = gpodder("download")
    downloads = {p.name: p for p in (tmp_path / "downloads").rglob("*.mp3")}
    matching = [p for p in downloads.values() if p.read_bytes() == copy.read_bytes()]
    assert matching, f"gPodder did not download the new episode: {sorted(downloads)}\n{log}"


def test_the_guid_already_in_the_file_is_kept(hub: Path, tmp_path: Path) -> None:
    audio = copy_fixture("tagged.ogg", tmp_path)
    tags.write(audio, TagSet(title="Old recording", guid="urn:uuid:1234-kept"))
    result = run_cli("episode", "add", str(audio), "--date", "2026-02-01", cwd=hub)
    assert result.code == 0, result.err
    folder = hub / "episodes" / "2026-02-01-old-recording"
    assert read_document(folder / "episode.md").meta["guid"] == "urn:uuid:1234-kept"
    assert "guid urn:uuid:1234-kept" in result.out
    assert tags.read(folder / "2026-02-01-old-recording.ogg").guid == "urn:uuid:1234-kept"


def test_chapters_past_the_end_leave_nothing_behind(hub: Path, tmp_path: Path) -> None:
    audio = copy_fixture("tagged-v24.mp3", tmp_path)
    before = sorted(p.name for p in (hub / "episodes").iterdir())
    chapters = tmp_path / "ch.txt"
    chapters.write_text("00:00 Start\n00:01 Middle\n05:00 Much later\n", encoding="utf-8")
    result = run_cli("episode", "add", str(audio), "--chapters", str(chapters), cwd=hub)
    assert result.code == 2
    assert result.err.strip() == (
        f"mediahub: error: {chapters}: chapter 3 ('Much later') starts at 300.0s, "
        "past the end of the audio (2.6s) (fix its start time or remove it)"
    )
    assert sorted(p.name for p in (hub / "episodes").iterdir()) == before


def test_id3v23_and_draft(hub: Path, tmp_path: Path) -> None:
    audio = copy_fixture("tagged-v24.mp3", tmp_path)
    result = run_cli(
        "episode", "add", str(audio), "--id3v23", "--draft", "--date", "2026-03-01", cwd=hub
    )
    assert result.code == 0, result.err
    assert "nothing yet: it is a draft" in result.out
    folder = hub / "episodes" / "2026-03-01-fixture"
    assert tags.read(folder / "2026-03-01-fixture.mp3").tag_format == "ID3v2.3"
    assert read_document(folder / "episode.md").meta["draft"] is True
    again = run_cli("episode", "add", str(audio), "--date", "2026-03-01", cwd=hub)
    assert again.code == 2
    assert "2026-03-01-fixture: already exists" in again.err
    built = run_cli("build", "--json", cwd=hub)
    assert built.code == 0, built.err


@pytest.mark.parametrize("name", ["tagged.m4a", "tagged.flac", "plain.wav", "tagged.opus"])
def test_every_format_can_be_added_and_built(hub: Path, tmp_path: Path, name: str) -> None:
    audio = copy_fixture(name, tmp_path)
    result = run_cli(
        "episode", "add", str(audio), "--title", f"Format {name}", "--date", "2026-04-01",
        cwd=hub,
    )  # fmt: skip
    assert result.code == 0, result.err
    built = run_cli("build", "--json", cwd=hub)
    assert built.code == 0, built.err
    assert json.loads(built.out)["episodes"] == 2


def test_explicit_can_be_set_either_way_against_the_show_default(hub: Path, tmp_path: Path) -> None:
    """The show is clean by default; --explicit and --no-explicit say so per episode."""
    config = hub / "mediahub.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("explicit = false", "explicit = true"),
        encoding="utf-8",
    )
    for flag, date, expected in (
        ("--explicit", "2026-04-01", True),
        ("--no-explicit", "2026-04-02", False),
    ):
        audio = copy_fixture("tagged.ogg", tmp_path / date)
        result = run_cli("episode", "add", str(audio), flag, "--date", date, cwd=hub)
        assert result.code == 0, result.err
        (folder,) = (hub / "episodes").glob(f"{date}-*")
        assert read_document(folder / "episode.md").meta["explicit"] is expected
    assert run_cli("build", cwd=hub).code == 0
    feed = ET.parse(hub / "public" / "feed.xml").getroot()
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
    flags = {
        (item.findtext("link") or "").split("/episodes/")[1][:10]: item.findtext(
            f"{itunes}explicit"
        )
        for item in feed.iter("item")
    }
    assert flags["2026-04-01"] == "true" and flags["2026-04-02"] == "false"
