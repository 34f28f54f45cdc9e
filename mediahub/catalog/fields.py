"""Each tag declared once: its ID3 frame, MP4 atom and Vorbis comment.

tags.py walks this table for reading and writing instead of branching per
format per field, so adding a tag is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "comment", "lyrics", "url", "flag", "track"]


@dataclass(frozen=True, slots=True)
class Field:
    """One piece of metadata and how each container stores it (None: not stored there)."""

    name: str  # the attribute of model.AudioInfo and model.TagSet
    id3: str | None
    mp4: str | None
    vorbis: str | None
    kind: Kind = "text"


FIELDS: tuple[Field, ...] = (
    Field("title", "TIT2", "\xa9nam", "TITLE"),
    Field("artist", "TPE1", "\xa9ART", "ARTIST"),
    Field("album", "TALB", "\xa9alb", "ALBUM"),
    Field("date", "TDRC", "\xa9day", "DATE"),
    Field("genre", "TCON", "\xa9gen", "GENRE"),
    Field("track", "TRCK", "trkn", "TRACKNUMBER", kind="track"),
    Field("copyright", "TCOP", "cprt", "COPYRIGHT"),
    Field("publisher", "TPUB", "----:com.apple.iTunes:LABEL", "ORGANIZATION"),
    Field("comment", "COMM", "\xa9cmt", "COMMENT", kind="comment"),
    Field("description", "TDES", "desc", "DESCRIPTION"),
    Field("guid", "TGID", "egid", "PODCASTGUID"),
    Field("feed_url", "WFED", "purl", "PODCASTURL", kind="url"),
    Field("podcast", "PCST", "pcst", "PODCAST", kind="flag"),
    Field("lyrics", "USLT", "\xa9lyr", "LYRICS", kind="lyrics"),
)

# Frames, atoms and comments the table covers: anything else is reported as custom.
ID3_KNOWN = frozenset(f.id3 for f in FIELDS if f.id3) | {"APIC", "CHAP", "CTOC", "TXXX"}
MP4_KNOWN = frozenset(f.mp4 for f in FIELDS if f.mp4) | {"covr"}
VORBIS_KNOWN = frozenset(f.vorbis for f in FIELDS if f.vorbis) | {"METADATA_BLOCK_PICTURE"}

# Bounds on untrusted files: bigger artwork is refused rather than loaded into pages.
MAX_ARTWORK_BYTES = 20 * 1024 * 1024
