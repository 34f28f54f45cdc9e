"""Atomic file writes: a reader sees the old file or the new one, never a mix."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes, durable: bool = True, mkdir: bool = True) -> None:
    """Replace ``path`` whole via a temp file in the same folder and ``os.replace``.

    ``durable`` adds an fsync so the new bytes survive a power cut, not only a
    killed process; regenerable outputs can skip it.
    """
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` whole, keeping its mtime (so an unchanged copy is skipped)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copy2(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def link_or_copy_atomic(source: Path, target: Path) -> None:
    """Publish ``source`` at ``target`` as a hard link (no bytes copied), else as a copy.

    mediahub never edits a source file in place (tags are written to a copy that
    replaces it), so a link stays a faithful snapshot of what was published.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
    try:
        tmp.unlink(missing_ok=True)
        os.link(source, tmp)
    except OSError:
        copy_atomic(source, target)
        return
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def same_file_content(source: Path, target: Path) -> bool:
    """Cheap "unchanged" test for copies and links: same size and mtime (copy2 keeps it)."""
    try:
        a, b = source.stat(), target.stat()
    except OSError:
        return False
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


def remove_abandoned(folder: Path, prefix: str) -> None:
    """Remove the folders named ``<prefix><pid>...`` in ``folder`` whose process is gone:
    what a killed command left while it staged its work.

    One whose PID is alive (still running, or a reused PID) is left alone.
    """
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except (PermissionError, OverflowError):
            continue


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (made if missing), waiting for it.

    Between processes: a ``mediahub build`` and a running server's rebuilds, or the
    server's worker processes, never write the same output folder at once. Not
    reentrant within a process (each call opens its own descriptor).
    """
    import fcntl

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
