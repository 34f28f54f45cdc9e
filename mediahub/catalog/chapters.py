"""Chapters: one model (model.Chapter) read from Podcasting 2.0 JSON chapters."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from mediahub.errors import ContentError
from mediahub.model import Chapter


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
        start = item.get("startTime") if isinstance(item, dict) else None
        if isinstance(start, bool) or not isinstance(start, (int, float)) or start < 0:
            raise ContentError(
                str(path),
                f"chapter {index} has no valid 'startTime'",
                "give every chapter a startTime in seconds",
            )
        title = item.get("title")
        chapters.append(
            Chapter(
                start=float(start),
                title=str(title or f"Chapter {index}"),
                url=item.get("url"),
                image=item.get("img"),
            )
        )
    check_chapters(chapters, duration, str(path))
    return tuple(chapters)


def check_chapters(chapters: list[Chapter], duration: float | None, where: str) -> None:
    for index, (before, after) in enumerate(itertools.pairwise(chapters), start=2):
        if after.start <= before.start:
            raise ContentError(
                where,
                f"chapter {index} ({after.title!r}) starts before or with chapter {index - 1}",
                "sort the chapters by start time",
            )
    if duration is not None:
        for index, chapter in enumerate(chapters, start=1):
            if chapter.start >= duration:
                raise ContentError(
                    where,
                    f"chapter {index} ({chapter.title!r}) starts at "
                    f"{chapter.start:.1f}s, past the end of the audio ({duration:.1f}s)",
                    "fix its start time or remove it",
                )
