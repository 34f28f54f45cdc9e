"""Serving: wrk against ``mediahub serve`` and nginx (both from Debian) on the same public/.

Three workloads: a small page, the feed with If-None-Match (304s), and 1 MiB
ranges of a 50 MB MP3 (an episode's own audio, so it is part of the build).
Runs alternate (mediahub, nginx, ...); the ratio is mediahub's requests/s over
nginx's. Both run ``WORKERS`` worker processes. While it runs, mediahub
aggregates ``SOURCES`` feeds from a local server (each changes every minute,
so cycles store new items and rebuild topic pages). Before the runs, one
request per workload checks each server answers as expected (status, length),
so errors cannot hide as fast wrong answers. Requires ``apt-get install wrk
nginx``.

An earlier version wrote the 50 MB file into public/ by hand; the server's
start-up rebuild swapped public/ and removed it, so both servers answered
404s fast and wrk counted every one as an error.
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bench.common import WORK

REPO = Path(__file__).resolve().parents[1]
SECONDS = 5
RUNS = 3
WORKERS = 2
SOURCES = 150
RANGE = 1024 * 1024
MEDIA_BYTES = 50 * 1024 * 1024
NGINX_CONF = """
worker_processes {workers};
daemon off;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  types {{ text/html html; application/rss+xml xml; audio/mpeg mp3; }}
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{ listen 127.0.0.1:{port}; root {public}; etag on; }}
}}
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _user() -> str:
    """Run as root, nginx's workers would become 'nobody' and could not read the folder."""
    import os

    return "user root;" if os.geteuid() == 0 else ""


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _hub(root: Path, feeds: str) -> tuple[Path, str]:
    """The example hub built into ``root``, its episode's audio grown to 50 MB of MP3 frames,
    following ``SOURCES`` local feeds; returns public/ and the MP3's URL path."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy2(REPO / "mediahub.toml", root / "mediahub.toml")
    for name in ("episodes", "posts", "feeds"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name)
    audio = next((root / "episodes").glob("*/*.mp3"))
    frames = audio.read_bytes()
    with audio.open("wb") as out:
        written = 0
        while written < MEDIA_BYTES:
            out.write(frames)
            written += len(frames)
    with (root / "mediahub.toml").open("a", encoding="utf-8") as toml:
        for n in range(SOURCES):
            toml.write(f'\n[[sources]]\nurl = "{feeds}/feed/{n}.xml"\ntopic = "bench-{n % 4}"\n')
        toml.write(
            "\n[aggregate]\nallow_private_networks = true\nfloor_minutes = 1\nper_host = 1\n"
        )
    subprocess.run(
        [sys.executable, "-m", "mediahub", "build"], cwd=root, check=True, stdout=subprocess.DEVNULL
    )
    public = root / "public"
    served = next(public.glob("episodes/*/*.mp3"))
    assert served.stat().st_size >= MEDIA_BYTES
    return public, "/" + served.relative_to(public).as_posix()


def _feed_server() -> tuple[str, subprocess.Popen[bytes]]:
    """A local server of SOURCES RSS feeds whose newest item changes every minute.

    Each answer waits 200-400 ms (a distant server); with one request at a time
    per host, a cycle over all sources takes most of a minute, so aggregation
    runs during the whole measurement rather than in one burst.
    """
    port = _port()
    code = f"""
import asyncio, time
from email.utils import formatdate
from aiohttp import web
served = [0]
async def count(request):
    return web.Response(text=str(served[0]))
async def feed(request):
    served[0] += 1
    n = request.match_info["n"]
    await asyncio.sleep(0.2 + (int(n) * 37 % 200) / 1000)
    minute = int(time.time() // 60)
    items = "".join(
        f"<item><title>Story {{m}} of feed {{n}}</title><guid>urn:bench:{{n}}:{{m}}</guid>"
        f"<link>https://news.example/{{n}}/{{m}}</link><pubDate>{{formatdate(m * 60)}}</pubDate>"
        f"<description>Story {{m}} body, written for the benchmark.</description></item>"
        for m in range(minute, minute - 20, -1))
    body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Feed ' + n
            + '</title><link>https://news.example/</link><description>d</description>'
            + items + "</channel></rss>")
    return web.Response(text=body, content_type="application/rss+xml")
app = web.Application()
app.router.add_get("/feed/{{n}}.xml", feed)
app.router.add_get("/count", count)
web.run_app(app, host="127.0.0.1", port={port}, access_log=None, print=None)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    return f"http://127.0.0.1:{port}", proc


def _wrk(url: str, headers: list[str]) -> tuple[float, int, float]:
    """Requests/s, errors (socket errors and 4xx/5xx answers) and bytes read per request."""
    args = ["wrk", "-t2", "-c32", f"-d{SECONDS}s"]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), "
        r"timeout (\d+)",
        out,
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    total = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)([KMGT]?B) read", out)
    per_request = 0.0
    if total:
        scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
        per_request = float(total.group(2)) * scale[total.group(3)] / max(1, int(total.group(1)))
    return rate, errors, per_request


def _check(url: str, headers: list[str], status: int, length: int | None) -> None:
    """One request as wrk will send it: the expected status (and body length), or stop."""
    request = urllib.request.Request(url, headers=dict(h.split(": ", 1) for h in headers))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            got, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        got, body = exc.code, b""
    if got != status or (length is not None and len(body) != length):
        raise RuntimeError(f"{url} {headers}: HTTP {got}, {len(body)} bytes; expected {status}")


def _fetches(feeds: str) -> int:
    with urllib.request.urlopen(feeds + "/count") as response:
        return int(response.read())


def _etag(url: str) -> str:
    with urllib.request.urlopen(url) as response:
        return str(response.headers["ETag"])


def main(argv: list[str]) -> str:
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            return f"## serve\n\nskipped: {tool} is not installed (apt-get install wrk nginx)\n"
    feeds, feed_server = _feed_server()
    public, mp3 = _hub(WORK / "serve-hub", feeds)
    tmp = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    m_port, n_port = _port(), _port()
    (tmp / "nginx.conf").write_text(
        NGINX_CONF.format(tmp=tmp, port=n_port, public=public, user=_user(), workers=WORKERS),
        encoding="utf-8",
    )
    mediahub = subprocess.Popen(
        [
            *(sys.executable, "-m", "mediahub", "serve", "--port", str(m_port)),
            *("--no-watch", "--workers", str(WORKERS)),
        ],
        cwd=public.parent,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "mediahub.log").open("wb"),
    )
    nginx = subprocess.Popen(
        ["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)], stderr=subprocess.DEVNULL
    )
    rows = []
    try:
        _wait(m_port)
        _wait(n_port)
        time.sleep(3)  # the server's start-up rebuild; the first aggregation cycle begins
        fetches_before = _fetches(feeds)
        bases = {"mediahub": f"http://127.0.0.1:{m_port}", "nginx": f"http://127.0.0.1:{n_port}"}
        work: dict[str, tuple[str, Callable[[str], list[str]], int, int | None]] = {
            "small page (/)": ("/", lambda base: [], 200, None),
            "feed, If-None-Match (304)": (
                "/feed.xml",
                lambda base: [f"If-None-Match: {_etag(base + '/feed.xml')}"],
                304,
                0,
            ),
            "50 MB MP3, 1 MiB ranges (206)": (
                mp3,
                lambda base: [f"Range: bytes=0-{RANGE - 1}"],
                206,
                RANGE,
            ),
        }
        for name, (path, headers, status, length) in work.items():
            rates: dict[str, list[float]] = {"mediahub": [], "nginx": []}
            errors = {"mediahub": 0, "nginx": 0}
            sizes = {"mediahub": 0.0, "nginx": 0.0}
            for base in bases.values():
                _check(base + path, headers(base), status, length)
            for _ in range(RUNS):
                for who, base in bases.items():
                    rate, errs, size = _wrk(base + path, headers(base))
                    rates[who].append(rate)
                    errors[who] += errs
                    sizes[who] = size
            ratios = [m / n for m, n in zip(rates["mediahub"], rates["nginx"], strict=True)]
            rows.append(
                f"| {name} | {statistics.median(rates['mediahub']):,.0f} | "
                f"{statistics.median(rates['nginx']):,.0f} | **{statistics.median(ratios):.2f}x** "
                f"(min {min(ratios):.2f}, max {max(ratios):.2f}) | "
                f"{errors['mediahub']} / {errors['nginx']} | "
                f"{sizes['mediahub']:,.0f} / {sizes['nginx']:,.0f} |"
            )
        fetches = _fetches(feeds) - fetches_before
        log = (tmp / "mediahub.log").read_text(encoding="utf-8", errors="replace")
        summaries = re.findall(r"^aggregate: \d+ sources: .*?(\d+) new items", log, re.M)
        cycles = len(summaries)
        stored = sum(int(n) for n in summaries)
        topics = len(re.findall(r"topic files rebuilt", log))
    finally:
        for proc in (mediahub, nginx, feed_server):
            proc.terminate()
            proc.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)
    return "\n".join(
        [
            "## serve",
            "",
            f"wrk -t2 -c32, {SECONDS} s per run, {RUNS} alternating runs each; "
            f"{WORKERS} worker processes on each side (nginx worker_processes {WORKERS}, "
            f"mediahub serve --workers {WORKERS}); mediahub aggregating {SOURCES} local feeds "
            f"meanwhile: {fetches} feed fetches while measuring, {cycles} cycles completed "
            f"({stored} new items stored, {topics} topic rebuilds). Errors are wrk's "
            "socket errors plus 4xx/5xx answers; bytes/answer is what wrk read per request.",
            "",
            "| workload | mediahub req/s | nginx req/s | mediahub / nginx | errors (m / n) "
            "| bytes/answer (m / n) |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
