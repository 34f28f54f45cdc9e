"""Front matter: the fast path for flat ``key: value`` lines reads exactly what PyYAML reads.

The comparison is on ``repr``, so types count: ``True`` is not ``1``, ``1.0`` is not
``1``, a date is not a datetime.
"""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mediahub import frontmatter
from mediahub.errors import ContentError
from tests.conftest import REPO

LONG = os.environ.get("MEDIAHUB_LONG") == "1"
EXAMPLES = settings(max_examples=3000 if LONG else 400, deadline=None)

# Scalars whose YAML 1.1 type is easy to get wrong by hand, and shapes near the
# edges of what the fast path takes.
TRICKY = [
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "true",
    "False",
    "~",
    "null",
    "Null",
    "NULL",
    "0",
    "1",
    "-1",
    "+1",
    "007",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "1:20",
    "190:20:30",
    "1.5",
    ".5",
    "1e3",
    "1.0e+3",
    "6.8523015e+5",
    ".inf",
    "-.Inf",
    ".NaN",
    "1.",
    "-",
    "2018-01-02",
    "2018-1-2",
    "2018-01-02T01:00:00",
    "2018-01-02 01:00:00 +02:00",
    "2001-12-14t21:59:43.10-05:00",
    "2026-11-02 07:30",
    "2018-13-45",
    "=",
    "<<",
    "a: b",
    "a #b",
    "a#b",
    "http://x.example/#a",
    "x:",
    "12:30",
    ":x",
    "?x",
    "Café ☕",
    "emoji 🎙",
    "[a, b]",
    "[]",
    "[ ]",
    "[yes, 1, 2018-01-02, ~]",
    "[a, [b]]",
    "[a b, c]",
    "[a,b]",
    "[a, ]",
    "[, a]",
    "[a: b]",
    "[a #b]",
    "{a: b}",
    "&x y",
    "*x",
    "!!str 1",
    "|",
    ">",
    "'q'",
    "'it''s'",
    '"q"',
    '"a\\"b"',
    '"tab\\t"',
    '"x" y',
    "'x' y",
    "a\tb",
    "@x",
    "`x",
    "%x",
    "a ]",
    "a, b",
    "a [b]",
    "é: x",
]
KEYS = [
    "title",
    "date",
    "tags",
    "number",
    "yes",
    "on",
    "null",
    "~",
    "1",
    "y",
    "a-b",
    "_x",
    "Title",
    "x y",
    "é",
    "-x",
    "True",
]

plain_text = st.text(
    alphabet=st.sampled_from("aZ0 9-_.:,#[]{}'\"!&*?|>%@`=~+\\é☕\t"), min_size=1, max_size=12
)
value = st.one_of(
    st.sampled_from(TRICKY),
    plain_text,
    plain_text.map(lambda t: f'"{t}"'),
    plain_text.map(lambda t: f"'{t}'"),
    st.lists(st.sampled_from(TRICKY[:40]) | plain_text, max_size=4).map(
        lambda items: "[" + ", ".join(items) + "]"
    ),
)
line = st.one_of(
    st.tuples(st.sampled_from(KEYS) | plain_text, st.sampled_from([": ", ":  ", ":", " : "]), value)
    .map("".join)
    .map(lambda text: text + st_space_suffix(text)),
    st.sampled_from(["", "# a comment", "  indented: x", "- item", "---", "...", "key:"]),
)


def st_space_suffix(text: str) -> str:
    """Trailing spaces on some lines, deterministically."""
    return " " * (len(text) % 3 == 0)


documents = st.lists(line, min_size=1, max_size=6).map("\n".join) | st.lists(
    line, min_size=1, max_size=6
).map(lambda lines: "\n".join(lines) + "\n")


def yaml_reads(text: str) -> str:
    """What PyYAML's safe loader makes of ``text``, or ``error``."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return repr(yaml.load(text, Loader=loader))
    except (yaml.YAMLError, ValueError):
        return "error"


def fast_reads(text: str) -> str:
    try:
        return repr(frontmatter.load("post.md", text))
    except ContentError:
        return "error"


@EXAMPLES
@given(documents)
def test_the_fast_path_reads_what_pyyaml_reads(text: str) -> None:
    assert fast_reads(text) == yaml_reads(text)


@pytest.mark.parametrize("scalar", TRICKY)
def test_every_tricky_scalar_reads_as_pyyaml_reads_it(scalar: str) -> None:
    for text in (f"key: {scalar}", f"title: x\nkey: {scalar}\n", f"{scalar}: x"):
        assert fast_reads(text) == yaml_reads(text), text


def test_the_example_hubs_front_matter_takes_the_fast_path() -> None:
    """Otherwise the fast path is dead code: every file of the example hub is flat."""
    from mediahub.content import _FENCE

    sources = sorted(REPO.glob("episodes/*/episode.md")) + sorted(REPO.glob("posts/*.md"))
    assert len(sources) >= 5
    for source in sources:
        match = _FENCE.match(source.read_text(encoding="utf-8"))
        assert match is not None, source
        meta = frontmatter._flat("post.md", match.group(1))
        assert meta is not None, source
        assert repr(meta) == yaml_reads(match.group(1)), source


def test_yaml_that_the_fast_path_leaves_still_reads() -> None:
    text = "title: x\n# a comment\nguests:\n  - Sam\n  - Ana\nsummary: >\n  two\n  lines\n"
    assert frontmatter._flat("post.md", text) is None
    assert frontmatter.load("post.md", text) == {
        "title": "x",
        "guests": ["Sam", "Ana"],
        "summary": "two lines\n",
    }


def test_broken_yaml_names_the_file_and_line() -> None:
    with pytest.raises(ContentError) as caught:
        frontmatter.load("posts/a.md", "title: x\ntags: [a, b\n")
    assert "posts/a.md" in str(caught.value)
    assert "front matter is not valid YAML at line" in str(caught.value)


@pytest.mark.parametrize("text", ["date: 2026-02-30", "title: x\ndate: 2026-02-30\n# a comment"])
def test_an_impossible_date_is_one_line_naming_the_file(text: str) -> None:
    """PyYAML raises a bare ValueError for it, which was a traceback."""
    with pytest.raises(ContentError) as caught:
        frontmatter.load("posts/a.md", text)
    message = str(caught.value)
    assert message.startswith("posts/a.md: front matter")
    assert "impossible value: day is out of range for month" in message
