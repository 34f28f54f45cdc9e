"""The catalogue: audio metadata read once and cached in the store by size and mtime."""

from __future__ import annotations

from pathlib import Path

from mediahub.catalog import tags
from mediahub.errors import AudioError
from mediahub.model import AudioInfo
from mediahub.store import Store


def audio_info(store: Store, path: Path) -> AudioInfo:
    """Metadata of ``path``: from the store if the file is unchanged, else read and stored."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise AudioError(str(path), f"cannot be read: {exc.strerror}", "check the path") from None
    cached = store.cached_media(path, stat.st_size, stat.st_mtime_ns)
    if cached is not None:
        return cached
    info = tags.read(path)
    store.save_media(info)
    return info
