"""Shared measuring: alternate runs (A B A B ...), medians, pairwise ratios, peak RSS."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"
WORK = HERE / ".work"  # generated workloads and peer virtualenvs (git-ignored)


@dataclass
class Comparison:
    """Medians of A and B and the median of the pairwise ratios B/A (how many times A is faster)."""

    name: str
    a_label: str
    b_label: str
    a_times: list[float]
    b_times: list[float]

    @property
    def ratios(self) -> list[float]:
        return [b / a for a, b in zip(self.a_times, self.b_times, strict=True) if a > 0]

    def row(self) -> str:
        r = self.ratios
        return (
            f"| {self.name} | {self.a_label} {statistics.median(self.a_times):.3f} s | "
            f"{self.b_label} {statistics.median(self.b_times):.3f} s | "
            f"**{statistics.median(r):.1f}x** (min {min(r):.1f}, max {max(r):.1f}) |"
        )


def alternate(
    name: str,
    a_label: str,
    a: Callable[[], object],
    b_label: str,
    b: Callable[[], object],
    runs: int = 5,
    warmup: int = 1,
    prepare_a: Callable[[], object] | None = None,
    prepare_b: Callable[[], object] | None = None,
) -> Comparison:
    """Run a and b alternately after a warm-up; a is mediahub, b the peer.

    ``prepare_a``/``prepare_b`` run untimed before each run of a/b (as hyperfine's
    ``--prepare``): removing the last run's output, say, is not part of a build.
    """
    steps = ((a, prepare_a), (b, prepare_b))
    for _ in range(warmup):
        for fn, prepare in steps:
            if prepare:
                prepare()
            fn()
    a_times: list[float] = []
    b_times: list[float] = []
    for _ in range(runs):
        for (fn, prepare), times in zip(steps, (a_times, b_times), strict=True):
            if prepare:
                prepare()
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return Comparison(name, a_label, b_label, a_times, b_times)


TRASH = WORK / "trash"


def set_aside(path: Path) -> None:
    """Move a run's output out of the way instead of deleting it (see ``empty_trash``).

    Deleting thousands of files just before a timed run slows the run that follows on
    an ext4 without a journal (this VM's disk): allocating an inode then skips every
    inode freed in the last one to five minutes, one buffer lookup each
    (``recently_deleted`` in ext4's ialloc.c; ``perf`` showed 60% of a build's time
    there). The penalty grows with the files just deleted times the files being made,
    so it fell hardest on the side that writes the most files. Renaming is one
    metadata write and frees no inode.
    """
    if not path.exists() and not path.is_symlink():
        return
    TRASH.mkdir(parents=True, exist_ok=True)
    path.rename(TRASH / f"{time.monotonic_ns()}-{path.name}")


def empty_trash() -> None:
    """Delete what ``set_aside`` kept; called once all runs are measured."""
    import shutil

    shutil.rmtree(TRASH, ignore_errors=True)


def byte_compile() -> None:
    """Compile mediahub's modules, as installing it would: with PYTHONDONTWRITEBYTECODE
    set, a checkout is otherwise compiled from source on every run (tens of ms a
    start, which the peers, installed by pip, never pay)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(HERE.parent / "mediahub")],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def settle() -> None:
    """Flush what earlier steps wrote, so a run does not pay for the one before."""
    os.sync()


def timed_command(
    argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of a child process."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - start, max(after, before)


def peer_venv(name: str, *packages: str) -> Path:
    """A virtualenv of its own for a peer, so peers never enter mediahub's dependencies."""
    venv = WORK / f"venv-{name}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
    return python


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}"
    )


def write_summary() -> None:
    parts = ["# Benchmark results", "", f"Machine: {machine()}", ""]
    for path in sorted(RESULTS.glob("*.md")):
        parts.append(path.read_text(encoding="utf-8").rstrip())
        parts.append("")
    (HERE / "results.md").write_text("\n".join(parts), encoding="utf-8")
