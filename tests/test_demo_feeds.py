"""The example hub's sample feeds stay fresh for the demo (feeds/redate.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mediahub.aggregate.parse import parse_feed
from tests.conftest import REPO, run_cli

SAMPLES = ("quiet-mornings.xml", "coaching-notes.atom", "studio-log.json", "mic-check.xml")


def _redate(folder: Path, today: date) -> str:
    proc = subprocess.run(
        [sys.executable, str(REPO / "feeds" / "redate.py"), str(folder), "--today", str(today)],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def _published(folder: Path) -> dict[str, dict[str, datetime | None]]:
    return {
        name: {
            item.id: item.published
            for item in parse_feed((folder / name).read_bytes(), f"file:{name}").items
        }
        for name in SAMPLES
    }


def test_every_date_moves_by_the_same_whole_days_and_fresh_feeds_stay(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    for name in SAMPLES:
        (folder / name).write_bytes((REPO / "feeds" / name).read_bytes())
    before = _published(folder)
    newest = max(d for items in before.values() for d in items.values() if d)
    today = newest.date() + timedelta(days=400)

    assert "moved 399 days forward" in _redate(folder, today)
    after = _published(folder)
    assert after.keys() == before.keys()
    for name, items in before.items():
        assert after[name].keys() == items.keys(), name  # the same items, ids unchanged
        for item_id, when in items.items():
            assert when is not None
            assert after[name][item_id] == when + timedelta(days=399), (name, item_id)
    moved = {name: (folder / name).read_bytes() for name in SAMPLES}
    assert _redate(folder, today + timedelta(days=3)) == ""  # fresh: left alone
    assert {name: (folder / name).read_bytes() for name in SAMPLES} == moved


def _age(folder: Path, days: int) -> None:
    """Move every sample date ``days`` back, as if the demo ran that much later."""
    spec = importlib.util.spec_from_file_location("redate", REPO / "feeds" / "redate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in SAMPLES:
        path = folder / name
        path.write_text(module._shifted(path.read_text("utf-8"), timedelta(days=-days)), "utf-8")


def test_the_demo_shows_every_sample_source_on_its_topic_page(hub: Path) -> None:
    """What ``make demo`` does, a year after the samples were written, with the real
    clock: redate, aggregate, build. Without the redating every topic page is empty
    (each source silent for more than 28 days)."""
    _age(hub / "feeds", 365)
    _redate(hub / "feeds", datetime.now(UTC).date())
    assert run_cli("aggregate", "--all", cwd=hub).code == 0
    assert run_cli("build", cwd=hub).code == 0
    pages = {
        topic: (hub / "public" / "topics" / topic / "index.html").read_text(encoding="utf-8")
        for topic in ("leadership", "coaching", "podcasting")
    }
    for topic, name in (
        ("leadership", "Quiet Mornings"),
        ("coaching", "Coaching Notes"),
        ("podcasting", "Studio Log"),
    ):
        assert name in pages[topic], (topic, name)
    for title in (
        "The standup nobody needed",
        "Silence is a question too",
        "Record thirty seconds of room tone",
    ):
        assert any(title in page for page in pages.values()), title
