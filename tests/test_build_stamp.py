"""The build stamp (publish/stamp.py): a no-change ``mediahub build`` is answered
before the configuration, the store or the templates are loaded, prints what the
full path prints, and any change to what a build reads sends it down the full path.

Every test first "settles" a hub: its inputs are dated an hour back (a stamp is
never written over inputs edited in the last seconds, see RACY_NS), then it is
built, which leaves a stamp that the quick check accepts. Then one thing changes.
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mediahub import config as config_module
from mediahub.cli import main
from mediahub.cli.hub import _plain_build
from mediahub.model import Source
from mediahub.publish import stamp
from mediahub.publish.site import build
from mediahub.store import Store
from tests.conftest import run_cli
from tests.test_publish import add_episodes

# Runs the command line as `python -m mediahub` would, then tells which heavy modules
# the process imported.
PROBE = """
import sys
from mediahub.cli import main
code = main(sys.argv[1:])
heavy = ("argparse", "mediahub.config", "mediahub.model", "mediahub.store.database", "jinja2")
print("imported:", *[m for m in heavy if m in sys.modules], file=sys.stderr)
raise SystemExit(code)
"""


def probe(hub: Path, *args: str) -> tuple[str, list[str]]:
    """(stdout, heavy modules imported) of ``mediahub --root HUB build ARGS``."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "--root", str(hub), "build", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("imported:")][-1]
    return proc.stdout, line.split()[1:]


def age(hub: Path, seconds: int = 3600) -> None:
    """Date every input of the hub (not public/ or .mediahub/) ``seconds`` back."""
    when = time.time_ns() - seconds * 1_000_000_000
    for folder, subfolders, names in os.walk(hub, topdown=True):
        if Path(folder) == hub:
            subfolders[:] = [s for s in subfolders if s not in ("public", ".mediahub")]
        for name in names:
            os.utime(os.path.join(folder, name), ns=(when, when))
        if Path(folder) != hub:
            os.utime(folder, ns=(when, when))


def cli(hub: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    """``mediahub --root HUB build --json ARGS`` in this process; its JSON."""
    code = main(["--root", str(hub), "build", "--json", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return dict(json.loads(out))


def quick(hub: Path, url: str | None = None) -> object:
    return stamp.unchanged(str(hub), url)


def settle(hub: Path, capsys: pytest.CaptureFixture[str], *args: str) -> None:
    """Build the hub, its inputs an hour old, so that a stamp vouches for the site."""
    age(hub)
    cli(hub, capsys, *args)
    url = args[args.index("--url") + 1] if "--url" in args else None
    assert quick(hub, url) is not None


def public(hub: Path, rel: str) -> str:
    return (hub / "public" / rel).read_text(encoding="utf-8")


def test_a_no_change_rebuild_takes_the_quick_path_and_prints_the_same(hub: Path) -> None:
    age(hub)
    assert run_cli("build", cwd=hub).code == 0
    for args in ((), ("--json",)):
        (hub / ".mediahub" / stamp.STAMP).unlink()  # the full path's no-change check
        full, imported = probe(hub, *args)
        assert "mediahub.config" in imported and "argparse" in imported
        again, imported = probe(hub, *args)  # answered from the stamp the full path left
        assert imported == []
        assert again == full
        if args:
            result = json.loads(full)
            assert result["written"] == 0 and result["unchanged"] > 10 and not result["skipped"]
        else:
            assert ": 0 written, " in full and " unchanged, 0 removed" in full


def test_the_quick_path_answers_for_every_plain_form_of_the_command(hub: Path) -> None:
    age(hub)
    assert run_cli("build", cwd=hub).code == 0
    for args in (["build"], ["build", "--keep-going", "--json"], ["--root", ".", "build"]):
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, *args], cwd=hub, capture_output=True, text=True
        )
        assert proc.returncode == 0 and proc.stderr.strip() == "imported:", (args, proc.stderr)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["build"], (None, None, False)),
        (["--root", "x", "build", "--json"], ("x", None, True)),
        (["build", "--root=x", "--url", "https://a.example"], ("x", "https://a.example", False)),
        (["build", "--keep-going"], (None, None, False)),
        ([], None),
        (["init", "x"], None),
        (["build", "--js"], None),  # an abbreviation: argparse decides
        (["-v", "build"], None),
        (["build", "-h"], None),
        (["--url", "https://a.example", "build"], None),  # not an option of mediahub itself
        (["build", "--root"], None),
        (["build", "--root", "--json"], None),
        (["build", "--json", "--json"], None),
        (["build", "build"], None),
        (["build", "--root="], None),
    ],
)
def test_only_plain_build_command_lines_are_answered_quickly(
    argv: list[str], expected: object
) -> None:
    assert _plain_build(argv) == expected


def test_stamp_names_are_the_configurations_defaults(hub: Path) -> None:
    paths = config_module.load(hub).paths
    assert paths.state == paths.root / stamp.STATE
    assert paths.output_lock == paths.state / stamp.LOCK
    assert paths.database == paths.state / stamp.DATABASE


def test_an_episode_edited_in_place_at_the_same_size(
    hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settle(hub, capsys)
    notes = next((hub / "episodes").glob("*/episode.md"))
    text = notes.read_text(encoding="utf-8")
    assert "Sam Okafor" in text
    before = notes.stat()
    notes.write_text(text.replace("Sam Okafor", "Sam Okafur"), encoding="utf-8")
    os.utime(notes, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert notes.stat().st_size == before.st_size
    assert quick(hub) is None
    cli(hub, capsys)
    assert "Sam Okafur" in public(hub, f"episodes/{notes.parent.name}/index.html")


def test_a_file_added_to_an_episode_folder(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settle(hub, capsys)
    folder = next(p.parent for p in (hub / "episodes").glob("*/episode.md"))
    (folder / "transcript.srt").write_text(
        "1\n00:00:00,000 --> 00:00:02,000\nHello.\n", encoding="utf-8"
    )
    assert quick(hub) is None
    result = cli(hub, capsys)
    assert result["rendered"] and list((hub / "public").rglob("transcript.srt"))


def test_an_episode_folder_added_then_removed(
    hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settle(hub, capsys)
    (folder,) = add_episodes(hub, 1, start=datetime(2025, 1, 6, 8, 0))
    assert quick(hub) is None
    cli(hub, capsys)
    assert "Extra episode 0" in public(hub, "feed.xml")
    settle(hub, capsys)
    shutil.rmtree(folder)
    assert quick(hub) is None
    cli(hub, capsys)
    assert "Extra episode 0" not in public(hub, "feed.xml")


def test_a_post_added_in_a_subfolder(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (hub / "posts" / "2026").mkdir()
    settle(hub, capsys)
    (hub / "posts" / "2026" / "nested.md").write_text(
        "---\ntitle: A nested post\ndate: 2026-01-02\n---\n\nBody.\n", encoding="utf-8"
    )
    assert quick(hub) is None
    cli(hub, capsys)
    assert "A nested post" in public(hub, "archive/index.html")


def test_mediahub_toml_edited(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settle(hub, capsys)
    toml = hub / "mediahub.toml"
    toml.write_text(toml.read_text().replace("The Quiet Leader", "The Calm Leader"))
    assert quick(hub) is None
    cli(hub, capsys)
    assert "The Calm Leader" in public(hub, "index.html")


def test_a_hub_template_added_then_edited(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settle(hub, capsys)  # no templates/ yet: recorded as missing
    override = hub / "templates" / "post.html"
    override.parent.mkdir()
    body = '{% extends "base.html" %}{% block main %}<p class="mine">A</p>{% endblock %}'
    override.write_text(body, encoding="utf-8")
    assert quick(hub) is None
    cli(hub, capsys)
    page = "posts/deciding-in-the-open/index.html"
    assert '<p class="mine">A</p>' in public(hub, page)
    settle(hub, capsys)
    override.write_text(body.replace(">A<", ">B<"), encoding="utf-8")  # same size
    assert quick(hub) is None
    cli(hub, capsys)
    assert '<p class="mine">B</p>' in public(hub, page)


def test_a_static_file_added(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (hub / "templates").mkdir()
    settle(hub, capsys)
    static = hub / "templates" / "static"
    static.mkdir()
    (static / "style.css").write_text("body { color: teal; }\n", encoding="utf-8")
    assert quick(hub) is None
    cli(hub, capsys)
    assert public(hub, "static/style.css") == "body { color: teal; }\n"


def test_the_cover_image_replaced(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mediahub.artwork import placeholder_cover

    settle(hub, capsys)
    cover = hub / "episodes" / "cover.jpg"
    placeholder_cover(cover, "another seed entirely")
    assert quick(hub) is None
    cli(hub, capsys)
    assert (hub / "public" / "cover.jpg").read_bytes() == cover.read_bytes()


def test_an_output_file_deleted(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settle(hub, capsys)
    page = hub / "public" / "posts" / "deciding-in-the-open" / "index.html"
    page.unlink()
    assert quick(hub) is None
    cli(hub, capsys)
    assert page.is_file()


def test_a_scheduled_post_whose_time_has_come(hub: Path) -> None:
    real_now = datetime.now(UTC).replace(microsecond=0)
    (hub / "posts" / "soon.md").write_text(
        f"---\ntitle: Soon enough\ndate: {(real_now - timedelta(hours=1)).isoformat()}\n---\n\n"
        "Body.\n",
        encoding="utf-8",
    )
    age(hub)
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        earlier = build(config, store, now=real_now - timedelta(hours=2), leave_stamp=True)
        assert earlier.scheduled == 1
        assert not (hub / "public" / "posts" / "soon").exists()
        assert (hub / ".mediahub" / stamp.STAMP).is_file()
    assert quick(hub) is None  # its time has come since that build
    assert run_cli("build", cwd=hub).code == 0
    assert (hub / "public" / "posts" / "soon" / "index.html").is_file()
    assert quick(hub) is not None  # nothing scheduled any more


def test_a_future_scheduled_post_does_not_stop_the_quick_path(hub: Path) -> None:
    later = datetime.now(UTC) + timedelta(days=3)
    (hub / "posts" / "later.md").write_text(
        f"---\ntitle: Later\ndate: {later.isoformat()}\n---\n\nBody.\n", encoding="utf-8"
    )
    age(hub)
    result = run_cli("build", "--json", cwd=hub)
    assert json.loads(result.out)["scheduled"] == 1
    assert quick(hub) is not None


def test_another_url(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = "https://other.example.org"
    settle(hub, capsys)
    assert quick(hub, other) is None
    cli(hub, capsys, "--url", other)
    assert f"{other}/feed.xml" in public(hub, "feed.xml")
    assert quick(hub, other) is not None and quick(hub) is None
    cli(hub, capsys)
    assert f"{other}/feed.xml" not in public(hub, "feed.xml")


def test_a_source_added_then_fetched(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settle(hub, capsys)
    config = config_module.load(hub)
    url = "https://radio.example.org/feed.xml"
    with Store(config.paths.database) as store:
        store.add_source(Source(url=url, topic="radio"))
    assert quick(hub) is None
    cli(hub, capsys)
    assert url in public(hub, "blogroll.opml")
    assert quick(hub) is not None
    with Store(config.paths.database) as store:
        state = store.get_source(url)
        assert state is not None
        store.save_fetch_state(replace(state, last_fetched=datetime.now(UTC)))
    assert quick(hub) is None
    cli(hub, capsys)
    assert quick(hub) is not None


def test_an_aggregation_cycle(hub: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`mediahub aggregate` between two builds: the next build is a real one."""
    settle(hub, capsys)
    result = run_cli("aggregate", "--all", cwd=hub)
    assert result.code == 0, result.err
    assert quick(hub) is None
    cli(hub, capsys)
    assert "leadership" in public(hub, "topics/index.html")
    assert quick(hub) is not None
    assert run_cli("aggregate", "--all", cwd=hub).code == 0
    assert quick(hub) is None


def test_every_change_to_the_sources_table_changes_the_token(hub: Path) -> None:
    import sqlite3

    from mediahub.store.changes import read_token

    config = config_module.load(hub)
    seen = set()
    with Store(config.paths.database) as store:
        seen.add(store.sources_token())
        store.add_source(Source(url="https://a.example/feed", topic="t"))
        seen.add(store.sources_token())
        other = sqlite3.connect(config.paths.database)  # any writer, not only the Store
        with other:
            other.execute("UPDATE sources SET title = 'x'")
        other.close()
        seen.add(store.sources_token())
        store.remove_source("https://a.example/feed")
        token = store.sources_token()
        seen.add(token)
    assert len(seen) == 4
    assert read_token(str(config.paths.database)) == token
    assert read_token(str(hub / "nowhere.db")) is None


@pytest.mark.parametrize(
    "damage",
    ["garbage", "empty", "truncated", "version", "format", "types", "root"],
)
def test_a_damaged_or_foreign_stamp_is_ignored(
    hub: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    settle(hub, capsys)
    path = hub / ".mediahub" / stamp.STAMP
    raw = path.read_bytes()
    data = marshal.loads(raw)
    if damage == "garbage":
        raw = b"\x00not a stamp\xff" * 10
    elif damage == "empty":
        raw = b""
    elif damage == "truncated":
        raw = raw[: len(raw) // 2]
    elif damage == "types":
        data["files"] = "not a list of stats"
        raw = marshal.dumps(data)
    else:
        data[damage] = {"version": "0.0.0", "format": 0, "root": "/elsewhere"}[damage]
        raw = marshal.dumps(data)
    path.write_bytes(raw)
    assert quick(hub) is None
    expected = cli(hub, capsys)  # the full path's no-change check, which stamps again
    assert expected["written"] == 0
    assert quick(hub) is not None


def test_no_stamp_over_inputs_edited_a_moment_ago(
    hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settle(hub, capsys)
    post = hub / "posts" / "a-page-a-morning.md"
    post.write_text(post.read_text().replace("One page, no more.", "One page, never more."))
    cli(hub, capsys)  # a real build: its input changed within RACY_NS of being read
    assert not (hub / ".mediahub" / stamp.STAMP).exists()
    age(hub)
    cli(hub, capsys)
    assert quick(hub) is not None


def test_a_hub_with_its_own_state_folder_gets_no_stamp(
    hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = hub / "mediahub.toml"
    text = toml.read_text().replace('output = "public"', 'output = "public"\nstate = "st"')
    toml.write_text(text)
    age(hub)
    cli(hub, capsys)
    cli(hub, capsys)
    assert (hub / "st" / "mediahub.db").is_file()
    assert not (hub / "st" / stamp.STAMP).exists() and not (hub / ".mediahub").exists()


def test_the_quick_path_waits_while_another_process_writes_the_site(
    hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mediahub.files import exclusive

    settle(hub, capsys)
    with exclusive(hub / ".mediahub" / "output.lock"):
        waiting = subprocess.Popen(
            [sys.executable, "-m", "mediahub", "--root", str(hub), "build"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)
        assert waiting.poll() is None
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert b"0 written" in out


def test_a_build_that_leaves_no_stamp_still_removes_the_old_one(
    hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server's rebuild writes the site without a stamp: the command's stamp from
    before must not vouch for what it wrote (here: another base URL)."""
    settle(hub, capsys)
    config = config_module.load(hub).with_url("https://other.example.org")
    with Store(config.paths.database) as store:
        result = build(config, store, now=datetime.now(UTC))
    assert result.stats.written
    assert quick(hub) is None
    cli(hub, capsys)
    assert "https://other.example.org" not in public(hub, "feed.xml")
