"""Attacks on ``mediahub serve`` (a subprocess on 127.0.0.1), over raw sockets.

Raw sockets, because an HTTP library would normalise the very requests under
test (dot segments, encodings, NUL bytes). Every attack must get a 4xx/416 or
a closed connection, never a file from outside the served folder, never a
5xx; and after (or during) each, a normal request must still be answered.
Every loop is bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_example_hub, free_port, run_cli, serving

PASSWD = b"root:x:0:0:"


@dataclass
class Target:
    hub: Path
    port: int
    token: bytes
    audio: str  # URL path of an MP3 in public/
    audio_size: int


@dataclass
class Reply:
    status: int | None  # None: the connection closed without an answer
    headers: dict[str, str]
    body: bytes


def _raw(port: int, data: bytes, timeout: float = 10.0) -> Reply:
    """Send ``data`` as is; read one response (or notice the connection closing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:
            return Reply(None, {}, b"")
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                break
            if not chunk:
                break
            received += chunk
            if _complete(received):
                break
    return _parse(received)


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if match:
        return len(body) >= int(match.group(1))
    return head.startswith(b"HTTP/1.1 304") or b"HEAD" in head


def _parse(data: bytes) -> Reply:
    if not data.startswith(b"HTTP/"):
        return Reply(None, {}, data)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(int(lines[0].split()[1]), headers, body)


def _get(port: int, target: str | bytes, extra: bytes = b"") -> Reply:
    raw = target.encode("latin-1") if isinstance(target, str) else target
    return _raw(
        port,
        b"GET " + raw + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra + b"\r\n",
    )


def _probe(port: int) -> None:
    """A normal client still gets the home page."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 200
        assert b"</html>" in response.read()
    finally:
        conn.close()


def _no_leak(target: Target, reply: Reply, what: str) -> None:
    assert target.token not in reply.body, f"{what} returned a file from outside public/"
    assert PASSWD not in reply.body, f"{what} returned /etc/passwd"
    assert reply.status is None or reply.status < 500, f"{what}: HTTP {reply.status}"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    base = tmp_path_factory.mktemp("attacks")
    hub = copy_example_hub(base / "hub")
    token = ("TOKEN-" + secrets.token_hex(8)).encode()
    # Secrets next to public/ (in the hub) and far outside it.
    with (hub / "mediahub.toml").open("a", encoding="utf-8") as file:
        file.write(f"\n# {token.decode()}\n")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(token)
    port = free_port()
    assert run_cli("build", "--url", f"http://127.0.0.1:{port}", cwd=hub).code == 0
    public = hub / "public"
    (public / "escape").symlink_to(outside, target_is_directory=True)
    (public / "escape.txt").symlink_to(outside / "secret.txt")
    (public / "passwd.xml").symlink_to("/etc/passwd")
    audio = next(public.rglob("*.mp3"))
    with serving(hub, port) as proc:
        yield Target(
            hub, port, token, "/" + audio.relative_to(public).as_posix(), audio.stat().st_size
        )
        assert proc.poll() is None, "the server died under attack"


TRAVERSALS = [
    "/../mediahub.toml",
    "/../../../../../../etc/passwd",
    "/%2e%2e/mediahub.toml",
    "/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/..%2fmediahub.toml",
    "/%2e%2e%2fmediahub.toml",
    "/%252e%252e/mediahub.toml",
    "/%252e%252e%252fmediahub.toml",
    "/..\\mediahub.toml",
    "/..%5cmediahub.toml",
    "/..%255cmediahub.toml",
    "/episodes/../../mediahub.toml",
    "/episodes/%2e%2e/%2e%2e/mediahub.toml",
    "/./.././mediahub.toml",
    "/....//mediahub.toml",
    "/..;/mediahub.toml",
    "/%c0%ae%c0%ae/mediahub.toml",
    "/%uff0e%uff0e/mediahub.toml",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/etc/passwd",
    "http://127.0.0.1/../mediahub.toml",
    "/index.html%00.txt",
    "/%00../mediahub.toml",
    "/..%00/mediahub.toml",
    "/escape/secret.txt",
    "/escape/",
    "/escape",
    "/escape.txt",
    "/passwd.xml",
    "/%65scape.txt",
    "/../.mediahub/mediahub.db",
    "/\\..\\..\\mediahub.toml",
    "/C:\\Windows\\win.ini",
]


def test_no_traversal_spelling_leaves_public(target: Target) -> None:
    _get(target.port, "/index.html")  # cached first, so the fast path sees the others too
    for spelling in TRAVERSALS:
        reply = _get(target.port, spelling)
        _no_leak(target, reply, spelling)
        if reply.status == 200:
            # Only a file inside public/ may come back (a dot segment that stays inside).
            assert b"<html" in reply.body.lower(), spelling
    for raw in (b"/\x00", b"/index.html\x00", b"/..\x00/mediahub.toml", b"/\xff\xfe/../x"):
        reply = _get(target.port, raw)
        _no_leak(target, reply, repr(raw))
        assert reply.status != 200, raw
    _probe(target.port)


@pytest.mark.parametrize(
    "spec",
    [
        "bytes=-0",
        "bytes=10-5",
        "bytes=0-10,5-15",
        "bytes=0-0,-1",
        "bytes=" + ",".join(f"{n}-{n}" for n in range(1000)),
        "bytes=a-b",
        "bytes=--1",
        "bytes=0x10-0x20",
        "bytes=1e3-",
        "bytes=99999999999999999999999-",
        "bytes=-99999999999999999999999",
        "bytes=999999999-",
        "lines=0-10",
        "bytes=",
        "bytes= 0 - 1",
    ],
    ids=lambda s: s[:24],
)
def test_abusive_ranges_get_a_clean_answer(target: Target, spec: str) -> None:
    for path in (target.audio, "/feed.xml"):
        reply = _get(target.port, path, f"Range: {spec}\r\n".encode())
        _no_leak(target, reply, spec)
        assert reply.status in (200, 206, 400, 416, 431), (spec, reply.status)
        if reply.status == 206:
            match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", reply.headers["content-range"])
            assert match, reply.headers
            first, last, size = map(int, match.groups())
            assert first <= last < size and len(reply.body) == last - first + 1
        if path == target.audio and reply.status == 200:
            assert len(reply.body) == target.audio_size
    if spec in ("bytes=-0", "bytes=999999999-"):
        assert _get(target.port, target.audio, f"Range: {spec}\r\n".encode()).status == 416
    _probe(target.port)


def test_oversized_headers_and_urls_are_refused(target: Target) -> None:
    attacks = {
        "long url": ("/" + "a" * 100_000).encode(),
        "long header": b"/",
    }
    reply = _get(target.port, attacks["long url"])
    assert reply.status in (None, 400, 404, 414, 431)
    reply = _get(target.port, b"/", b"X-Big: " + b"b" * 100_000 + b"\r\n")
    assert reply.status in (None, 400, 431)
    many = b"".join(b"X-H%d: %s\r\n" % (n, b"v" * 50) for n in range(2000))
    reply = _get(target.port, b"/", many)
    assert reply.status in (None, 200, 400, 431)
    reply = _raw(target.port, b"GET / HTTP/1.1\r\n" + b"Host: x\r\n" * 5000 + b"\r\n")
    assert reply.status in (None, 200, 400, 431)
    reply = _raw(target.port, b"GARBAGE\r\n\r\n")
    assert reply.status in (None, 400, 405, 501)
    reply = _raw(target.port, b"GET / HTTP/9.9\r\nHost: x\r\n\r\n")
    assert reply.status in (None, 400, 505)
    _probe(target.port)


def test_slow_loris_clients_do_not_starve_others(target: Target) -> None:
    sockets: list[socket.socket] = []
    try:
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", target.port), timeout=5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sockets.append(sock)
        for round_ in range(5):  # a header byte a second from each, while others are served
            for sock in sockets:
                with contextlib.suppress(OSError):  # closed by the server: also fine
                    sock.sendall(b"X")
            _probe(target.port)
            time.sleep(1)
            del round_
    finally:
        for sock in sockets:
            sock.close()
    _probe(target.port)


async def _flood(port: int, paths: list[str], total: int, parallel: int) -> list[int]:
    """``total`` GET requests, ``parallel`` at a time; the status of each (0: no answer)."""
    gate = asyncio.Semaphore(parallel)

    async def one(n: int) -> int:
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), 10
                )
                path = paths[n % len(paths)]
                writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
                )
                data = await asyncio.wait_for(reader.read(), 30)
                writer.close()
                return _parse(data).status or 0
            except (OSError, TimeoutError):
                return 0

    return list(await asyncio.gather(*(one(n) for n in range(total))))


def test_a_flood_while_aggregation_runs(target: Target) -> None:
    aggregate = subprocess.Popen(
        [sys.executable, "-m", "mediahub", "aggregate", "--all"],
        cwd=target.hub,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        paths = ["/", "/feed.xml", "/topics/", target.audio, "/no-such-page"]
        statuses = asyncio.run(_flood(target.port, paths, total=600, parallel=50))
        _probe(target.port)
    finally:
        try:
            aggregate.wait(timeout=120)
        except subprocess.TimeoutExpired:
            aggregate.kill()
            aggregate.wait()
    assert aggregate.returncode == 0
    counts = {s: statuses.count(s) for s in set(statuses)}
    assert set(counts) <= {200, 404}, counts
    assert counts[404] == 120


def test_the_server_never_answered_with_a_traceback(target: Target) -> None:
    reply = _get(target.port, "/%ZZ%ZZ")
    _no_leak(target, reply, "bad escape")
    assert b"Traceback" not in reply.body
    assert os.path.exists(target.hub / "public" / "index.html")
    _probe(target.port)


def test_a_client_trickling_its_request_head_is_cut_off(tmp_path: Path) -> None:
    """serve.header_timeout bounds how long a request head may take to arrive: a
    slow-loris client gets a 408 and loses its connection, however busy it keeps it."""
    hub = copy_example_hub(tmp_path / "hub")
    with (hub / "mediahub.toml").open("a", encoding="utf-8") as file:
        file.write("\n[serve]\nheader_timeout = 2\n")
    assert run_cli("build", cwd=hub).code == 0
    port = free_port()
    with serving(hub, port, "--no-watch"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            received = b""
            for _ in range(40):  # a byte every quarter second, for up to ten seconds
                try:
                    sock.sendall(b"X")
                except OSError:
                    break  # closed by the server
                time.sleep(0.25)
                sock.setblocking(False)
                try:
                    chunk = sock.recv(4096)
                except BlockingIOError:
                    chunk = None
                finally:
                    sock.setblocking(True)
                if chunk == b"":
                    break
                received += chunk or b""
            assert received.startswith(b"HTTP/1.1 408"), received
        _probe(port)
