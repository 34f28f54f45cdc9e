"""What the content folders hold, by fingerprint, with nothing parsed.

A build first lists every episode folder and post with the size and mtime of
each file it is made of. That is cheap (one directory read and a stat per
file), and equal fingerprints mean the cached parse, and often the whole last
build, is still right.
"""

from __future__ import annotations

import hashlib
import os
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


def fingerprint(*parts: object) -> str:
    """Names, sizes and mtimes of files (and any other parts): changes when any of them does."""
    text = "\n".join(_stamp(p) if isinstance(p, (Path, os.DirEntry)) else str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _stamp(file: Path | os.DirEntry[str]) -> str:
    try:
        stat = file.stat()
    except OSError:
        return f"{file.name}|missing"
    return f"{file.name}|{stat.st_size}|{stat.st_mtime_ns}"


def _entries(folder: Path | str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as found:
        return sorted(found, key=lambda entry: entry.name)


def _markdown_files(root: Path) -> list[Path]:
    """Every .md file under ``root``, sorted (os.walk: several times faster than rglob)."""
    found = [
        Path(folder, name)
        for folder, _, names in os.walk(root, followlinks=True)
        for name in names
        if name.endswith(".md")
    ]
    return sorted(found)


# What else a parse depends on: the model's shape, once, as a short key.
_SHAPE_KEY = hashlib.blake2b(SHAPE.encode(), digest_size=8).hexdigest()


def quick_digest(config: Config) -> str:
    """What ``scan_sources`` looks at — the name, size and mtime of every file of every
    episode folder and post — as one digest, with no object made per file.

    It is all a no-change rebuild needs: equal to the last complete build's, and
    nothing was added, removed or edited.
    """
    stamps = [_SHAPE_KEY, config.timezone]
    root = config.paths.episodes
    try:
        with os.scandir(root) as found:
            folders = sorted(e.name for e in found if e.is_dir() and e.name[0] not in "._")
    except OSError:
        folders = []
    for name in folders:
        stamps.append(f"/{name}")
        try:
            with os.scandir(os.path.join(root, name)) as found:
                stamps.extend(_stamp(entry) for entry in sorted(found, key=_by_name))
        except OSError as exc:
            stamps.append(f"unreadable {exc.errno}")
    if config.paths.posts.is_dir():
        stamps.extend(_stamp(path) for path in _markdown_files(config.paths.posts))
    return hashlib.blake2b("\n".join(stamps).encode(), digest_size=16).hexdigest()


def _by_name(entry: os.DirEntry[str]) -> str:
    return entry.name


def scan_sources(config: Config) -> Sources:
    """List episode folders and posts with their fingerprints (stat calls only)."""
    problems: list[MediahubError] = []
    jobs: list[tuple[str, Path, str]] = []
    listed: dict[Path, frozenset[str]] = {}
    episodes = config.paths.episodes
    if episodes.is_dir():
        for entry in _entries(episodes):
            if not entry.is_dir() or entry.name.startswith((".", "_")):
                continue
            folder = episodes / entry.name
            files = _entries(folder)
            if not any(f.name == EPISODE_FILE for f in files):
                problems.append(
                    ContentError(
                        str(folder),
                        f"has no {EPISODE_FILE}",
                        "add one with at least title and date",
                    )
                )
                continue
            jobs.append(("episode", folder, fingerprint(_SHAPE_KEY, config.timezone, *files)))
            listed[folder] = frozenset(f.name for f in files)
    if config.paths.posts.is_dir():
        for path in _markdown_files(config.paths.posts):
            jobs.append(("post", path, fingerprint(_SHAPE_KEY, config.timezone, path)))
    return Sources(jobs, problems, listed)
