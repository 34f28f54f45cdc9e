"""`mediahub serve` as a process: podcast-partytime (the Podcast Index's parser) reads the
feed and downloads an enclosure through it, and SIGTERM stops every worker gracefully."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Served, free_port, require_tool, run_cli, wait_for_port
from tests.test_independent_parsers import partytime_dir  # noqa: F401 (a session fixture)
from tests.test_serve import request

FETCH_JS = """
const { parseFeed } = require("podcast-partytime");
(async () => {
  const response = await fetch(process.argv[2], { headers: { "Accept-Encoding": "gzip" } });
  const feed = parseFeed(await response.text(), { allowMissingGuid: false });
  const item = feed.items[0];
  const media = await fetch(item.enclosure.url, { headers: { "User-Agent": "partytime-test" } });
  const bytes = new Uint8Array(await media.arrayBuffer()).length;
  process.stdout.write(JSON.stringify({
    status: response.status, type: response.headers.get("content-type"),
    title: feed.title, items: feed.items.length, guid: item.guid,
    enclosure: item.enclosure, transcripts: item.podcastTranscripts || [],
    mediaStatus: media.status, bytes,
  }));
})().catch((error) => { console.error(String(error)); process.exit(1); });
"""


def test_partytime_reads_the_served_feed_and_downloads_the_episode(
    served_hub: Served,
    partytime_dir: Path,  # noqa: F811
) -> None:
    node = require_tool("node")
    (partytime_dir / "fetch.js").write_text(FETCH_JS, encoding="utf-8")
    proc = subprocess.run(
        [node, "fetch.js", f"{served_hub.url}/feed.xml"],
        cwd=partytime_dir, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["status"] == 200 and got["type"].startswith("application/rss+xml")
    assert got["title"] == "The Quiet Leader" and got["items"] == 1
    audio = next((served_hub.root / "public").glob("episodes/*/*.mp3"))
    assert got["enclosure"]["url"].startswith(served_hub.url)
    assert got["enclosure"]["length"] == audio.stat().st_size
    assert got["enclosure"]["type"] == "audio/mpeg"
    assert got["mediaStatus"] == 200 and got["bytes"] == audio.stat().st_size


def children_of(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="utf-8")
    return [int(n) for n in text.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_stops_all_workers_and_writes_out_logs_and_counts(hub: Path) -> None:
    port = free_port()
    assert run_cli("build", "--url", f"http://127.0.0.1:{port}", cwd=hub).code == 0
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "mediahub", "serve", "--port", str(port)),
            *("--url", f"http://127.0.0.1:{port}", "--workers", "2", "--no-watch"),
        ],
        cwd=hub,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a failing run kills every process it made (finally)
    )
    try:
        wait_for_port(port, proc)
        # The socket listens before the workers are forked (they inherit it), so a
        # connection can succeed before the second worker exists: wait for it.
        deadline = time.monotonic() + 30
        while not (workers := children_of(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) >= 1  # the second worker (plus, maybe, a parse pool)
        served = Served(hub, port)
        audio = next((hub / "public").glob("episodes/*/*.mp3"))
        path = "/" + audio.relative_to(hub / "public").as_posix()
        status, _, body = request(served, "GET", path, {"User-Agent": "GracefulPlayer/1.0"})
        assert status == 200 and body == audio.read_bytes()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None or sys.exc_info()[0] is not None:
            # The whole session: a worker left behind holds the output pipes, and the
            # test would wait on them for ever instead of failing.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    # The access log is buffered; stopping writes it out.
    assert f'"GET {path} HTTP/1.1" 200 {audio.stat().st_size}' in err
    assert "GracefulPlayer/1.0" in err
    # Serving workers are reaped before the parent exits; multiprocessing's own helpers
    # (the forkserver of the aggregation parse pool) notice the parent is gone and
    # leave a moment later: give them a bounded grace, then every child must be gone.
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers)
    # Counted downloads were written before the process left (flushed on shutdown).
    stats = run_cli("stats", "--json", cwd=hub)
    assert stats.code == 0 and json.loads(stats.out)["total"] == 1


def test_a_worker_whose_parent_is_already_gone_stops_at_once() -> None:
    """The orphan watch compares with the pid that forked the worker: a parent that died
    while the worker was still starting (so the worker's ppid was init's already when the
    watch began) still stops it."""
    import asyncio

    from mediahub.serve.run import _orphaned

    async def watch() -> bool:
        stop = asyncio.Event()
        # Our parent is pytest's launcher: any other pid stands for a parent gone.
        await asyncio.wait_for(_orphaned(stop, os.getppid() + 1_000_000), timeout=5)
        return stop.is_set()

    assert asyncio.run(watch())
