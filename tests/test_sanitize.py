"""The allow-list sanitiser: what survives and what never does."""

from __future__ import annotations

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
