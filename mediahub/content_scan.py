"""What the content folders hold, by fingerprint, with nothing parsed.

A build first lists every episode folder and post with the size and mtime of
each file it is made of. That is cheap (one directory read and a stat per
file), and equal fingerprints mean the cached parse, and often the whole last
build, is still right.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mediahub.config import Config
from mediahub.errors import ContentError, MediahubError
from mediahub.model import SHAPE

EPISODE_FILE = "episode.md"


@dataclass(frozen=True, slots=True)
class Sources:
    """Episode folders and posts found, with fingerprints, and folders that are not episodes."""

    jobs: list[tuple[str, Path, str]]  # (kind, source, fingerprint)
    problems: list[MediahubError]
    # episode folder -> names of what is in it, so reading it needs no more listing
    files: dict[Path, frozenset[str]] = field(default_factory=dict)
    # all of it as ``quick_digest`` would report it
    digest: str = ""


def fingerprint(*parts: object) -> str:
    """Names, sizes and mtimes of files (and any other parts): changes when any of them does."""
    text = "\n".join(
        _stamp_of(os.fspath(p), p.name) if isinstance(p, Path) else str(p) for p in parts
    )
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _markdown_names(root: str) -> list[str]:
    """Every .md file under ``root``, sorted as Path objects would be (os.walk and
    strings: several times faster than rglob and sorting Paths)."""
    found = [
        os.path.join(folder, name)
        for folder, _, names in os.walk(root, followlinks=True)
        for name in names
        if name.endswith(".md")
    ]
    found.sort(key=_path_order)
    return found


def _path_order(path: str) -> list[str]:
    return path.split(os.sep)  # the order of Path objects: part by part


# What else a parse depends on: the model's shape, once, as a short key.
_SHAPE_KEY = hashlib.blake2b(SHAPE.encode(), digest_size=8).hexdigest()


def _stamp_of(path: str, label: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return f"{label}|missing"
    return f"{label}|{info.st_size}|{info.st_mtime_ns}"


def _walk(config: Config) -> Iterator[tuple[str, str, list[str] | None, list[str]]]:
    """("episode", folder, its file names or None if unreadable, stamps) for every
    episode folder, then ("post", path, None, [stamp]) for every post, in order.

    Strings and ``os.stat`` only: a stat is most of the cost of a no-change build,
    and Path or DirEntry objects doubled it.
    """
    root = os.fspath(config.paths.episodes)
    try:
        with os.scandir(root) as found:
            folders = sorted(e.name for e in found if e.is_dir() and e.name[0] not in "._")
    except OSError:
        folders = []
    for name in folders:
        folder = f"{root}/{name}"
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            yield "episode", folder, None, [f"/{name}", f"unreadable {exc.errno}"]
            continue
        yield (
            "episode",
            folder,
            names,
            [f"/{name}"] + [_stamp_of(f"{folder}/{file}", file) for file in names],
        )
    posts = os.fspath(config.paths.posts)
    if os.path.isdir(posts):
        for path in _markdown_names(posts):
            yield "post", path, None, [_stamp_of(path, path)]


def _digest_of(stamps: list[str]) -> str:
    return hashlib.blake2b("\n".join(stamps).encode(), digest_size=16).hexdigest()


def quick_digest(config: Config) -> str:
    """What ``scan_sources`` looks at — the name, size and mtime of every file of every
    episode folder and post — as one digest, with no object made per file.

    It is all a no-change rebuild needs: equal to the last complete build's, and
    nothing was added, removed or edited. ``scan_sources`` reports the same digest.
    """
    stamps = [_SHAPE_KEY, config.timezone]
    for _, _, _, found in _walk(config):
        stamps.extend(found)
    return _digest_of(stamps)


def scan_sources(config: Config) -> Sources:
    """List episode folders and posts with their fingerprints (stat calls only)."""
    problems: list[MediahubError] = []
    jobs: list[tuple[str, Path, str]] = []
    listed: dict[Path, frozenset[str]] = {}
    head = [_SHAPE_KEY, config.timezone]
    stamps = list(head)
    for kind, where, names, found in _walk(config):
        stamps.extend(found)
        if kind == "post":
            jobs.append(("post", Path(where), _digest_of(head + found)))
            continue
        folder = Path(where)
        if names is None:
            problems.append(ContentError(where, "could not be read", "check its permissions"))
            continue
        if EPISODE_FILE not in names:
            problems.append(
                ContentError(
                    str(folder), f"has no {EPISODE_FILE}", "add one with at least title and date"
                )
            )
            continue
        jobs.append(("episode", folder, _digest_of(head + found[1:])))
        listed[folder] = frozenset(names)
    return Sources(jobs, problems, listed, _digest_of(stamps))
