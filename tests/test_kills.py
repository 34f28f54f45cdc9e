"""kill -9 at random moments: `build`, `aggregate` and `episode add` lose nothing.

Each command runs as a real subprocess in its own process group (the build forks
render workers) and is killed with SIGKILL after a delay drawn from a seeded
``random.Random``, so a failing run can be replayed with the same delays. A kill
only counts if the process was still running when it landed. After every kill:
the podcast feed is byte for byte the old one or the new one, every file it links
exists, the store passes ``PRAGMA integrity_check``, no episode is missing, no
GUID changed, and the next run completes normally.

``make test`` kills each command a few times; ``make test-long`` (MEDIAHUB_LONG=1)
at least 50 times. With MEDIAHUB_FIGURES=FILE each test appends its figures to
FILE as one JSON line (the README's Reliability section is made from them).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from tests.aggserver import serving_in_thread
from tests.conftest import copy_example_hub, require_tool, run_cli

LONG = os.environ.get("MEDIAHUB_LONG") == "1"
KILLS = 50 if LONG else 8
SEED = 20261102
BASES = ("http://a.example", "http://b.example")
GUID_LINE = re.compile(r"^guid:\s*(\S+)\s*$", re.MULTILINE)


def record_figures(name: str, **figures: object) -> None:
    """Print the figures; with MEDIAHUB_FIGURES=FILE also append them to FILE as JSON."""
    line = json.dumps({"test": name, "long": LONG, **figures})
    print(line)
    target = os.environ.get("MEDIAHUB_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@dataclass
class Killer:
    """Starts a command in its own process group and kills the whole group at a seeded moment."""

    cwd: Path
    rng: random.Random
    landed: int = 0
    finished_first: int = 0

    def run_once(self, args: list[str], within: float) -> bool:
        """Start ``args``; SIGKILL its group after a random delay; True if the kill landed."""
        delay = self.rng.uniform(0.0, within)
        proc = subprocess.Popen(
            [sys.executable, "-m", "mediahub", *args],
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            _reap_group(proc.pid)
            self.landed += 1
            return True
        self.finished_first += 1
        return False

    def kill_until_landed(self, args: list[str], within: float) -> None:
        """Retry with fresh delays until one kill lands mid-run (a few tries at most)."""
        for _ in range(20):
            if self.run_once(args, within):
                return
            within *= 0.8
        pytest.fail(f"{args} always finished before the kill ({within:.2f}s)")


def _reap_group(pgid: int) -> None:
    """Wait until no process of the killed group is left (forked workers die with it)."""
    for _ in range(200):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def timed(args: list[str], cwd: Path) -> float:
    """Run a command to completion (it must succeed); return how long it took."""
    start = time.monotonic()
    result = run_cli(*args, cwd=cwd, timeout=600)
    assert result.code == 0, result.err
    return time.monotonic() - start


def integrity(database: Path) -> None:
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()


def episode_guids(hub: Path) -> dict[str, str]:
    """Folder name -> the GUID in its episode.md, for every (non-hidden) episode folder."""
    guids: dict[str, str] = {}
    for folder in sorted((hub / "episodes").iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        text = (folder / "episode.md").read_text(encoding="utf-8")
        match = GUID_LINE.search(text)
        guids[folder.name] = match.group(1) if match else ""
    return guids


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


ATTRIBUTE_LINKS = {"enclosure": "url", "href": "href", "url": "url"}


def feed_links(data: bytes) -> Iterator[str]:
    """Every URL the feed points apps at: item links, enclosures, chapters, transcripts, art."""
    root = ET.fromstring(data)
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "link" and element.text and element.text.strip():
            yield element.text.strip()
        for name in ("url", "href"):
            value = element.get(name)
            if value and element.get("rel") not in ("hub", "self"):
                yield value


def check_links(public: Path, data: bytes) -> str:
    """Every local URL in the feed exists under public/; return the base URL it uses."""
    bases = set()
    for url in feed_links(data):
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        if base not in BASES:
            continue  # links out (funding, persons) are not ours to check
        bases.add(base)
        path = public / parts.path.lstrip("/")
        if parts.path.endswith("/") or not parts.path:
            path = path / "index.html"
        assert path.is_file(), f"the feed links {url} but {path} is missing"
    assert len(bases) == 1, f"the feed mixes base URLs: {bases}"
    return bases.pop()


def make_big_hub(target: Path, episodes: int, posts: int) -> Path:
    """The example hub plus generated episodes and posts: enough work for a kill to land."""
    hub = copy_example_hub(target)
    audio = next((hub / "episodes").glob("*/*.mp3"))
    filler = "A paragraph of notes about listening, deciding and plain words. " * 30
    for n in range(episodes):
        folder = hub / "episodes" / f"gen-{n:04d}"
        folder.mkdir()
        os.link(audio, folder / f"gen-{n:04d}.mp3")
        (folder / "episode.md").write_text(
            f"---\ntitle: Generated episode {n}\n"
            f"date: 2025-{1 + n % 12:02d}-{1 + n % 28:02d} 07:{n % 60:02d}\n"
            f"summary: Episode {n} of the fault hub.\n---\n\n{filler}\n",
            encoding="utf-8",
        )
    for n in range(posts):
        (hub / "posts" / f"gen-post-{n:04d}.md").write_text(
            f"---\ntitle: Generated post {n}\n"
            f"date: 2025-{1 + n % 12:02d}-{1 + n % 28:02d} 08:{n % 60:02d}\n"
            f"tags: [t{n % 7}, gen]\n---\n\n{filler}\n",
            encoding="utf-8",
        )
    return hub


def test_build_killed_mid_write_keeps_old_or_new_feed(tmp_path: Path) -> None:
    hub = make_big_hub(tmp_path / "hub", episodes=100, posts=150)
    public = hub / "public"
    # A complete feed for each base URL: every kill must leave exactly one of them.
    complete: dict[str, bytes] = {}
    durations = []
    for base in BASES:
        durations.append(timed(["build", "--url", base], hub))
        complete[base] = (public / "feed.xml").read_bytes()
    guids = episode_guids(hub)
    assert all(guids.values()) and len(guids) == 101
    feed_guids = {e.text for e in ET.fromstring(complete[BASES[0]]).iter("guid")}
    assert set(guids.values()) <= feed_guids
    killer = Killer(hub, random.Random(SEED))
    within = durations[-1]  # a full rebuild (the first build also wrote every GUID)
    old_feed = mid_write = 0
    for number in range(KILLS):
        base = BASES[number % 2]  # alternate bases: every page and the feed change each time
        killer.kill_until_landed(["build", "--url", base], within)
        feed = (public / "feed.xml").read_bytes()
        assert feed in complete.values(), f"kill {number}: feed.xml is a mix or truncated"
        old_feed += feed != complete[base]
        mid_write += bool(list(public.rglob(".*.tmp")))  # a temp file: killed while writing
        check_links(public, feed)
        integrity(hub / ".mediahub" / "mediahub.db")
        assert episode_guids(hub) == guids, f"kill {number}: an episode or GUID changed"
        # The next run completes and publishes the feed of its own base URL.
        timed(["build", "--url", base], hub)
        assert (public / "feed.xml").read_bytes() == complete[base]
        assert check_links(public, complete[base]) == base
        assert not list(public.rglob(".*.tmp")), "temp files left after a completed build"
    record_figures(
        "kills.build",
        kills=killer.landed,
        finished_before_kill=killer.finished_first,
        old_feed_kept=old_feed,
        killed_while_writing_a_file=mid_write,
        guids_changed=0,
        episodes_lost=0,
    )


def _feed_app(sources: int, state: dict[str, int]) -> web.Application:
    """Feeds that grow by five items every round (``state['round']``), with long bodies."""

    async def feed(request: web.Request) -> web.Response:
        number = int(request.match_info["n"])
        items = []
        for item in range(100 + 5 * state["round"]):
            items.append(
                f"<item><guid>s{number}-i{item}</guid><title>Story {item} of feed {number}"
                f"</title><link>https://news{number}.example/{item}</link>"
                f"<description>&lt;p&gt;{'Some words of the story. ' * 20}&lt;/p&gt;"
                f"</description><pubDate>Mon, 02 Nov 2026 {item % 24:02d}:00:00 GMT</pubDate>"
                "</item>"
            )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {number}</title><link>https://news{number}.example/</link>"
            f"{''.join(items)}</channel></rss>"
        )
        return web.Response(body=body.encode(), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed-{n}.xml", feed)
    return app


def _item_keys(database: Path) -> set[tuple[object, ...]]:
    """(source, item id) of every stored item, read straight from the database."""
    with sqlite3.connect(database) as db:
        rows = {tuple(row) for row in db.execute("SELECT source_url, id FROM items")}
    db.close()
    return rows


def test_aggregate_killed_mid_cycle_loses_no_item(tmp_path: Path) -> None:
    hub = copy_example_hub(tmp_path / "hub")
    sources = 6
    state = {"round": 0}
    config = hub / "mediahub.toml"
    with serving_in_thread(_feed_app(sources, state)) as base:
        text = config.read_text(encoding="utf-8")
        blocks = "".join(
            f'\n[[sources]]\nurl = "{base}/feed-{n}.xml"\ntopic = "news-{n % 3}"\n'
            for n in range(sources)
        )
        config.write_text(
            text + blocks + '\n[aggregate]\nallow_networks = ["127.0.0.0/8"]\n', encoding="utf-8"
        )
        timed(["build"], hub)
        # The first cycle's topic pages come with a full rebuild (the menus link to
        # them, the feed's podroll names the podcasts followed); later ones leave the
        # rest of the site as it is, however they are cut short.
        within = timed(["aggregate", "--all"], hub)
        feed = (hub / "public" / "feed.xml").read_bytes()
        guids = episode_guids(hub)
        database = hub / ".mediahub" / "mediahub.db"
        stored = _item_keys(database)
        killer = Killer(hub, random.Random(SEED + 1))
        lock = threading.Lock()
        for number in range(KILLS):
            with lock:
                state["round"] += 1  # every cycle has new items to store and pages to write
            killer.kill_until_landed(["aggregate", "--all"], within)
            integrity(database)
            now_stored = _item_keys(database)
            assert stored <= now_stored, f"kill {number}: {len(stored - now_stored)} items lost"
            assert (hub / "public" / "feed.xml").read_bytes() == feed
            assert episode_guids(hub) == guids
            for topic in range(3):
                page = hub / "public" / "topics" / f"news-{topic}"
                if page.exists():
                    assert (page / "index.html").is_file()
                    ET.fromstring((page / "feed.atom").read_bytes())
            timed(["aggregate", "--all"], hub)
            stored = _item_keys(database)
            assert len(stored) >= sources * (100 + 5 * state["round"]) - sources * 5
        timed(["build"], hub)
        for topic in range(3):
            ET.fromstring((hub / "public" / "topics" / f"news-{topic}" / "feed.atom").read_bytes())
    record_figures(
        "kills.aggregate",
        kills=killer.landed,
        finished_before_kill=killer.finished_first,
        items_lost=0,
        items=len(stored),
    )


@pytest.fixture
def long_recording(tmp_path: Path) -> Path:
    """A 10-minute MP3 (about 10 MB) made by ffmpeg: copying and tagging it takes a while."""
    ffmpeg = require_tool("ffmpeg")
    path = tmp_path / "recording.mp3"
    subprocess.run(
        [
            *(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=600"),
            *("-b:a", "128k", "-metadata", "title=Long talk", str(path)),
        ],
        check=True,
        timeout=120,
    )
    return path


def test_episode_add_killed_leaves_whole_folders_or_none(
    tmp_path: Path, long_recording: Path
) -> None:
    hub = copy_example_hub(tmp_path / "hub")
    timed(["build"], hub)
    original = sha256(long_recording)
    guids = episode_guids(hub)
    within = timed(["episode", "add", str(long_recording), "--title", "Warm up"], hub)
    guids = episode_guids(hub)
    killer = Killer(hub, random.Random(SEED + 2))
    staging_seen = 0
    for number in range(KILLS):
        title = f"Killed {number}"
        killer.kill_until_landed(["episode", "add", str(long_recording), "--title", title], within)
        staging_seen += any(p.name.startswith(".add-") for p in (hub / "episodes").iterdir())
        assert sha256(long_recording) == original, "the user's recording was changed"
        now = episode_guids(hub)  # every visible folder has a readable episode.md
        assert {k: v for k, v in now.items() if k in guids} == guids
        added = set(now) - set(guids)
        assert len(added) <= 1
        for name in added:  # a folder is there whole or not at all
            folder = hub / "episodes" / name
            assert now[name], f"kill {number}: {name} has no guid"
            assert (folder / f"{name}.mp3").is_file()
        timed(["episode", "add", str(long_recording), "--title", f"{title} again"], hub)
        guids = episode_guids(hub)
    timed(["build"], hub)
    integrity(hub / ".mediahub" / "mediahub.db")
    feed = (hub / "public" / "feed.xml").read_bytes()
    published = {e.text for e in ET.fromstring(feed).iter("guid")}
    assert set(guids.values()) <= published
    leftovers = [p.name for p in (hub / "episodes").iterdir() if p.name.startswith(".add-")]
    assert not leftovers, "a killed add's staging folder was not swept by the next add"
    shutil.rmtree(tmp_path / "hub")
    record_figures(
        "kills.episode_add",
        kills=killer.landed,
        finished_before_kill=killer.finished_first,
        guids_changed=0,
        episodes_lost=0,
        originals_changed=0,
        killed_while_staging=staging_seen,
        staging_folders_left=len(leftovers),
    )


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (its forked workers), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def _kill_first_worker(
    args: list[str], cwd: Path, workers: Callable[[int], list[int]] = _children
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``mediahub ARGS`` with two workers; SIGKILL the first of ``workers(pid)``
    to show up, as the out-of-memory killer would. Returns the finished run and the
    pid killed (0: none). A build's workers are its children."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediahub", *args],
        cwd=cwd,
        env={**os.environ, "MEDIAHUB_WORKERS": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    killed = 0
    try:
        while proc.poll() is None and not killed:
            for child in workers(proc.pid):
                os.kill(child, signal.SIGKILL)
                killed = child
                break
            time.sleep(0.002)
        # Before the fix the build waited forever for the killed worker's share.
        out, err = proc.communicate(timeout=120)
        # The other worker went with it: nothing of the build's session is left.
        _reap_group(proc.pid)
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), killed


@pytest.mark.parametrize("phase", ["parse", "render"])
def test_a_worker_killed_mid_build_stops_the_build_in_one_line(tmp_path: Path, phase: str) -> None:
    """A killed worker (the kernel's out-of-memory killer, say) ends the build at once
    with one line and exit code 2: no hang, nothing half-published, and the next
    build completes. ``parse``: a first build, its parse workers; ``render``: a
    rebuild for another base URL, whose parse comes from the cache, so the first
    workers forked are the ones writing pages."""
    hub = make_big_hub(tmp_path / "hub", episodes=150, posts=250)
    args = ["build", "--url", BASES[0]]
    if phase == "render":
        timed(["build", "--url", BASES[0]], hub)
        old_feed = (hub / "public" / "feed.xml").read_bytes()
        args = ["build", "--url", BASES[1]]
    run, killed = _kill_first_worker(args, hub)
    assert killed, "the build finished before forking a worker"
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1, run.stderr
    assert "build: a worker process died" in run.stderr and "MEDIAHUB_WORKERS=1" in run.stderr
    # Nothing half-published: no site on a first build, the old feed on a rebuild,
    # and no hidden staging folder left either way.
    assert not [p.name for p in hub.iterdir() if p.name.startswith(".public.building-")]
    if phase == "parse":
        assert not (hub / "public").exists()
    else:
        assert (hub / "public" / "feed.xml").read_bytes() == old_feed
        assert check_links(hub / "public", old_feed) == BASES[0]
    integrity(hub / ".mediahub" / "mediahub.db")
    timed(args, hub)
    assert check_links(hub / "public", (hub / "public" / "feed.xml").read_bytes()) == args[-1]


def _parse_workers(pid: int) -> list[int]:
    """An aggregation's parse workers: children of the forkserver, itself a child of
    the cycle's process (as is the resource tracker; neither is what an OOM kill picks)."""
    servers = [p for p in _children(pid) if "forkserver" in _cmdline(p)]
    return [worker for server in servers for worker in _children(server)]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def test_a_parse_worker_killed_mid_cycle_loses_no_feed(tmp_path: Path) -> None:
    """A parse worker killed mid-cycle (the out-of-memory killer, say) takes the feeds
    it and its pool were parsing with it: each is parsed again, alone, and stored.
    The cycle goes on with no traceback and ends as if nothing happened."""
    hub = copy_example_hub(tmp_path / "hub")
    sources = 40
    state = {"round": 0}
    config = hub / "mediahub.toml"
    with serving_in_thread(_feed_app(sources, state)) as base:
        blocks = "".join(
            f'\n[[sources]]\nurl = "{base}/feed-{n}.xml"\ntopic = "news"\n' for n in range(sources)
        )
        config.write_text(
            config.read_text(encoding="utf-8")
            + blocks
            + '\n[aggregate]\nallow_networks = ["127.0.0.0/8"]\n',
            encoding="utf-8",
        )
        run, killed = _kill_first_worker(["aggregate", "--all"], hub, _parse_workers)
        assert killed, "the cycle ended before a parse worker started"
        assert run.returncode == 0, (run.returncode, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr, run.stderr
        database = hub / ".mediahub" / "mediahub.db"
        integrity(database)
        stored = {source for source, _ in _item_keys(database)}
        assert len({source for source in stored if source.startswith(base)}) == sources


def _parse_or_die(
    seconds: float, body: bytes, url: str, content_type: str | None, now: object
) -> object:
    """The cycle's parse, except that a feed marked so kills its process (as a feed that
    makes the parser run out of memory would get it killed)."""
    from mediahub.aggregate import workers

    if b"<!-- parser killer -->" in body:
        os.kill(os.getpid(), signal.SIGKILL)
    # In a pool process, a fresh import: the real parse (the test patched only its own).
    return workers.parse_for_store(seconds, body, url, content_type, now)  # type: ignore[arg-type]


def test_the_feed_that_kills_its_parser_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One feed kills every parse process it is given to: it alone fails, with one
    line naming it; the feeds parsed beside it when it struck are stored."""
    import asyncio
    from datetime import UTC, datetime

    from mediahub.aggregate import cycle, workers
    from mediahub.aggregate.guard import NetworkGuard
    from mediahub.model import Source
    from mediahub.store import Store

    app = _feed_app(12, {"round": 0})

    async def killer(request: web.Request) -> web.Response:
        body = b'<?xml version="1.0"?><!-- parser killer --><rss version="2.0"><channel>'
        return web.Response(body=body + b"<title>K</title></channel></rss>")

    app.router.add_get("/killer.xml", killer)
    # Pickled by name: the pool's processes import this module and call it there.
    monkeypatch.setattr(workers, "parse_for_store", _parse_or_die)
    store = Store(tmp_path / "mediahub.db")
    settings = cycle.CycleSettings(
        guard=NetworkGuard.from_settings(False, ["127.0.0.0/8"]), workers=2
    )
    with serving_in_thread(app) as base:
        urls = [f"{base}/feed-{n}.xml" for n in range(6)]
        urls[3:3] = [f"{base}/killer.xml"]
        urls += [f"{base}/feed-{n}.xml" for n in range(6, 12)]
        for url in urls:
            store.add_source(Source(url, "news"))
        now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
        report = asyncio.run(cycle.Cycle(store, settings, now).run(store.list_sources()))
    failed = {o.url: o.message for o in report.outcomes if o.kind == "error"}
    assert list(failed) == [f"{base}/killer.xml"], failed
    assert "the parser process died on this feed" in failed[f"{base}/killer.xml"]
    assert len({source for source, _ in _item_keys(tmp_path / "mediahub.db")}) == 12
