"""``mediahub sources ...`` and ``mediahub aggregate``: what the hub follows, and one cycle.

Exit codes of ``aggregate`` (for cron): 0 every source fetched fine (or was not
modified), 3 the cycle ran but some sources failed (one line each on stderr),
2 a mistake in mediahub.toml or the arguments, 1 a bug.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mediahub.cli.common import (
    EXIT_OK,
    EXIT_USER,
    count,
    load_config,
    print_json,
    progress_bar,
)
from mediahub.errors import MediahubError

if TYPE_CHECKING:
    from mediahub.config import Config

EXIT_SOME_FAILED = 3
log = logging.getLogger("mediahub.aggregate")


class SourceArgError(MediahubError):
    """A source given on the command line is not usable."""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    sources = sub.add_parser(
        "sources",
        parents=[common],
        help="list, add, remove, import and export the feeds the hub follows",
        description="The external feeds the hub aggregates. Sources listed as [[sources]] "
        "in mediahub.toml are added automatically by 'mediahub aggregate'.",
    )
    verbs = sources.add_subparsers(dest="verb", metavar="VERB", required=True)

    add = verbs.add_parser("add", parents=[common], help="follow a feed (or a site's feed)")
    add.add_argument("url", help="a feed URL, a website URL (its feed is discovered) or file:")
    add.add_argument("--topic", default="general", help="topic page it appears on")
    add.add_argument("--title", help="name shown instead of the feed's own title")
    add.add_argument(
        "--no-discover", action="store_true", help="add the URL as given, without fetching it"
    )
    add.set_defaults(handler=cmd_add)

    remove = verbs.add_parser("remove", parents=[common], help="stop following a feed")
    remove.add_argument("url")
    remove.set_defaults(handler=cmd_remove)

    resume = verbs.add_parser(
        "resume", parents=[common], help="fetch a paused or gone source again"
    )
    resume.add_argument("url")
    resume.set_defaults(handler=cmd_resume)

    listing = verbs.add_parser("list", parents=[common], help="sources and their fetch status")
    listing.add_argument("--topic", help="only this topic")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    listing.set_defaults(handler=cmd_list)

    imp = verbs.add_parser("import", parents=[common], help="follow the feeds of an OPML file")
    imp.add_argument("file", type=Path, help="an OPML subscription list")
    imp.add_argument("--topic", default="general", help="topic for feeds outside any group")
    imp.set_defaults(handler=cmd_import)

    exp = verbs.add_parser("export", parents=[common], help="write the sources as OPML 2.0")
    exp.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    exp.set_defaults(handler=cmd_export)

    agg = sub.add_parser(
        "aggregate",
        parents=[common],
        help="fetch the due sources once and rebuild the topic pages",
        description="One aggregation cycle: fetch the sources that are due (conditional "
        "GET, limits, network guard), store new items, rebuild topic pages. Exit 0 if "
        "all went well, 3 if some sources failed, 2 for a mistake in mediahub.toml.",
    )
    agg.add_argument("--all", action="store_true", help="fetch every source, due or not")
    agg.add_argument("--json", action="store_true", help="print the cycle's report as JSON")
    agg.set_defaults(handler=cmd_aggregate)


def _store(config: Config) -> Any:
    from mediahub.store import Store

    return Store(config.paths.database)


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_add(args: argparse.Namespace) -> int:
    from mediahub.aggregate.cycle import CycleSettings
    from mediahub.aggregate.discover import discover
    from mediahub.aggregate.fetch import Fetcher
    from mediahub.model import Source

    config = load_config(args)
    url = args.url.strip()
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise SourceArgError(url, "is not an http(s) or file: URL", "give the feed's address")
    title = args.title
    if scheme != "file" and not args.no_discover:
        settings = CycleSettings.from_config(config)

        async def find() -> Any:
            async with Fetcher(settings.guard, settings.fetch) as fetcher:
                return await discover(fetcher, url)

        import asyncio  # only here: every command pays for what cli/ imports at start

        found = asyncio.run(find())
        if found.url != url:
            print(f"found the feed {found.url} ({'advertised' if found.how == 'link' else 'at'})")
        url, title = found.url, title or found.title
    with _store(config) as store:
        new = store.add_source(Source(url=url, topic=args.topic, title=title), _now())
    print(f"{'added' if new else 'updated'} {url} (topic {args.topic})")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    config = load_config(args)
    with _store(config) as store:
        if not store.remove_source(args.url):
            raise SourceArgError(args.url, "is not a source", "see 'mediahub sources list'")
    if any(s.url == args.url for s in config.aggregate.sources):
        print(
            f"note: {args.url} is listed in {config.source}; remove it there too", file=sys.stderr
        )
    print(f"removed {args.url}")
    return EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    config = load_config(args)
    with _store(config) as store:
        if not store.resume_source(args.url):
            raise SourceArgError(args.url, "is not a source", "see 'mediahub sources list'")
    print(f"{args.url} will be fetched on the next cycle")
    return EXIT_OK


def _status(state: Any) -> str:
    if state.gone:
        return "gone"
    if state.paused:
        return "paused"
    if state.error_count:
        return "failing"
    return "ok" if state.last_fetched else "new"


def cmd_list(args: argparse.Namespace) -> int:
    config = load_config(args)
    with _store(config) as store:
        _sync(config, store)
        states = store.list_sources(args.topic)
    if args.json:
        print_json(
            [
                {
                    "url": s.source.url,
                    "fetch_url": s.fetch_url,
                    "topic": s.source.topic,
                    "title": s.source.title or s.feed_title,
                    "status": _status(s),
                    "last_fetched": s.last_fetched,
                    "next_fetch": s.next_fetch,
                    "error_count": s.error_count,
                    "last_error": s.last_error,
                }
                for s in states
            ]
        )
        return EXIT_OK
    if not states:
        print("no sources yet: 'mediahub sources add URL' or [[sources]] in mediahub.toml")
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(config.timezone)

    def local(moment: datetime | None, none: str) -> str:
        """A stored (UTC) time in the hub's time zone, named: people read this list."""
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else none

    for s in states:
        when, nxt = local(s.last_fetched, "never"), local(s.next_fetch, "-")
        print(f"{_status(s):8} {s.source.topic:14} {s.source.url}")
        print(f"         last {when}, next {nxt}, {count(s.error_count, 'error')}")
        if s.moved_to:
            print(f"         moved to {s.moved_to}")
        if s.last_error:
            print(f"         last error: {s.last_error}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from mediahub.aggregate.opml import OpmlError, from_opml

    config = load_config(args)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise OpmlError(
            str(args.file), f"cannot be read: {exc.strerror}", "check the path"
        ) from None
    imported = from_opml(data, str(args.file), default_topic=args.topic)
    added = 0
    with _store(config) as store:
        for source in imported.sources:
            added += bool(store.add_source(source, _now()))
    for reason in imported.skipped:
        print(f"skipped {reason}", file=sys.stderr)
    print(f"imported {count(len(imported.sources), 'source')} ({added} new) from {args.file}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from mediahub.aggregate.opml import to_opml
    from mediahub.files import write_bytes_atomic

    config = load_config(args)
    with _store(config) as store:
        _sync(config, store)
        data = to_opml(f"Sources followed by {config.show.title}", store.list_sources())
    if args.output:
        write_bytes_atomic(args.output, data)
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def _sync(config: Config, store: Any) -> None:
    """Sources in mediahub.toml are always followed (topic and title from the file)."""
    for source in config.aggregate.sources:
        store.add_source(source, _now())


def cmd_aggregate(args: argparse.Namespace) -> int:
    from mediahub.aggregate.cycle import CycleSettings, Outcome, run

    config = load_config(args)
    tty = sys.stderr.isatty() and not args.json

    def progress(outcome: Outcome, done: int, total: int) -> None:
        if tty:
            progress_bar("aggregate", done, total)
        else:
            extra = f" {outcome.new_items} new" if outcome.new_items else ""
            log.info("%s %s%s", outcome.kind, outcome.url, extra)

    now = _now()
    with _store(config) as store:
        _sync(config, store)
        report = run(
            store, CycleSettings.from_config(config), now, force_all=args.all, progress=progress
        )
        written = 0
        if report.new_items:
            written = _rebuild_topics(config, store, now)
    for failed in report.errors:
        print(f"mediahub: error: {failed.message or failed.url}", file=sys.stderr)
    if args.json:
        print_json({**report.as_dict(), "topic_files_written": written})
    else:
        print(report.summary() + (f"; {count(written, 'site file')} rebuilt" if written else ""))
    return EXIT_SOME_FAILED if report.errors else EXIT_OK


def _rebuild_topics(config: Config, store: Any, now: datetime) -> int:
    """Topic pages are rebuilt only where a site was already built (else 'build' does it);
    the first ones with the whole site, whose menus then link to them."""
    try:
        from mediahub.publish.site import build
        from mediahub.publish.topics import build_topics, site_lacks_topics
    except ImportError:
        return 0
    if not (config.paths.output / "index.html").is_file():
        return 0
    if site_lacks_topics(config):
        try:
            return build(config, store, now, keep_going=True).stats.written
        except MediahubError as exc:  # 'build' will report it too; topic pages are still written
            print(f"mediahub: warning: the site was not rebuilt: {exc.line()}", file=sys.stderr)
    return int(build_topics(config, store, now))


__all__ = ["EXIT_SOME_FAILED", "EXIT_USER", "register"]
