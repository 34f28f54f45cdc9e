"""Catalogue: `mediahub scan` over 2,000 audio files against a bare mutagen loop.

The floor is mutagen opening every file and nothing else. mediahub's first
scan also walks the folders, hashes every file (SHA-256), checks ID3 frame
sizes and writes one row per file; the target is within 1.5x of the floor.
An unchanged rescan opens no file at all; the target is 50x faster than the
first scan.
"""

from __future__ import annotations

import random
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import mutagen

from bench.common import WORK, alternate, machine
from mediahub.catalog import tags
from mediahub.catalog.scan import audio_files, scan
from mediahub.model import Chapter, TagSet
from mediahub.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "data" / "audio"
SOURCES = ("tagged-v24.mp3", "vbr.mp3", "tagged.m4a", "tagged.ogg", "tagged.opus", "tagged.flac")
WORDS = [
    "quiet",
    "leader",
    "feedback",
    "listening",
    "writing",
    "deciding",
    "coaching",
    "manager",
    "habit",
    "question",
]


def make_workload(root: Path, count: int, seed: int = 7) -> list[Path]:
    """``count`` files copied from the fixtures, each with its own tags, 20 to a folder."""
    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(seed)
    art = bytes(rng.getrandbits(8) for _ in range(30_000))
    files = []
    for index in range(count):
        source = FIXTURES / SOURCES[index % len(SOURCES)]
        target = root / f"show-{index // 20:03d}" / f"episode-{index:05d}{source.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))).capitalize()
        chapters = tuple(Chapter(float(s), f"Part {s}") for s in range(rng.randint(0, 2)))
        values = TagSet(
            title=title,
            artist=rng.choice(("Maya Lindqvist", "Sam Okafor", "Ada Byron")),
            album="The Quiet Leader",
            date=f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            comment=" ".join(rng.choice(WORDS) for _ in range(30)),
            guid=f"urn:uuid:{rng.getrandbits(128):032x}",
            artwork=art if index % 4 == 0 else None,
            chapters=chapters,
        )
        tags.write(target, values)
        files.append(target)
    return files


def main(argv: list[str]) -> str:
    count = 2000
    for arg in argv:
        if arg.startswith("--files="):
            count = int(arg.split("=", 1)[1])
    work = WORK / "catalogue"
    root = work / "media"
    print(f"catalogue: making {count} tagged files", flush=True)
    files = make_workload(root, count)
    assert len(audio_files(root)) == count
    databases = iter(range(1_000_000))

    def first_scan() -> None:
        db = work / f"first-{next(databases)}.db"
        with Store(db) as store:
            result = scan(store, [root])
        assert result.read == count, result.problems[:3]
        db.unlink()
        for extra in ("-wal", "-shm"):
            Path(f"{db}{extra}").unlink(missing_ok=True)

    def bare_mutagen() -> None:
        for path in files:
            mutagen.File(path)

    warm_db = work / "warm.db"
    for stale in work.glob("*.db*"):
        stale.unlink()
    with Store(warm_db) as store:
        scan(store, [root])

    def rescan() -> None:
        with Store(warm_db) as store:
            result = scan(store, [root])
        assert result.unchanged == count and result.read == 0

    # CPU time too: on a shared machine it is far steadier than wall time.
    cpu: dict[str, list[float]] = {"scan": [], "floor": []}

    def cpu_timed(name: str, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            start = time.process_time()
            fn()
            cpu[name].append(time.process_time() - start)

        return run

    first = alternate(
        "first scan vs bare mutagen loop",
        "mediahub scan",
        cpu_timed("scan", first_scan),
        "mutagen.File loop",
        cpu_timed("floor", bare_mutagen),
        runs=7,
    )
    cpu_ratios = [a / b for a, b in zip(cpu["scan"][1:], cpu["floor"][1:], strict=True)]
    again = alternate(
        "unchanged rescan vs first scan", "rescan", rescan, "first scan", first_scan, runs=7
    )
    over_floor = [a / b for a, b in zip(first.a_times, first.b_times, strict=True)]
    faster = again.ratios
    lines = [
        "## Catalogue",
        "",
        f"{count} audio files (MP3 CBR/VBR, M4A, Ogg Vorbis, Opus, FLAC; a quarter with "
        f"30 KB artwork, some with chapters), 7 alternating runs after a warm-up. {machine()}.",
        "",
        "| measure | mediahub | compared with | ratio (median, min-max) | target |",
        "|---|---|---|---|---|",
        f"| first scan / bare mutagen loop | {statistics.median(first.a_times):.2f} s "
        f"| {statistics.median(first.b_times):.2f} s | **{statistics.median(over_floor):.2f}x** "
        f"({min(over_floor):.2f}-{max(over_floor):.2f}) | ≤ 1.5x |",
        f"| same, CPU time | {statistics.median(cpu['scan'][1:]):.2f} s "
        f"| {statistics.median(cpu['floor'][1:]):.2f} s | **{statistics.median(cpu_ratios):.2f}x** "
        f"({min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}) | ≤ 1.5x |",
        f"| unchanged rescan, times faster than first scan | "
        f"{statistics.median(again.a_times) * 1000:.0f} ms "
        f"| {statistics.median(again.b_times):.2f} s | **{statistics.median(faster):.0f}x** "
        f"({min(faster):.0f}-{max(faster):.0f}) | ≥ 50x |",
        "",
    ]
    return "\n".join(lines)
