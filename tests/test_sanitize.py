"""The allow-list sanitiser: what survives and what never does."""

from __future__ import annotations

import random
from urllib.parse import urljoin, urlsplit

import pytest

from mediahub.aggregate.sanitize import absolute_url, plain_text, sanitize_html, text_to_html

BASE = "https://blog.example.org/posts/"


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" JaVaScRiPt:alert(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
        '<form action="https://evil.example/"><input name="pw"><button>Go</button></form>',
        "<style>body{display:none}</style>",
        '<div style="background:url(javascript:alert(1))">x</div>',
        '<iframe src="https://evil.example/"></iframe>',
        "<svg><script>alert(1)</script></svg>",
        '<object data="x.swf"></object><embed src="x.swf">',
        '<p onmouseover="alert(1)">x</p>',
        "<!-- <script>alert(1)</script> -->",
        '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    ],
)
def test_hostile_markup_is_removed(hostile: str) -> None:
    cleaned = sanitize_html(f"<p>before</p>{hostile}<p>after</p>", BASE).lower()
    for bad in (
        "<script",
        "onerror",
        "onmouseover",
        "javascript:",
        "<form",
        "<input",
        "<style",
        "<iframe",
        "<object",
        "<embed",
        "style=",
        "data:text",
        "svg+xml",
        "alert(",
    ):
        assert bad not in cleaned, (hostile, cleaned)
    assert "before" in cleaned and "after" in cleaned


def test_good_markup_survives_links_made_safe_and_absolute() -> None:
    cleaned = sanitize_html(
        '<h2>Title</h2><p>See <a href="../about" title="About">about</a> and '
        '<img src="pic.png" alt="A picture" width="10"> <em>now</em></p>'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">',
        BASE,
    )
    assert cleaned == (
        '<h2>Title</h2><p>See <a href="https://blog.example.org/about" title="About" '
        'rel="noopener noreferrer">about</a> and <img src="https://blog.example.org/posts/pic.png"'
        ' alt="A picture" width="10"> <em>now</em></p>'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">'
    )


def test_plain_text_and_text_as_html() -> None:
    assert plain_text("  A <b>bold</b>\n move &amp; more &lt;3 ") == "A bold move & more <3"
    assert plain_text("x<script>alert(1)</script>y") == "xy"
    assert (
        text_to_html("1 < 2 & <b>\nnext\n\npara")
        == "<p>1 &lt; 2 &amp; &lt;b&gt;<br>next</p><p>para</p>"
    )


def test_absolute_url_only_http() -> None:
    assert absolute_url("/a", BASE) == "https://blog.example.org/a"
    assert absolute_url("javascript:alert(1)", BASE) is None
    assert absolute_url("file:///etc/passwd", BASE) is None
    assert absolute_url("", BASE) is None
    # urljoin raises on an unbalanced IPv6 bracket: a feed's broken link is dropped.
    assert absolute_url("http://[::1/feed", BASE) is None
    assert absolute_url("//[bad/x", BASE) is None


def test_plain_text_skips_the_cleaner_with_the_cleaners_output() -> None:
    """The shortcut for fragments without markup gives exactly what nh3 gives."""
    from mediahub.aggregate.sanitize import _cleaner

    alphabet = [*"ab >\"'\n\t\r\x00\x01\x0b\x0c\x7f\x85\xa0\u2028é€😀 ;=/-<&", "\uffff"]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        for base in (None, BASE):
            assert sanitize_html(text, base) == _cleaner(base).clean(text), repr(text)
    with pytest.raises(UnicodeEncodeError):
        sanitize_html("lone \ud800 surrogate")


def test_absolute_links_skip_urljoin_with_urljoins_answer() -> None:
    def reference(url: str, base: str | None) -> str | None:
        url = url.strip()
        if base:
            url = urljoin(base, url)
        return url if urlsplit(url).scheme.lower() in ("http", "https") else None

    pieces = ["http://", "https://", "HTTP://", "a.com", ":80", ":", "/", "?", "#", ";", "&"]
    pieces += ["=", " ", "\t", "\n", "\x01", "..", ".", "%20", "é", "[::1]", "@", "//", "b"]
    rng = random.Random(8)
    for _ in range(20_000):
        url = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 9)))
        if rng.random() < 0.6:
            url = rng.choice(["http://", "https://"]) + url
        for base in (None, BASE, "http://y.example", "file:///srv/feeds/a.xml"):
            try:
                expected: object = reference(url, base)
            except ValueError as exc:
                expected = str(exc)
            try:
                got: object = absolute_url(url, base)
            except ValueError as exc:
                got = str(exc)
            assert got == expected, (url, base)
