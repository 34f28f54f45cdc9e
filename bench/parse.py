"""The parse floor: feedparser vs the fast path vs parse_feed as adopted.

Workload (fixed seed): N feeds of realistic shapes — most 10-50 items and
20-200 KB (blogs and news in RSS 2.0 and Atom), a tail of podcast feeds with
hundreds of items and 1-5 MB; a share of podcast feeds carry itunes:summary,
which the fast path leaves to feedparser, as it would in the wild. Each
contender parses every body, on one core and in a process pool on all cores:

- feedparser: ``parse_feed(fast=False)``, the reference (normalising included;
  feed HTML is kept as fetched and sanitised when a page shows it);
- fast path: ``fast_parse`` alone (gate + feedparser-rs + adapter), no
  normalising, for scale;
- parse_feed: as adopted, the fast path where it is proven, feedparser for
  the rest, then normalising for both.

    python -m bench parse [--feeds N] [--runs R]

``generate_feed`` is also the differential test's source of generated feeds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from html import escape

from bench.common import machine
from mediahub.aggregate.fastparse import fast_parse, refusal
from mediahub.aggregate.parse import parse_feed

_VOCABULARY = (
    "team trust habit coach listen decide question manager morning feedback clarity "
    "meeting plain write growth career values delegate hire focus calm change budget "
    "remote culture review goal mentor story résumé naïve café Zürich São Paulo"
)
WORDS = tuple(_VOCABULARY.split(" "))
ZONES = ("+0000", "GMT", "-0500", "+0100", "EST", "PDT", "+0530", "Z")


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _paragraphs(rng: random.Random, count: int) -> str:
    parts = []
    for _ in range(count):
        text = escape(_words(rng, 30, 90))
        if rng.random() < 0.3:
            text += f' <a href="https://example.net/{rng.randint(1, 999)}">more</a>'
        if rng.random() < 0.15:
            text += ' <img src="/img/x.png" onerror="alert(1)"> <script>track()</script>'
        parts.append(f"<p>{text} <em>{escape(_words(rng, 1, 3))}</em></p>")
    return "".join(parts)


def _rfc822(moment: datetime, rng: random.Random) -> str:
    zone = rng.choice(ZONES[:-1])
    return moment.strftime("%a, %d %b %Y %H:%M:%S ") + zone


def _title(rng: random.Random) -> str:
    title = _words(rng, 3, 9).capitalize()
    roll = rng.random()
    if roll < 0.1:
        title += " Q&A"
    elif roll < 0.103:
        title += " <b>live</b>"  # markup in a title: feedparser sniffs it as HTML
    return title


def generate_feed(seed: int, items: int, kind: str) -> bytes:
    """One deterministic feed: kind is "rss", "atom", "podcast" or "podcast-summary"."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(days=seed % 400)
    base = f"https://site{seed}.example.org"
    if kind == "atom":
        return _atom(rng, items, start, base).encode("utf-8")
    return _rss(rng, items, start, base, kind).encode("utf-8")


def _rss(rng: random.Random, items: int, start: datetime, base: str, kind: str) -> str:
    podcast = kind.startswith("podcast")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        'xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:media="http://search.yahoo.com/mrss/">\n<channel>\n',
        f"<title>{escape(_words(rng, 2, 5).title())}</title>\n<link>{base}/</link>\n",
        f"<description>{escape(_words(rng, 8, 20))}</description>\n",
        f'<atom:link rel="self" href="{base}/feed.xml"/>\n<ttl>60</ttl>\n',
    ]
    if podcast:
        out.append(f"<podcast:guid>{rng.getrandbits(128):032x}</podcast:guid>\n")
        out.append(f'<itunes:image href="{base}/cover.jpg"/>\n')
    for n in range(items):
        moment = start - timedelta(hours=n * rng.randint(5, 60), minutes=rng.randint(0, 59))
        out.append(f"<item>\n<title>{escape(_title(rng))}</title>\n")
        out.append(f"<link>{base}/posts/{n}-{rng.randint(0, 9999)}</link>\n")
        if rng.random() < 0.8:
            permalink = rng.random() < 0.5
            guid = f"{base}/p/{n}" if permalink else f"tag:{base[8:]},2026:{n}"
            out.append(f'<guid isPermaLink="{str(permalink).lower()}">{guid}</guid>\n')
        if rng.random() < 0.95:
            out.append(f"<pubDate>{_rfc822(moment, rng)}</pubDate>\n")
        if rng.random() < 0.3:
            out.append(f"<dc:creator>{escape(_words(rng, 2, 2).title())}</dc:creator>\n")
        body = _paragraphs(rng, rng.randint(1, 4) if not podcast else rng.randint(2, 8))
        if kind == "podcast-summary":
            out.append(f"<itunes:summary>{escape(_words(rng, 10, 40))}</itunes:summary>\n")
        if rng.random() < 0.5:
            out.append(f"<description><![CDATA[{body}]]></description>\n")
        else:
            out.append(f"<description>{escape(body[:400])}</description>\n")
            out.append(f"<content:encoded><![CDATA[{body}]]></content:encoded>\n")
        if podcast:
            out.append(
                f'<enclosure url="https://cdn.example.net/{n}.mp3" '
                f'length="{rng.randint(10**6, 9 * 10**7)}" type="audio/mpeg"/>\n'
            )
            seconds = rng.randint(300, 7200)
            duration = (
                str(seconds)
                if rng.random() < 0.3
                else f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            )
            out.append(f"<itunes:duration>{duration}</itunes:duration>\n")
            if rng.random() < 0.5:
                out.append(f'<itunes:image href="{base}/ep{n}.jpg"/>\n')
        elif rng.random() < 0.2:
            out.append(f'<media:thumbnail url="{base}/thumb/{n}.jpg"/>\n')
        out.append("</item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def _atom(rng: random.Random, items: int, start: datetime, base: str) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n',
        f"<title>{escape(_words(rng, 2, 5).title())}</title>\n<id>{base}/</id>\n",
        f'<link href="{base}/"/>\n<link rel="self" href="{base}/atom.xml"/>\n',
        f"<updated>{start.isoformat()}</updated>\n",
    ]
    for n in range(items):
        moment = start - timedelta(hours=n * rng.randint(5, 60), minutes=rng.randint(0, 59))
        kind = rng.choice(("text", "html", None))
        kind_attr = f' type="{kind}"' if kind else ""
        out.append(f"<entry>\n<title{kind_attr}>{escape(_title(rng))}</title>\n")
        out.append(f"<id>{base}/e/{n}</id>\n")
        out.append(f'<link rel="alternate" href="{base}/e/{n}.html"/>\n')
        out.append(f"<updated>{moment.isoformat()}</updated>\n")
        if rng.random() < 0.6:
            out.append(f"<published>{(moment - timedelta(hours=3)).isoformat()}</published>\n")
        if rng.random() < 0.5:
            out.append(f"<author><name>{escape(_words(rng, 2, 2).title())}</name></author>\n")
        body = _paragraphs(rng, rng.randint(1, 4))
        if rng.random() < 0.5:
            out.append(f'<summary type="text">{escape(_words(rng, 10, 30))}</summary>\n')
        out.append(f'<content type="html">{escape(body)}</content>\n')
        out.append("</entry>\n")
    out.append("</feed>\n")
    return "".join(out)


def workload(count: int, seed: int = 5) -> list[bytes]:
    """Most feeds 10-50 items (20-200 KB), a tail of podcasts with hundreds of items."""
    rng = random.Random(seed)
    feeds: list[bytes] = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.08:
            kind = "podcast-summary" if rng.random() < 0.5 else "podcast"
            feeds.append(generate_feed(n, rng.randint(300, 900), kind))
        elif roll < 0.25:
            feeds.append(generate_feed(n, rng.randint(10, 50), "podcast"))
        else:
            feeds.append(generate_feed(n, rng.randint(10, 50), rng.choice(("rss", "atom"))))
    return feeds


def _url(n: int) -> str:
    return f"https://feeds.example.org/{n}.xml"


def _reference(pair: tuple[int, bytes]) -> int:
    return len(parse_feed(pair[1], _url(pair[0]), fast=False).items)


def _fast_only(pair: tuple[int, bytes]) -> int:
    document = fast_parse(pair[1])
    return -1 if document is None else len(document.entries)


def _adopted(pair: tuple[int, bytes]) -> int:
    return len(parse_feed(pair[1], _url(pair[0])).items)


CONTENDERS: dict[str, Callable[[tuple[int, bytes]], int]] = {
    "feedparser": _reference,
    "fast path alone": _fast_only,
    "parse_feed (adopted)": _adopted,
}


def _one_core(fn: Callable[[tuple[int, bytes]], int], pairs: list[tuple[int, bytes]]) -> None:
    for pair in pairs:
        fn(pair)


def _all_cores(
    pool: ProcessPoolExecutor,
    fn: Callable[[tuple[int, bytes]], int],
    pairs: list[tuple[int, bytes]],
) -> None:
    list(pool.map(fn, pairs, chunksize=2))


def main(argv: list[str]) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench parse")
    parser.add_argument("--feeds", type=int, default=120)
    parser.add_argument("--runs", type=int, default=5)
    args, _ = parser.parse_known_args(argv[1:] if argv and argv[0] == "parse" else argv)
    feeds = workload(args.feeds)
    pairs = list(enumerate(feeds))
    megabytes = sum(map(len, feeds)) / 1e6
    fast_share = sum(refusal(body) is None for body in feeds) / len(feeds)
    items = sum(_reference(pair) for pair in pairs)
    cores = os.cpu_count() or 1
    rows = []
    with ProcessPoolExecutor(max_workers=cores) as pool:
        for mode, run in (
            ("1 core", lambda fn: _one_core(fn, pairs)),
            (f"{cores} cores", lambda fn: _all_cores(pool, fn, pairs)),
        ):
            times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
            for fn in CONTENDERS.values():  # warm-up
                run(fn)
            for _ in range(args.runs):  # alternate A B C A B C ...
                for name, fn in CONTENDERS.items():
                    began = time.perf_counter()
                    run(fn)
                    times[name].append(time.perf_counter() - began)
            reference = times["feedparser"]
            for name, samples in times.items():
                seconds = statistics.median(samples)
                ratios = [r / s for r, s in zip(reference, samples, strict=True)]
                rows.append(
                    f"| {mode} | {name} | {len(feeds) / seconds:.1f} | {megabytes / seconds:.1f} "
                    f"| **{statistics.median(ratios):.1f}x** (min {min(ratios):.1f}, "
                    f"max {max(ratios):.1f}) |"
                )
    return "\n".join(
        [
            "## parse: feedparser vs the fast path vs parse_feed as adopted",
            "",
            f"Machine: {machine()}. Workload: {len(feeds)} generated feeds, {megabytes:.1f} MB, "
            f"{items} items; the fast path takes {fast_share:.0%} of them. "
            f"Median of {args.runs} alternating runs; ratio = feedparser's time / this one's "
            "(pairwise, same run). Feeds/s and MB/s are for scale only.",
            "",
            "| cores | parser | feeds/s | MB/s | vs feedparser |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
