"""Chapters: one model (model.Chapter) from every source, checked once.

Sources: Podcasting 2.0 JSON chapters (version 1.2), a plain text list
(``00:01:30 Title``), Audacity label exports (``start<TAB>end<TAB>label``), and
ID3 CHAP/CTOC (read in tags.py). The same chapters are written back as ID3
CHAP/CTOC into the audio and as a JSON chapters file published next to it.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from mediahub.errors import ContentError
from mediahub.model import Chapter

JSON_VERSION = "1.2.0"
# An end a few milliseconds past the audio's length is rounding, not an error.
_SLACK = 0.05
_CLOCK_LINE = re.compile(r"\s*((?:\d+:)?\d{1,2}:\d{1,2}(?:[.,]\d+)?)\s+(.+?)\s*")
_AUDACITY_LINE = re.compile(r"\s*(\d+(?:\.\d+)?)\t(\d+(?:\.\d+)?)\t(.*)")


def read_json_chapters(path: Path, duration: float | None = None) -> tuple[Chapter, ...]:
    """Parse a JSON chapters file (version 1.2); refuse unsorted or out-of-range chapters."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(str(path), f"cannot be read: {exc}", "check the file") from None
    except json.JSONDecodeError as exc:
        raise ContentError(
            str(path), f"is not valid JSON (line {exc.lineno}: {exc.msg})", "fix the JSON syntax"
        ) from None
    items = data.get("chapters") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ContentError(
            str(path),
            "has no 'chapters' list",
            'write {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "..."}]}',
        )
    chapters: list[Chapter] = []
    for index, item in enumerate(items, start=1):
        start: Any = item.get("startTime") if isinstance(item, dict) else None
        if not _is_seconds(start):
            raise ContentError(
                str(path),
                f"chapter {index} has no valid 'startTime'",
                "give every chapter a startTime in seconds",
            )
        end = item.get("endTime")
        if end is not None and not _is_seconds(end):
            raise ContentError(
                str(path),
                f"chapter {index} has an invalid 'endTime'",
                "give endTime in seconds or leave it out",
            )
        title = item.get("title")
        chapters.append(
            Chapter(
                start=float(start),
                title=str(title or f"Chapter {index}"),
                url=item.get("url"),
                image=item.get("img"),
                end=float(end) if end is not None else None,
            )
        )
    check_chapters(chapters, duration, str(path))
    return tuple(chapters)


def _is_seconds(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value >= 0


def parse_text_chapters(text: str, where: str) -> tuple[Chapter, ...]:
    """``00:01:30 Title`` lines, or an Audacity label export; blank and # lines are skipped."""
    chapters: list[Chapter] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        audacity = _AUDACITY_LINE.fullmatch(line)
        if audacity:
            start, end = float(audacity.group(1)), float(audacity.group(2))
            title = audacity.group(3).strip() or f"Chapter {len(chapters) + 1}"
            chapters.append(Chapter(start=start, title=title, end=end if end > start else None))
            continue
        clock = _CLOCK_LINE.fullmatch(line)
        if not clock:
            raise ContentError(
                where,
                f"line {number} is not a chapter: {line.strip()[:60]!r}",
                "write one chapter per line as '00:01:30 Title'",
            )
        chapters.append(Chapter(start=clock_seconds(clock.group(1)), title=clock.group(2)))
    if not chapters:
        raise ContentError(
            where, "holds no chapters", "write one chapter per line as '00:01:30 Title'"
        )
    return tuple(chapters)


def clock_seconds(stamp: str) -> float:
    """'1:02:03.5' -> 3723.5."""
    seconds = 0.0
    for part in stamp.replace(",", ".").split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def read_chapters_file(path: Path, duration: float | None) -> tuple[Chapter, ...]:
    """Chapters from a JSON chapters file or a text list (by content), checked against the audio."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(str(path), f"cannot be read: {exc}", "check the file") from None
    if text.lstrip().startswith("{"):
        return read_json_chapters(path, duration)
    chapters = parse_text_chapters(text, str(path))
    check_chapters(list(chapters), duration, str(path))
    return chapters


def check_chapters(chapters: list[Chapter], duration: float | None, where: str) -> None:
    """Refuse unsorted, overlapping or past-the-end chapters, naming the first one at fault."""
    for index, (before, after) in enumerate(itertools.pairwise(chapters), start=2):
        if after.start <= before.start:
            raise ContentError(
                where,
                f"chapter {index} ({after.title!r}) starts before or with chapter {index - 1}",
                "sort the chapters by start time",
            )
        if before.end is not None and before.end > after.start + 1e-6:
            raise ContentError(
                where,
                f"chapter {index - 1} ({before.title!r}) ends at {before.end:.3f}s, after "
                f"chapter {index} ({after.title!r}) starts at {after.start:.3f}s",
                "make chapters end where the next one starts",
            )
    for index, chapter in enumerate(chapters, start=1):
        if chapter.end is not None and chapter.end < chapter.start:
            raise ContentError(
                where,
                f"chapter {index} ({chapter.title!r}) ends before it starts",
                "fix its end time or remove it",
            )
        if duration is None:
            continue
        if chapter.start >= duration:
            raise ContentError(
                where,
                f"chapter {index} ({chapter.title!r}) starts at "
                f"{chapter.start:.1f}s, past the end of the audio ({duration:.1f}s)",
                "fix its start time or remove it",
            )
        if chapter.end is not None and chapter.end > duration + _SLACK:
            raise ContentError(
                where,
                f"chapter {index} ({chapter.title!r}) ends at {chapter.end:.1f}s, "
                f"past the end of the audio ({duration:.1f}s)",
                "fix its end time or remove it",
            )


def with_ends(chapters: tuple[Chapter, ...], duration: float) -> tuple[Chapter, ...]:
    """Every chapter with an explicit end: the next one's start, or the end of the audio."""
    if not chapters:
        return ()
    ends = [c.start for c in chapters[1:]] + [duration]
    return tuple(
        replace(c, end=min(c.end, end) if c.end is not None else end)
        for c, end in zip(chapters, ends, strict=True)
    )


def to_json(chapters: tuple[Chapter, ...]) -> str:
    """A Podcasting 2.0 JSON chapters document (version 1.2)."""
    items: list[dict[str, Any]] = []
    for chapter in chapters:
        item: dict[str, Any] = {"startTime": _number(chapter.start), "title": chapter.title}
        if chapter.end is not None:
            item["endTime"] = _number(chapter.end)
        if chapter.url:
            item["url"] = chapter.url
        if chapter.image:
            item["img"] = chapter.image
        items.append(item)
    document = {"version": JSON_VERSION, "chapters": items}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _number(seconds: float) -> float | int:
    rounded = round(seconds, 3)
    return int(rounded) if rounded == int(rounded) else rounded
