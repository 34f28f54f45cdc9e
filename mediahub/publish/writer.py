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
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mediahub.errors import MediahubError
from mediahub.files import (
    link_or_copy_atomic,
    remove_abandoned,
    same_file_content,
    write_bytes_atomic,
)
from mediahub.parallel import default_workers, fork_imap


class OutputError(MediahubError):
    """A build wrote outside its folder or one path twice: a bug, not a user error."""


class RenderError(MediahubError):
    """A page could not be rendered: usually a mistake in a template the hub overrides."""


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    rendered: int = 0


def _render_share(
    writer: Writer, folders: list[list[str]]
) -> tuple[tuple[int, int, int], MediahubError | None]:
    """In a worker: render and write a share of the outputs, a folder's outputs together
    (so no two workers create one folder); return counts and any error."""
    stats = WriteStats()
    try:
        for rels in folders:
            for rel in rels:
                writer._write_one(rel, writer.planned[rel], stats, durable=False)
    except MediahubError as exc:
        return (stats.written, stats.unchanged, stats.rendered), exc
    return (stats.written, stats.unchanged, stats.rendered), None


# Chunks of outputs per worker in a forked commit: small enough that the last one
# leaves a worker idle briefly, large enough that handing them out costs little.
_CHUNKS_PER_WORKER = 32

# Path segments after which a site path is not in normal form ("" from a leading,
# doubled or trailing "/").
_ODD_PARTS = frozenset(("", ".", ".."))


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
    _made_dirs: set[str] = field(default_factory=set)
    # Where files go while committing: the output folder, or its staging sibling.
    _root: Path = field(init=False)
    _fresh: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self._root = self.output

    def _check(self, rel: str) -> str:
        if _ODD_PARTS.isdisjoint(rel.split("/")):
            key = rel  # already in normal form (almost every path): PurePosixPath is slow
        else:
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
        """Every output with its input key ('' for copies and bytes), to record once written.

        The next build renders a lazy output again only if its key changed, and
        removes what this build wrote but the next one no longer plans.
        """
        return {
            rel: item.key if isinstance(item, _Lazy) else "" for rel, item in self.planned.items()
        }

    def commit(
        self,
        last: tuple[str, ...] = (),
        workers: int | None = None,
        meanwhile: Callable[[], object] | None = None,
        check: Callable[[], object] | None = None,
    ) -> WriteStats:
        """Write everything planned, ``last`` paths at the end, then remove stale files.

        Into a missing (or empty) output folder, everything is written into a hidden
        sibling folder that is renamed into place at the end: readers see no site or a
        whole one, and no file needs a temporary name of its own. Otherwise each changed
        file is replaced atomically. Outputs to render are shared among ``workers`` forked
        processes (default: one per core when there is enough to do); the ``last`` ones
        are written by this process, after the others (into a hidden folder, where every
        file appears at the same moment, while the workers write).
        ``meanwhile`` is the caller's own work, done while the workers write (or first,
        with none).

        ``check`` (say, the feed rules) runs before any output can be seen and may raise
        to abandon the commit, leaving the output folder as it was. Into an existing
        folder it runs before anything is written. Into a new one it runs here while the
        workers write into the hidden sibling, which costs a first build no time of its
        own: the workers leave the ``last`` outputs (what ``check`` reads) to this
        process, which writes them once ``check`` has passed.
        """
        stats = WriteStats()
        fresh = _missing_or_empty(self.output)
        if check is not None and not fresh:
            check()
        remove_abandoned(self.output.parent, f".{self.output.name}.building-")
        if fresh:
            self._root = self.output.parent / f".{self.output.name}.building-{os.getpid()}"
            shutil.rmtree(self._root, ignore_errors=True)  # a killed build's leftovers
            self._root.mkdir(parents=True)
        self._fresh = fresh
        final = [p for p in last if p in self.planned]

        def own_work() -> None:
            """This process's part while the workers write: into a new folder, the check
            and then the ``last`` outputs (nobody sees any file before the rename, so
            order is moot there); the caller's ``meanwhile`` in any case."""
            if fresh:
                if check is not None:
                    check()
                for rel in final:
                    self._write_one(rel, self.planned[rel], stats, durable=False)
            if meanwhile is not None:
                meanwhile()

        try:
            body = [p for p in self.planned if p not in last]
            # Into a new folder every file is new work for the workers, copies too;
            # into an existing one, copies are mostly unchanged: a stat each, here.
            todo = body if fresh else [p for p in body if self.needs_render(p)]
            count = workers if workers is not None else default_workers(len(todo))
            if count > 1:
                done = self._commit_forked(todo, count, stats, own_work)
                body = [p for p in body if p not in done]
            else:
                own_work()
            for rel in body:
                self._write_one(rel, self.planned[rel], stats, durable=False)
            if not fresh:
                for rel in final:
                    self._write_one(rel, self.planned[rel], stats, durable=True)
            if fresh:
                with contextlib.suppress(FileNotFoundError):
                    self.output.rmdir()  # empty, as checked above
                os.rename(self._root, self.output)
        finally:
            if fresh:
                shutil.rmtree(self._root, ignore_errors=True)
            self._root, self._fresh = self.output, False
        if not fresh:
            self._remove_stale(stats)
        return stats

    def materialize(self, rel: str) -> bytes:
        """Render a planned output now (to check it before anything is written)."""
        item = self.planned[rel]
        if not isinstance(item, _Lazy):
            return item.read_bytes() if isinstance(item, Path) else item
        rendered = item.render()
        data = rendered.encode("utf-8") if isinstance(rendered, str) else rendered
        self.planned[rel] = _Lazy(item.key, lambda: data)
        return data

    def needs_render(self, rel: str) -> bool:
        item = self.planned[rel]
        if not isinstance(item, _Lazy):
            return False
        return self.previous_keys.get(rel) != item.key or not (self.output / rel).is_file()

    def _commit_forked(
        self,
        todo: list[str],
        workers: int,
        stats: WriteStats,
        meanwhile: Callable[[], object] | None,
    ) -> set[str]:
        """Render and write ``todo`` in forked workers that inherit this plan.

        Outputs are grouped by folder (each worker creates the folders of its groups,
        in parallel, not here beforehand; the top folders are made here, once) and the
        groups handed out in small chunks to whichever worker is free: a page takes
        0.1 ms and a feed of 300 episodes 20 ms, so even shares dealt out in advance
        left one worker alone at the end for a tenth of a second. The shallowest
        folders come first, where the feeds, archives and sitemap are, so no big
        output is left for last.
        """
        by_folder: dict[str, list[str]] = {}
        for rel in todo:
            by_folder.setdefault(rel.rpartition("/")[0], []).append(rel)
        for folder in {f.partition("/")[0] for f in by_folder if f}:
            (self._root / folder).mkdir(parents=True, exist_ok=True)
        groups = sorted(by_folder.items(), key=lambda item: item[0].count("/") + bool(item[0]))
        chunks: list[list[list[str]]] = [[]]
        size = max(16, len(todo) // (workers * _CHUNKS_PER_WORKER))
        filled = 0
        for _, rels in groups:
            if filled >= size:
                chunks.append([])
                filled = 0
            chunks[-1].append(rels)
            filled += len(rels)
        first: MediahubError | None = None
        results = fork_imap(lambda chunk: _render_share(self, chunk), chunks, workers, meanwhile)
        for counts, error in results:
            stats.written += counts[0]
            stats.unchanged += counts[1]
            stats.rendered += counts[2]
            first = first or error
        if first is not None:
            raise first
        return set(todo)

    def _write_one(
        self, rel: str, payload: bytes | Path | _Lazy, stats: WriteStats, durable: bool
    ) -> None:
        # Plain strings here: this runs for every output, and building Path objects
        # for each cost more than the rest of this method.
        name = f"{self._root}/{rel}"
        folder = name.rpartition("/")[0]
        if folder not in self._made_dirs:
            _make_folder(folder)
            self._made_dirs.add(folder)
        if self._fresh:
            self._write_new(rel, name, payload, stats)
            return
        target = Path(name)
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
            payload_bytes = _render(rel, payload, stats)
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

    def _write_new(
        self, rel: str, target: str, payload: bytes | Path | _Lazy, stats: WriteStats
    ) -> None:
        """Into the fresh staging folder: nothing to compare with, nobody reading yet."""
        if isinstance(payload, Path):
            try:
                os.link(payload, target)  # no bytes copied (see link_or_copy_atomic)
            except OSError:
                shutil.copy2(payload, target)
        else:
            data = _render(rel, payload, stats) if isinstance(payload, _Lazy) else payload
            _create(target, data)
        stats.written += 1

    def _remove_stale(self, stats: WriteStats) -> None:
        """Remove what the last build wrote and this one no longer plans.

        With no record of the last complete build (a new store beside an old folder,
        or a build that was killed, maybe leaving temporary files), every file not
        planned goes.
        """
        if not self.output.is_dir():
            return
        if self.previous_keys:
            folders: set[Path] = set()
            for rel in self.previous_keys.keys() - self.planned.keys():
                path = self.output / rel
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    stats.removed += 1
                folders.update(p for p in path.parents if self.output in p.parents)
            for emptied in sorted(folders, key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):  # not empty: it holds planned files
                    emptied.rmdir()
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


def _make_folder(folder: str) -> None:
    """``mkdir -p``, trying the common case (the parent exists) first."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        if not os.path.isdir(folder):
            raise
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)


def _create(name: str, data: bytes) -> None:
    """Write a new file (refusing an existing one) with three system calls: Python's
    ``open`` adds a stat, a terminal check and a seek to each of thousands of files."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _render(rel: str, payload: _Lazy, stats: WriteStats) -> bytes:
    try:
        rendered = payload.render()
    except MediahubError:
        raise
    except Exception as exc:  # a template error names the template and line
        where = _template_line(exc)
        raise RenderError(
            rel,
            f"could not be rendered: {type(exc).__name__}: {exc}"
            + (f" ({where})" if where else ""),
            "fix the template named here (a hub's own templates/ override the built-in)",
        ) from exc
    stats.rendered += 1
    return rendered.encode("utf-8") if isinstance(rendered, str) else rendered


def _missing_or_empty(folder: Path) -> bool:
    """Whether a build may write a new folder and rename it to ``folder`` (not when
    ``folder`` is a link: the link would be replaced, not what it points at)."""
    if folder.is_symlink():
        return False
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except FileNotFoundError:
        return True
    except NotADirectoryError:
        return False


def _template_line(exc: BaseException) -> str | None:
    """'post.html, line 3' for an error raised in a template (jinja2 rewrites the
    traceback so that its frames carry the template's file and line), else None."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".xml", ".atom")):
            found = f"{os.path.basename(name)}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return found
