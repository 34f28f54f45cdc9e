"""Broken audio that test_catalog_scan.py does not already cover: cuts at many points, more
damaged ID3 headers, files that vanish or turn unreadable between listing and reading, a
FIFO named .mp3, and a recording replaced while ``episode add`` works on it.

Root ignores file permissions, so "unreadable" is made in ways that hold for root too:
the file is removed, or replaced by a directory of the same name, or is a FIFO (which
blocks whoever opens it for reading). The vanishing cases use a hook: the scan's own
``read_file`` is wrapped so that, just before the first file is read, a later file of
the same listing is removed or replaced. Everything else is real: real files, a real
SQLite store, the real CLI where a hang or traceback could only show there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mediahub import config as config_module
from mediahub.catalog import scan as scan_module
from mediahub.catalog import tags
from mediahub.catalog.episode import EpisodeRequest, add_episode
from mediahub.errors import AudioError, MediahubError
from mediahub.model import TagSet
from mediahub.store import Store
from tests.audio_fixtures import AUDIO, FORMATS, copy_fixture
from tests.conftest import copy_example_hub, run_cli

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: sha(p) for p in sorted(folder.iterdir()) if p.is_file()}


# ---------------------------------------------------------------------------- cut files


CUTS = (1, 10, 64, 200, 0.25, 0.5, 0.9, -1)


def _cut(data: bytes, at: float) -> bytes:
    if isinstance(at, float):
        return data[: int(len(data) * at)]
    return data[:at]  # a negative cut drops that many bytes from the end


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_a_file_cut_anywhere_is_read_or_named_never_a_crash(name: str, tmp_path: Path) -> None:
    """Every cut either still reads (audio players cope with a short tail) or raises an
    AudioError that names the file; the cut copies are never modified."""
    whole = (AUDIO / name).read_bytes()
    folder = tmp_path / "cuts"
    folder.mkdir()
    for at in CUTS:
        (folder / f"cut-{at}{Path(name).suffix}").write_bytes(_cut(whole, at))
    before = hashes(folder)
    named = 0
    for path in sorted(folder.iterdir()):
        try:
            info = tags.read(path, sha256=True)
        except AudioError as exc:
            assert exc.where == str(path) and exc.fix, exc.line()
            assert "\n" not in exc.line()
            named += 1
        else:
            assert info.size == path.stat().st_size and info.duration >= 0
    assert named >= 3  # at least the 1-, 10- and 64-byte cuts are refused by name
    with Store(tmp_path / "db.sqlite") as store:
        result = scan_module.scan(store, [folder])
    assert result.read + len(result.problems) == len(CUTS)
    assert all(isinstance(p, AudioError) for p in result.problems)
    assert hashes(folder) == before


def _id3_damage() -> dict[str, bytes]:
    """Damaged ID3v2 headers and frames, each made from the v2.4 and v2.3 fixtures."""
    v24 = (AUDIO / "tagged-v24.mp3").read_bytes()
    v23 = (AUDIO / "tagged-v23.mp3").read_bytes()
    cases: dict[str, bytes] = {}
    cases["tag-size-past-the-end"] = v24[:6] + b"\x7f\x7f\x7f\x7f" + v24[10:]
    cases["tag-size-zero"] = v24[:6] + b"\x00\x00\x00\x00" + v24[10:]
    cases["tag-size-not-syncsafe"] = v24[:6] + b"\xff\xff\xff\xff" + v24[10:]
    cases["frame-size-zero"] = v24[:14] + b"\x00\x00\x00\x00" + v24[18:]
    cases["frame-size-one-too-many"] = (
        v23[:14] + (int.from_bytes(v23[14:18]) + 1).to_bytes(4) + (v23[18:])
    )
    cases["frame-size-huge-v23"] = v23[:14] + b"\xff\xff\xff\xff" + v23[18:]
    cases["extended-header-flag-without-one"] = v24[:5] + b"\x40" + v24[6:]
    cases["unknown-major-version"] = v24[:3] + b"\x09" + v24[4:]
    cases["header-only"] = v24[:10]
    return cases


def test_damaged_id3_headers_are_named_and_the_scan_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "damaged"
    folder.mkdir()
    cases = _id3_damage()
    for label, data in cases.items():
        (folder / f"{label}.mp3").write_bytes(data)
    copy_fixture("tagged.flac", folder, as_name="zz-good.flac")
    before = hashes(folder)
    with Store(tmp_path / "db.sqlite") as store:
        result = scan_module.scan(store, [folder])
        for problem in result.problems:
            assert isinstance(problem, AudioError), problem
            assert problem.where.startswith(str(folder)), problem.line()
        catalogued = {info.path.name for info, _ in store.media_catalogue()}
    assert "zz-good.flac" in catalogued
    assert result.read + len(result.problems) == len(cases) + 1
    assert hashes(folder) == before


def test_a_50_mb_picture_is_refused_by_episode_add_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    hub = copy_example_hub(tmp_path / "hub")
    huge = copy_fixture("tagged-v23.mp3", tmp_path, as_name="huge.mp3")
    tags.write(huge, TagSet(title="Huge", artwork=b"\xff\xd8" + bytes(50 * 1024 * 1024)))
    before = sha(huge)
    episodes_before = sorted(p.name for p in (hub / "episodes").iterdir())
    result = run_cli("episode", "add", str(huge), cwd=hub)
    assert result.code == 2 and "Traceback" not in result.err
    [line] = result.err.strip().splitlines()
    assert f"{huge}: embeds a 50.0 MB picture" in line
    assert sha(huge) == before
    assert sorted(p.name for p in (hub / "episodes").iterdir()) == episodes_before


# ----------------------------------------------------------- files that change mid-scan


def _hooked_scan(
    monkeypatch: pytest.MonkeyPatch, folder: Path, tmp_path: Path, damage: Callable[[Path], None]
) -> tuple[scan_module.ScanResult, list[str], Path]:
    """Scan ``folder``; just before the first file is read, ``damage`` the last one listed."""
    listed = [Path(p) for p, _, _ in scan_module.audio_files(folder)]
    victim = listed[-1]
    original = scan_module.read_file
    calls: list[Path] = []

    def hooked(path: Path, sha256: bool = False) -> object:
        if not calls:
            damage(victim)
        calls.append(path)
        return original(path, sha256)

    monkeypatch.setattr(scan_module, "read_file", hooked)
    with Store(tmp_path / "db.sqlite") as store:
        result = scan_module.scan(store, [folder])
        catalogued = sorted(info.path.name for info, _ in store.media_catalogue())
    assert victim in calls[1:]  # the damaged file was listed, then read after the damage
    return result, catalogued, victim


def _library(folder: Path) -> list[str]:
    names = ["a.mp3", "b.m4a", "c.ogg", "d.flac", "e.mp3"]
    sources = ["tagged-v24.mp3", "tagged.m4a", "tagged.ogg", "tagged.flac", "vbr.mp3"]
    for name, source in zip(names, sources, strict=True):
        copy_fixture(source, folder, as_name=name)
    return names


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("removed", "cannot be read: No such file or directory"),
        ("directory", "cannot be read: Is a directory"),
        ("dangling-link", "cannot be read: No such file or directory"),
        ("emptied", "is empty (0 bytes)"),
        ("fifo", "is not a regular file"),
    ],
)
def test_a_file_that_vanishes_or_turns_unreadable_mid_scan_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str, problem: str
) -> None:
    folder = tmp_path / "media"
    names = _library(folder)

    def damage(victim: Path) -> None:
        victim.unlink()
        if how == "directory":
            victim.mkdir()
        elif how == "dangling-link":
            victim.symlink_to(folder / "nowhere.mp3")
        elif how == "emptied":
            victim.write_bytes(b"")
        elif how == "fifo":
            os.mkfifo(victim)

    result, catalogued, victim = _hooked_scan(monkeypatch, folder, tmp_path, damage)
    [error] = result.problems
    assert isinstance(error, AudioError)
    assert error.line().startswith(f"{victim}: {problem}"), error.line()
    assert catalogued == [name for name in names if name != victim.name]
    assert result.read == len(names) - 1


# ----------------------------------------------------------------- a FIFO named .mp3


def test_a_fifo_named_mp3_neither_hangs_scan_nor_show_nor_add(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes: mediahub must not open it."""
    hub = copy_example_hub(tmp_path / "hub")
    fifo = hub / "episodes" / "incoming" / "live.mp3"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    copy_fixture("tagged.opus", fifo.parent)
    for args in (["scan"], ["episode", "show", str(fifo)], ["episode", "add", str(fifo)]):
        try:
            result = run_cli(*args, cwd=hub, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"mediahub {' '.join(args)} hung on a FIFO")
        assert result.code == 2, result.err
        assert "Traceback" not in result.err
        lines = [line for line in result.err.splitlines() if str(fifo) in line]
        assert len(lines) == 1 and "is not a regular file" in lines[0], result.err
    assert not [p for p in (hub / "episodes").iterdir() if p.name.startswith(".add-")]


# --------------------------------------------------- a recording replaced during `add`


def _config(tmp_path: Path) -> config_module.Config:
    hub = copy_example_hub(tmp_path / "hub")
    return config_module.load(hub)


def _replace_with(target: Path, donor: Path) -> None:
    """What an editor's "export again" does: a new file renamed over the old name."""
    tmp = target.with_name(".replacing")
    shutil.copyfile(donor, tmp)
    os.replace(tmp, target)


def test_a_recording_replaced_before_it_is_copied_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Read (tags, duration, hash) then copy: if the file changed in between, the episode
    would mix the old file's metadata with the new file's audio. It is refused instead."""
    config = _config(tmp_path)
    recording = copy_fixture("tagged-v24.mp3", tmp_path / "rec", as_name="talk.mp3")
    donor = copy_fixture("vbr.mp3", tmp_path / "donor")
    real_copyfile = shutil.copyfile
    replaced: list[Path] = []

    def copy_after_replacing(src: Path, dst: Path, **kwargs: bool) -> Path:
        if Path(src) == recording and not replaced:
            _replace_with(recording, donor)
            replaced.append(recording)
        return real_copyfile(src, dst, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", copy_after_replacing)
    before = sorted(p.name for p in config.paths.episodes.iterdir())
    with pytest.raises(AudioError) as caught:
        add_episode(config, EpisodeRequest(audio=recording, title="Changing"), NOW)
    assert replaced
    assert caught.value.where == str(recording)
    assert "changed while it was being added" in caught.value.problem
    assert sorted(p.name for p in config.paths.episodes.iterdir()) == before
    assert sha(recording) == sha(donor)  # the user's new file is left exactly as they wrote it


def test_a_recording_replaced_while_tags_are_written_keeps_both_intact(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Tags are written to a private copy, so replacing the original mid-write changes
    nothing we made: the episode holds the first version, the original path the second."""
    config = _config(tmp_path)
    recording = copy_fixture("tagged-v24.mp3", tmp_path / "rec", as_name="talk.mp3")
    first = sha(recording)
    donor = copy_fixture("vbr.mp3", tmp_path / "donor")
    real_write = tags.write

    def write_while_replacing(path: Path, values: TagSet, **kwargs: object) -> None:
        _replace_with(recording, donor)
        real_write(path, values, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tags, "write", write_while_replacing)  # the module episode.py calls
    added = add_episode(config, EpisodeRequest(audio=recording, title="Steady"), NOW)
    assert sha(recording) == sha(donor)
    assert first != sha(donor)
    info = tags.read(added.audio.path)
    assert info.title == "Steady"
    original = tags.read(AUDIO / "tagged-v24.mp3")
    assert abs(info.duration - original.duration) < 0.05


def test_a_killed_add_leaves_a_staging_folder_that_the_next_add_removes(tmp_path: Path) -> None:
    """A staging folder whose process is gone is swept by the next ``episode add``."""
    hub = copy_example_hub(tmp_path / "hub")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = hub / "episodes" / f".add-{dead.pid}-killed-episode-x1y2"
    stale.mkdir()
    (stale / "half.mp3").write_bytes(b"\xff\xfb" * 100)
    alive = hub / "episodes" / f".add-{os.getpid()}-running-episode-x1y2"
    alive.mkdir()
    recording = copy_fixture("tagged-v24.mp3", tmp_path / "rec", as_name="talk.mp3")
    result = run_cli("episode", "add", str(recording), "--title", "After a kill", cwd=hub)
    assert result.code == 0, result.err
    assert not stale.exists()
    assert alive.is_dir()  # its process (this test) is still running


def test_every_broken_input_is_a_mediahub_error(tmp_path: Path) -> None:
    """The sum of the above through ``episode show``: each one line, exit 2, no traceback."""
    folder = tmp_path / "bad"
    folder.mkdir()
    for label, data in _id3_damage().items():
        (folder / f"{label}.mp3").write_bytes(data)
    (folder / "cut.m4a").write_bytes((AUDIO / "tagged.m4a").read_bytes()[:200])
    (folder / "dir.mp3").mkdir()
    for path in sorted(folder.iterdir()):
        result = run_cli("episode", "show", str(path), cwd=tmp_path)
        assert result.code in (0, 2), result.err
        assert "Traceback" not in result.err
        if result.code == 2:
            assert len(result.err.strip().splitlines()) == 1, result.err
            assert str(path) in result.err
    assert issubclass(AudioError, MediahubError)
