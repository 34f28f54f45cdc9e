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

    def digest(self) -> str:
        """One fingerprint of all content: equal digests mean nothing changed on disk."""
        return fingerprint(
            *(f"{kind}|{source}|{fp}" for kind, source, fp in self.jobs),
            *(p.line() for p in self.problems),
        )


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
