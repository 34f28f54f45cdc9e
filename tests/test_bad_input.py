"""Bad input: one clear line naming the file, exit 2, and public/ left exactly as it was."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def episode_md(hub: Path) -> Path:
    return next(hub.glob("episodes/*/episode.md"))


def break_toml(hub: Path) -> str:
    path = hub / "mediahub.toml"
    path.write_text(path.read_text().replace('title = "The Quiet Leader"', 'title = "The Quiet'))
    return "mediahub.toml:7"


def remove_audio(hub: Path) -> str:
    audio = next(hub.glob("episodes/*/*.mp3"))
    audio.unlink()
    return f"{audio.parent.name}: has no audio file"


def drop_title(hub: Path) -> str:
    path = episode_md(hub)
    path.write_text(
        "\n".join(x for x in path.read_text().splitlines() if not x.startswith("title:"))
    )
    return f"{path.parent.name}/episode.md: has no 'title'"


def break_post_front_matter(hub: Path) -> str:
    path = hub / "posts" / "deciding-in-the-open.md"
    path.write_text(path.read_text().replace("tags: [decisions, teams]", "tags: [decisions, teams"))
    return "deciding-in-the-open.md: front matter is not valid YAML at line"


def impossible_post_date(hub: Path) -> str:
    """PyYAML raises a bare ValueError for 30 February: that was a traceback."""
    path = hub / "posts" / "deciding-in-the-open.md"
    text = path.read_text()
    path.write_text(re.sub(r"^date: .*$", "date: 2026-02-30", text, count=1, flags=re.M))
    return "deciding-in-the-open.md: front matter 'date' holds an impossible value"


@pytest.mark.parametrize(
    "breakage",
    [break_toml, remove_audio, drop_title, break_post_front_matter, impossible_post_date],
)
def test_bad_input_leaves_public_untouched(hub: Path, breakage: Callable[[Path], str]) -> None:
    assert run_cli("build", cwd=hub).code == 0
    before = snapshot(hub / "public")
    expected = breakage(hub)
    result = run_cli("build", cwd=hub)
    assert result.code == 2
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("mediahub: error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.err
    assert snapshot(hub / "public") == before


def test_several_problems_are_all_reported(hub: Path) -> None:
    remove_audio(hub)
    break_post_front_matter(hub)
    result = run_cli("build", cwd=hub)
    assert result.code == 2
    assert "has no audio file" in result.err
    assert "deciding-in-the-open.md" in result.err
    assert "2 problems found, nothing was published" in result.err
    assert not (hub / "public").exists()


def test_keep_going_publishes_the_rest(hub: Path) -> None:
    break_post_front_matter(hub)
    result = run_cli("build", "--keep-going", cwd=hub)
    assert result.code == 2
    assert "skipped:" in result.err
    assert (hub / "public" / "posts" / "a-page-a-morning" / "index.html").is_file()
    assert not (hub / "public" / "posts" / "deciding-in-the-open").exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ('url = "http://127.0.0.1:8000"', "mediahub.toml:6: [site]: missing required key 'url'"),
        ("explicit = false", None),
    ],
)
def test_config_errors_name_the_key(hub: Path, edit: str, expected: str | None) -> None:
    path = hub / "mediahub.toml"
    if expected is None:
        path.write_text(path.read_text().replace(edit, 'explicit = "no"'))
        expected = "mediahub.toml:16: site.explicit: must be true or false, not a string"
    else:
        path.write_text(path.read_text().replace(edit, ""))
    result = run_cli("build", cwd=hub)
    assert result.code == 2
    assert expected in result.err, result.err


def test_unknown_config_key_is_refused(hub: Path) -> None:
    path = hub / "mediahub.toml"
    path.write_text(path.read_text().replace("[paths]", '[paths]\nepisode = "eps"'))
    result = run_cli("build", cwd=hub)
    assert result.code == 2
    assert "paths.episode: unknown key 'episode'" in result.err
