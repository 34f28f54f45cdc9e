"""The build stamp: how ``mediahub build`` tells in a few milliseconds that nothing
changed since the last complete build, before it loads the configuration, the
store, the model or the templates.

Why: the full path's no-change check (publish/site.py) is right but costs about
0.16 s on 2,000 episodes and 2,000 posts, most of it imports, listing every
content folder and reading every template. Like make or ninja, a build records
what it read by stat, and the next command compares those stats first.

A stamp (``.mediahub/build.stamp``, marshal) is written by the full path after a
complete build, or after its own no-change check found the last one still
right, and holds:

- mediahub's version and the folder it runs from, the hub's resolved root, and
  the ``--url`` the command was given;
- every input file by size and mtime_ns (mediahub.toml, the cover image, every
  file of every episode folder, every post, every template and static file, the
  built-in ones too, and model.py, which the parse cache's key depends on), each
  recorded before the build read it;
- every folder whose listing the build depends on by mtime_ns, recorded before
  it was listed (an added, removed or renamed entry changes it, so the check
  lists nothing): the episodes folder, each episode folder, each posts folder,
  each template folder; and inputs that were missing (a later templates/ is seen);
- the sources token (store/changes.py), read before the sources were;
- when the next scheduled entry comes due, the outputs that must still exist,
  and the counts the command prints.

``unchanged`` holds the build lock, as a build does, and answers only if all of
it still holds; anything else (no stamp, a damaged one, another version, one
mismatch) sends the command down the full path, which stays the reference.
Any build that goes on to write the site removes the stamp first.

Racy entries, as in git's index: a file changed twice within one tick of the
file system's clock keeps its mtime. So no stamp is written while any recorded
mtime is less than ``RACY_NS`` older than the recording; the next no-change
build writes it. Only hubs whose state folder is the default one get a stamp:
the check must find it without reading mediahub.toml.

Light to import on purpose: os, marshal and fcntl only (plus sqlite3 to read the
token); no typing, pathlib or dataclasses.
"""

from __future__ import annotations

import marshal
import os
import stat
import time

import mediahub

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from typing import Any

# Names under the hub's root; mediahub/config.py's defaults (a test checks they agree).
STATE = ".mediahub"
LOCK = "output.lock"
DATABASE = "mediahub.db"
STAMP = "build.stamp"
FORMAT = 1
# Two seconds: more than the mtime granularity of the file systems a hub lives on.
RACY_NS = 2_000_000_000


def _package() -> str:
    return os.path.dirname(os.path.abspath(mediahub.__file__))


class Inputs:
    """What a build read, by stat, each recorded before it was read."""

    __slots__ = ("began", "files", "folders", "missing", "token", "usable")

    def __init__(self) -> None:
        self.began = time.time_ns()
        self.files: list[tuple[str, int, int]] = []  # (path, size, mtime_ns)
        self.folders: list[tuple[str, int]] = []  # (path, mtime_ns)
        self.missing: list[str] = []
        self.usable = True  # False: something could not be read, so no stamp
        self.token: str | None = None

    def _stat(self, path: str) -> os.stat_result | None:
        """``os.stat``, or None with the path noted as missing (or the stamp unusable)."""
        try:
            return os.stat(path)
        except FileNotFoundError:
            self.missing.append(path)
        except OSError:
            self.usable = False
        return None

    def file(self, path: str) -> None:
        info = self._stat(path)
        if info is not None:
            self.files.append((path, info.st_size, info.st_mtime_ns))

    def folder(self, path: str) -> bool:
        """Record a folder before it is listed; False if it is not one."""
        info = self._stat(path)
        if info is None:
            return False
        if not stat.S_ISDIR(info.st_mode):
            self.usable = False
            return False
        self.folders.append((path, info.st_mtime_ns))
        return True

    def tree(self, root: str) -> None:
        """A folder and everything under it, following links to folders (each once)."""
        seen: set[tuple[int, int]] = set()
        stack = [root]
        while stack:
            folder = stack.pop()
            info = self._stat(folder)
            if info is None:
                continue
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            if not stat.S_ISDIR(info.st_mode):
                self.files.append((folder, info.st_size, info.st_mtime_ns))
                continue
            self.folders.append((folder, info.st_mtime_ns))
            try:
                with os.scandir(folder) as entries:
                    names = [(entry.path, entry.is_dir()) for entry in entries]
            except OSError:
                self.usable = False
                continue
            for path, is_dir in names:
                if is_dir:
                    stack.append(path)
                else:
                    self.file(path)

    def racy(self) -> bool:
        """Is any recorded mtime too close to the recording to tell later edits apart?"""
        limit = self.began - RACY_NS
        return any(m >= limit for _, _, m in self.files) or any(m >= limit for _, m in self.folders)


def state_folder(root: str) -> str:
    return os.path.join(root, STATE)


def remove(state: str) -> None:
    """Forget the stamp (a build is about to write the site)."""
    from contextlib import suppress

    with suppress(FileNotFoundError):
        os.unlink(os.path.join(state, STAMP))


def due_ns(when: datetime | None) -> int | None:
    """A scheduled time as nanoseconds since the epoch, exactly (datetimes hold µs)."""
    if when is None:
        return None
    from datetime import UTC, datetime, timedelta

    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def write(
    root: str,
    inputs: Inputs,
    *,
    url: str | None,
    output: str,
    due: int | None,
    outputs: Sequence[str],
    counts: tuple[int, int, int],
) -> bool:
    """Record a complete build (or one found unchanged) that read ``inputs``; False
    (and no stamp) if the inputs cannot vouch for it (see the module docstring)."""
    from mediahub.files import write_bytes_atomic

    state = state_folder(root)
    if not inputs.usable or inputs.token is None or not outputs or inputs.racy():
        remove(state)
        return False
    # Paths under the root are kept relative to it: shorter to load, and a stat from
    # a descriptor of the root walks fewer folders (an absolute path ignores it).
    prefix = os.path.join(root, "")
    cut = len(prefix)

    def rel(path: str) -> str:
        return path[cut:] if path.startswith(prefix) else path

    data = {
        "format": FORMAT,
        "version": mediahub.__version__,
        "package": _package(),
        "root": root,
        "url": url,
        "output": output,
        "due": due,
        "token": inputs.token,
        "files": [(rel(path), size, mtime) for path, size, mtime in inputs.files],
        "folders": [(rel(path), mtime) for path, mtime in inputs.folders],
        "missing": [rel(path) for path in inputs.missing],
        "outputs": "\n".join(os.path.join(rel(output), path) for path in outputs),
        "counts": list(counts),
    }
    from pathlib import Path

    # No fsync: like the outputs and the store's record of the build, a cache.
    write_bytes_atomic(Path(state) / STAMP, marshal.dumps(data), durable=False)
    return True


def unchanged(root: str, url: str | None) -> tuple[str, tuple[int, int, int], int] | None:
    """(output folder, (episodes, posts, scheduled), outputs) of the last build if the
    stamp shows it is still exactly right for ``root`` built with ``url``, else None."""
    state = state_folder(root)
    try:
        lock = os.open(os.path.join(state, LOCK), os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None  # no lock file: no build has run here, so there is no stamp
    try:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX)  # the lock files.exclusive takes: not mid-build
        return _check(root, state, url)
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, EOFError):
        return None  # no stamp, or not one this check can read: the full path decides
    finally:
        os.close(lock)


def _check(root: str, state: str, url: str | None) -> tuple[str, tuple[int, int, int], int] | None:
    with open(os.path.join(state, STAMP), "rb") as handle:
        data = marshal.loads(handle.read())
    if (
        data["format"] != FORMAT
        or data["version"] != mediahub.__version__
        or data["package"] != _package()
        or data["url"] != url
        or data["root"] != os.path.realpath(root)
    ):
        return None
    due = data["due"]
    if due is not None and due <= time.time_ns():
        return None
    top = os.open(data["root"], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if not _still(top, data):
            return None
    finally:
        os.close(top)
    from mediahub.store.changes import read_token

    if read_token(os.path.join(data["root"], STATE, DATABASE)) != data["token"]:
        return None
    episodes, posts, scheduled = data["counts"]
    outputs = data["outputs"].count("\n") + 1
    return str(data["output"]), (int(episodes), int(posts), int(scheduled)), outputs


def _still(top: int, data: dict[str, Any]) -> bool:
    """Every recorded stat the same, every missing input still missing, every output
    there (paths relative to the root's descriptor ``top``)."""
    lookup = os.stat
    for path, size, mtime in data["files"]:
        info = lookup(path, dir_fd=top)
        if info.st_mtime_ns != mtime or info.st_size != size:
            return False
    for path, mtime in data["folders"]:
        if lookup(path, dir_fd=top).st_mtime_ns != mtime:
            return False
    for path in data["missing"]:
        try:
            lookup(path, dir_fd=top)
        except FileNotFoundError:
            continue
        return False
    access, present = os.access, os.F_OK
    return all(access(path, present, dir_fd=top) for path in data["outputs"].split("\n"))
