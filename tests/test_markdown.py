"""Markdown rendering: GitHub's flavour, exactly as cmarkgfm's helper renders it, without
the document tree that helper leaks on every call."""

from __future__ import annotations

import os

import cmarkgfm
from cmarkgfm.cmark import Options

from mediahub import markdown

SAMPLE = """\
# Notes from the "quiet hour" -- a habit

Some **bold**, some *emphasis* and ~~a struck idea~~.

| Week | Habit |
|------|-------|
| 1    | Write |

- [x] listened back
- [ ] sent the recap

Find the transcript at https://example.org/transcripts/12 or www.example.org.

<script>alert(1)</script>

```python
print("code keeps its language")
```
"""


def _resident_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_renders_what_the_github_helper_renders() -> None:
    expected = cmarkgfm.github_flavored_markdown_to_html(
        SAMPLE, options=Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_SMART
    )
    html = markdown.render_markdown(SAMPLE)
    assert html == expected
    # and the extensions are really on: a table, strikethrough, task list, autolink,
    # the tag filter, smart punctuation and the fence's language
    for piece in (
        "<table>",
        "<del>a struck idea</del>",
        'type="checkbox"',
        '<a href="https://example.org/transcripts/12">',
        "&lt;script>",
        "\u201cquiet hour\u201d \u2013 a habit",
        '<pre lang="python">',
    ):
        assert piece in html


def test_rendering_does_not_keep_the_document_tree() -> None:
    assert markdown._RELEASE is not None, "cmark_node_free not found in cmarkgfm's library"
    text = SAMPLE * 200  # about 75 KB: a leaked tree is about 0.5 MB per call
    for _ in range(20):
        markdown.render_markdown(text)
    before = _resident_mib()
    for _ in range(200):
        markdown.render_markdown(text)
    grown = _resident_mib() - before
    # A leak of the tree would be over 100 MiB here; glibc may keep a little.
    assert grown < 20, f"resident memory grew by {grown:.0f} MiB over 200 renders"
