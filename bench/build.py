"""Site build against Pelican and Hugo, and podcast feed rendering against feedgen.

Workload (fixed seed), one folder per variant under bench/.work/build-<N>-<median>:

- N posts whose lengths follow what bloggers write (a log-normal, median 950 words,
  mean about 1,250, a twentieth over 3,000; see POST_WORDS): an intro, "## " sections of
  paragraphs with links and some bold, bullet lists, now and then a quote or a code block.
  ``--post-words MEDIAN`` moves the median: 300 makes posts as short as the workload
  before this one (median about 325 words, mean 330), with a wider spread.
- a mediahub hub of N episodes (tiny real MP3s, show notes of 150-500 words: a summary,
  an "In this episode" list, links) and the N posts;
- a Pelican project with the same N posts (its default theme), and a Hugo site with the
  same N posts and small layouts of our own (a page per post, a paginated index and tag
  pages, a list of tags, Hugo's built-in RSS), Hugo being the ceiling for a site build.

Rows: mediahub's full build against Pelican's (all of the hub, then the posts alone);
Hugo against Pelican on the same posts, to show how far the ceiling is from Pelican;
mediahub's full build against Hugo's (skipped, with a line on stderr, when ``hugo`` is
not on PATH); the site written again from mediahub's store; a no-change rebuild; and a
feed of ``--feed-items`` episodes rendered by mediahub's template and by feedgen with
its podcast extension.

    python -m bench build [--posts N] [--runs R] [--feed-items M] [--post-words MEDIAN]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import (
    WORK,
    Comparison,
    alternate,
    byte_compile,
    empty_trash,
    peer_venv,
    set_aside,
    settle,
)

WORDS = [
    "listen",
    "decide",
    "team",
    "question",
    "habit",
    "manager",
    "coach",
    "write",
    "morning",
    "plain",
    "feedback",
    "trust",
    "meeting",
    "clarity",
    "pause",
    "notice",
    "change",
    "week",
    "client",
    "story",
    "voice",
    "honest",
    "choice",
    "review",
    "small",
    "step",
    "courage",
    "quiet",
    "focus",
    "learn",
    "share",
    "page",
    "project",
    "outcome",
    "risk",
    "calendar",
    "note",
]


# Bump when the generated content changes: a workload made by another version is made again.
GENERATOR_VERSION = 2

# Post lengths. Orbit Media's yearly survey of bloggers found the average post at 1,151
# words in 2018 and 1,416 in 2021; 500-1,000 words is the most common length, and about
# 4% of posts run past 3,000 words. A log-normal with a median of 950 words and sigma 0.70
# (a mean of about 1,210) gives a third of the posts 500-1,000 words, more than any other
# 500-word band, and about 5% over 3,000; clipped to 250-6,000 words (the bounds scale
# with --post-words). The 2,000 posts of the default workload come out at a mean of
# 1,258 words, a median of 1,002, 33% of 500-1,000 words and 5.5% over 3,000.
# The workload before this one had posts of 130-600 words, median about 325 and mean
# 330: --post-words 300 gives the same median (mean about 400).
POST_WORDS = 950
POST_SIGMA = 0.70
POST_CLIP = (250 / 950, 6000 / 950)  # times the median
# Podcast show notes: a summary, an "In this episode" list and a few links, 150-500 words.
NOTES_WORDS = 280
NOTES_SIGMA = 0.35
NOTES_CLIP = (150, 500)

_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_WORD = re.compile(r"[A-Za-z0-9]+")


def word_count(markdown: str) -> int:
    """Words a reader reads: link targets and Markdown markers left out."""
    return len(_WORD.findall(_LINK_TARGET.sub("]", markdown)))


def paragraph(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def link(rng: random.Random, words: int = 1) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return f"[{text}](https://example.org/{rng.choice(WORDS)}/{rng.randint(1, 999)})"


class _Body:
    """Markdown blocks added until a word budget is spent."""

    def __init__(self, rng: random.Random, words: int) -> None:
        self.rng = rng
        self.left = words
        self.blocks: list[str] = []

    def add(self, block: str) -> None:
        self.blocks.append(block)
        self.left -= word_count(block)

    def prose(self, sentences: int) -> None:
        """A paragraph of up to ``sentences`` sentences, cut short when the budget is spent;
        now and then a word in it is a link or in bold, as in written posts."""
        rng = self.rng
        out: list[str] = []
        spent = 0
        for _ in range(sentences):
            words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
            roll = rng.random()
            if roll < 0.12:
                spot = rng.randrange(1, len(words))
                words[spot] = link(rng, rng.randint(1, 3))
            elif roll < 0.18:
                spot = rng.randrange(1, len(words))
                words[spot] = f"**{words[spot]}**"
            text = " ".join(words)
            out.append(text[0].upper() + text[1:] + ".")
            spent += word_count(out[-1])
            if spent >= self.left:
                break
        self.add(" ".join(out))

    def text(self) -> str:
        return "\n\n".join(self.blocks) + "\n"


def code_block(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(3, 9)):
        name, call, arg = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
        lines.append(f"{name}_{rng.choice(WORDS)} = {call}({arg}, {rng.randint(1, 99)})")
    return "```python\n" + "\n".join(lines) + "\n```"


def post_body(rng: random.Random, words: int) -> str:
    """A post of about ``words`` words: an intro, then "## " sections of one to three
    paragraphs, some with a bullet list, a quote, a code block or a "See ..." link,
    until the words are spent. Longer posts have more sections, and "### " subsections."""
    body = _Body(rng, words)
    body.prose(rng.randint(2, 4))
    section = 0
    while body.left > 0:
        section += 1
        body.add(f"## Part {section}: {rng.choice(WORDS)} and {rng.choice(WORDS)}")
        paragraphs = rng.randint(1, 3)
        for index in range(paragraphs):
            if index and words > 2000 and rng.random() < 0.25:
                body.add(f"### {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}")
            body.prose(rng.randint(3, 6))
            if body.left <= 0:
                break
        if body.left <= 0:
            break
        roll = rng.random()
        if roll < 0.30:
            items = rng.randint(3, 6)
            body.add(
                "\n".join(f"- *{rng.choice(WORDS)}*: {paragraph(rng, 1)}" for _ in range(items))
            )
        elif roll < 0.38:
            body.add("> " + paragraph(rng, rng.randint(1, 3)))
        elif roll < 0.44:
            body.add(code_block(rng))
        if rng.random() < 0.35:
            body.add(f"See {link(rng)}.")
    return body.text()


def show_notes(rng: random.Random, words: int) -> str:
    """Podcast show notes of about ``words`` words: a summary of one to three paragraphs,
    an "In this episode" list with timestamps, now and then a closing paragraph, and a
    "Links" list."""
    links = rng.randint(3, 7)
    body = _Body(rng, words - 3 * links - 1)
    body.prose(rng.randint(3, 5))
    for _ in range(2):
        if body.left > 170:
            body.prose(rng.randint(2, 5))
    body.add("## In this episode")
    items = []
    minute = 0
    while len(items) < 3 or (body.left > 0 and len(items) < 8):
        minute += rng.randint(3, 9)
        line = f"- ({minute:02d}:{rng.randint(0, 59):02d}) {paragraph(rng, 1)}"
        items.append(line)
        body.left -= word_count(line)
    body.blocks.append("\n".join(items))
    if body.left > 0:
        body.prose(6)
    body.add("## Links\n\n" + "\n".join(f"- {link(rng, rng.randint(1, 3))}" for _ in range(links)))
    return body.text()


def lengths(
    rng: random.Random, count: int, median: float, sigma: float, low: float, high: float
) -> list[int]:
    """``count`` word targets from a log-normal of this median, clipped to [low, high]."""
    mu = math.log(median)
    return [round(min(max(rng.lognormvariate(mu, sigma), low), high)) for _ in range(count)]


def describe(name: str, counts: list[int], bands: bool = True) -> str:
    """Length statistics of what was generated, for stderr."""
    mean, median = statistics.fmean(counts), statistics.median(counts)
    text = (
        f"{name}: {len(counts)}, words mean {mean:,.0f}, median {median:,.0f}, "
        f"min {min(counts):,}, max {max(counts):,}"
    )
    if bands:
        common = sum(500 <= c <= 1000 for c in counts) / len(counts)
        over = sum(c > 3000 for c in counts) / len(counts)
        text += f"; 500-1,000 words {common:.0%}, over 3,000 {over:.1%}"
    return text


def tiny_mp3(target: Path) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-ac",
            "1",
            "-ar",
            "22050",
            "-b:a",
            "32k",
            str(target),
        ],
        check=True,
    )


@dataclass
class Workload:
    hub: Path  # mediahub: N episodes + N posts
    pelican: Path  # Pelican project: the same N posts
    hugo: Path  # Hugo site: the same N posts, layouts of our own


def workload_folder(count: int, post_words: int = POST_WORDS) -> Path:
    """One folder per variant, so switching between them does not generate again."""
    return WORK / f"build-{count}-{post_words}"


def make_workload(root: Path, count: int, post_words: int = POST_WORDS) -> Workload:
    """The hub, the Pelican project and the Hugo site, with the same posts.

    Made again when the marker says another generator version or other parameters.
    """
    work = Workload(root / "hub", root / "pelican", root / "hugo")
    marker = root / "done"
    params = json.dumps(
        {"generator": GENERATOR_VERSION, "count": count, "post_words": post_words},
        sort_keys=True,
    )
    if marker.exists() and marker.read_text(encoding="utf-8") == params:
        return work
    set_aside(root)  # a stale or half-made workload; deleted with the rest of the trash
    hub, pelican, hugo = work.hub, work.pelican, work.hugo
    (hub / "episodes").mkdir(parents=True)
    (hub / "posts").mkdir()
    (pelican / "content").mkdir(parents=True)
    (hugo / "content" / "posts").mkdir(parents=True)
    rng = random.Random(20261124)
    low, high = (post_words * times for times in POST_CLIP)
    post_lengths = lengths(rng, count, post_words, POST_SIGMA, low, high)
    notes_lengths = lengths(rng, count, NOTES_WORDS, NOTES_SIGMA, *NOTES_CLIP)
    audio = root / "tone.mp3"
    tiny_mp3(audio)
    (hub / "mediahub.toml").write_text(
        '[site]\ntitle = "Bench Hub"\nurl = "https://bench.example.org"\n'
        'description = "A generated hub."\nauthor = "Bench"\nimage = "cover.jpg"\n'
        '[podcast]\nguid = "11111111-2222-5333-8444-555555555555"\n',
        encoding="utf-8",
    )
    from mediahub.artwork import placeholder_cover

    placeholder_cover(hub / "cover.jpg", "Bench Hub")
    start = datetime(2018, 1, 1, 8, 0)
    post_words_made: list[int] = []
    notes_words_made: list[int] = []
    for index in range(count):
        when = start + timedelta(hours=17 * index)
        title = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {index}"
        body = post_body(rng, post_lengths[index])
        post_words_made.append(word_count(body))
        tags = sorted({rng.choice(WORDS) for _ in range(2)})
        slug = f"post-{index:05d}"
        (hub / "posts" / f"{slug}.md").write_text(
            f"---\ntitle: {title}\ndate: {when.isoformat()}\ntags: [{', '.join(tags)}]\n---\n\n"
            + body,
            encoding="utf-8",
        )
        (pelican / "content" / f"{slug}.md").write_text(
            f"Title: {title}\nDate: {when:%Y-%m-%d %H:%M}\nTags: {', '.join(tags)}\n"
            f"Slug: {slug}\n\n" + body,
            encoding="utf-8",
        )
        (hugo / "content" / "posts" / f"{slug}.md").write_text(
            f'---\ntitle: "{title}"\ndate: {when.isoformat()}\ntags: [{", ".join(tags)}]\n'
            f"slug: {slug}\n---\n\n" + body,
            encoding="utf-8",
        )
        folder = hub / "episodes" / f"episode-{index:05d}"
        folder.mkdir()
        shutil.copy2(audio, folder / "audio.mp3")
        notes = show_notes(rng, notes_lengths[index])
        notes_words_made.append(word_count(notes))
        (folder / "episode.md").write_text(
            f'---\ntitle: "Episode {index}: {title}"\ndate: {when.isoformat()}\n'
            f"number: {index + 1}\nguid: 00000000-0000-4000-8000-{index:012d}\n---\n\n" + notes,
            encoding="utf-8",
        )
    (pelican / "pelicanconf.py").write_text(
        'AUTHOR = "Bench"\nSITENAME = "Bench Hub"\nSITEURL = ""\nTIMEZONE = "UTC"\n'
        'DEFAULT_LANG = "en"\nPATH = "content"\n',
        encoding="utf-8",
    )
    (hugo / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    for name, text in HUGO_LAYOUTS.items():
        (hugo / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (hugo / "layouts" / name).write_text(text, encoding="utf-8")
    print(describe("posts", post_words_made), file=sys.stderr)
    print(describe("show notes", notes_words_made, bands=False), file=sys.stderr)
    marker.write_text(params, encoding="utf-8")
    return work


# Hugo renders nothing without layouts: these are ours (no theme is downloaded), and
# make about what Pelican's default theme makes: a page per post, a paginated index,
# a page per tag and a list of tags, and feeds (Hugo's built-in RSS template: the
# site's, the section's, and one per tag). No sitemap (Pelican makes none by default);
# nothing here fetches anything from the network.
HUGO_CONFIG = """\
baseURL = "https://bench.example.org/"
title = "Bench Hub"
languageCode = "en"
timeZone = "UTC"
paginate = 20
disableKinds = ["sitemap"]
enableRobotsTXT = false
enableGitInfo = false

[taxonomies]
tag = "tags"

[params]
author = "Bench"
"""

HUGO_LAYOUTS = {
    "_default/baseof.html": """\
<!DOCTYPE html>
<html lang="{{ site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} · {{ end }}{{ site.Title }}</title>
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" \
href="{{ .RelPermalink }}" title="{{ site.Title }}">{{ end }}
</head>
<body>
<header><nav><a href="{{ "/" | relURL }}">{{ site.Title }}</a>
<a href="{{ "/posts/" | relURL }}">Posts</a> <a href="{{ "/tags/" | relURL }}">Tags</a></nav>
</header>
<main>
{{ block "main" . }}{{ end }}
</main>
<footer><p>{{ site.Params.author }} · <a href="{{ "/index.xml" | relURL }}">RSS</a></p></footer>
</body>
</html>
""",
    "_default/single.html": """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">\
{{ .Date.Format "2 January 2006" }}</time>
{{ with .GetTerms "tags" }} · {{ range $i, $t := . }}{{ if $i }}, {{ end }}\
<a href="{{ $t.RelPermalink }}">{{ $t.LinkTitle }}</a>{{ end }}{{ end }}</p>
{{ .Content }}
</article>
{{ end }}
""",
    "_default/list.html": """\
{{ define "main" }}
<h1>{{ if .IsHome }}{{ site.Title }}{{ else }}{{ .Title }}{{ end }}</h1>
{{ $pages := .Pages }}
{{ if .IsHome }}{{ $pages = where site.RegularPages "Section" "posts" }}{{ end }}
{{ $paginator := .Paginate $pages }}
{{ range $paginator.Pages }}
<article>
<h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">\
{{ .Date.Format "2 January 2006" }}</time></p>
<p>{{ .Summary }}</p>
</article>
{{ end }}
{{ template "_internal/pagination.html" . }}
{{ end }}
""",
    "_default/terms.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>
{{ range .Data.Terms.ByCount }}
<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>
{{ end }}
</ul>
{{ end }}
""",
}


def check_hugo_output(public: Path, count: int) -> None:
    """Hugo wrote a page per post (and an index and feed): else its times mean nothing."""
    pages = len(list((public / "posts").glob("post-*/index.html")))
    if pages < count or not (public / "index.html").exists() or not (public / "index.xml").exists():
        raise SystemExit(f"hugo wrote {pages} post pages of {count} in {public}")


def feed_comparison(items: int, runs: int) -> Comparison:
    """mediahub's feed template vs feedgen on the same episodes, in-process each."""
    from jinja2 import Environment

    from mediahub.aggregate.sanitize import apple_description
    from mediahub.model import AudioInfo, Episode, Show
    from mediahub.publish.feeds import FeedPage, render_podcast_feed
    from mediahub.publish.links import Links
    from mediahub.publish.templating import environment

    show = Show(
        title="Bench",
        url="https://bench.example.org",
        description="Generated",
        language="en",
        author="Bench",
        email=None,
        image=None,
        category="Business",
        subcategory=None,
        explicit=False,
    )
    rng = random.Random(7)
    base = datetime(2000, 1, 1, tzinfo=UTC)
    episodes = []
    spec = []
    for index in range(items):
        notes = f"<p>{paragraph(rng, 3)}</p>"
        audio = AudioInfo(
            path=Path(f"/media/e{index}.mp3"),
            size=1_000_000 + index,
            mtime_ns=0,
            mime_type="audio/mpeg",
            duration=1800.0 + index,
        )
        date = base + timedelta(days=index)
        episodes.append(
            Episode(
                slug=f"e{index}",
                folder=Path(f"/e{index}"),
                title=f"Episode {index}",
                date=date,
                guid=f"guid-{index}",
                summary=notes[3:80],
                notes_html=notes,
                description_html=apple_description(notes),  # as content.py does on reading
                audio=audio,
                number=index + 1,
            )
        )
        spec.append([index, notes, date.isoformat()])
    env: Environment = environment(None)
    page = FeedPage(path="feed.xml", episodes=episodes[::-1])
    links = Links(show.url)

    def ours() -> None:
        render_podcast_feed(env, show, page, links, None, episodes[-1].date)

    spec_file = WORK / f"feed-spec-{items}.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    python = peer_venv("feedgen", "feedgen")
    script = WORK / "feedgen_render.py"
    script.write_text(FEEDGEN_SCRIPT, encoding="utf-8")
    peer_times: list[float] = []

    def peer() -> None:
        out = subprocess.run(
            [str(python), str(script), str(spec_file)], check=True, capture_output=True, text=True
        )
        peer_times.append(float(out.stdout.strip()))

    # feedgen runs in its own interpreter: time it inside that process (render only).
    result = alternate(f"feed, {items:,} episodes", "mediahub", ours, "feedgen", peer, runs=runs)
    result.b_times = peer_times[-runs:]
    return result


FEEDGEN_SCRIPT = """
import json, sys, time
from datetime import datetime
from feedgen.feed import FeedGenerator
spec = json.load(open(sys.argv[1]))
start = time.perf_counter()
fg = FeedGenerator()
fg.load_extension("podcast")
fg.title("Bench"); fg.link(href="https://bench.example.org", rel="alternate")
fg.description("Generated"); fg.language("en")
fg.podcast.itunes_author("Bench"); fg.podcast.itunes_category("Business")
fg.podcast.itunes_explicit("no")
for index, notes, date in spec:
    fe = fg.add_entry()
    fe.id(f"guid-{index}"); fe.title(f"Episode {index}")
    fe.link(href=f"https://bench.example.org/episodes/e{index}/")
    fe.description(notes); fe.content(notes, type="CDATA")
    media = f"https://bench.example.org/episodes/e{index}/e{index}.mp3"
    fe.enclosure(media, str(1000000 + index), "audio/mpeg")
    fe.pubDate(datetime.fromisoformat(date))
    fe.podcast.itunes_duration(1800 + index); fe.podcast.itunes_episode(index + 1)
    fe.podcast.itunes_summary(notes[3:80])
fg.rss_str(pretty=True)
print(time.perf_counter() - start)
"""


def main(argv: list[str]) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench build")
    parser.add_argument("--posts", type=int, default=2000, help="posts (and episodes) to build")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--feed-items", type=int, default=10_000)
    parser.add_argument(
        "--post-words",
        type=int,
        default=POST_WORDS,
        metavar="MEDIAN",
        help=f"median words of a post (default {POST_WORDS}; 300 for posts as short as "
        "the workload before this one)",
    )
    args, _ = parser.parse_known_args([a for a in argv if a != "build"])
    root = workload_folder(args.posts, args.post_words)
    work = make_workload(root, args.posts, args.post_words)
    hub, pelican, hugo_site = work.hub, work.pelican, work.hugo
    hugo = shutil.which("hugo")
    if hugo is None:
        print("hugo not found: apt-get install hugo (the Hugo rows are skipped)", file=sys.stderr)
    pelican_python = peer_venv("pelican", "pelican[markdown]")
    byte_compile()
    env = {**os.environ, "PYTHONHASHSEED": "0"}

    # The same posts alone, for a like-for-like row against Pelican.
    posts_hub = root / "posts-only"
    if not posts_hub.exists():
        posts_hub.mkdir()
        shutil.copy2(hub / "mediahub.toml", posts_hub / "mediahub.toml")
        shutil.copy2(hub / "cover.jpg", posts_hub / "cover.jpg")
        (posts_hub / "posts").symlink_to(hub / "posts")

    def clean(folder: Path) -> None:
        """Untimed: no output and no store, as on a first build (the user's cache of
        compiled built-in templates stays, as .pyc files do)."""
        set_aside(folder / "public")
        set_aside(folder / ".mediahub")
        settle()

    def build_again(folder: Path) -> None:
        subprocess.run(
            [sys.executable, "-m", "mediahub", "build"],
            cwd=folder,
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )

    def mediahub_full() -> None:
        build_again(hub)

    def mediahub_again() -> None:
        build_again(hub)

    def pelican_clean() -> None:
        set_aside(pelican / "output")
        settle()

    def pelican_full() -> None:
        subprocess.run(
            [
                str(pelican_python),
                "-m",
                "pelican",
                "content",
                "-o",
                "output",
                "-s",
                "pelicanconf.py",
                "-q",
            ],
            cwd=pelican,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    print(
        f"building {args.posts} episodes + {args.posts} posts vs Pelican on the posts",
        file=sys.stderr,
    )

    def against_pelican(
        name: str, build: Callable[[], object], prepare: Callable[[], object]
    ) -> Comparison:
        """A mediahub build (``prepare`` untimed before each) against Pelican's full build."""
        return alternate(
            name,
            "mediahub",
            build,
            "Pelican",
            pelican_full,
            runs=args.runs,
            prepare_a=prepare,
            prepare_b=pelican_clean,
        )

    full = against_pelican(
        f"full build, {args.posts} episodes + {args.posts} posts (Pelican: posts)",
        mediahub_full,
        lambda: clean(hub),
    )
    posts_only = against_pelican(
        f"full build, the same {args.posts} posts only",
        lambda: build_again(posts_hub),
        lambda: clean(posts_hub),
    )

    hugo_rows: list[Comparison] = []
    hugo_warnings: set[str] = set()
    if hugo is not None:

        def hugo_clean() -> None:
            set_aside(hugo_site / "public")
            set_aside(hugo_site / "resources")
            settle()

        def hugo_full() -> None:
            run = subprocess.run(
                [
                    hugo,
                    "--source",
                    str(hugo_site),
                    "--cacheDir",
                    str(hugo_site / "cache"),
                    "--noBuildLock",
                    "--quiet",
                ],
                capture_output=True,
                text=True,
                env=env,
            )
            if run.returncode != 0:
                raise SystemExit(f"hugo failed (exit {run.returncode}):\n{run.stderr}")
            if run.stderr.strip() and run.stderr not in hugo_warnings:
                hugo_warnings.add(run.stderr)
                print(run.stderr, file=sys.stderr, end="")

        print(f"Hugo: the same {args.posts} posts", file=sys.stderr)
        hugo_rows.append(
            alternate(
                f"full build, the same {args.posts} posts: Hugo (the ceiling) vs Pelican",
                "Hugo",
                hugo_full,
                "Pelican",
                pelican_full,
                runs=args.runs,
                prepare_a=hugo_clean,
                prepare_b=pelican_clean,
            )
        )
        check_hugo_output(hugo_site / "public", args.posts)
        hugo_rows.append(
            alternate(
                f"full build, {args.posts} episodes + {args.posts} posts (Hugo: posts)",
                "mediahub",
                mediahub_full,
                "Hugo",
                hugo_full,
                runs=args.runs,
                prepare_a=lambda: clean(hub),
                prepare_b=hugo_clean,
            )
        )

    def remove_output(folder: Path) -> None:
        """Untimed: the site gone, the store (catalogue, parsed content) kept."""
        set_aside(folder / "public")
        settle()

    # What a template or configuration edit costs: every page rendered and written
    # again, nothing re-read (the catalogue and the parsed content are in the store).
    clean(hub)
    mediahub_full()
    rerender = against_pelican(
        f"site written again from the store, {args.posts} episodes + {args.posts} posts "
        "(Pelican: full build of the posts)",
        mediahub_full,
        lambda: remove_output(hub),
    )
    clean(hub)
    mediahub_full()
    again = alternate(
        "no-change rebuild vs full build",
        "rebuild",
        mediahub_again,
        "full",
        mediahub_full,
        runs=args.runs,
        prepare_a=settle,
        prepare_b=lambda: clean(hub),
    )
    empty_trash()
    feed = feed_comparison(args.feed_items, args.runs)
    stamp = time.strftime("%Y-%m-%d")
    return "\n".join(
        [
            "## Site build and feed rendering",
            "",
            f"Measured {stamp}; runs alternate A B A B after a warm-up; medians and the median "
            "of pairwise ratios (how many times faster mediahub is; in the Hugo vs Pelican "
            "row, how many times faster Hugo is). Posts: a median of "
            f"{args.post_words:,} words (log-normal, as bloggers write); Hugo renders them "
            "with small layouts of our own. A full build starts with no output and no "
            "store; the compiled built-in templates in the user's cache stay, as the "
            "programs' .pyc files do.",
            "",
            "| workload | mediahub | peer | ratio |",
            "|---|---|---|---|",
            full.row(),
            posts_only.row(),
            *(row.row() for row in hugo_rows),
            rerender.row(),
            again.row(),
            feed.row(),
            "",
        ]
    )
