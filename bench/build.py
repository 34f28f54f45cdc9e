"""Site build against Pelican, and podcast feed rendering against feedgen.

Workload (fixed seed): a hub of N episodes (tiny real MP3s) and N posts
(Markdown of realistic length); Pelican builds the same N posts with its
default theme. Also: a no-change rebuild, and a 10,000-episode feed rendered
by mediahub's template and by feedgen with its podcast extension.

    python -m bench build [--posts N] [--runs R] [--feed-items M]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
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


def paragraph(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def post_body(rng: random.Random) -> str:
    parts = [paragraph(rng, 4)]
    for section in range(rng.randint(2, 4)):
        parts.append(f"## Part {section + 1}: {rng.choice(WORDS)} and {rng.choice(WORDS)}")
        parts.append(paragraph(rng, rng.randint(3, 6)))
        if rng.random() < 0.5:
            parts.append(
                "\n".join(f"- *{rng.choice(WORDS)}*: {paragraph(rng, 1)}" for _ in range(4))
            )
        parts.append(f"See [{rng.choice(WORDS)}](https://example.org/{rng.randint(1, 999)}).")
    return "\n\n".join(parts) + "\n"


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


def make_workload(root: Path, count: int) -> tuple[Path, Path]:
    """(mediahub hub folder, pelican project folder) with the same posts."""
    hub, pelican = root / "hub", root / "pelican"
    if (root / f"done-{count}").exists():
        return hub, pelican
    shutil.rmtree(root, ignore_errors=True)
    (hub / "episodes").mkdir(parents=True)
    (hub / "posts").mkdir()
    (pelican / "content").mkdir(parents=True)
    rng = random.Random(20261124)
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
    for index in range(count):
        when = start + timedelta(hours=17 * index)
        title = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {index}"
        body = post_body(rng)
        tags = sorted({rng.choice(WORDS) for _ in range(2)})
        (hub / "posts" / f"post-{index:05d}.md").write_text(
            f"---\ntitle: {title}\ndate: {when.isoformat()}\ntags: [{', '.join(tags)}]\n---\n\n"
            + body,
            encoding="utf-8",
        )
        (pelican / "content" / f"post-{index:05d}.md").write_text(
            f"Title: {title}\nDate: {when:%Y-%m-%d %H:%M}\nTags: {', '.join(tags)}\n"
            f"Slug: post-{index:05d}\n\n" + body,
            encoding="utf-8",
        )
        folder = hub / "episodes" / f"episode-{index:05d}"
        folder.mkdir()
        shutil.copy2(audio, folder / "audio.mp3")
        (folder / "episode.md").write_text(
            f'---\ntitle: "Episode {index}: {title}"\ndate: {when.isoformat()}\n'
            f"number: {index + 1}\nguid: 00000000-0000-4000-8000-{index:012d}\n---\n\n"
            + paragraph(rng, 5)
            + "\n",
            encoding="utf-8",
        )
    (pelican / "pelicanconf.py").write_text(
        'AUTHOR = "Bench"\nSITENAME = "Bench Hub"\nSITEURL = ""\nTIMEZONE = "UTC"\n'
        'DEFAULT_LANG = "en"\nPATH = "content"\n',
        encoding="utf-8",
    )
    (root / f"done-{count}").touch()
    return hub, pelican


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
    args, _ = parser.parse_known_args([a for a in argv if a != "build"])
    root = WORK / "build"
    hub, pelican = make_workload(root, args.posts)
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
        """Untimed: no output and no store, as on a first build."""
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
    full = alternate(
        f"full build, {args.posts} episodes + {args.posts} posts (Pelican: posts)",
        "mediahub",
        mediahub_full,
        "Pelican",
        pelican_full,
        runs=args.runs,
        prepare_a=lambda: clean(hub),
        prepare_b=pelican_clean,
    )
    posts_only = alternate(
        f"full build, the same {args.posts} posts only",
        "mediahub",
        lambda: build_again(posts_hub),
        "Pelican",
        pelican_full,
        runs=args.runs,
        prepare_a=lambda: clean(posts_hub),
        prepare_b=pelican_clean,
    )

    def remove_output(folder: Path) -> None:
        """Untimed: the site gone, the store (catalogue, parsed content) kept."""
        set_aside(folder / "public")
        settle()

    # What a template or configuration edit costs: every page rendered and written
    # again, nothing re-read (the catalogue and the parsed content are in the store).
    clean(hub)
    mediahub_full()
    rerender = alternate(
        f"site written again from the store, {args.posts} episodes + {args.posts} posts "
        "(Pelican: full build of the posts)",
        "mediahub",
        mediahub_full,
        "Pelican",
        pelican_full,
        runs=args.runs,
        prepare_a=lambda: remove_output(hub),
        prepare_b=pelican_clean,
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
            "of pairwise ratios (how many times faster mediahub is).",
            "",
            "| workload | mediahub | peer | ratio |",
            "|---|---|---|---|",
            full.row(),
            posts_only.row(),
            rerender.row(),
            again.row(),
            feed.row(),
            "",
        ]
    )
