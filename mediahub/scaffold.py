"""``mediahub init``: a new, empty hub that builds at once."""

from __future__ import annotations

from pathlib import Path

from mediahub.artwork import placeholder_cover
from mediahub.config import CONFIG_NAME
from mediahub.errors import ConfigError

_CONFIG = """\
# mediahub configuration. Every key is documented in the README.

# Time zone for dates written without one in front matter.
timezone = "UTC"

[site]
title = {title}
# The address the site and feed are published at (used in feed and share links).
url = "http://127.0.0.1:8000"
description = "A new podcast and blog published with mediahub."
language = "en"
author = "Your Name"
# email = "you@example.org"        # shown to directories as the feed's owner
image = "cover.jpg"                # square JPEG/PNG, 1400-3000 px: replace the generated one
category = "Society & Culture"     # from Apple's category list, exact case
# subcategory = "Documentary"
explicit = false

[paths]
episodes = "episodes"   # one folder per episode: episode.md + the audio file
posts = "posts"         # Markdown posts with front matter
output = "public"       # the built site
"""


def init_hub(folder: Path, title: str) -> list[Path]:
    """Create the config and content folders; refuse to overwrite an existing hub."""
    config = folder / CONFIG_NAME
    if config.exists():
        raise ConfigError(str(config), "already exists", "choose an empty folder for a new hub")
    folder.mkdir(parents=True, exist_ok=True)
    quoted = '"' + title.replace("\\", "\\\\").replace('"', '\\"') + '"'
    config.write_text(_CONFIG.format(title=quoted), encoding="utf-8")
    created = [config]
    cover = folder / "cover.jpg"
    if not cover.exists():
        placeholder_cover(cover, title)
        created.append(cover)
    for name in ("episodes", "posts"):
        sub = folder / name
        sub.mkdir(exist_ok=True)
        created.append(sub)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("/public/\n/.mediahub/\n", encoding="utf-8")
        created.append(ignore)
    return created
