"""What the content folders hold, by fingerprint, with nothing parsed.

A build first lists every episode folder and post with the size and mtime of
each file it is made of. That is cheap (one directory read and a stat per
file), and equal fingerprints mean the cached parse, and often the whole last
build, is still right.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mediahub.config import Config
from mediahub.errors import ContentError, MediahubError
from mediahub.model import SHAPE

if TYPE_CHECKING:
    from mediahub.publish.stamp import Inputs

EPISODE_FILE = "episode.md"


# (kind, source, fingerprint, names in an episode folder so reading it needs no more
# listing, or None for a post)
Job = tuple[str, Path, str, frozenset[str] | None]


@dataclass(frozen=True, slots=True)
class Sources:
    """Episode folders and posts found, with fingerprints, and folders that are not episodes."""

    jobs: list[Job]
    problems: list[MediahubError]
    # all of it as ``quick_digest`` would report it
    digest: str = ""


def fingerprint(*parts: object) -> str:
    """Names, sizes and mtimes of files (and any other parts): changes when any of them does."""
    text = "\n".join(
        _stamp_of(os.fspath(p), p.name) if isinstance(p, Path) else str(p) for p in parts
    )
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _markdown_names(root: str, inputs: Inputs | None = None) -> list[str]:
    """Every .md file under ``root``, sorted as Path objects would be (os.walk and
    strings: several times faster than rglob and sorting Paths).

    With ``inputs``, each folder is recorded (by stat) before os.walk lists it: the
    walk is top-down, so a folder is recorded when its parent's listing yields it.
    """
    if inputs is not None and not inputs.folder(root):
        return []
    found: list[str] = []
    for folder, subfolders, names in os.walk(root, followlinks=True):
        if inputs is not None:
            # Recorded before os.walk lists them (it lists a folder when it enters it).
            subfolders[:] = [s for s in subfolders if inputs.folder(os.path.join(folder, s))]
        found.extend(os.path.join(folder, name) for name in names if name.endswith(".md"))
    found.sort(key=_path_order)
    return found


def _path_order(path: str) -> list[str]:
    return path.split(os.sep)  # the order of Path objects: part by part


# What else a parse depends on: the model's shape, once, as a short key.
_SHAPE_KEY = hashlib.blake2b(SHAPE.encode(), digest_size=8).hexdigest()


def _stamp_of(path: str, label: str, inputs: Inputs | None = None) -> str:
    try:
        info = os.stat(path)
    except OSError:
        if inputs is not None:
            inputs.missing.append(path)
        return f"{label}|missing"
    if inputs is not None:
        inputs.files.append((path, info.st_size, info.st_mtime_ns))
    return f"{label}|{info.st_size}|{info.st_mtime_ns}"


def _list(config: Config, inputs: Inputs | None = None) -> tuple[str, list[str], list[str]]:
    """The episodes folder, the names of its episode folders, and every post's path:
    one listing of the top folders, before any episode folder is looked into."""
    root = os.fspath(config.paths.episodes)
    if inputs is not None:
        inputs.folder(root)
    try:
        with os.scandir(root) as found:
            folders = sorted(e.name for e in found if e.is_dir() and e.name[0] not in "._")
    except OSError:
        folders = []
    posts = os.fspath(config.paths.posts)
    names = _markdown_names(posts, inputs) if inputs is not None or os.path.isdir(posts) else []
    return root, folders, names


def _walk(
    config: Config,
    inputs: Inputs | None = None,
    listing: tuple[str, list[str], list[str]] | None = None,
) -> Iterator[tuple[str, str, list[str] | None, list[str]]]:
    """("episode", folder, its file names or None if unreadable, stamps) for every
    episode folder, then ("post", path, None, [stamp]) for every post, in order.

    Strings and ``os.stat`` only: a stat is most of the cost of a no-change build,
    and Path or DirEntry objects doubled it. With ``inputs``, every folder is
    recorded before it is listed and every file as it is stat'ed (the build stamp).
    ``listing`` is ``_list``'s result when the caller has it already.
    """
    root, folders, posts = listing if listing is not None else _list(config, inputs)
    for name in folders:
        folder = f"{root}/{name}"
        if inputs is not None:
            inputs.folder(folder)
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            if inputs is not None:
                inputs.usable = False
            yield "episode", folder, None, [f"/{name}", f"unreadable {exc.errno}"]
            continue
        yield (
            "episode",
            folder,
            names,
            [f"/{name}"] + [_stamp_of(f"{folder}/{file}", file, inputs) for file in names],
        )
    for path in posts:
        yield "post", path, None, [_stamp_of(path, path, inputs)]


def _digest_of(stamps: list[str]) -> str:
    return hashlib.blake2b("\n".join(stamps).encode(), digest_size=16).hexdigest()


def quick_digest(config: Config, inputs: Inputs | None = None) -> str:
    """What ``scan_sources`` looks at — the name, size and mtime of every file of every
    episode folder and post — as one digest, with no object made per file.

    It is all a no-change rebuild needs: equal to the last complete build's, and
    nothing was added, removed or edited. ``scan_sources`` reports the same digest.
    ``inputs`` records what was looked at, for the build stamp.
    """
    stamps = [_SHAPE_KEY, config.timezone]
    for _, _, _, found in _walk(config, inputs):
        stamps.extend(found)
    return _digest_of(stamps)


class SourceScan:
    """A scan taken a source at a time: the jobs as they are found (so parsing can
    begin before the last folder is listed), then the whole result.

    The top folders are listed at once (``count`` is known before iterating); each
    episode folder is listed, and each file stat'ed, as iteration reaches it.
    ``inputs`` records what was looked at, for the build stamp.
    """

    def __init__(self, config: Config, inputs: Inputs | None = None) -> None:
        self._config, self._inputs = config, inputs
        self._listing = _list(config, inputs)
        self.count = len(self._listing[1]) + len(self._listing[2])
        self._head = [_SHAPE_KEY, config.timezone]
        self._stamps = list(self._head)
        self.jobs: list[Job] = []
        self.problems: list[MediahubError] = []

    def __iter__(self) -> Iterator[Job]:
        head = self._head
        for kind, where, names, found in _walk(self._config, self._inputs, self._listing):
            self._stamps.extend(found)
            if kind == "post":
                job: Job = ("post", Path(where), _digest_of(head + found), None)
            elif names is None:
                self.problems.append(
                    ContentError(where, "could not be read", "check its permissions")
                )
                continue
            elif EPISODE_FILE not in names:
                self.problems.append(
                    ContentError(
                        where, f"has no {EPISODE_FILE}", "add one with at least title and date"
                    )
                )
                continue
            else:
                job = ("episode", Path(where), _digest_of(head + found[1:]), frozenset(names))
            self.jobs.append(job)
            yield job

    def result(self) -> Sources:
        """Everything found (once iteration has ended)."""
        return Sources(self.jobs, self.problems, _digest_of(self._stamps))


def scan_sources(config: Config, inputs: Inputs | None = None) -> Sources:
    """List episode folders and posts with their fingerprints (stat calls only);
    ``inputs`` records what was looked at, for the build stamp."""
    scan = SourceScan(config, inputs)
    deque(scan, maxlen=0)  # run the scan to its end; it keeps what it finds
    return scan.result()
