"""`mediahub serve` against a real client: types, HEAD, Range, 404s, no way out of public/."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from tests.conftest import Served


def request(
    served: Served, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def media(served: Served) -> tuple[str, bytes]:
    path = next((served.root / "public").glob("episodes/*/*.mp3"))
    return "/" + path.relative_to(served.root / "public").as_posix(), path.read_bytes()


def test_pages_and_feed_have_the_right_types(served_hub: Served) -> None:
    status, headers, body = request(served_hub, "GET", "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b"The Quiet Leader" in body
    status, headers, _ = request(served_hub, "GET", "/feed.xml")
    assert status == 200 and headers["content-type"].startswith("application/rss+xml")
    status, headers, _ = request(served_hub, "GET", "/static/style.css")
    assert headers["content-type"].startswith("text/css")


def test_media_head_and_ranges(served_hub: Served) -> None:
    path, data = media(served_hub)
    status, headers, body = request(served_hub, "HEAD", path)
    assert status == 200 and body == b""
    assert headers["content-type"] == "audio/mpeg"
    assert headers["content-length"] == str(len(data))
    assert headers["accept-ranges"] == "bytes"
    assert "etag" in headers and "last-modified" in headers

    status, headers, body = request(served_hub, "GET", path, {"Range": "bytes=0-1"})
    assert status == 206 and body == data[:2]
    assert headers["content-range"] == f"bytes 0-1/{len(data)}"
    status, _, body = request(served_hub, "GET", path, {"Range": "bytes=-500"})
    assert status == 206 and body == data[-500:]
    status, _, body = request(served_hub, "GET", path, {"Range": "bytes=100-"})
    assert status == 206 and body == data[100:]
    status, _, _ = request(served_hub, "GET", path, {"Range": f"bytes={len(data) + 10}-"})
    assert status == 416
    status, _, body = request(served_hub, "GET", path)
    assert status == 200 and body == data


def test_conditional_get_answers_304(served_hub: Served) -> None:
    _, headers, _ = request(served_hub, "GET", "/feed.xml")
    status, _, body = request(served_hub, "GET", "/feed.xml", {"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""


def test_folders_redirect_and_unknown_paths_get_the_404_page(served_hub: Served) -> None:
    status, headers, _ = request(served_hub, "GET", "/posts/a-page-a-morning")
    assert status == 301 and headers["location"] == "/posts/a-page-a-morning/"
    status, _, body = request(served_hub, "GET", "/no/such/page")
    assert status == 404 and b"Not found" in body


@pytest.mark.parametrize(
    "path",
    [
        "/../mediahub.toml",
        "/%2e%2e/mediahub.toml",
        "/posts/..%2f..%2fmediahub.toml",
        "//etc/passwd",
        "/..%5cmediahub.toml",
        "/%00",
    ],
)
def test_nothing_outside_public_is_served(served_hub: Served, path: str) -> None:
    status, _, body = request(served_hub, "GET", path)
    assert status in (400, 404)
    assert b"[site]" not in body and b"root:" not in body


def test_a_symlink_out_of_public_is_refused(served_hub: Served) -> None:
    link = served_hub.root / "public" / "escape.toml"
    link.symlink_to(Path(served_hub.root / "mediahub.toml"))
    status, _, body = request(served_hub, "GET", "/escape.toml")
    assert status == 404 and b"[site]" not in body
