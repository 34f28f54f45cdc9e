"""The writer owns every output path of a build.

It refuses paths outside the output folder and a second write of the same
path, writes each file atomically and only when its bytes changed, and keeps
the podcast feed for last so no app sees a feed pointing at a missing file.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mediahub.errors import MediahubError
from mediahub.files import copy_atomic, same_file_content, write_bytes_atomic


class OutputError(MediahubError):
    """A build wrote outside its folder or one path twice: a bug, not a user error."""


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass
class Writer:
    output: Path
    planned: dict[str, bytes | Path] = field(default_factory=dict)

    def _check(self, rel: str) -> str:
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise OutputError(
                rel, "is outside the output folder", "this is a bug in a template or theme"
            )
        key = str(pure)
        if key in self.planned:
            raise OutputError(rel, "is written twice in one build", "two entries share one URL")
        return key

    def add(self, rel: str, data: bytes | str) -> None:
        self.planned[self._check(rel)] = data.encode("utf-8") if isinstance(data, str) else data

    def copy(self, rel: str, source: Path) -> None:
        self.planned[self._check(rel)] = source

    def commit(self, last: tuple[str, ...] = ()) -> WriteStats:
        """Write everything planned, ``last`` paths at the end, then remove stale files."""
        stats = WriteStats()
        order = [p for p in self.planned if p not in last] + [p for p in last if p in self.planned]
        for rel in order:
            self._write_one(rel, self.planned[rel], stats)
        self._remove_stale(stats)
        return stats

    def _write_one(self, rel: str, payload: bytes | Path, stats: WriteStats) -> None:
        target = self.output / rel
        if isinstance(payload, Path):
            if same_file_content(payload, target):
                stats.unchanged += 1
                return
            copy_atomic(payload, target)
        else:
            try:
                if target.stat().st_size == len(payload) and target.read_bytes() == payload:
                    stats.unchanged += 1
                    return
            except OSError:
                pass
            write_bytes_atomic(target, payload)
        stats.written += 1

    def _remove_stale(self, stats: WriteStats) -> None:
        if not self.output.is_dir():
            return
        for folder, dirs, files in os.walk(self.output, topdown=False):
            base = Path(folder)
            for name in files:
                rel = (base / name).relative_to(self.output).as_posix()
                if rel not in self.planned:
                    (base / name).unlink()
                    stats.removed += 1
            for name in dirs:
                with contextlib.suppress(OSError):
                    (base / name).rmdir()
