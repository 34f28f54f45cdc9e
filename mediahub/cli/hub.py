"""``mediahub init`` and ``mediahub build``.

Light to import: a no-change ``mediahub build`` is answered by ``quick_build``
from the build stamp (publish/stamp.py) before argparse, the configuration or
the store are loaded; everything else imports what it needs where it is used.
"""

from __future__ import annotations

import os
import sys

from mediahub.cli.common import EXIT_OK, EXIT_USER, count, load_config, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    from pathlib import Path

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
    from datetime import UTC, datetime

    from mediahub.publish.site import build
    from mediahub.store import Store

    config = load_config(args)
    if args.url:
        config = config.with_url(args.url)
    with Store(config.paths.database) as store:
        result = build(
            config,
            store,
            now=datetime.now(UTC),
            keep_going=args.keep_going,
            leave_stamp=True,
            url_option=args.url or None,
        )
    for problem in result.skipped:
        print(f"mediahub: skipped: {problem.line()}", file=sys.stderr)
    stats = result.stats
    report_build(
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
        },
        args.json,
    )
    return EXIT_USER if result.skipped else EXIT_OK


def report_build(result: dict[str, Any], as_json: bool) -> None:
    """The result line of ``mediahub build`` (or its JSON), the full path's and the stamp's."""
    if as_json:
        print_json(result)
        return
    print(
        f"built {count(result['episodes'], 'episode')} and {count(result['posts'], 'post')} "
        f"({result['scheduled']} scheduled or draft) into {result['output']}: "
        f"{result['written']} written, {result['unchanged']} unchanged, "
        f"{result['removed']} removed"
    )


def quick_build(argv: Sequence[str]) -> int | None:
    """``mediahub build`` answered from the build stamp when nothing changed since the
    last complete build; None when the full path must run (any other arguments, no
    stamp, or anything the stamp cannot vouch for).

    Only the plainest command lines are taken here (``build`` with ``--root``,
    ``--url``, ``--json``, ``--keep-going``, each once, spelt out): anything else
    goes to argparse, which has the last word on what arguments mean.
    """
    options = _plain_build(argv)
    if options is None:
        return None
    root, url, as_json = options
    from mediahub.publish.stamp import unchanged

    found = unchanged(root if root is not None else os.getcwd(), url)
    if found is None:
        return None
    output, (episodes, posts, scheduled), outputs = found
    report_build(
        {
            "episodes": episodes,
            "posts": posts,
            "scheduled": scheduled,
            "written": 0,
            "rendered": 0,
            "unchanged": outputs,
            "removed": 0,
            "skipped": [],
            "output": output,
        },
        as_json,
    )
    return EXIT_OK


def _plain_build(argv: Sequence[str]) -> tuple[str | None, str | None, bool] | None:
    """(--root, --url, --json) of a plain ``build`` command line, else None."""
    values: dict[str, str] = {}
    flags: set[str] = set()
    command = False
    tokens = list(argv)
    while tokens:
        token = tokens.pop(0)
        name, equals, value = token.partition("=")
        if token == "build" and not command:
            command = True
        elif token in ("--json", "--keep-going") and command and token not in flags:
            flags.add(token)
        elif name in ("--root", "--url") and (command or name == "--root") and name not in values:
            if not equals:
                if not tokens:
                    return None
                value = tokens.pop(0)
            if not value or value.startswith("-"):
                return None
            values[name] = value
        else:
            return None
    if not command:
        return None
    return values.get("--root"), values.get("--url"), "--json" in flags
