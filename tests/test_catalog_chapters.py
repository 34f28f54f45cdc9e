"""Chapters from JSON, text lists and Audacity labels; the errors name the chapter at fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediahub.catalog.chapters import (
    check_chapters,
    parse_text_chapters,
    read_chapters_file,
    read_json_chapters,
    to_json,
    with_ends,
)
from mediahub.errors import ContentError
from mediahub.model import Chapter


def test_text_list_with_hours_minutes_and_fractions() -> None:
    text = "# our chapters\n00:00 Welcome\n\n1:30 The question\n01:02:03.5 Thanks, all\n"
    assert parse_text_chapters(text, "ch.txt") == (
        Chapter(0.0, "Welcome"),
        Chapter(90.0, "The question"),
        Chapter(3723.5, "Thanks, all"),
    )


def test_audacity_label_export() -> None:
    text = "0.000000\t0.000000\tIntro\n12.500000\t40.250000\tInterview\n"
    assert parse_text_chapters(text, "labels.txt") == (
        Chapter(0.0, "Intro"),
        Chapter(12.5, "Interview", end=40.25),
    )


def test_a_line_that_is_not_a_chapter_is_named() -> None:
    with pytest.raises(ContentError, match=r"ch\.txt: line 2 is not a chapter: 'Intro at one'"):
        parse_text_chapters("00:00 Start\nIntro at one\n", "ch.txt")


@pytest.mark.parametrize(
    ("chapters", "message"),
    [
        ([Chapter(0, "A"), Chapter(20, "B"), Chapter(10, "C")], r"chapter 3 \('C'\) starts before"),
        ([Chapter(0, "A", end=15), Chapter(10, "B")], r"chapter 1 \('A'\) ends at 15\.000s, after"),
        (
            [Chapter(0, "A"), Chapter(70, "Late")],
            r"chapter 2 \('Late'\) starts at 70\.0s, past the",
        ),
        ([Chapter(0, "A", end=65)], r"chapter 1 \('A'\) ends at 65\.0s, past the end"),
    ],
)
def test_bad_chapters_say_which(chapters: list[Chapter], message: str) -> None:
    with pytest.raises(ContentError, match=message):
        check_chapters(chapters, 60.0, "chapters.json")


def test_json_chapters_file_past_the_end(tmp_path: Path) -> None:
    path = tmp_path / "chapters.json"
    path.write_text(
        json.dumps(
            {
                "version": "1.2.0",
                "chapters": [
                    {"startTime": 0, "title": "Start"},
                    {"startTime": 99, "title": "Gone"},
                ],
            }
        )
    )
    with pytest.raises(ContentError, match=r"chapters\.json: chapter 2 \('Gone'\) starts at 99"):
        read_json_chapters(path, duration=30.0)


def test_files_are_told_apart_by_content(tmp_path: Path) -> None:
    text = tmp_path / "chapters.txt"
    text.write_text("00:00 One\n00:10 Two\n", encoding="utf-8")
    as_json = tmp_path / "chapters.json"
    as_json.write_text(to_json(read_chapters_file(text, 60.0)), encoding="utf-8")
    assert read_chapters_file(as_json, 60.0) == (Chapter(0.0, "One"), Chapter(10.0, "Two"))


def test_with_ends_fills_the_gaps_up_to_the_end() -> None:
    ends = with_ends((Chapter(0, "A"), Chapter(10, "B", end=12)), 30.0)
    assert [(c.start, c.end) for c in ends] == [(0, 10), (10, 12)]


starts = st.lists(
    st.floats(min_value=0, max_value=7200, allow_nan=False).map(lambda x: round(x, 3)),
    min_size=1,
    max_size=20,
    unique=True,
).map(sorted)


@given(starts=starts, titles=st.lists(st.text(min_size=1, max_size=80), min_size=20, max_size=20))
def test_json_round_trip(
    starts: list[float], titles: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    chapters = tuple(Chapter(s, t) for s, t in zip(starts, titles, strict=False))
    path = tmp_path_factory.mktemp("ch") / "chapters.json"
    path.write_text(to_json(chapters), encoding="utf-8")
    assert read_json_chapters(path, duration=7201.0) == chapters


def test_no_chapters_have_no_ends() -> None:
    assert with_ends((), 30.0) == ()
