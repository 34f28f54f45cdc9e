"""Serving: wrk against ``mediahub serve`` and nginx (both from Debian) on the same public/.

Three workloads: a small page, the feed with If-None-Match (304s), and 1 MiB
ranges of a 50 MB MP3. Runs alternate (mediahub, nginx, ...); the ratio is
mediahub's requests/s over nginx's. nginx runs one worker, like mediahub's one
process. Requires ``apt-get install wrk nginx``.
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
import urllib.request
from pathlib import Path

from bench.common import WORK

REPO = Path(__file__).resolve().parents[1]
SECONDS = 5
RUNS = 3
MEDIA_BYTES = 50 * 1024 * 1024
NGINX_CONF = """
worker_processes 1;
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


def _hub(root: Path) -> Path:
    """The example hub built into ``root``, plus a 50 MB MP3 made of its audio frames."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy2(REPO / "mediahub.toml", root / "mediahub.toml")
    for name in ("episodes", "posts"):
        shutil.copytree(REPO / name, root / name)
    subprocess.run(
        [sys.executable, "-m", "mediahub", "build"], cwd=root, check=True, stdout=subprocess.DEVNULL
    )
    frames = next((root / "episodes").glob("*/*.mp3")).read_bytes()
    with (root / "public" / "big.mp3").open("wb") as out:
        written = 0
        while written < MEDIA_BYTES:
            out.write(frames)
            written += len(frames)
    return root / "public"


def _wrk(url: str, headers: list[str]) -> tuple[float, int]:
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
    return rate, errors


def _etag(url: str) -> str:
    with urllib.request.urlopen(url) as response:
        return str(response.headers["ETag"])


def main(argv: list[str]) -> str:
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            return f"## serve\n\nskipped: {tool} is not installed (apt-get install wrk nginx)\n"
    public = _hub(WORK / "serve-hub")
    tmp = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    m_port, n_port = _port(), _port()
    (tmp / "nginx.conf").write_text(
        NGINX_CONF.format(tmp=tmp, port=n_port, public=public, user=_user()), encoding="utf-8"
    )
    mediahub = subprocess.Popen(
        [sys.executable, "-m", "mediahub", "serve", "--port", str(m_port), "--no-watch"],
        cwd=public.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    nginx = subprocess.Popen(
        ["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)], stderr=subprocess.DEVNULL
    )
    rows = []
    try:
        _wait(m_port)
        _wait(n_port)
        time.sleep(2)  # the server's start-up rebuild
        bases = {"mediahub": f"http://127.0.0.1:{m_port}", "nginx": f"http://127.0.0.1:{n_port}"}
        work = {
            "small page (/)": ("/", lambda base: []),
            "feed, If-None-Match (304)": (
                "/feed.xml",
                lambda base: [f"If-None-Match: {_etag(base + '/feed.xml')}"],
            ),
            "50 MB MP3, 1 MiB ranges": ("/big.mp3", lambda base: ["Range: bytes=0-1048575"]),
        }
        for name, (path, headers) in work.items():
            rates: dict[str, list[float]] = {"mediahub": [], "nginx": []}
            errors = {"mediahub": 0, "nginx": 0}
            for _ in range(RUNS):
                for who, base in bases.items():
                    rate, errs = _wrk(base + path, headers(base))
                    rates[who].append(rate)
                    errors[who] += errs
            ratios = [m / n for m, n in zip(rates["mediahub"], rates["nginx"], strict=True)]
            rows.append(
                f"| {name} | {statistics.median(rates['mediahub']):,.0f} | "
                f"{statistics.median(rates['nginx']):,.0f} | **{statistics.median(ratios):.2f}x** "
                f"(min {min(ratios):.2f}, max {max(ratios):.2f}) | "
                f"{errors['mediahub']} / {errors['nginx']} |"
            )
    finally:
        for proc in (mediahub, nginx):
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return "\n".join(
        [
            "## serve",
            "",
            f"wrk -t2 -c32, {SECONDS} s per run, {RUNS} alternating runs each; nginx 1 worker; "
            "mediahub serve with its background jobs (no aggregation sources configured).",
            "",
            "| workload | mediahub req/s | nginx req/s | mediahub / nginx | errors (m / n) |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
