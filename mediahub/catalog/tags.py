"""Read audio metadata with mutagen: the one module that imports it.

Every mutagen failure is converted here into an AudioError that names the
file, so callers never see a third-party exception.
"""

from __future__ import annotations

from pathlib import Path

import mutagen
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from mediahub.errors import AudioError
from mediahub.model import AudioInfo

# Container class -> (MIME type for enclosures, codec name).
_FORMATS: dict[type, tuple[str, str]] = {
    MP3: ("audio/mpeg", "mp3"),
    MP4: ("audio/mp4", "aac"),
    OggVorbis: ("audio/ogg", "vorbis"),
    OggOpus: ("audio/ogg", "opus"),
    FLAC: ("audio/flac", "flac"),
    WAVE: ("audio/wav", "pcm"),
}

AUDIO_SUFFIXES = frozenset(
    {".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav"}
)


def read(path: Path) -> AudioInfo:
    """Read stream info and the common tags of one audio file."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise AudioError(str(path), f"cannot be read: {exc.strerror}", "check the path") from None
    if stat.st_size == 0:
        raise AudioError(str(path), "is empty (0 bytes)", "export the audio again")
    try:
        audio = mutagen.File(path, easy=True)
    except (mutagen.MutagenError, OSError, ValueError, EOFError) as exc:
        raise AudioError(
            str(path),
            f"is not readable audio: {exc}",
            "re-export it as MP3, M4A, Ogg, Opus, FLAC or WAV",
        ) from None
    if audio is None:
        raise AudioError(
            str(path),
            "is not a recognised audio format",
            "re-export it as MP3, M4A, Ogg, Opus, FLAC or WAV",
        )
    mime, codec = _format_of(audio)
    length = float(getattr(audio.info, "length", 0.0) or 0.0)
    if length <= 0:
        raise AudioError(str(path), "has no audio frames (duration 0)", "export the audio again")
    tags = audio.tags or {}

    def first(key: str) -> str | None:
        try:
            values = tags.get(key)
        except (KeyError, ValueError):
            return None
        if not values:
            return None
        text = str(values[0]).strip()
        return text or None

    return AudioInfo(
        path=path,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        mime_type=mime,
        duration=length,
        bitrate=int(getattr(audio.info, "bitrate", 0) or 0),
        sample_rate=int(getattr(audio.info, "sample_rate", 0) or 0),
        channels=int(getattr(audio.info, "channels", 0) or 0),
        codec=codec,
        title=first("title"),
        artist=first("artist"),
        album=first("album"),
        date=first("date"),
        genre=first("genre"),
    )


def _format_of(audio: mutagen.FileType) -> tuple[str, str]:
    for cls, value in _FORMATS.items():
        if isinstance(audio, cls):
            return value
    mime = (audio.mime or ["application/octet-stream"])[0]
    return mime, type(audio).__name__.lower()
