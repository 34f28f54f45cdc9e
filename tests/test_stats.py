"""Download statistics: a real gPodder download counts once; a ``bytes=0-1`` probe,
HEAD and a bot never; IPs are kept only as daily-salted hashes."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mediahub.serve.stats import DownloadCounter, is_bot, load_bots, needed_bytes
from mediahub.store import Store
from tests.conftest import Served, require_tool, run_cli
from tests.servers import ManualClock, wait_until


def get(served: Served, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def stats_of(root: Path) -> dict[str, object]:
    result = run_cli("stats", "--json", cwd=root)
    assert result.code == 0, result.err
    data: dict[str, object] = json.loads(result.out)
    return data


def test_gpodder_download_counts_once_and_probes_heads_and_bots_never(
    served_hub: Served, tmp_path: Path
) -> None:
    gpo = require_tool("gpo")
    public = served_hub.root / "public"
    media = "/" + next(public.glob("episodes/*/*.mp3")).relative_to(public).as_posix()
    player = {"User-Agent": "TestPlayer/1.0 (Linux)"}
    # An app probing the file, then its HEAD: no download.
    status, body = get(served_hub, "GET", media, {"User-Agent": "ProbeApp/2", "Range": "bytes=0-1"})
    assert status == 206 and len(body) == 2
    assert get(served_hub, "HEAD", media, {"User-Agent": "ProbeApp/2"})[0] == 200
    # A crawler fetching the whole file: not a download.
    bot = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}
    assert get(served_hub, "GET", media, bot)[0] == 200
    # A player that fetches the file twice, the second time in two ranges: one download.
    assert get(served_hub, "GET", media, player)[0] == 200
    assert get(served_hub, "GET", media, {**player, "Range": "bytes=0-999"})[0] == 206
    assert get(served_hub, "GET", media, {**player, "Range": "bytes=1000-"})[0] == 206

    env = {
        **os.environ,
        "GPODDER_HOME": str(tmp_path / "gpodder-home"),
        "GPODDER_DOWNLOAD_DIR": str(tmp_path / "downloads"),
    }
    for args in (("subscribe", f"{served_hub.url}/feed.xml"), ("update",), ("download",)):
        proc = subprocess.run(
            [gpo, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.suffix for p in (tmp_path / "downloads").rglob("*") if p.is_file()] == [".mp3"]

    # The server writes its counts every few seconds; everything above is in by then.
    wait_until(lambda: stats_of(served_hub.root)["total"] >= 2, "the counts to be written")  # type: ignore[operator]
    stats = stats_of(served_hub.root)
    assert stats["total"] == 2, stats  # TestPlayer once, gPodder once
    assert stats["episodes"] == [{"episode": media.lstrip("/"), "downloads": 2}]
    assert sum(day["downloads"] for day in stats["days"]) == 2  # type: ignore[attr-defined]
    database = (served_hub.root / ".mediahub" / "mediahub.db").read_bytes()
    assert b"127.0.0.1" not in database


def test_counting_rules_with_a_long_episode(tmp_path: Path) -> None:
    """Ten minutes of audio: the first minute (a tenth of the bytes) makes a download."""
    ffmpeg = require_tool("ffmpeg")
    audio = tmp_path / "long.mp3"
    subprocess.run(
        [
            ffmpeg,
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=600",
            "-b:a",
            "32k",
            str(audio),
        ],
        check=True,
    )
    size = audio.stat().st_size
    needed = needed_bytes(audio, size)
    assert size // 11 < needed < size // 9

    clock = ManualClock(datetime(2027, 3, 1, 23, 0, tzinfo=UTC))
    with Store(tmp_path / "db.sqlite") as store:
        counter = DownloadCounter(store, clock)
        file = (audio, size, audio.stat().st_mtime_ns)
        counter.served("192.0.2.1", "Player/1", "e/long.mp3", file, needed - 1)
        counter.flush()
        assert store.download_counts() == []  # not yet a minute
        counter.served("192.0.2.1", "Player/1", "e/long.mp3", file, 1)
        counter.served("192.0.2.1", "Player/1", "e/long.mp3", file, size)  # again: same listener
        counter.served("192.0.2.2", "Player/1", "e/long.mp3", file, 2)  # a probe
        counter.served("192.0.2.3", "", "e/long.mp3", file, size)  # no user agent: a script
        counter.flush()
        assert [(c.day, c.downloads) for c in store.download_counts()] == [("2027-03-01", 1)]
        salt = store.day_salt("2027-03-01")

        clock.set(clock() + timedelta(hours=2))  # the next day: a new salt, a new download
        counter.served("192.0.2.1", "Player/1", "e/long.mp3", file, size)
        counter.flush()
        assert [c.downloads for c in store.download_counts()] == [1, 1]
        assert store.day_salt("2027-03-02") != salt
        assert store.day_salt("2027-03-01") != salt  # yesterday's salt is gone for good


def test_the_bundled_bot_list() -> None:
    bots = load_bots()
    assert is_bot("Mozilla/5.0 (compatible; bingbot/2.0)", bots)
    assert is_bot("curl/8.5.0", bots)
    assert is_bot("", bots)
    assert not is_bot("gPodder/3.11.1 (+http://gpodder.org/) Linux", bots)
    assert not is_bot("AntennaPod/3.4.0", bots)
    assert not is_bot("AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X)", bots)
