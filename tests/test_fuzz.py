"""Property-based fuzzing (hypothesis) of the two paths strangers' bytes take.

1. Feeds: generated RSS and Atom documents -- valid and broken XML, random tags
   and attributes, random HTML full of script, event handlers and javascript:
   links -- go through parse -> store -> topic pages. Nothing crashes (a body
   that is not a feed is a ParseError), and no rendered page or topic Atom feed
   carries a script, an on*= attribute or a javascript:/vbscript:/data:text/html
   URL. Pages are checked with an HTML parser, so entity and case tricks
   are judged the way a browser would decode them.
2. Audio tags: every field the catalogue declares (catalog/fields.py), given
   generated values, comes back exactly after write -> read, in every container.

``make test`` runs a modest number of examples; ``make test-long``
(MEDIAHUB_LONG=1) runs many more. The settings objects below are the profiles.
"""

from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mediahub import config as config_module
from mediahub.aggregate.parse import parse_feed
from mediahub.catalog import tags
from mediahub.catalog.fields import FIELDS
from mediahub.errors import MediahubError
from mediahub.model import Chapter, Source, TagSet
from mediahub.publish.topics import build_topics
from mediahub.store import Store
from tests.audio_fixtures import WRITABLE, copy_fixture
from tests.conftest import copy_example_hub

LONG = os.environ.get("MEDIAHUB_LONG") == "1"
FEEDS = settings(
    max_examples=600 if LONG else 30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TAGS = settings(
    max_examples=300 if LONG else 12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
FEED_URL = "https://fuzz.example/feed.xml"

# ------------------------------------------------------------------ hostile HTML


SCHEMES = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;&#x61;vascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "https://ok.example/page",
    "/relative/path",
    "mailto:someone@example.org",
]
ELEMENTS = [
    "a", "img", "p", "div", "span", "script", "svg", "iframe", "form", "input", "button",
    "meta", "style", "base", "object", "embed", "math", "template", "noscript", "video",
    "audio", "source", "link", "table", "td", "details", "textarea", "b", "i", "blockquote",
]  # fmt: skip
ATTRIBUTES = [
    "href", "src", "onerror", "onload", "onclick", "OnMouseOver", "style", "action",
    "formaction", "srcdoc", "xlink:href", "http-equiv", "content", "background", "poster",
    "data", "class", "id", "title", "alt",
]  # fmt: skip
STYLE_VALUES = ["width: expression(alert(1))", "background: url(javascript:alert(1))", "color:red"]

text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)
attribute_value = st.one_of(st.sampled_from(SCHEMES + STYLE_VALUES), text)


@st.composite
def element(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    tag = draw(st.sampled_from(ELEMENTS))
    if draw(st.booleans()):
        tag = tag.upper()
    attributes = draw(st.lists(st.tuples(st.sampled_from(ATTRIBUTES), attribute_value), max_size=3))
    rendered = "".join(f' {name}="{escape(value, quote=True)}"' for name, value in attributes)
    inner = "".join(draw(st.lists(children, max_size=3)))
    return f"<{tag}{rendered}>{inner}</{tag}>"


html_fragment = st.recursive(
    st.one_of(text.map(escape), st.sampled_from(["<script>alert(1)</script>", "<!-- c -->"])),
    lambda children: element(children),
    max_leaves=8,
)

# ------------------------------------------------------------------ feed documents


def _xml_text(value: str) -> str:
    """Text for XML: escaped, without the characters XML 1.0 forbids."""
    cleaned = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", value)
    return escape(cleaned, quote=True)


@st.composite
def rss_item(draw: st.DrawFn) -> str:
    guid = draw(st.text(alphabet="abcdefghij0123456789-", min_size=1, max_size=12))
    title = draw(st.one_of(text, html_fragment))
    link = draw(st.sampled_from(SCHEMES))
    body = draw(html_fragment)
    wrap_cdata = draw(st.booleans()) and "]]>" not in body
    description = f"<![CDATA[{body}]]>" if wrap_cdata else _xml_text(body)
    extra_tag = draw(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True))
    extra = (
        f'<{extra_tag} {extra_tag}="{_xml_text(draw(text))}">{_xml_text(draw(text))}</{extra_tag}>'
    )
    return (
        f"<item><guid>{_xml_text(guid)}</guid><title>{_xml_text(title)}</title>"
        f"<link>{_xml_text(link)}</link><description>{description}</description>"
        f'<enclosure url="{_xml_text(draw(st.sampled_from(SCHEMES)))}" type="audio/mpeg"'
        f' length="{draw(st.integers(-5, 10**6))}"/>'
        f"<pubDate>Mon, 0{draw(st.integers(1, 9))} Nov 2026 07:30:00 GMT</pubDate>{extra}</item>"
    )


@st.composite
def atom_entry(draw: st.DrawFn) -> str:
    body = draw(html_fragment)
    kind = draw(st.sampled_from(["html", "xhtml", "text"]))
    content = (
        f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'
        if kind == "xhtml"
        else (_xml_text(body))
    )
    return (
        f"<entry><id>urn:fuzz:{draw(st.integers(0, 10**6))}</id>"
        f'<title type="html">{_xml_text(draw(html_fragment))}</title>'
        f'<link rel="alternate" href="{_xml_text(draw(st.sampled_from(SCHEMES)))}"/>'
        f"<updated>2026-11-0{draw(st.integers(1, 9))}T07:30:00Z</updated>"
        f'<summary type="html">{_xml_text(draw(html_fragment))}</summary>'
        f'<content type="{kind}">{content}</content></entry>'
    )


@st.composite
def feed_document(draw: st.DrawFn) -> bytes:
    """An RSS 2.0 or Atom document, sometimes broken on purpose."""
    if draw(st.booleans()):
        items = "".join(draw(st.lists(rss_item(), min_size=1, max_size=4)))
        document = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{_xml_text(draw(html_fragment))}</title><link>https://fuzz.example/</link>"
            f"<description>{_xml_text(draw(html_fragment))}</description>{items}</channel></rss>"
        )
    else:
        entries = "".join(draw(st.lists(atom_entry(), min_size=1, max_size=4)))
        document = (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{_xml_text(draw(text))}</title><id>urn:fuzz</id>"
            f'<link href="https://fuzz.example/"/><updated>2026-11-02T07:30:00Z</updated>'
            f"{entries}</feed>"
        )
    data = document.encode("utf-8")
    breakage = draw(st.sampled_from(["none", "none", "cut", "stray", "bytes"]))
    if breakage == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif breakage == "stray":
        at = draw(st.integers(0, len(data)))
        data = (
            data[:at]
            + draw(st.sampled_from([b"<", b"&", b"]]>", b"\x00", b"<!ENTITY"]))
            + (data[at:])
        )
    elif breakage == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=16)) + data[at:]
    return data


# ------------------------------------------------------------------ checking output

URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "background", "poster", "data",
    "srcset", "cite", "longdesc", "ping",
}  # fmt: skip
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
FORBIDDEN_ELEMENTS = {"script", "iframe", "object", "embed", "form", "base", "frame", "frameset"}


class _Audit(HTMLParser):
    """Collects everything in a page that could run script or navigate by itself."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_ELEMENTS:
            self.findings.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
            if name.startswith("on"):
                self.findings.append(f"<{tag} {name}=>")
            if name in URL_ATTRIBUTES and squeezed.startswith(BAD_SCHEMES):
                self.findings.append(f"<{tag} {name}={value!r}>")
            if name == "style" and ("expression(" in squeezed or "javascript:" in squeezed):
                self.findings.append(f"<{tag} style={value!r}>")
            if name == "http-equiv" and squeezed == "refresh":
                self.findings.append(f"<{tag} http-equiv=refresh>")

    handle_startendtag = handle_starttag


def audit_html(page: str, where: str) -> None:
    audit = _Audit()
    audit.feed(page)
    audit.close()
    assert not audit.findings, f"{where}: {audit.findings}"


def audit_output(folder: Path) -> int:
    """Audit every topic page and every HTML payload of every topic Atom feed; return pages."""
    checked = 0
    for path in folder.rglob("*"):
        if path.suffix == ".html":
            audit_html(path.read_text(encoding="utf-8"), str(path))
            checked += 1
        elif path.suffix == ".atom":
            root = ET.fromstring(path.read_bytes())
            for node in root.iter():
                if node.get("type") == "html" and node.text:
                    audit_html(node.text, f"{path} <{node.tag}>")
            checked += 1
    return checked


@pytest.fixture(scope="module")
def fuzz_config(tmp_path_factory: pytest.TempPathFactory) -> config_module.Config:
    hub = copy_example_hub(tmp_path_factory.mktemp("fuzzhub") / "hub")
    return config_module.load(hub)


def test_the_audit_catches_what_it_looks_for() -> None:
    """The checker itself: each trick is reported (else the property below proves nothing)."""
    for bad in (
        "<script>x</script>",
        '<img src=x OnError="a()">',
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<a href=" JAVA\tSCRIPT:x">x</a>',
        "<svg><a xlink:href='javascript:x'>x</a></svg>",
        '<meta http-equiv="Refresh" content="0;url=https://x.example">',
        '<p style="width: expression(alert(1))">',
        '<iframe src="data:text/html,x"></iframe>',
    ):
        with pytest.raises(AssertionError):
            audit_html(bad, "sample")
    audit_html('<a href="https://ok.example/" rel="noopener">javascript: a word</a>', "ok")


@FEEDS
@given(body=feed_document())
def test_fuzzed_feeds_never_crash_and_never_leak_script(
    fuzz_config: config_module.Config, body: bytes
) -> None:
    try:
        feed = parse_feed(body, FEED_URL)
    except MediahubError as exc:
        assert exc.where and "\n" not in exc.line()
        event("refused as not a feed")
        return
    event(f"parsed, {min(len(feed.items), 3)}+ items")
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        root = Path(folder)
        paths = replace(fuzz_config.paths, output=root / "public", state=root / "state")
        config = replace(fuzz_config, paths=paths)
        with Store(paths.database) as store:
            store.add_source(Source(FEED_URL, "fuzz"), NOW)
            store.save_items(FEED_URL, feed, NOW)
            build_topics(config, store, NOW)
        if feed.items:
            assert (paths.output / "topics" / "fuzz" / "index.html").is_file()
        event(f"{min(audit_output(paths.output), 4)}+ pages and feeds audited")


# ------------------------------------------------------------------ audio tags

TAG_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=200)
LYRICS = st.lists(TAG_TEXT, min_size=1, max_size=4).map("\n".join)
VALUES = {
    "text": TAG_TEXT,
    "comment": TAG_TEXT,
    "lyrics": LYRICS,
    "url": st.from_regex(r"https://[a-z]{1,12}\.example/[a-z0-9/_-]{0,30}", fullmatch=True),
    "flag": st.booleans(),
    "track": st.integers(1, 9999).map(str),
}
DATE = st.dates(min_value=datetime(1900, 1, 1).date()).map(lambda d: d.isoformat())
# ID3's TCON reads a genre written as a number or "(n)" as ID3v1 genre n ("0" is Blues):
# that is the format's rule, not a round-trip fault. mediahub itself writes "Podcast".
GENRE = TAG_TEXT.filter(lambda t: not re.match(r"\s*[(\d]", t))


@st.composite
def tag_values(draw: st.DrawFn) -> TagSet:
    """A value for every field catalog/fields.py declares, plus chapters."""
    values: dict[str, object] = {}
    for field in FIELDS:
        special = {"date": DATE, "genre": GENRE}
        strategy = special.get(field.name, VALUES[field.kind])
        values[field.name] = draw(strategy)
    starts = sorted(set(draw(st.lists(st.integers(0, 59_000), max_size=5))) | {0})
    titles = draw(st.lists(TAG_TEXT.filter(str.strip), min_size=len(starts), max_size=len(starts)))
    pairs = zip(starts, titles, strict=True)
    chapters = tuple(Chapter(start / 1000, title.strip()) for start, title in pairs)
    return TagSet(chapters=chapters, **values)  # type: ignore[arg-type]


def _expected(value: object) -> object:
    return (value.strip() or None) if isinstance(value, str) else value


@pytest.mark.parametrize("name", WRITABLE)
@TAGS
@given(values=tag_values())
def test_every_declared_tag_round_trips_exactly(name: str, tmp_path: Path, values: TagSet) -> None:
    path = copy_fixture(name, tmp_path, as_name=f"fuzz{Path(name).suffix}")
    info = tags.read(path)
    values = replace(values, chapters=tuple(c for c in values.chapters if c.start < info.duration))
    tags.write(path, values)
    back = tags.read(path)
    for field in FIELDS:
        container = (
            field.id3
            if back.tag_format.startswith("ID3") or not back.tag_format
            else (field.mp4 if back.tag_format == "MP4" else field.vorbis)
        )
        if container is None:
            continue
        assert getattr(back, field.name) == _expected(getattr(values, field.name)), field.name
    if back.tag_format != "MP4":  # mutagen writes no MP4 chapters (chapters.json carries them)
        assert [(round(c.start, 3), c.title) for c in back.chapters] == [
            (round(c.start, 3), c.title) for c in values.chapters
        ]
