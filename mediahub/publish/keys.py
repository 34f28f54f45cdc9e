"""Input keys of a build: digests of what an output is made of. Light to import, so a
no-change build can decide without loading the renderers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def builtin_templates() -> Path:
    """Templates shipped with mediahub: inside the wheel, or the repo's top-level folder."""
    installed = Path(__file__).resolve().parent.parent / "templates"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "templates"


def digest(*parts: object) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(repr(part).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def templates_fingerprint(hub_templates: Path) -> str:
    """Contents of every template a build may use: a template edit re-renders its pages."""
    digest = hashlib.blake2b(digest_size=16)
    for root in (builtin_templates(), hub_templates):
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and "static" not in path.relative_to(root).parts:
                    digest.update(path.as_posix().encode())
                    digest.update(path.read_bytes())
    return digest.hexdigest()


def static_fingerprint(hub_templates: Path) -> str:
    """Names, sizes and mtimes of the static files a build copies into static/ (the
    built-in ones and the hub's): an added, removed or edited file makes the next
    build run. Not part of the pages' keys: no page changes with them, and the copy
    itself is skipped when size and mtime are unchanged."""
    stamps = []
    for root in (builtin_templates() / "static", hub_templates / "static"):
        for folder, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                path = os.path.join(folder, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                stamps.append(f"{path}|{info.st_size}|{info.st_mtime_ns}")
    return hashlib.blake2b("\n".join(stamps).encode(), digest_size=16).hexdigest()
