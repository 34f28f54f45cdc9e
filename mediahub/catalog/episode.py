"""``episode add``: turn a freshly recorded audio file into a publishable episode folder.

Everything is assembled in a hidden staging folder next to the others (the
build skips names starting with '.'): the audio is copied, tagged, re-read and
checked there, and only then is the folder renamed into place. The user's
original file is only ever read.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mediahub.catalog import chapters as chapter_files
from mediahub.catalog import tags
from mediahub.catalog.scan import read_file
from mediahub.config import Config
from mediahub.content import EPISODE_TYPES, episode_document
from mediahub.content_scan import EPISODE_FILE
from mediahub.errors import AudioError, ContentError
from mediahub.files import remove_abandoned, write_text_atomic
from mediahub.model import AudioInfo, Chapter, TagSet

_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
_TRANSCRIPT_SUFFIXES = (".vtt", ".srt")


@dataclass(frozen=True, slots=True)
class EpisodeRequest:
    """What the user asked for: the audio file plus the flags of ``episode add``."""

    audio: Path
    title: str | None = None
    summary: str | None = None
    notes: Path | None = None
    chapters: Path | None = None
    transcript: Path | None = None
    image: Path | None = None
    date: datetime | None = None
    season: int | None = None
    number: int | None = None
    episode_type: str = "full"
    explicit: bool | None = None
    guests: tuple[str, ...] = ()
    draft: bool = False
    id3v23: bool = False


@dataclass(frozen=True, slots=True)
class AddedEpisode:
    """The folder that was created and what the next build will make of it."""

    folder: Path
    slug: str
    guid: str
    url: str
    date: datetime
    audio: AudioInfo
    chapters: tuple[Chapter, ...]
    draft: bool


def slugify(text: str) -> str:
    """ASCII words joined by '-', at most 60 characters: safe in any URL and file system."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)[:60].rstrip("-")
    return slug or "episode"


def add_episode(config: Config, request: EpisodeRequest, now: datetime) -> AddedEpisode:
    """Create ``episodes/<date>-<slug>/`` from ``request``; nothing is left behind on error."""
    source = read_file(request.audio, sha256=True)
    if request.episode_type not in EPISODE_TYPES:
        raise ContentError(
            "--type",
            f"{request.episode_type!r} is not an episode type",
            "use full, trailer or bonus",
        )
    tz = ZoneInfo(config.timezone)
    when = request.date or now
    when = when.replace(tzinfo=tz) if when.tzinfo is None else when.astimezone(tz)
    title = request.title or source.title or request.audio.stem
    slug = f"{when:%Y-%m-%d}-{slugify(title)}"
    folder = config.paths.episodes / slug
    if folder.exists():
        raise ContentError(
            str(folder), "already exists", "give the episode another --title or --date"
        )
    chapters = _chapters(request, source)
    summary = request.summary or source.description or source.comment or ""
    notes = _read_text(request.notes) if request.notes else summary
    guid = source.guid or str(uuid.uuid4())
    image_suffix = request.image.suffix.lower() if request.image else ""
    if request.image is not None and image_suffix not in _IMAGE_TYPES:
        raise ContentError(str(request.image), "is not a JPEG or PNG", "give a .jpg or .png file")
    if request.transcript is not None and request.transcript.suffix.lower() not in (
        _TRANSCRIPT_SUFFIXES
    ):
        raise ContentError(
            str(request.transcript),
            "is not a transcript",
            "give a WebVTT (.vtt) or SubRip (.srt) file",
        )
    artwork_path = request.image or config.show.image
    artwork = _read_bytes(artwork_path) if artwork_path else None
    values = TagSet(
        title=title,
        artist=config.show.author,
        album=config.show.title,
        date=f"{when:%Y-%m-%d}",
        comment=summary or None,
        description=summary or None,
        track=str(request.number) if request.number is not None else None,
        copyright=config.show.copyright,
        guid=guid,
        feed_url=f"{config.show.url}/feed.xml",
        artwork=artwork,
        artwork_mime=_IMAGE_TYPES.get(artwork_path.suffix.lower(), "image/jpeg")
        if artwork_path
        else "image/jpeg",
        chapters=chapter_files.with_ends(chapters, source.duration),
    )
    meta: dict[str, Any] = {"title": title, "date": f"{when:%Y-%m-%d %H:%M}"}
    if summary:
        meta["summary"] = summary
    for key, value in (("season", request.season), ("number", request.number)):
        if value is not None:
            meta[key] = value
    meta["type"] = request.episode_type
    if request.explicit is not None:
        meta["explicit"] = request.explicit
    if request.guests:
        meta["guests"] = list(request.guests)
    if request.draft:
        meta["draft"] = True
    if request.image is not None:
        meta["image"] = f"cover{image_suffix}"
    meta["guid"] = guid

    config.paths.episodes.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(config.paths.episodes)
    staging = Path(
        tempfile.mkdtemp(prefix=f".add-{os.getpid()}-{slug}-", dir=config.paths.episodes)
    )
    try:
        audio_name = f"{slug}{request.audio.suffix.lower()}"
        copy = staging / audio_name
        shutil.copyfile(request.audio, copy)
        _same_as_read(request.audio, copy, source)
        try:
            tags.write(copy, values, id3_version=3 if request.id3v23 else 4)
            written = _verify(copy, values, source)
        except AudioError as exc:
            # Name the user's file, not the staging copy that is about to vanish.
            raise AudioError(str(request.audio), exc.problem, exc.fix) from None
        if chapters:
            write_text_atomic(staging / "chapters.json", chapter_files.to_json(chapters))
        if request.transcript is not None:
            suffix = request.transcript.suffix.lower()
            shutil.copyfile(request.transcript, staging / f"transcript{suffix}")
        if request.image is not None:
            shutil.copyfile(request.image, staging / f"cover{image_suffix}")
        write_text_atomic(staging / EPISODE_FILE, episode_document(meta, notes))
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return AddedEpisode(
        folder=folder,
        slug=slug,
        guid=guid,
        url=f"{config.show.url}/episodes/{slug}/",
        date=when,
        audio=replace(written, path=folder / audio_name),
        chapters=chapters,
        draft=request.draft,
    )


def remove_abandoned_staging(episodes: Path) -> None:
    """Remove staging folders left by an ``episode add`` that was killed."""
    remove_abandoned(episodes, ".add-")


def _same_as_read(original: Path, copy: Path, source: AudioInfo) -> None:
    """The copy must hold the bytes whose tags and duration were read, else the file was
    replaced or still being written in between and the episode would mix two files."""
    digest = hashlib.sha256()
    with copy.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if source.sha256 is not None and digest.hexdigest() != source.sha256:
        raise AudioError(
            str(original),
            "changed while it was being added; nothing was added",
            "wait until the file is fully written, then add it again",
        )


def _chapters(request: EpisodeRequest, source: AudioInfo) -> tuple[Chapter, ...]:
    if request.chapters is None:
        found = source.chapters
        chapter_files.check_chapters(list(found), source.duration, str(request.audio))
        return found
    return chapter_files.read_chapters_file(request.chapters, source.duration)


def _verify(copy: Path, values: TagSet, source: AudioInfo) -> AudioInfo:
    """Re-read the tagged copy: the tags must be there and the audio unchanged."""
    written = tags.read(copy)
    wrong = [
        name
        for name in ("title", "artist", "album", "guid", "feed_url")
        if getattr(written, name) != getattr(values, name)
    ]
    # mutagen writes no MP4 chapters: for M4A the published chapters.json carries them.
    if written.tag_format != "MP4" and len(written.chapters) != len(values.chapters):
        wrong.append("chapters")
    if abs(written.duration - source.duration) > 0.05:
        wrong.append("duration")
    if wrong:
        raise AudioError(
            str(copy),
            f"did not keep the tags written ({', '.join(wrong)}); nothing was added",
            "re-export the audio (the original was not changed) and try again",
        )
    return written


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(str(path), f"cannot be read: {exc}", "give a UTF-8 text file") from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ContentError(str(path), f"cannot be read: {exc.strerror}", "check the path") from None
