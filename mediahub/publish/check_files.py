"""Files a feed points at, for ``check``: where to find them and whether they are right.

The rules in check.py never open a file or a socket themselves: they ask a
resolver for a URL's ``Resource``. ``LocalFiles`` maps URLs under the hub's base
URL to a built (or about-to-be-built) ``public/``; the remote checker fills
resources from HTTP. The validators here read artwork (Pillow, its one home),
JSON chapters and transcripts and say in one line what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

# Bodies read for checking are bounded: artwork, chapters and transcripts only.
MAX_BODY = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Resource:
    """What is known about one URL a feed references.

    ``size`` is the file's length (local) or the server's Content-Length; ``body``
    is read only when a rule asked for it. The ``head_*``/``range_*`` fields are
    filled only when checking a remote feed's media.
    """

    url: str
    size: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    error: str | None = None
    head_status: int | None = None
    range_status: int | None = None
    range_length: int | None = None


# (url, want_body) -> the resource, or None when the URL is outside what can be checked.
Resolver = Callable[[str, bool], Resource | None]


@dataclass(frozen=True)
class LocalFiles:
    """Resolves URLs under ``base_url`` to files of a build.

    ``planned`` (site path -> bytes or source file, as the build's writer holds
    them) wins over ``root`` (the output folder), so a build can be checked
    before anything is written.
    """

    base_url: str
    root: Path | None = None
    planned: Mapping[str, bytes | Path] | None = None

    def __call__(self, url: str, want_body: bool) -> Resource | None:
        rel = self.site_path(url)
        if rel is None:
            return None
        payload: bytes | Path | None = None
        if self.planned is not None and rel in self.planned:
            payload = self.planned[rel]
        elif self.root is not None:
            payload = self.root / rel
        if isinstance(payload, bytes):
            return Resource(url, size=len(payload), body=payload if want_body else None)
        if payload is None or not payload.is_file():
            return Resource(url, error="is not in the build")
        size = payload.stat().st_size
        if not want_body:
            return Resource(url, size=size)
        if size > MAX_BODY:
            return Resource(url, size=size, error=f"is larger than {MAX_BODY} bytes")
        return Resource(url, size=size, body=payload.read_bytes())

    def site_path(self, url: str) -> str | None:
        """The site-relative path of ``url``, or None when it is not under the base URL."""
        base = urlsplit(self.base_url.rstrip("/") + "/")
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        if not parts.path.startswith(base.path):
            return None
        rel = PurePosixPath(unquote(parts.path[len(base.path) :]))
        if not rel.parts or rel.is_absolute() or ".." in rel.parts:
            return None
        return str(rel)


# -- artwork: checked in mediahub.artwork (Pillow's home) ----------------------


# -- JSON chapters -------------------------------------------------------------


def chapters_problem(body: bytes) -> str | None:
    """Why a JSON chapters file breaks the Podcasting 2.0 format, or None."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"is not UTF-8 JSON ({exc})"
    if not isinstance(data, dict):
        return "is not a JSON object"
    if not isinstance(data.get("version"), str):
        return 'has no "version" string'
    chapters = data.get("chapters")
    if not isinstance(chapters, list):
        return 'has no "chapters" list'
    previous = -1.0
    for number, chapter in enumerate(chapters, 1):
        if not isinstance(chapter, dict):
            return f"chapter {number} is not an object"
        start = chapter.get("startTime")
        if isinstance(start, bool) or not isinstance(start, int | float) or start < 0:
            return f"chapter {number} has no startTime of 0 or more seconds"
        end = chapter.get("endTime")
        if end is not None and (
            isinstance(end, bool) or not isinstance(end, int | float) or end < start
        ):
            return f"chapter {number} has an endTime before its startTime"
        for key in ("title", "img", "url"):
            if key in chapter and not isinstance(chapter[key], str):
                return f'chapter {number} has a "{key}" that is not a string'
        if start < previous:
            return f"chapter {number} starts at {start}s, before chapter {number - 1}"
        previous = float(start)
    return None


# -- transcripts ---------------------------------------------------------------

_VTT_TIME = r"(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}"
_VTT_TIMING = re.compile(rf"^({_VTT_TIME})[ \t]+-->[ \t]+({_VTT_TIME})(?:[ \t].*)?$")
_SRT_TIMING = re.compile(r"^(\d{2,}:[0-5]\d:[0-5]\d,\d{3}) --> (\d{2,}:[0-5]\d:[0-5]\d,\d{3})$")


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def _timed_lines(lines: list[str], timing: re.Pattern[str], kind: str) -> str | None:
    cues = 0
    for number, line in enumerate(lines, 1):
        if "-->" not in line:
            continue
        match = timing.match(line.strip())
        if match is None:
            return f"line {number} is not a {kind} cue timing: {line.strip()[:60]!r}"
        if _seconds(match.group(2)) < _seconds(match.group(1)):
            return f"line {number}: the cue ends before it starts"
        cues += 1
    return None if cues else "has no cues"


def _vtt_problem(text: str) -> str | None:
    lines = text.splitlines()
    if not lines or not re.match(r"^WEBVTT(?:[ \t].*)?$", lines[0]):
        return 'does not start with "WEBVTT"'
    return _timed_lines(lines, _VTT_TIMING, "WebVTT")


def _srt_problem(text: str) -> str | None:
    return _timed_lines(text.splitlines(), _SRT_TIMING, "SRT")


def _json_transcript_problem(text: str) -> str | None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"is not JSON ({exc})"
    segments = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(segments, list):
        return 'has no "segments" list'
    for number, segment in enumerate(segments, 1):
        if not isinstance(segment, dict) or not isinstance(segment.get("body"), str):
            return f'segment {number} has no "body" text'
        start, end = segment.get("startTime"), segment.get("endTime")
        if not isinstance(start, int | float) or not isinstance(end, int | float) or end < start:
            return f"segment {number} has no startTime/endTime pair in order"
    return None


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _html_problem(text: str) -> str | None:
    parser = _TextOf()
    parser.feed(text)
    parser.close()
    return None if "".join(parser.text).strip() else "has no text"


_TRANSCRIPT_PARSERS: dict[str, Callable[[str], str | None]] = {
    "text/vtt": _vtt_problem,
    "application/x-subrip": _srt_problem,
    "application/srt": _srt_problem,
    "application/json": _json_transcript_problem,
    "text/html": _html_problem,
    "text/plain": lambda text: None if text.strip() else "is empty",
}
TRANSCRIPT_TYPES = tuple(_TRANSCRIPT_PARSERS)


def transcript_problem(body: bytes, mime_type: str) -> str | None:
    """Why a transcript cannot be read as the type the feed declares, or None."""
    parse = _TRANSCRIPT_PARSERS.get(mime_type)
    if parse is None:
        return f"has type {mime_type!r}, not one of {', '.join(TRANSCRIPT_TYPES)}"
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    return parse(text)
