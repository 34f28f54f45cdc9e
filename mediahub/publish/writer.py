"""The writer owns every output path of a build.

It refuses paths outside the output folder and a second write of the same
path, writes each file atomically and only when its bytes changed, skips
rendering an output whose input key is the one recorded at the last build,
and keeps the podcast feeds for last so no app sees a feed pointing at a
file not yet there.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mediahub.errors import MediahubError
from mediahub.files import link_or_copy_atomic, same_file_content, write_bytes_atomic


class OutputError(MediahubError):
    """A build wrote outside its folder or one path twice: a bug, not a user error."""


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    rendered: int = 0


@dataclass(frozen=True, slots=True)
class _Lazy:
    key: str
    render: Callable[[], str | bytes]


@dataclass
class Writer:
    output: Path
    # input keys recorded by the last successful build of this output folder
    previous_keys: Mapping[str, str] = field(default_factory=dict)
    planned: dict[str, bytes | Path | _Lazy] = field(default_factory=dict)
    _made_dirs: set[Path] = field(default_factory=set)

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

    def add_lazy(self, rel: str, key: str, render: Callable[[], str | bytes]) -> None:
        """Plan an output rendered only if its input key changed or the file is missing."""
        self.planned[self._check(rel)] = _Lazy(key, render)

    def copy(self, rel: str, source: Path) -> None:
        self.planned[self._check(rel)] = source

    def keys(self) -> dict[str, str]:
        """Input keys of the lazy outputs, to record once the build has been written."""
        return {rel: item.key for rel, item in self.planned.items() if isinstance(item, _Lazy)}

    def commit(self, last: tuple[str, ...] = ()) -> WriteStats:
        """Write everything planned, ``last`` paths at the end, then remove stale files."""
        stats = WriteStats()
        order = [p for p in self.planned if p not in last] + [p for p in last if p in self.planned]
        for rel in order:
            self._write_one(rel, self.planned[rel], stats, durable=rel in last)
        self._remove_stale(stats)
        return stats

    def _write_one(
        self, rel: str, payload: bytes | Path | _Lazy, stats: WriteStats, durable: bool
    ) -> None:
        target = self.output / rel
        if target.parent not in self._made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(target.parent)
        if isinstance(payload, Path):
            if same_file_content(payload, target):
                stats.unchanged += 1
                return
            link_or_copy_atomic(payload, target)
            stats.written += 1
            return
        if isinstance(payload, _Lazy):
            if self.previous_keys.get(rel) == payload.key and target.is_file():
                stats.unchanged += 1
                return
            rendered = payload.render()
            stats.rendered += 1
            payload_bytes = rendered.encode("utf-8") if isinstance(rendered, str) else rendered
        else:
            payload_bytes = payload
        try:
            if target.stat().st_size == len(payload_bytes) and target.read_bytes() == payload_bytes:
                stats.unchanged += 1
                return
        except OSError:
            pass
        write_bytes_atomic(target, payload_bytes, durable=durable, mkdir=False)
        stats.written += 1

    def _remove_stale(self, stats: WriteStats) -> None:
        if not self.output.is_dir():
            return
        root = str(self.output)
        for folder, dirs, files in os.walk(root, topdown=False):
            prefix = os.path.relpath(folder, root).replace(os.sep, "/")
            prefix = "" if prefix == "." else prefix + "/"
            for name in files:
                if prefix + name not in self.planned:
                    os.unlink(os.path.join(folder, name))
                    stats.removed += 1
            base = Path(folder)
            for name in dirs:
                with contextlib.suppress(OSError):  # not empty: it holds planned files
                    (base / name).rmdir()
