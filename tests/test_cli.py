"""The command line as a user meets it: help, version, init, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


PROGRAM = """
import atexit, sys
from pathlib import Path
from mediahub.cli import run
mark = Path(sys.argv.pop())
atexit.register(lambda: mark.write_text("ran"))
sys.argv = ["mediahub", *sys.argv[1:]]
run()
"""


@pytest.mark.parametrize(("hub_made", "code"), [(True, 0), (False, 2)])
def test_the_program_flushes_output_and_runs_exit_handlers_before_its_fast_exit(
    tmp_path: Path, hub_made: bool, code: int
) -> None:
    """run() skips the interpreter's teardown with os._exit: what a command printed to a
    pipe (block-buffered) must still arrive, exit handlers still run, the code holds."""
    hub = tmp_path / "hub"
    if hub_made:
        assert run_cli("init", str(hub), cwd=tmp_path).code == 0
    else:
        hub.mkdir()
    mark = tmp_path / "handler-ran"
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, "build", "--json", str(mark)],
        cwd=hub,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
    )
    assert result.returncode == code, result.stderr
    assert mark.read_text() == "ran"
    if hub_made:
        assert json.loads(result.stdout)["episodes"] == 0
    else:
        assert "mediahub: error:" in result.stderr and "mediahub.toml" in result.stderr


@pytest.mark.parametrize("buffered", [True, False])
def test_a_reader_that_stops_early_ends_the_command_quietly(hub: Path, buffered: bool) -> None:
    """``mediahub sources list | head``: the pipe closes while the command still writes.
    No traceback, and the exit code of a process that SIGPIPE ended (141)."""
    with (hub / "mediahub.toml").open("a", encoding="utf-8") as toml:
        for n in range(1500):  # about 200 KB of listing: more than a pipe holds
            toml.write(f'\n[[sources]]\nurl = "https://feeds{n}.example.org/rss"\ntopic = "t"\n')
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediahub", "sources", "list"],
        cwd=hub,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"new")
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""
