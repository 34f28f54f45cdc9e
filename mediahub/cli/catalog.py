"""``mediahub scan``, ``mediahub episode add`` and ``mediahub episode show``."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediahub.cli.common import EXIT_OK, EXIT_USER, count, load_config, print_json
from mediahub.errors import ContentError

if TYPE_CHECKING:
    from mediahub.model import AudioInfo


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    scan = sub.add_parser(
        "scan",
        parents=[common],
        help="catalogue every audio file under episodes/ and paths.media",
        description="Read the tags of every new or changed audio file under episodes/ (and "
        "the folders listed in paths.media in mediahub.toml) into "
        "the catalogue; unchanged files (same size and mtime) are not opened again, removed "
        "ones are marked gone. Bad files are reported and skipped (exit 2).",
    )
    scan.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    scan.add_argument(
        "--sha256",
        action="store_true",
        help="also record each file's SHA-256 (reads every byte, not only the tags)",
    )
    scan.set_defaults(handler=cmd_scan)

    episode = sub.add_parser(
        "episode",
        parents=[common],
        help="add a new episode, or show what an audio file holds",
        description="Work with single episodes.",
    )
    actions = episode.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        parents=[common],
        help="create an episode folder from an audio file",
        description="Create episodes/<date>-<slug>/ with a tagged copy of AUDIO (the original "
        "is never changed), episode.md and the side files. Front matter comes from the flags, "
        "else from the file's own tags. The next 'mediahub build' publishes it.",
    )
    add.add_argument("audio", type=Path, help="the recorded audio file (MP3, M4A, Ogg, ...)")
    add.add_argument("--title", help="episode title (default: the file's title tag)")
    add.add_argument("--summary", help="one or two sentences for apps and the home page")
    add.add_argument("--notes", type=Path, metavar="FILE", help="show notes in Markdown")
    add.add_argument(
        "--chapters",
        type=Path,
        metavar="FILE",
        help="JSON chapters, '00:01:30 Title' lines or an Audacity label export",
    )
    add.add_argument("--transcript", type=Path, metavar="FILE", help="WebVTT or SRT transcript")
    add.add_argument("--image", type=Path, metavar="FILE", help="episode artwork (JPEG/PNG)")
    add.add_argument(
        "--date",
        type=_date,
        help="publication date, 2026-11-02 or '2026-11-02 07:30' in the hub's time zone "
        "(default: now); a future date schedules the episode",
    )
    add.add_argument("--season", type=_whole, help="season number")
    add.add_argument("--number", type=_whole, help="episode number")
    add.add_argument(
        "--type",
        dest="episode_type",
        choices=("full", "trailer", "bonus"),
        default="full",
        help="episode type (default: full)",
    )
    add.add_argument(
        "--explicit",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mark it explicit (--no-explicit: clean, whatever the show's default)",
    )
    add.add_argument(
        "--guest",
        action="append",
        default=[],
        metavar="NAME",
        help="a guest's name (repeat for several)",
    )
    add.add_argument("--draft", action="store_true", help="add it as a draft: not published")
    add.add_argument(
        "--id3v23", action="store_true", help="write ID3v2.3 instead of v2.4 (for old players)"
    )
    add.add_argument("--json", action="store_true", help="print the result as JSON")
    add.set_defaults(handler=cmd_add)

    show = actions.add_parser(
        "show",
        parents=[common],
        help="print everything read from an audio file",
        description="Print the stream info, tags, artwork and chapters of FILE.",
    )
    show.add_argument("file", type=Path, help="an audio file")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    show.set_defaults(handler=cmd_show)


def _date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write 2026-11-02 or '2026-11-02 07:30'"
        ) from None


def _whole(text: str) -> int:
    # 65535: MP4 stores track numbers in 16 bits.
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 0 to 65535")
    return int(text)


def info_json(info: AudioInfo) -> dict[str, Any]:
    data = asdict(info)
    data["path"] = str(info.path)
    return data


def cmd_scan(args: argparse.Namespace) -> int:
    from mediahub.catalog.scan import scan
    from mediahub.store import Store

    config = load_config(args)
    roots = [config.paths.episodes, *config.paths.media]
    tty = sys.stderr.isatty()

    def progress(done: int, total: int, path: str) -> None:
        if done == total or done % 25 == 0:
            name = os.path.basename(path)[:40]
            print(f"\rscanning {done}/{total} {name:<40}", end="", file=sys.stderr, flush=True)

    with Store(config.paths.database) as store:
        result = scan(store, roots, progress=progress if tty else None, sha256=args.sha256)
        catalogue = store.media_catalogue() if args.json else []
    if tty:
        print("\r\033[K", end="", file=sys.stderr)
    for problem in result.problems:
        print(f"mediahub: skipped: {problem.line()}", file=sys.stderr)
    if args.json:
        print_json(
            {
                "read": result.read,
                "unchanged": result.unchanged,
                "gone": result.gone,
                "problems": [p.line() for p in result.problems],
                "files": [info_json(info) for info, _ in catalogue],
            }
        )
    else:
        print(
            f"scanned {count(result.read + result.unchanged, 'audio file')}: "
            f"{result.read} read, {result.unchanged} unchanged, {result.gone} gone, "
            f"{count(len(result.problems), 'problem')}"
        )
    return EXIT_USER if result.problems else EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from mediahub.catalog.scan import read_file

    info = read_file(args.file, sha256=True)
    if args.json:
        print_json(info_json(info))
        return EXIT_OK
    rows: list[tuple[str, object]] = [
        ("file", info.path),
        ("format", f"{info.codec}, {info.mime_type}, tags: {info.tag_format or 'none'}"),
        ("duration", f"{info.duration:.3f} s"),
        ("stream", f"{info.bitrate // 1000} kb/s, {info.sample_rate} Hz, {info.channels} ch"),
        ("size", f"{info.size} bytes, sha256 {info.sha256}"),
    ]
    for name in (
        "title",
        "artist",
        "album",
        "date",
        "genre",
        "track",
        "comment",
        "description",
        "copyright",
        "publisher",
        "guid",
        "feed_url",
        "lyrics",
    ):
        value = getattr(info, name)
        if value:
            rows.append((name, value))
    if info.podcast:
        rows.append(("podcast", "yes (PCST)"))
    for art in info.artwork:
        rows.append(("artwork", f"{art.mime_type}, {art.size} bytes, type {art.picture_type}"))
    for chapter in info.chapters:
        end = f"-{chapter.end:.3f}" if chapter.end is not None else ""
        url = f" <{chapter.url}>" if chapter.url else ""
        rows.append(("chapter", f"{chapter.start:.3f}{end} {chapter.title}{url}"))
    for key, value in info.custom:
        rows.append((f"tag {key}", value))
    for label, value in rows:
        print(f"{label:>10}: {value}")
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    from mediahub.catalog.episode import EpisodeRequest, add_episode

    config = load_config(args)
    for flag in ("notes", "chapters", "transcript", "image"):
        path = getattr(args, flag)
        if path is not None and not path.is_file():
            raise ContentError(str(path), f"(--{flag}) is not a file", "check the path")
    request = EpisodeRequest(
        audio=args.audio,
        title=args.title,
        summary=args.summary,
        notes=args.notes,
        chapters=args.chapters,
        transcript=args.transcript,
        image=args.image,
        date=args.date,
        season=args.season,
        number=args.number,
        episode_type=args.episode_type,
        explicit=args.explicit,
        guests=tuple(args.guest),
        draft=args.draft,
        id3v23=args.id3v23,
    )
    now = datetime.now(UTC)
    added = add_episode(config, request, now)
    if added.draft:
        next_build = "nothing yet: it is a draft (set 'draft: false' in episode.md to publish)"
    elif added.date > now:
        next_build = f"nothing yet: it is scheduled for {added.date:%Y-%m-%d %H:%M %Z}"
    else:
        next_build = (
            f"this episode ({added.audio.duration:.0f} s, "
            f"{count(len(added.chapters), 'chapter')}) in the feed and on its page"
        )
    if args.json:
        print_json(
            {
                "folder": str(added.folder),
                "slug": added.slug,
                "guid": added.guid,
                "url": added.url,
                "date": added.date.isoformat(),
                "duration": added.audio.duration,
                "chapters": len(added.chapters),
                "draft": added.draft,
                "next_build": next_build,
            }
        )
    else:
        print(f"added {added.folder}")
        print(f"guid {added.guid}")
        print(f"url  {added.url}")
        print(f"next 'mediahub build' publishes {next_build}")
    return EXIT_OK
