"""``mediahub check``: the built feed (or a remote one) against the directories' rules."""

from __future__ import annotations

import argparse
from typing import Any

from mediahub.cli.common import EXIT_OK, load_config, print_json

# Exit status when a rule reports an error: the feed would be refused somewhere.
EXIT_FEED_ERROR = 1

_MARKS = {"pass": "ok", "warning": "WARN", "error": "ERROR", "skip": "skip"}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    check = sub.add_parser(
        "check",
        parents=[common],
        help="check the feed against Apple Podcasts, Spotify and Podcast Index rules",
        description="Check public/feed.xml (or the feed at --url) against the rules of "
        "Apple Podcasts, Spotify and the Podcast Index namespace: one row per rule "
        "with its status and how to fix it. Exit 1 if any rule reports an error.",
    )
    check.add_argument(
        "--url", help="check the feed served at this URL, with HEAD and Range on its media"
    )
    check.add_argument("--json", action="store_true", help="print the rows as JSON")
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from mediahub.publish.check import ERROR, check_built

    if args.url:
        import asyncio

        from mediahub.publish.check_remote import check_url

        results = asyncio.run(check_url(args.url))
        where = args.url
    else:
        config = load_config(args)
        results = check_built(config.paths.output, config.show.url)
        where = str(config.paths.output / "feed.xml")
    errors = sum(r.status == ERROR for r in results)
    if args.json:
        print_json(
            {
                "feed": where,
                "errors": errors,
                "results": [
                    {
                        "rule": r.rule,
                        "authority": r.authority,
                        "status": r.status,
                        "message": r.message,
                        "fix": r.fix,
                        "problems": list(r.problems),
                    }
                    for r in results
                ],
            }
        )
    else:
        width = max(len(r.rule) for r in results)
        print(f"checking {where}")
        for r in results:
            print(f"{_MARKS[r.status]:5} {r.rule:{width}}  {r.message}")
            if r.status in ("error", "warning"):
                for problem in r.problems[1:]:
                    print(f"{'':5} {'':{width}}  {problem}")
                if r.fix:
                    print(f"{'':5} {'':{width}}  fix: {r.fix}")
        warnings = sum(r.status == "warning" for r in results)
        print(f"{errors} error(s), {warnings} warning(s)")
    return EXIT_FEED_ERROR if errors else EXIT_OK
