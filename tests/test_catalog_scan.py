"""`mediahub scan`: incremental, marks removed files gone, and one bad file never stops it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mediahub.catalog import tags
from mediahub.catalog.scan import scan
from mediahub.model import TagSet
from mediahub.store import Store
from tests.audio_fixtures import AUDIO, FORMATS, copy_fixture, make_jpeg
from tests.conftest import require_tool, run_cli


def _scan_json(hub: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    result = run_cli("scan", "--json", *extra, cwd=hub)
    return result.code, json.loads(result.out), result.err


def test_first_scan_reads_every_format_then_rescan_opens_nothing(hub: Path) -> None:
    library = hub / "episodes" / "library"
    for name in FORMATS:
        copy_fixture(name, library)
    code, first, err = _scan_json(hub)
    assert code == 0, err
    total = len(FORMATS) + 1  # plus the example episode's own MP3
    assert (first["read"], first["unchanged"], first["gone"]) == (total, 0, 0)
    files = {Path(str(f["path"])).name: f for f in first["files"]}  # type: ignore[attr-defined]
    assert files["plain.wav"]["sha256"] is None  # tags only: no file is read whole
    assert files["tagged.ogg"]["title"] == "Fixture"
    code, second, _ = _scan_json(hub)
    assert (second["read"], second["unchanged"]) == (0, total)
    assert second["files"] == first["files"]
    # --sha256 reads again the files catalogued without their hash, then none.
    code, hashed, _ = _scan_json(hub, "--sha256")
    assert (hashed["read"], hashed["unchanged"]) == (total, 0)
    files = {Path(str(f["path"])).name: f for f in hashed["files"]}  # type: ignore[attr-defined]
    wav = files["plain.wav"]
    assert wav["sha256"] == hashlib.sha256((AUDIO / "plain.wav").read_bytes()).hexdigest()
    code, again, _ = _scan_json(hub, "--sha256")
    assert (again["read"], again["unchanged"]) == (0, total)


def test_an_unchanged_size_and_mtime_means_the_file_is_not_opened(tmp_path: Path) -> None:
    path = copy_fixture("tagged-v24.mp3", tmp_path / "media")
    with Store(tmp_path / "db.sqlite") as store:
        assert scan(store, [tmp_path / "media"]).read == 1
        stat = path.stat()
        # Same size and mtime, different bytes: a scan that opened the file would see them.
        tags.write(path, TagSet(title="Changed!"))
        with path.open("r+b") as handle:
            handle.truncate(stat.st_size)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        again = scan(store, [tmp_path / "media"])
        assert (again.read, again.unchanged) == (0, 1)
        assert store.media_catalogue()[0][0].title == "Fixture"
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert scan(store, [tmp_path / "media"]).read == 1
        assert store.media_catalogue()[0][0].title == "Changed!"


def test_removed_files_are_marked_gone_and_come_back(tmp_path: Path) -> None:
    media = tmp_path / "media"
    keep = copy_fixture("tagged.ogg", media)
    moved = copy_fixture("tagged.flac", media)
    with Store(tmp_path / "db.sqlite") as store:
        scan(store, [media])
        aside = shutil.move(moved, tmp_path / "aside.flac")
        result = scan(store, [media])
        assert (result.read, result.unchanged, result.gone) == (0, 1, 1)
        assert [info.path for info, _ in store.media_catalogue()] == [keep]
        gone = [info.path for info, was in store.media_catalogue(include_gone=True) if was]
        assert gone == [moved]
        shutil.move(aside, moved)
        assert scan(store, [media]).read == 1
        assert len(store.media_catalogue()) == 2


def _bad_files(folder: Path) -> dict[str, str]:
    """Each bad input the issue names -> what its one-line error must say."""
    folder.mkdir(parents=True)
    (folder / "zero.mp3").write_bytes(b"")
    (folder / "truncated.mp3").write_bytes((AUDIO / "vbr.mp3").read_bytes()[:3000])
    shutil.copyfile(make_jpeg(folder.parent / "photo.jpg"), folder / "photo.mp3")
    (folder / "notes.ogg").write_text("these are my notes, not audio\n", encoding="utf-8")
    bogus = bytearray((AUDIO / "tagged-v24.mp3").read_bytes())
    bogus[14:18] = b"\x7f\x7f\x7f\x7f"  # the first frame claims 256 MB
    (folder / "bogus-id3.mp3").write_bytes(bytes(bogus))
    huge = copy_fixture("tagged-v23.mp3", folder, as_name="huge-cover.mp3")
    tags.write(huge, TagSet(title="Huge", artwork=b"\xff\xd8" + bytes(50 * 1024 * 1024)))
    (folder / "unreadable.mp3").symlink_to(folder / "missing-target.mp3")
    return {
        "zero.mp3": "is empty (0 bytes)",
        "truncated.mp3": "is truncated",
        "photo.mp3": "cannot be read as audio",
        "notes.ogg": "is not a recognised audio format",
        "bogus-id3.mp3": "has a damaged ID3 tag: frame 'TIT2'",
        "huge-cover.mp3": "embeds a 50.0 MB picture",
        "unreadable.mp3": "cannot be read",
    }


def test_each_bad_file_is_one_line_and_the_scan_carries_on(hub: Path) -> None:
    folder = hub / "episodes" / "incoming"
    expected = _bad_files(folder)
    copy_fixture("tagged.opus", folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    result = run_cli("scan", cwd=hub)
    assert result.code == 2
    lines = [line for line in result.err.splitlines() if not line.startswith("read ")]
    assert len(lines) == len(expected), result.err
    assert sum(line.startswith("read ") for line in result.err.splitlines()) == 2
    assert "Traceback" not in result.err
    for name, problem in expected.items():
        [line] = [line for line in lines if f"/{name}:" in line]
        assert problem in line and line.startswith("mediahub: skipped: "), line
    assert "scanned 2 audio files: 2 read" in result.out  # the opus and the example episode
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before  # nothing changed, nothing lost


@pytest.mark.parametrize(
    ("name", "problem"),
    [("zero.mp3", "is empty"), ("photo.mp3", "cannot be read as audio")],
)
def test_episode_show_names_a_bad_file(hub: Path, name: str, problem: str) -> None:
    _bad_files(hub / "bad")
    result = run_cli("episode", "show", f"bad/{name}", cwd=hub)
    assert result.code == 2
    assert result.err.startswith(f"mediahub: error: bad/{name}: {problem}")
    assert len(result.err.strip().splitlines()) == 1


def test_an_unsupported_format_is_refused_by_name(tmp_path: Path) -> None:
    aiff = tmp_path / "talk.aiff"
    ffmpeg = require_tool("ffmpeg")
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=d=1", str(aiff)], check=True)
    result = run_cli("episode", "show", str(aiff), cwd=tmp_path)
    assert result.code == 2
    assert "is AIFF audio, which podcast apps do not play" in result.err


def test_episode_show_prints_everything_as_json(hub: Path) -> None:
    path = copy_fixture("tagged-v24.mp3", hub / "in")
    art = make_jpeg(hub / "c.jpg").read_bytes()
    tags.write(path, TagSet(title="Shown", guid="urn:x", artwork=art))
    result = run_cli("episode", "show", "in/tagged-v24.mp3", "--json", cwd=hub)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["title"], data["guid"], data["tag_format"], data["podcast"]) == (
        "Shown",
        "urn:x",
        "ID3v2.4",
        True,
    )
    assert data["artwork"] == [
        {"mime_type": "image/jpeg", "size": len(art), "picture_type": 3, "description": "Cover"}
    ]
    text = run_cli("episode", "show", "in/tagged-v24.mp3", cwd=hub)
    assert "title: Shown" in text.out and "artwork: image/jpeg" in text.out


def test_media_folders_from_the_config_are_scanned_too(hub: Path) -> None:
    config = hub / "mediahub.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[paths]\n", '[paths]\nmedia = ["recordings"]\n'), "utf-8")
    copy_fixture("tagged.flac", hub / "recordings" / "2026")
    code, first, err = _scan_json(hub)
    assert code == 0, err
    names = sorted(Path(str(f["path"])).name for f in first["files"])  # type: ignore[attr-defined]
    assert names == ["tagged.flac", "writing-before-coaching.mp3"]
    shutil.rmtree(hub / "recordings")
    code, second, _ = _scan_json(hub)
    assert (second["read"], second["unchanged"], second["gone"]) == (0, 1, 1)


def test_a_terminal_gets_a_progress_line_instead_of_log_lines(hub: Path) -> None:
    for index in range(3):
        copy_fixture("tagged.ogg", hub / "episodes" / "library", as_name=f"t{index}.ogg")
    leader, follower = os.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mediahub", "scan"],
            cwd=hub,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal has no writer left
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    terminal = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "\rscanning 4/4 " in terminal
    assert "read " not in terminal  # no log lines on a terminal
    assert b"4 read" in proc.stdout


def test_a_rescan_of_an_unchanged_listing_still_retries_a_bad_file(tmp_path: Path) -> None:
    """An unchanged listing skips every comparison, but only after a scan that read
    everything: a file that could not be read is tried (and reported) again."""
    folder = tmp_path / "media"
    copy_fixture("tagged-v24.mp3", folder)
    bad = folder / "empty.mp3"
    bad.write_bytes(b"")
    with Store(tmp_path / "db.sqlite") as store:
        for reads in (1, 0):  # the good file is read once; the bad one every time
            result = scan(store, [folder])
            assert (result.read, len(result.problems)) == (reads, 1)
            assert str(bad) in result.problems[0].line()
        bad.unlink()
        first = scan(store, [folder])
        assert (first.read, first.unchanged, first.problems) == (0, 1, [])
        again = scan(store, [folder])  # the listing as the complete scan left it
        assert (again.read, again.unchanged, again.gone) == (0, 1, 0)
        fixture = next(folder.glob("*.mp3"))
        os.utime(fixture, ns=(fixture.stat().st_atime_ns, fixture.stat().st_mtime_ns + 10**9))
        assert scan(store, [folder]).read == 1
