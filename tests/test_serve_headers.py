"""`mediahub serve` headers with a real client: compression, CORS, Cache-Control, /healthz,
X-Forwarded-* trust, and the fast path's HTTP details (HEAD, 304s, pipelining, close)."""

from __future__ import annotations

import gzip
import json
import socket
import time
from pathlib import Path

import brotli
from aiohttp import web

from mediahub.serve.app import ServeOptions, make_app
from tests.conftest import Served
from tests.servers import running, wait_until
from tests.test_serve import media, request

EPISODE = "/episodes/2026-11-02-writing-before-coaching"


def test_text_is_compressed_for_clients_that_accept_it(served_hub: Served) -> None:
    _, plain_headers, plain = request(served_hub, "GET", "/feed.xml")
    assert "content-encoding" not in plain_headers
    status, headers, body = request(served_hub, "GET", "/feed.xml", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain and len(body) < len(plain)
    assert headers["vary"] == "Accept-Encoding"
    assert headers["etag"] != plain_headers["etag"]  # a different representation
    status, headers, body = request(served_hub, "GET", "/", {"Accept-Encoding": "gzip, br"})
    assert headers["content-encoding"] == "br"
    _, _, page = request(served_hub, "GET", "/")
    assert brotli.decompress(body) == page
    _, headers, _ = request(served_hub, "GET", "/", {"Accept-Encoding": "gzip;q=0, br;q=0"})
    assert "content-encoding" not in headers
    # The compressed form's ETag validates too.
    _, headers, _ = request(served_hub, "GET", "/feed.xml", {"Accept-Encoding": "gzip"})
    status, _, body = request(served_hub, "GET", "/feed.xml", {"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""
    # Media is never compressed.
    path, data = media(served_hub)
    _, headers, body = request(served_hub, "GET", path, {"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in headers and body == data


def test_transcripts_and_chapters_allow_cross_origin_pages_do_not(served_hub: Served) -> None:
    for name, kind in (("transcript.vtt", "text/vtt"), ("chapters.json", "application/json")):
        status, headers, _ = request(served_hub, "GET", f"{EPISODE}/{name}")
        assert status == 200 and headers["content-type"].startswith(kind)
        assert headers["access-control-allow-origin"] == "*"
    _, headers, _ = request(served_hub, "GET", f"{EPISODE}/chapters.json")
    assert headers["content-type"] == "application/json+chapters"
    _, headers, _ = request(served_hub, "GET", "/")
    assert "access-control-allow-origin" not in headers


def test_cache_control_is_short_for_feeds_and_pages_and_long_for_media(served_hub: Served) -> None:
    ages = {}
    for path in ("/feed.xml", "/", f"{EPISODE}/", media(served_hub)[0]):
        _, headers, _ = request(served_hub, "GET", path)
        ages[path] = int(headers["cache-control"].split("max-age=")[1])
    assert ages["/feed.xml"] == 60
    assert ages["/"] == ages[f"{EPISODE}/"] == 300
    assert ages[media(served_hub)[0]] == 7 * 24 * 3600


def test_healthz_reports_whether_the_site_is_there(served_hub: Served) -> None:
    status, _, body = request(served_hub, "GET", "/healthz")
    assert status == 200 and json.loads(body) == {"ok": True}
    (served_hub.root / "public" / "index.html").unlink()
    status, _, body = request(served_hub, "GET", "/healthz")
    assert status == 503 and json.loads(body) == {"ok": False}


def test_x_forwarded_headers_count_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / "index.html").write_text("<h1>hi</h1>")

    async def whoami(request: web.Request) -> web.Response:
        return web.json_response(
            {"remote": request.remote, "scheme": request.scheme, "host": request.host}
        )

    forwarded = {
        "X-Forwarded-For": "203.0.113.7, 10.0.0.1",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "hub.example",
    }
    seen = {}
    for label, proxies in (("trusted", {"127.0.0.1"}), ("untrusted", {"192.0.2.1"})):
        options = ServeOptions(trusted_proxies=frozenset(proxies))
        app = make_app(public, options, [web.get("/whoami", whoami)])
        with running(app) as server:
            served = Served(tmp_path, server.port)
            status, _, body = request(served, "GET", "/whoami", forwarded)
            assert status == 200
            seen[label] = json.loads(body)
    assert seen["trusted"] == {"remote": "203.0.113.7", "scheme": "https", "host": "hub.example"}
    assert seen["untrusted"]["remote"] == "127.0.0.1"
    assert seen["untrusted"]["scheme"] == "http"
    assert seen["untrusted"]["host"].startswith("127.0.0.1:")


def raw_exchange(served: Served, data: bytes, until: bytes, count: int) -> bytes:
    """Send raw bytes and read until ``until`` was seen ``count`` times (or the peer closed)."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while received.count(until) < count:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_pipelined_requests_are_answered_in_order_and_close_is_honoured(
    served_hub: Served,
) -> None:
    _, _, page = request(served_hub, "GET", "/")  # cached from here on
    _, headers, _ = request(served_hub, "GET", "/feed.xml")
    host = f"Host: 127.0.0.1:{served_hub.port}\r\n"
    pipelined = (
        f"GET / HTTP/1.1\r\n{host}\r\n"
        f"HEAD /feed.xml HTTP/1.1\r\n{host}\r\n"
        f"GET /feed.xml HTTP/1.1\r\n{host}If-Modified-Since: {headers['last-modified']}\r\n\r\n"
        f"GET /no/such/page HTTP/1.1\r\n{host}Connection: close\r\n\r\n"
    ).encode()
    out = raw_exchange(served_hub, pipelined, b"HTTP/1.1 ", 5)
    statuses = [int(part[:3]) for part in out.split(b"HTTP/1.1 ")[1:]]
    assert statuses == [200, 200, 304, 404]
    first = out.split(b"HTTP/1.1 ")[1]
    assert first.split(b"\r\n\r\n", 1)[1].startswith(page)
    assert b"Date: " in first
    # A Range on a page goes to aiohttp's own handling: 206 with the right bytes.
    status, headers, body = request(served_hub, "GET", "/", {"Range": "bytes=0-9"})
    assert status == 206 and body == page[:10]
    # HTTP/1.0 and unknown methods are answered too (by aiohttp), never dropped.
    out = raw_exchange(served_hub, b"GET / HTTP/1.0\r\n\r\n", b"</html>", 1)
    assert out.startswith(b"HTTP/1.") and b" 200 " in out.split(b"\r\n")[0]
    out = raw_exchange(served_hub, f"DELETE / HTTP/1.1\r\n{host}\r\n".encode(), b"\r\n\r\n", 1)
    assert b" 405 " in out.split(b"\r\n")[0]


def test_a_page_rewritten_on_disk_is_served_new_within_seconds(served_hub: Served) -> None:
    page = served_hub.root / "public" / "about-fast.html"

    def first() -> bool:
        if not page.exists():  # the server's start-up rebuild removes files it did not write
            page.write_text("<p>first version</p>")
        return request(served_hub, "GET", "/about-fast.html")[2] == b"<p>first version</p>"

    wait_until(first, "the first version", timeout=30)
    time.sleep(0.01)
    page.write_text("<p>second version, longer</p>")
    wait_until(
        lambda: (
            request(served_hub, "GET", "/about-fast.html")[2] == b"<p>second version, longer</p>"
        ),
        "the rewritten page",
        timeout=10,
    )
    page.unlink()
    wait_until(
        lambda: request(served_hub, "GET", "/about-fast.html")[0] == 404,
        "a 404 for the removed page",
        timeout=10,
    )


def test_a_client_that_does_not_read_gets_every_answer_in_order(served_hub: Served) -> None:
    """Many pipelined requests, unread: the first answered by the fast path, the rest after
    the hand-over to aiohttp (a query string) -- all arrive, complete and in order."""
    _, _, page = request(served_hub, "GET", "/")
    host = f"Host: 127.0.0.1:{served_hub.port}\r\n"
    count = 400  # about 2.4 MB of answers, asked for before any is read
    ask = "".join(f"GET /?n={n} HTTP/1.1\r\n{host}\r\n" if n % 2 else
                  f"GET / HTTP/1.1\r\n{host}\r\n" for n in range(count))  # fmt: skip
    ask += f"GET /feed.xml HTTP/1.1\r\n{host}Connection: close\r\n\r\n"
    out = raw_exchange(served_hub, ask.encode(), b"HTTP/1.1 200 OK", count + 2)
    answers = out.split(b"HTTP/1.1 200 OK")[1:]
    assert len(answers) == count + 1
    assert all(a.split(b"\r\n\r\n", 1)[1].startswith(page) for a in answers[:count])
    assert b"<rss" in answers[-1]
