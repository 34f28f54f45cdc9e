"""A real podcast app, gPodder's command line `gpo`, subscribes to the served feed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import Served, require_tool


def test_gpodder_subscribes_and_downloads_the_published_bytes(
    served_hub: Served, tmp_path: Path
) -> None:
    gpo = require_tool("gpo")
    env = {
        **os.environ,
        "GPODDER_HOME": str(tmp_path / "gpodder-home"),
        "GPODDER_DOWNLOAD_DIR": str(tmp_path / "downloads"),
    }

    def run(*args: str) -> str:
        proc = subprocess.run(
            [gpo, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    feed = f"{served_hub.url}/feed.xml"
    assert "Successfully added" in run("subscribe", feed)
    assert "1 new episode" in run("update")
    run("download")
    downloaded = [p for p in (tmp_path / "downloads").rglob("*") if p.is_file()]
    assert [p.suffix for p in downloaded] == [".mp3"], downloaded
    sources = list((served_hub.root / "episodes").glob("*/*.mp3"))
    assert len(sources) == 1
    assert downloaded[0].read_bytes() == sources[0].read_bytes()
    episodes = run("episodes", "--guid")
    guid = next(
        line.split(":", 1)[1].strip()
        for line in next(served_hub.root.glob("episodes/*/episode.md")).read_text().splitlines()
        if line.startswith("guid:")
    )
    assert guid in episodes
