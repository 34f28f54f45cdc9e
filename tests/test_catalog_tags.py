"""Reading and writing tags in every format, checked against ffprobe and eyeD3."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import mutagen
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediahub.catalog import tags
from mediahub.model import Chapter, TagSet
from tests.audio_fixtures import (
    AUDIO,
    FORMATS,
    WRITABLE,
    copy_fixture,
    ffprobe_chapters,
    ffprobe_duration,
    make_jpeg,
)
from tests.conftest import require_tool


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_reads_the_same_shape(name: str) -> None:
    info = tags.read(AUDIO / name)
    container, codec = FORMATS[name]
    assert info.tag_format == container
    assert info.codec == codec
    assert info.channels >= 1 and info.sample_rate > 0 and info.bitrate > 0
    assert info.size == (AUDIO / name).stat().st_size
    if name == "plain.wav":
        assert info.title is None
    elif name == "id3v1-only.mp3":
        assert (info.title, info.artist, info.date, info.track, info.genre) == (
            "Old Player",
            "Tester",
            "2025",
            "7",
            "Speech",
        )
        assert info.comment == "v1 comment"
    elif name == "tagged-v22.mp3":
        assert (info.title, info.artist, info.album) == ("Version Two Two", "Tester", "Fixtures")
    else:
        assert (info.title, info.artist, info.album, info.date) == (
            "Fixture",
            "Tester",
            "Fixtures",
            "2026",
        )


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_duration_agrees_with_ffprobe(name: str) -> None:
    ours = tags.read(AUDIO / name).duration
    assert abs(ours - ffprobe_duration(AUDIO / name)) <= 0.05


def _everything(artwork: bytes) -> TagSet:
    return TagSet(
        title="Writing before coaching",
        artist="Maya Lindqvist",
        album="The Quiet Leader",
        date="2026-11-02",
        comment="Why write first.",
        description="Why write first, at length.",
        track="3",
        copyright="© 2026 Maya",
        publisher="Quiet Studio",
        guid="b26d10a6-52f3-43f9-bc82-3cad8538f14a",
        feed_url="https://quiet.example/feed.xml",
        lyrics="Hello there",
        artwork=artwork,
        chapters=(
            Chapter(0.0, "Welcome", end=1.0),
            Chapter(1.0, "The question", url="https://quiet.example/q", end=2.5),
        ),
    )


@pytest.mark.parametrize("name", WRITABLE)
def test_write_then_read_keeps_every_field(name: str, tmp_path: Path) -> None:
    path = copy_fixture(name, tmp_path)
    art = make_jpeg(tmp_path / "cover.jpg").read_bytes()
    values = _everything(art)
    before = tags.read(path).duration
    tags.write(path, values)
    info = tags.read(path)
    for field in ("title", "artist", "album", "date", "comment", "description", "track"):
        assert getattr(info, field) == getattr(values, field), field
    for field in ("copyright", "publisher", "guid", "feed_url", "lyrics", "genre"):
        assert getattr(info, field) == getattr(values, field), field
    assert info.podcast is True
    assert [(a.mime_type, a.size) for a in info.artwork] == [("image/jpeg", len(art))]
    assert info.duration == pytest.approx(before, abs=0.001)
    if name == "tagged.m4a":
        assert info.chapters == ()  # mutagen writes no MP4 chapters; chapters.json carries them
    else:
        assert [(c.start, c.title) for c in info.chapters] == [
            (0.0, "Welcome"),
            (1.0, "The question"),
        ]
        assert info.chapters[1].url == "https://quiet.example/q"


@pytest.mark.parametrize("name", [n for n in WRITABLE if n != "tagged.m4a"])
def test_ffprobe_sees_the_chapters_written(name: str, tmp_path: Path) -> None:
    path = copy_fixture(name, tmp_path)
    tags.write(path, replace(_everything(b""), artwork=None))
    assert ffprobe_chapters(path) == [(0.0, "Welcome"), (1.0, "The question")]


def _eyed3(path: Path) -> dict[str, object]:
    """eyeD3's reading of an MP3, through the Python eyeD3 is installed for."""
    script = Path(require_tool("eyeD3"))
    interpreter = script.read_text(encoding="utf-8", errors="replace").splitlines()[0][2:].strip()
    code = (
        "import eyed3, json, sys\n"
        "t = eyed3.load(sys.argv[1]).tag\n"
        "print(json.dumps({'version': list(t.version), 'title': t.title, 'artist': t.artist,"
        " 'album': t.album, 'date': str(t.recording_date or t.getBestDate()),"
        " 'images': [[i.picture_type, i.mime_type, len(i.image_data)] for i in t.images],"
        " 'chapters': [[c.times.start, c.times.end, c.title] for c in t.chapters],"
        " 'toc': [[x.decode() for x in c.child_ids] for c in t.table_of_contents]}))\n"
    )
    proc = subprocess.run(
        [*interpreter.split(), "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data: dict[str, object] = json.loads(proc.stdout.splitlines()[0])
    return data


@pytest.mark.parametrize("version", [4, 3])
def test_eyed3_reads_back_what_was_written(version: int, tmp_path: Path) -> None:
    path = copy_fixture("tagged-v24.mp3", tmp_path)
    art = make_jpeg(tmp_path / "cover.jpg").read_bytes()
    tags.write(path, _everything(art), id3_version=version)
    seen = _eyed3(path)
    assert seen["version"] == [2, version, 0]
    assert (seen["title"], seen["artist"], seen["album"]) == (
        "Writing before coaching",
        "Maya Lindqvist",
        "The Quiet Leader",
    )
    assert str(seen["date"]).startswith("2026" if version == 3 else "2026-11-02")
    assert seen["images"] == [[3, "image/jpeg", len(art)]]
    assert seen["chapters"] == [[0, 1000, "Welcome"], [1000, 2500, "The question"]]
    assert [[c.rstrip("_") for c in toc] for toc in seen["toc"]] == [["chp000", "chp001"]]


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=300)


@pytest.mark.parametrize("name", WRITABLE)
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(title=TEXT, artist=TEXT, comment=TEXT)
def test_text_fields_round_trip(
    name: str, tmp_path: Path, title: str, artist: str, comment: str
) -> None:
    """Unicode, emoji, long and empty text: what goes in comes back (blank means absent)."""
    path = copy_fixture(name, tmp_path, as_name=f"x{Path(name).suffix}")
    tags.write(path, TagSet(title=title, artist=artist, comment=comment))
    info = tags.read(path)

    def expected(text: str) -> str | None:
        return text.strip() or None

    assert info.title == expected(title)
    assert info.artist == expected(artist)
    assert info.comment == expected(comment)


def test_vbr_without_a_header_is_timed_by_its_frames() -> None:
    """The first frame's bitrate would make this 2.5 s file last several times longer."""
    path = AUDIO / "vbr-noheader.mp3"
    info = tags.read(path)
    assert info.duration == pytest.approx(98 * 576 / 22050)  # 98 frames of 576 samples


def test_mp4_chapters_and_id3_custom_frames_written_by_ffmpeg(tmp_path: Path) -> None:
    """Files tagged by another tool: MP4 chapters (as mutagen exposes them) and TXXX frames."""
    ffmpeg = require_tool("ffmpeg")
    meta = tmp_path / "meta.txt"
    meta.write_text(
        ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=Opening\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2500\ntitle=Second part\n",
        encoding="utf-8",
    )
    m4a, mp3 = tmp_path / "ch.m4a", tmp_path / "custom.mp3"
    run = {"check": True, "timeout": 60}
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(AUDIO / "tagged.m4a"), "-i", str(meta), "-map", "0",
         "-map_chapters", "1", "-c", "copy", str(m4a)],
        **run,
    )  # fmt: skip
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(AUDIO / "tagged-v24.mp3"), "-metadata",
         "interviewer=Sam Okafor", "-c", "copy", str(mp3)],
        **run,
    )  # fmt: skip
    assert [(c.start, c.title) for c in tags.read(m4a).chapters] == [
        (0.0, "Opening"),
        (1.0, "Second part"),
    ]
    assert ("interviewer", "Sam Okafor") in tags.read(mp3).custom


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("as_name", ["episode.mp3", "episode.MP3", "episode.m4a", "episode"])
def test_the_kind_chosen_is_the_one_mutagen_would_choose(
    name: str, as_name: str, tmp_path: Path
) -> None:
    """The shortcut for files named .mp3 picks what mutagen.File picks, whatever the
    file really holds (an M4A or a WAV named .mp3 included), and fails where it fails
    (a FLAC named .mp3 ties, and mutagen tries MP3)."""
    path = copy_fixture(name, tmp_path, as_name=as_name)

    def outcome(load: Callable[[], object]) -> tuple[str, float | None]:
        try:
            audio: Any = load()
        except mutagen.MutagenError as exc:
            return type(exc).__name__, None
        return type(audio).__name__, audio.info.length

    def shortcut() -> object:
        with path.open("rb") as handle:
            return tags._load(path, handle)

    assert outcome(shortcut) == outcome(lambda: mutagen.File(path, options=tags._KINDS))
