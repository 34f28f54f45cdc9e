"""The catalogue: every audio file under the hub's folders, read once and kept in the store.

A scan compares each file's size and mtime with its row and opens only new or
changed files; files no longer on disk are marked gone. One bad file is a
problem in the result, never the end of the scan.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mediahub.catalog import tags
from mediahub.catalog.tags import AUDIO_SUFFIXES
from mediahub.errors import AudioError, MediahubError
from mediahub.model import AudioInfo
from mediahub.store import Store

log = logging.getLogger(__name__)
# Rows are written in batches: one transaction per file would dominate a first scan.
_BATCH = 256

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What a scan did: files read, unchanged, newly gone, and the problems met."""

    read: int
    unchanged: int
    gone: int
    problems: list[MediahubError] = field(default_factory=list)


def read_file(path: Path, sha256: bool = False) -> AudioInfo:
    """Everything tags.read finds, plus the file's SHA-256 when asked.

    Tags and stream info sit in a file's first and last kilobytes; the hash reads
    every byte (gigabytes for a back catalogue), so only the commands that need it
    ask: ``episode add`` (is the copy the file that was read?) and ``episode show``.

    Only regular files are opened: opening a FIFO named like audio blocks until
    something writes to it, which would hang a scan, a build or ``episode add``.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise AudioError(str(path), f"cannot be read: {exc.strerror}", "check the path") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a folder gets its own message
        raise AudioError(
            str(path),
            "is not a regular file (a pipe, socket or device)",
            "give the path of an audio file",
        )
    return tags.read(path, sha256=sha256)


def audio_info(
    store: Store, path: Path, save: Callable[[AudioInfo], None] | None = None
) -> AudioInfo:
    """Metadata of ``path``: from the store if the file is unchanged, else read and saved
    (by ``save`` when given, say to store many in one transaction; else at once)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise AudioError(str(path), f"cannot be read: {exc.strerror}", "check the path") from None
    cached = store.cached_media(path, stat.st_size, stat.st_mtime_ns)
    if cached is not None:
        return cached
    info = read_file(path)
    if save is not None:
        save(info)
    else:
        store.save_media(info)
    return info


def audio_files(root: Path) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every audio file under ``root``, hidden folders skipped.

    Plain strings, not Path objects: on an unchanged rescan building Paths would
    cost more than everything else together.
    """
    found: list[tuple[str, int, int]] = []
    folders = [str(root)]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            elif name[name.rfind(".") :].lower() in AUDIO_SUFFIXES:
                try:
                    stat = entry.stat()
                    found.append((entry.path, stat.st_size, stat.st_mtime_ns))
                except OSError:
                    # A dangling link or a file removed mid-scan: let read() name the problem.
                    found.append((entry.path, -1, -1))
    return found


def scan(
    store: Store, roots: Sequence[Path], progress: Progress | None = None, sha256: bool = False
) -> ScanResult:
    """Bring the catalogue up to date with the files under ``roots``.

    With ``progress`` (a terminal) each file is reported to it; without, each file
    read is logged, one line per file. ``sha256`` also hashes every file (read again
    if it was catalogued without its hash).
    """
    found = sorted(item for root in roots for item in audio_files(root))
    # Every path, size and mtime as the last complete scan saw them: then every row
    # is still right and not one needs comparing (a rescan is mostly this listing).
    roots_key = "\n".join(sorted(str(root) for root in roots))
    listing = hashlib.blake2b(repr(found).encode(), digest_size=16).hexdigest()
    if not sha256 and store.last_scan(roots_key) == listing:
        return ScanResult(read=0, unchanged=len(found), gone=0)
    store.save_scan(roots_key, None)  # until this scan completes
    stamps = store.media_stamps(hashed=sha256)
    seen: set[str] = set()
    pending: list[AudioInfo] = []
    problems: list[MediahubError] = []
    read = unchanged = 0
    total = len(found)
    for done, (key, size, mtime_ns) in enumerate(found, start=1):
        seen.add(key)
        if progress is not None:
            progress(done, total, key)
        if stamps.get(key) == (size, mtime_ns, 0):
            unchanged += 1
            continue
        path = Path(key)
        try:
            pending.append(read_file(path, sha256=sha256))
        except MediahubError as exc:
            problems.append(exc)  # the caller reports problems, once, at the end
            continue
        read += 1
        if progress is None:
            log.info("read %s", path)
        if len(pending) >= _BATCH:
            store.save_media_many(pending)
            pending.clear()
    if pending:
        store.save_media_many(pending)
    gone = [
        key
        for key, (_, _, was_gone) in stamps.items()
        if not was_gone and key not in seen and any(_under(key, root) for root in roots)
    ]
    if gone:
        store.mark_media_gone(gone)
    if not problems:  # a file that could not be read must be tried again next time
        store.save_scan(roots_key, listing)
    return ScanResult(read=read, unchanged=unchanged, gone=len(gone), problems=problems)


def _under(path: str, root: Path) -> bool:
    return path.startswith(str(root).rstrip(os.sep) + os.sep)
