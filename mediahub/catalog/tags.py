"""Read and write audio metadata with mutagen: the one module that imports it.

Fields come from the table in fields.py, so each container (ID3, MP4 atoms,
Vorbis comments) has one reader and one writer rather than a branch per tag.
Every mutagen failure is converted here into an AudioError that names the
file, so callers never see a third-party exception.
"""

# mypy: allow-untyped-calls
# (mutagen ships partial type hints; its calls are checked by the round-trip tests instead)

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import mutagen
from mutagen import id3
from mutagen.aiff import AIFF
from mutagen.flac import FLAC, Picture
from mutagen.mp3 import MP3, BitrateMode
from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from mediahub.catalog import mpeg
from mediahub.catalog.fields import (
    FIELDS,
    ID3_KNOWN,
    MAX_ARTWORK_BYTES,
    MP4_KNOWN,
    VORBIS_KNOWN,
)
from mediahub.errors import AudioError
from mediahub.model import Artwork, AudioInfo, Chapter, TagSet

# Container class -> (MIME type for enclosures, codec name).
_FORMATS: dict[type, tuple[str, str]] = {
    MP3: ("audio/mpeg", "mp3"),
    MP4: ("audio/mp4", "aac"),
    OggVorbis: ("audio/ogg", "vorbis"),
    OggOpus: ("audio/ogg", "opus"),
    FLAC: ("audio/flac", "flac"),
    WAVE: ("audio/wav", "pcm"),
}

# What mutagen.File may guess: our formats, plus AIFF so it can be refused by name.
# A short list also spares mutagen scoring every format it knows for every file.
_KINDS = [*_FORMATS, AIFF]

AUDIO_SUFFIXES = frozenset(
    {".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav"}
)
_REEXPORT = "re-export it as MP3, M4A, Ogg, Opus, FLAC or WAV"
_NO_OFFSET = 0xFFFFFFFF  # CHAP frames: "no byte offset, use the times"


@contextmanager
def _converted(path: Path, action: str, parsing: bool = True) -> Iterator[None]:
    """Turn anything mutagen or the OS raises into one AudioError naming the file.

    While mutagen parses a file (``parsing``), a malformed one can surface as a
    KeyError, TypeError or IndexError from deep inside it; around our own code
    those are bugs and are left to show their traceback.
    """
    loose = (KeyError, TypeError, IndexError) if parsing else ()
    try:
        yield
    except AudioError:
        raise
    except OSError as exc:
        raise AudioError(
            str(path), f"cannot be {action}: {exc.strerror or exc}", "check the file"
        ) from None
    except (mutagen.MutagenError, ValueError, EOFError, struct.error, *loose) as exc:
        detail = str(exc) or type(exc).__name__
        raise AudioError(str(path), f"cannot be {action}: {detail}", _REEXPORT) from None


def _open(path: Path, handle: BinaryIO | None = None) -> Any:
    """mutagen's object for ``path`` (read through ``handle`` when given), or an AudioError."""
    try:
        size = os.fstat(handle.fileno()).st_size if handle else path.stat().st_size
    except OSError as exc:
        raise AudioError(str(path), f"cannot be read: {exc.strerror}", "check the path") from None
    if size == 0:
        raise AudioError(str(path), "is empty (0 bytes)", "export the audio again")
    with _converted(path, "read as audio"):
        audio = _load(path, handle)
    if audio is None:
        raise AudioError(str(path), "is not a recognised audio format", _REEXPORT)
    if not isinstance(audio, tuple(_FORMATS)):
        kind = type(audio).__name__
        raise AudioError(str(path), f"is {kind} audio, which podcast apps do not play", _REEXPORT)
    if isinstance(audio, MP3):
        if handle is None:
            with path.open("rb") as fresh:
                _check_id3_frames(path, fresh)
        else:
            handle.seek(0)
            _check_id3_frames(path, handle)
    return audio


# How an MP3 file starts: an ID3v2 tag or an MPEG audio frame (what mutagen's MP3.score
# looks for). A file named .mp3 that starts so scores 3 for MP3 there, and at most 2 for
# every other kind in _KINDS.
_MP3_STARTS = (b"ID3", b"\xff\xf2", b"\xff\xf3", b"\xff\xfa", b"\xff\xfb")


def _load(path: Path, handle: BinaryIO | None) -> Any:
    """mutagen's object for the file: what ``mutagen.File`` would pick among _KINDS.

    For the common case, an MP3 named so, the choice is made here from the first
    bytes: scoring every kind took a tenth of reading an episode's audio.
    """
    if handle is not None and path.suffix.lower() == ".mp3":
        start = handle.read(4)
        handle.seek(0)
        if start.startswith(_MP3_STARTS):
            return MP3(handle)
    return mutagen.File(handle or path, options=_KINDS)


def _check_id3_frames(path: Path, handle: BinaryIO) -> None:
    """Refuse an ID3v2 tag whose frames claim more bytes than the tag holds.

    mutagen quietly folds such a tag into one garbage frame; a damaged tag is
    worth saying so rather than cataloguing nonsense.
    """
    header = handle.read(10)
    if len(header) < 10 or header[:3] != b"ID3" or header[3] not in (2, 3, 4):
        return
    major, flags = header[3], header[5]
    if flags & 0x80:  # unsynchronised: sizes are not comparable byte for byte
        return
    tag = handle.read(_syncsafe(header[6:10]))
    offset = 0
    if flags & 0x40 and major >= 3:
        extended = tag[:4]
        offset = _syncsafe(extended) if major == 4 else int.from_bytes(extended) + 4
    id_len, head_len = (3, 6) if major == 2 else (4, 10)
    while offset + head_len <= len(tag):
        frame_id = tag[offset : offset + id_len]
        if not frame_id.isalnum():
            return  # padding, or a layout this walk does not follow: mutagen's call
        raw = tag[offset + id_len : offset + id_len + (3 if major == 2 else 4)]
        sizes = {int.from_bytes(raw)}
        if major == 4:
            sizes.add(_syncsafe(raw))
        room = len(tag) - offset - head_len
        fitting = [size for size in sizes if size <= room]
        if not fitting:
            name = frame_id.decode("latin-1", "replace")
            raise AudioError(
                str(path),
                f"has a damaged ID3 tag: frame {name!r} claims {min(sizes)} bytes, "
                f"only {room} are left in the tag",
                "re-export the file, or strip the tag (eyeD3 --remove-all) and tag it again",
            )
        offset += head_len + min(fitting)


def _syncsafe(raw: bytes) -> int:
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
    return value


def read(path: Path, sha256: bool = False) -> AudioInfo:
    """Stream info and every tag of one audio file, the same shape for every format.

    The file is opened once: mutagen, the ID3 check and (with ``sha256``) the
    hash all read through the same handle, which is most of a scan's cost.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise AudioError(str(path), f"cannot be read: {exc.strerror}", "check the path") from None
    with handle:
        audio = _open(path, handle)
        stat = os.fstat(handle.fileno())
        digest = _sha256(path, handle) if sha256 else None
        exact = None
        stream: Any = getattr(audio, "info", None)
        if isinstance(audio, MP3) and stream.bitrate_mode == BitrateMode.UNKNOWN:
            # No Xing/Info/VBRI header: mutagen's length is a guess from one frame.
            exact = mpeg.exact_duration(handle)
    return _info(path, audio, stat, digest, exact)


def _sha256(path: Path, handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    try:
        handle.seek(0)
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    except OSError as exc:
        raise AudioError(str(path), f"cannot be read: {exc.strerror}", "check the file") from None
    return digest.hexdigest()


def _info(
    path: Path, audio: Any, stat: os.stat_result, digest: str | None, exact: float | None
) -> AudioInfo:
    mime, codec = _format_of(audio)
    with _converted(path, "read as audio", parsing=False):
        length = exact or float(getattr(audio.info, "length", 0.0) or 0.0)
        if length <= 0:
            raise AudioError(
                str(path), "has no audio frames (duration 0)", "export the audio again"
            )
        _check_truncated(path, audio, stat.st_size)
        if isinstance(audio.tags, id3.ID3):
            values, extra = _read_id3(audio.tags)
        elif isinstance(audio, MP4):
            values, extra = _read_mp4(audio)
        elif audio.tags is not None:
            values, extra = _read_vorbis(audio)
        else:
            values, extra = {}, {"tag_format": ""}
    for picture in extra.get("artwork", ()):
        if picture.size > MAX_ARTWORK_BYTES:
            raise AudioError(
                str(path),
                f"embeds a {picture.size / 1048576:.1f} MB picture, over the "
                f"{MAX_ARTWORK_BYTES // 1048576} MB limit",
                "replace the artwork with a JPEG or PNG of at most 3000x3000 pixels",
            )
    return AudioInfo(
        path=path,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        mime_type=mime,
        duration=length,
        bitrate=int(getattr(audio.info, "bitrate", 0) or 0),
        # Opus always decodes at 48 kHz; mutagen does not report a rate for it.
        sample_rate=int(getattr(audio.info, "sample_rate", 0) or (48000 if codec == "opus" else 0)),
        channels=int(getattr(audio.info, "channels", 0) or 0),
        codec=codec,
        sha256=digest,
        **values,
        **extra,
    )


def _format_of(audio: Any) -> tuple[str, str]:
    for cls, (mime, codec) in _FORMATS.items():
        if isinstance(audio, cls):
            if cls is MP4:
                codec = str(getattr(getattr(audio, "info", None), "codec", "") or codec)
            return mime, codec
    mime = (audio.mime or ["application/octet-stream"])[0]
    return str(mime), type(audio).__name__.lower()


def _check_truncated(path: Path, audio: Any, size: int) -> None:
    """An MP3 whose VBR header promises more bytes than the file holds was cut off."""
    if not isinstance(audio, MP3):
        return
    info: Any = audio.info
    expected = info.bitrate / 8 * info.length
    if expected > 4096 and size < expected * 0.9:
        raise AudioError(
            str(path),
            f"is truncated: its header promises {expected:.0f} bytes of audio, "
            f"the file holds {size}",
            "copy or export the file again",
        )


def _clean(text: object) -> str | None:
    value = str(text).strip()
    return value or None


# -- ID3 (MP3, WAV) -----------------------------------------------------------


def _read_id3(tags: id3.ID3) -> tuple[dict[str, Any], dict[str, Any]]:
    # One pass over the frames: tags.getall() walks them all on every call.
    by_id: dict[str, list[Any]] = {}
    for frame in tags.values():
        by_id.setdefault(frame.FrameID, []).append(frame)
    values: dict[str, Any] = {}
    for field in FIELDS:
        frames = by_id.get(field.id3) if field.id3 else None
        if not frames:
            continue
        frame = frames[0]
        if field.kind == "flag":
            values[field.name] = True
        elif field.kind == "url":
            values[field.name] = _clean(frame.url)
        elif field.kind in ("comment", "lyrics"):
            text = frame.text if field.kind == "lyrics" else (frame.text or [""])[0]
            values[field.name] = _clean(text)
        elif frame.text:
            values[field.name] = _clean(frame.text[0])
    custom = [(f.desc, str(f.text[0])) for f in by_id.get("TXXX", ()) if f.text]
    custom += [
        (key, str(frame))
        for key, frame in tags.items()
        if key[:4] not in ID3_KNOWN and key[:4].startswith("T") and key[:4] != "TSSE"
    ]
    version = tags.version
    return values, {
        "artwork": tuple(
            Artwork(f.mime or "image/jpeg", len(f.data), int(f.type), f.desc)
            for f in by_id.get("APIC", ())
        ),
        "chapters": _id3_chapters(by_id) if "CHAP" in by_id else (),
        "custom": tuple(custom),
        "tag_format": "ID3v1" if version[0] == 1 else f"ID3v2.{version[1]}",
    }


def _id3_chapters(frames: dict[str, list[Any]]) -> tuple[Chapter, ...]:
    by_id = {frame.element_id: frame for frame in frames.get("CHAP", ())}
    order: list[str] = []
    for toc in frames.get("CTOC", ()):
        if toc.flags & id3.CTOCFlags.TOP_LEVEL:
            order = [e for e in toc.child_element_ids if e in by_id]
    order += sorted((e for e in by_id if e not in order), key=lambda e: by_id[e].start_time)
    chapters = []
    for element_id in order:
        frame = by_id[element_id]
        titles = frame.sub_frames.getall("TIT2")
        urls = frame.sub_frames.getall("WXXX")
        chapters.append(
            Chapter(
                start=frame.start_time / 1000,
                end=frame.end_time / 1000 if frame.end_time else None,
                title=str(titles[0].text[0]) if titles and titles[0].text else element_id,
                url=urls[0].url if urls else None,
            )
        )
    return tuple(chapters)


def _write_id3(tags: id3.ID3, values: TagSet) -> None:
    for field in FIELDS:
        if field.id3 is None:
            continue
        tags.delall(field.id3)
        value = getattr(values, field.name)
        if value is None or value is False:
            continue
        enc = id3.Encoding.UTF8
        if field.kind == "flag":
            tags.add(id3.PCST(value=1))
        elif field.kind == "url":
            tags.add(id3.WFED(encoding=enc, url=value))
        elif field.kind == "comment":
            tags.add(id3.COMM(encoding=enc, lang="eng", desc="", text=[value]))
        elif field.kind == "lyrics":
            tags.add(id3.USLT(encoding=enc, lang="eng", desc="", text=value))
        else:
            tags.add(getattr(id3, field.id3)(encoding=enc, text=[value]))
    if values.artwork is not None:
        tags.delall("APIC")
        tags.add(
            id3.APIC(
                encoding=id3.Encoding.UTF8,
                mime=values.artwork_mime,
                type=id3.PictureType.COVER_FRONT,
                desc="Cover",
                data=values.artwork,
            )
        )
    tags.delall("CHAP")
    tags.delall("CTOC")
    if values.chapters:
        ids = _chapter_ids(values.chapters)
        for element_id, chapter in zip(ids, values.chapters, strict=True):
            subs: list[id3.Frame] = [id3.TIT2(encoding=id3.Encoding.UTF8, text=[chapter.title])]
            if chapter.url:
                subs.append(id3.WXXX(encoding=id3.Encoding.UTF8, desc="", url=chapter.url))
            tags.add(
                id3.CHAP(
                    element_id=element_id,
                    start_time=round(chapter.start * 1000),
                    end_time=round((chapter.end or chapter.start) * 1000),
                    start_offset=_NO_OFFSET,
                    end_offset=_NO_OFFSET,
                    sub_frames=subs,
                )
            )
        tags.add(
            id3.CTOC(
                element_id="toc",
                flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[id3.TIT2(encoding=id3.Encoding.UTF8, text=["Chapters"])],
            )
        )


def _chapter_ids(chapters: tuple[Chapter, ...]) -> list[str]:
    """Element IDs that make mutagen write CHAP frames in start order.

    mutagen orders frames by size, then by key; ffmpeg-based players list
    chapters in file order, not CTOC order. Padding each ID so every CHAP frame
    has the same size leaves the zero-padded key to decide.
    """
    payload = [
        len(c.title.encode("utf-8")) + (len(c.url.encode("utf-8")) + 12 if c.url else 0)
        for c in chapters
    ]
    widest = max(payload)
    if widest - min(payload) > 512:  # absurdly uneven titles: not worth padding for
        return [f"chp{index:03d}" for index in range(len(chapters))]
    return [f"chp{index:03d}" + "_" * (widest - size) for index, size in enumerate(payload)]


# -- MP4 atoms ----------------------------------------------------------------


def _read_mp4(audio: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    tags = audio.tags or {}
    values: dict[str, Any] = {}
    for field in FIELDS:
        raw = tags.get(field.mp4) if field.mp4 else None
        if not raw:
            continue
        if field.kind == "flag":
            values[field.name] = bool(raw)
        elif field.kind == "track":
            number, total = raw[0]
            values[field.name] = f"{number}/{total}" if total else str(number)
        else:
            first = raw[0]
            text = bytes(first).decode("utf-8", "replace") if isinstance(first, bytes) else first
            values[field.name] = _clean(text)
    kinds = {MP4Cover.FORMAT_PNG: "image/png", MP4Cover.FORMAT_JPEG: "image/jpeg"}
    artwork = tuple(
        Artwork(kinds.get(cover.imageformat, "image/jpeg"), len(cover))
        for cover in tags.get("covr", ())
    )
    custom = tuple(
        (key, _mp4_text(value[0]))
        for key, value in tags.items()
        if key not in MP4_KNOWN and key != "\xa9too" and value
    )
    chapters = tuple(
        Chapter(start=float(c.start), title=str(c.title)) for c in (audio.chapters or ())
    )
    return values, {
        "artwork": artwork,
        "custom": custom,
        "chapters": chapters,
        "tag_format": "MP4",
    }


def _mp4_text(value: object) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _write_mp4(audio: Any, values: TagSet) -> None:
    if audio.tags is None:
        audio.add_tags()
    tags = audio.tags
    for field in FIELDS:
        if field.mp4 is None:
            continue
        tags.pop(field.mp4, None)
        value = getattr(values, field.name)
        if value is None or value is False:
            continue
        if field.kind == "flag":
            tags[field.mp4] = True
        elif field.kind == "track":
            number, _, total = value.partition("/")
            if number.isdigit():
                tags[field.mp4] = [(int(number), int(total) if total.isdigit() else 0)]
        elif field.mp4.startswith("----"):
            tags[field.mp4] = [MP4FreeForm(value.encode("utf-8"))]
        else:
            tags[field.mp4] = [value]
    if values.artwork is not None:
        kind = MP4Cover.FORMAT_PNG if values.artwork_mime == "image/png" else MP4Cover.FORMAT_JPEG
        tags["covr"] = [MP4Cover(values.artwork, imageformat=kind)]


# -- Vorbis comments (Ogg Vorbis, Opus, FLAC) ---------------------------------

_CHAPTER_KEY = re.compile(r"CHAPTER(\d{3})(NAME|URL)?", re.IGNORECASE)


def _read_vorbis(audio: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    tags = audio.tags
    # One pass over the comments: VComment.get() walks them all on every call.
    by_key: dict[str, list[str]] = {}
    for key, value in tags:
        by_key.setdefault(key.upper(), []).append(value)
    values: dict[str, Any] = {}
    for field in FIELDS:
        raw = by_key.get(field.vorbis) if field.vorbis else None
        if not raw:
            continue
        if field.kind == "flag":
            values[field.name] = raw[0].strip().lower() in ("1", "true", "yes")
        else:
            values[field.name] = _clean(raw[0])
    pictures: list[Picture] = list(getattr(audio, "pictures", ()))
    for encoded in by_key.get("METADATA_BLOCK_PICTURE", ()):
        try:
            pictures.append(Picture(base64.b64decode(encoded)))
        except (binascii.Error, mutagen.MutagenError, ValueError):
            continue
    marks: dict[str, dict[str, str]] = {}
    custom: list[tuple[str, str]] = []
    for key, value in tags:
        match = _CHAPTER_KEY.fullmatch(key) if key[:7].upper() == "CHAPTER" else None
        if match:
            marks.setdefault(match.group(1), {})[(match.group(2) or "START").upper()] = value
        elif key.upper() not in VORBIS_KNOWN and key.upper() != "ENCODER":
            custom.append((key, value))
    chapters = []
    for number in sorted(marks):
        mark = marks[number]
        if "START" in mark:
            chapters.append(
                Chapter(
                    start=_clock_seconds(mark["START"]),
                    title=mark.get("NAME", f"Chapter {int(number)}"),
                    url=mark.get("URL"),
                )
            )
    return values, {
        "artwork": tuple(
            Artwork(p.mime or "image/jpeg", len(p.data), int(p.type), p.desc) for p in pictures
        ),
        "custom": tuple(custom),
        "chapters": tuple(chapters),
        "tag_format": "Vorbis",
    }


def _clock_seconds(stamp: str) -> float:
    seconds = 0.0
    for part in stamp.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _clock(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _write_vorbis(audio: Any, values: TagSet) -> None:
    if audio.tags is None:
        audio.add_tags()
    tags = audio.tags
    for field in FIELDS:
        if field.vorbis is None:
            continue
        if field.vorbis in tags:
            del tags[field.vorbis]
        value = getattr(values, field.name)
        if value is None or value is False:
            continue
        tags[field.vorbis] = ["1" if value is True else value]
    for key in {k for k, _ in tags if _CHAPTER_KEY.fullmatch(k)}:
        del tags[key]
    for index, chapter in enumerate(values.chapters):
        key = f"CHAPTER{index:03d}"
        tags[key] = [_clock(chapter.start)]
        tags[key + "NAME"] = [chapter.title]
        if chapter.url:
            tags[key + "URL"] = [chapter.url]
    if values.artwork is not None:
        picture = Picture()
        picture.type = 3
        picture.mime = values.artwork_mime
        picture.desc = "Cover"
        picture.data = values.artwork
        if isinstance(audio, FLAC):
            audio.clear_pictures()
            audio.add_picture(picture)
        else:
            tags["METADATA_BLOCK_PICTURE"] = [base64.b64encode(picture.write()).decode("ascii")]


# -- writing --------------------------------------------------------------------


def write(path: Path, values: TagSet, id3_version: int = 4) -> None:
    """Write normalised tags into ``path`` in place (callers pass a temp copy)."""
    audio = _open(path)
    with _converted(path, "tagged", parsing=False):
        if isinstance(audio, (MP3, WAVE)):
            if audio.tags is None:
                audio.add_tags()
            frames: Any = audio.tags
            _write_id3(frames, values)
            if id3_version == 3:
                frames.update_to_v23()
                audio.save(v2_version=3)
            else:
                audio.save(v2_version=4)
        elif isinstance(audio, MP4):
            _write_mp4(audio, values)
            audio.save()
        elif isinstance(audio, (OggVorbis, OggOpus, FLAC)):
            _write_vorbis(audio, values)
            audio.save()
        else:
            raise AudioError(str(path), "cannot be tagged: format not supported", _REEXPORT)
