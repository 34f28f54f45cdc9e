"""parse_feed over every document of the shared real-world corpus: no crash, sane items.

The corpus lives beside the project (it is other projects' test data, not ours to
copy); its MANIFEST.md records what podcastparser made of each file, used here as a
lower bound on the items we must find.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mediahub.aggregate.parse import ParseError, parse_feed
from mediahub.aggregate.sanitize import sanitize_html
from tests.conftest import corpus_documents

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
# Documents that are not feeds at all: a ParseError is the right answer.
NOT_FEEDS = {
    "node-feedparser__notafeed.html",
    "podcast-namespace__docs-schema-podcast-example.xml",
    "feedparser__illformed-rss_empty_document.xml",
}
_HOSTILE = re.compile(
    r"<(script|style|form|iframe|object|embed)\b|<[^>]*\son\w+\s*=|=\s*[\"']?\s*javascript:",
    re.IGNORECASE,
)


def _expected_counts() -> dict[str, int]:
    manifest = CORPUS / "MANIFEST.md"
    counts: dict[str, int] = {}
    if manifest.is_file():
        for line in manifest.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 5 and (match := re.match(r"ok (\d+) ep", cells[5])):
                counts[cells[1]] = int(match.group(1))
    return counts


@pytest.fixture(scope="module")
def corpus() -> list[Path]:
    return corpus_documents()


def test_every_corpus_document_parses_or_is_refused_clearly(corpus: list[Path]) -> None:
    expected = _expected_counts()
    refused: set[str] = set()
    total = 0
    for path in corpus:
        url = f"https://feeds.example.org/{path.name}"
        try:
            feed = parse_feed(path.read_bytes(), url)
        except ParseError as exc:
            refused.add(path.name)
            assert exc.where == url and "\n" not in exc.line()
            continue
        ids = [item.id for item in feed.items]
        assert all(ids), path.name
        assert len(ids) == len(set(ids)), f"{path.name}: repeated ids"
        assert len(ids) >= expected.get(path.name, 0), path.name
        total += len(ids)
        for item in feed.items:
            assert "\n" not in item.title and "<script" not in item.title.lower(), path.name
            assert item.link is None or item.link.startswith(("http://", "https://")), path.name
            for moment in (item.published, item.updated):
                assert moment is None or moment.utcoffset() is not None, path.name
            for html in (item.summary_html, item.content_html):
                # Stored as fetched; what a page shows is the sanitised form.
                assert not html or not _HOSTILE.search(sanitize_html(html, url)), (
                    path.name,
                    item.id,
                )
            for enclosure in item.enclosures:
                assert enclosure.url.startswith(("http://", "https://")), path.name
                assert enclosure.length is None or enclosure.length > 0
    assert refused == NOT_FEEDS
    # never fewer items than podcastparser found, summed over the corpus
    assert total >= sum(expected.values()) > 0


def test_corpus_podcast_details(corpus: list[Path]) -> None:
    def parsed(name: str) -> object:
        return parse_feed((CORPUS / name).read_bytes(), f"https://feeds.example.org/{name}")

    pc20 = parsed("partytime__pc20rss.xml")
    assert pc20.podcast_guid == "917393e3-1b1e-5cef-ace4-edaa54e1f810"  # type: ignore[attr-defined]
    assert all(item.enclosures for item in pc20.items)  # type: ignore[attr-defined]
    # every one of the 61 episodes of "1865" declares an itunes:duration
    episodes = parsed("partytime__real-world__1865.xml").items  # type: ignore[attr-defined]
    assert len(episodes) == 61
    assert all(item.enclosures[0].duration for item in episodes)
    # gzip bytes (served without Content-Encoding) in windows-1251 still come through
    iconv = parsed("node-feedparser__compressed.xml")
    assert len(iconv.items) == 10  # type: ignore[attr-defined]
    assert iconv.title.startswith("Новости")  # type: ignore[attr-defined]
    # the undefined entity makes it bozo, yet every episode is recovered
    no_agenda = parsed("partytime__real-world__no-agenda.xml")
    assert no_agenda.bozo and len(no_agenda.items) == 29  # type: ignore[attr-defined]
