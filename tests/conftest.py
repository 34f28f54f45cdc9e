"""Shared fixtures: a copy of the example hub, the CLI as a subprocess, a running server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

REPO = Path(__file__).resolve().parents[1]
REQUIRE_TOOLS = os.environ.get("MEDIAHUB_REQUIRE_TOOLS") == "1"


def require_tool(name: str) -> str:
    """Path of an outside tool; skip without it, or fail under MEDIAHUB_REQUIRE_TOOLS=1."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: see .ci/run)"
        if REQUIRE_TOOLS:
            pytest.fail(message + " and MEDIAHUB_REQUIRE_TOOLS=1")
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True, scope="session")
def _user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled templates go to the test session's own cache, not the user's."""
    os.environ["MEDIAHUB_CACHE_DIR"] = str(tmp_path_factory.mktemp("user-cache"))
    yield


CORPUS = REPO.parent / "shared" / "corpus"


def corpus_documents() -> list[Path]:
    """The shared real-world feed corpus (beside the repository, as in CI); skip without it
    locally, fail under MEDIAHUB_REQUIRE_TOOLS=1."""
    documents = (
        sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != "MANIFEST.md")
        if CORPUS.is_dir()
        else []
    )
    if not documents:
        message = f"the shared feed corpus is not at {CORPUS}"
        if REQUIRE_TOOLS:
            pytest.fail(message + " and MEDIAHUB_REQUIRE_TOOLS=1")
        pytest.skip(message)
    return documents


def copy_example_hub(target: Path) -> Path:
    """The repository's own example hub, copied so a test may change it."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "mediahub.toml", target / "mediahub.toml")
    for name in ("episodes", "posts", "feeds"):
        shutil.copytree(REPO / name, target / name)
    return target


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    return copy_example_hub(tmp_path / "hub")


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> Result:
    """Run ``python -m mediahub`` for real, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "mediahub", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, proc: subprocess.Popen[str], log: IO[str] | None = None, timeout: float = 30
) -> None:
    """Until something listens on ``port``; an early exit raises with the server's stderr
    (from ``log`` when it went to a file, else from its pipe)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if log is not None:
                log.seek(0)
                said = log.read()
            else:
                said = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"server exited early: {said}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout}s")


@dataclass
class Served:
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serving(hub: Path, port: int, *extra: str) -> Iterator[subprocess.Popen[str]]:
    """``mediahub serve`` on ``port`` as a subprocess, stopped (and reaped) on exit.

    Its stderr (the access log among it) goes to a file, not a pipe: nobody reads
    a pipe while the tests run, and once its 64 KiB filled, the server's next log
    write would block its event loop and every later request would time out."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mediahub", "serve", "--port", str(port), *extra],
            cwd=hub,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        try:
            wait_for_port(port, proc, log)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def served_hub(hub: Path) -> Iterator[Served]:
    """The example hub built for, and served by, ``mediahub serve`` on a free local port."""
    port = free_port()
    result = run_cli("build", "--url", f"http://127.0.0.1:{port}", cwd=hub)
    assert result.code == 0, result.err
    with serving(hub, port, "--url", f"http://127.0.0.1:{port}"):
        yield Served(hub, port)
