"""The command line as a user meets it: help, version, init, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediahub import __version__
from tests.conftest import run_cli


def test_version(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.code == 0
    assert result.out.strip() == f"mediahub {__version__}"


@pytest.mark.parametrize("command", [[], ["init"], ["build"], ["serve"]])
def test_help_everywhere(tmp_path: Path, command: list[str]) -> None:
    result = run_cli(*command, "--help", cwd=tmp_path)
    assert result.code == 0
    assert "usage: mediahub" in result.out


def test_python_dash_m_and_unknown_command(tmp_path: Path) -> None:
    result = run_cli("publish-everything", cwd=tmp_path)
    assert result.code == 2
    assert "invalid choice" in result.err


def test_init_then_build_an_empty_hub(tmp_path: Path) -> None:
    target = tmp_path / "x"
    result = run_cli("init", str(target), "--title", 'A "Quoted" Show', cwd=tmp_path)
    assert result.code == 0, result.err
    assert (target / "mediahub.toml").is_file()
    assert (target / "episodes").is_dir() and (target / "posts").is_dir()
    built = run_cli("build", cwd=target)
    assert built.code == 0, built.err
    assert "built 0 episodes and 0 posts" in built.out
    assert "Nothing published yet" in (target / "public" / "index.html").read_text()
    feed = (target / "public" / "feed.xml").read_text()
    assert (
        "<title>A &#34;Quoted&#34; Show</title>" in feed or '<title>A "Quoted" Show</title>' in feed
    )


def test_init_refuses_an_existing_hub(tmp_path: Path) -> None:
    assert run_cli("init", str(tmp_path / "x"), cwd=tmp_path).code == 0
    again = run_cli("init", str(tmp_path / "x"), cwd=tmp_path)
    assert again.code == 2
    assert "mediahub.toml: already exists" in again.err
    assert "Traceback" not in again.err


def test_build_outside_a_hub_says_how_to_fix(tmp_path: Path) -> None:
    result = run_cli("build", cwd=tmp_path)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "mediahub.toml: no such file" in result.err
    assert "mediahub init" in result.err


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    result = run_cli("build", "-v", cwd=tmp_path)
    assert result.code == 2
    assert "Traceback" in result.err


def test_serve_before_build_is_a_clear_error(hub: Path) -> None:
    result = run_cli("serve", cwd=hub)
    assert result.code == 2
    assert "has no built site" in result.err and "mediahub build" in result.err
