"""``mediahub init`` and ``mediahub build``."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mediahub.cli.common import EXIT_OK, EXIT_USER, count, load_config, print_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    init = sub.add_parser(
        "init",
        parents=[common],
        help="create a new, empty hub in DIR",
        description="Create mediahub.toml, episodes/ and posts/ in DIR.",
    )
    init.add_argument("dir", type=Path, help="folder for the new hub (created if missing)")
    init.add_argument("--title", default="My Podcast", help="the show's title")
    init.set_defaults(handler=cmd_init)

    build = sub.add_parser(
        "build",
        parents=[common],
        help="build the site and feed into public/",
        description="Read episodes/ and posts/, write the site and podcast "
        "feed into the output folder. Nothing is written if any "
        "file is bad, unless --keep-going.",
    )
    build.add_argument("--url", help="publish under this base URL instead of site.url")
    build.add_argument(
        "--keep-going",
        action="store_true",
        help="skip bad files and publish the rest (exit 2 if any were skipped)",
    )
    build.add_argument("--json", action="store_true", help="print the result as JSON")
    build.set_defaults(handler=cmd_build)


def cmd_init(args: argparse.Namespace) -> int:
    from mediahub.scaffold import init_hub

    created = init_hub(args.dir, args.title)
    for path in created:
        print(f"created {path}")
    print(f"next: cd {args.dir} && mediahub build && mediahub serve")
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    from mediahub.publish.site import build
    from mediahub.store import Store

    config = load_config(args)
    if args.url:
        config = config.with_url(args.url)
    with Store(config.paths.database) as store:
        result = build(config, store, now=datetime.now(UTC), keep_going=args.keep_going)
    for problem in result.skipped:
        print(f"mediahub: skipped: {problem.line()}", file=sys.stderr)
    stats = result.stats
    if args.json:
        print_json(
            {
                "episodes": result.episodes,
                "posts": result.posts,
                "scheduled": result.scheduled,
                "written": stats.written,
                "rendered": stats.rendered,
                "unchanged": stats.unchanged,
                "removed": stats.removed,
                "skipped": [p.line() for p in result.skipped],
                "output": str(config.paths.output),
            }
        )
    else:
        print(
            f"built {count(result.episodes, 'episode')} and {count(result.posts, 'post')} "
            f"({result.scheduled} scheduled or draft) into {config.paths.output}: "
            f"{stats.written} written, {stats.unchanged} unchanged, {stats.removed} removed"
        )
    return EXIT_USER if result.skipped else EXIT_OK
