"""A plain, non-editable install of the wheel gives a working `mediahub`, templates included."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_example_hub


@pytest.mark.slow
def test_wheel_ships_templates_and_builds_a_hub(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("mediahub-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mediahub/templates/feed.xml" in names
    assert "mediahub/templates/static/player.js" in names
    target = tmp_path / "site-packages"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    hub = copy_example_hub(tmp_path / "hub")
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import mediahub.publish.templating as t, mediahub; "
            "print(mediahub.__file__); print(t.builtin_templates())",
        ],
        cwd=hub,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    module_file, templates = probe.stdout.splitlines()
    assert module_file.startswith(str(target)) and templates.startswith(str(target))
    built = subprocess.run(
        [sys.executable, "-m", "mediahub", "build"],
        cwd=hub,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert (hub / "public" / "feed.xml").is_file()
    assert (hub / "public" / "static" / "player.js").is_file()
