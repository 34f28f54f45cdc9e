"""Input keys of a build: digests of what an output is made of. Light to import, so a
no-change build can decide without loading the renderers."""

from __future__ import annotations

import hashlib
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
