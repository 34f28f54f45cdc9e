"""Command line: parses arguments, calls the services, prints, exits.

Exit codes: 0 done, 1 an internal error (a bug: the traceback is shown),
2 a user mistake (one line naming the file or key; -v adds the traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from mediahub import __version__, config as config_module
from mediahub.errors import BuildError, MediahubError

EXIT_OK, EXIT_BUG, EXIT_USER = 0, 1, 2


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and debug logging")
    common.add_argument("--root", type=Path, default=argparse.SUPPRESS,
                        help="the hub's folder (default: the current folder)")
    return common


def parser() -> argparse.ArgumentParser:
    common = _common()
    top = argparse.ArgumentParser(
        prog="mediahub", parents=[common],
        description="A self-hosted podcast and media hub: catalogue audio, publish a podcast "
                    "feed and pages, serve it all.")
    top.add_argument("--version", action="version", version=f"mediahub {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = sub.add_parser("init", parents=[common], help="create a new, empty hub in DIR",
                          description="Create mediahub.toml, episodes/ and posts/ in DIR.")
    init.add_argument("dir", type=Path, help="folder for the new hub (created if missing)")
    init.add_argument("--title", default="My Podcast", help="the show's title")

    build = sub.add_parser("build", parents=[common], help="build the site and feed into public/",
                           description="Read episodes/ and posts/, write the site and podcast "
                                       "feed into the output folder. Nothing is written if any "
                                       "file is bad, unless --keep-going.")
    build.add_argument("--url", help="publish under this base URL instead of site.url")
    build.add_argument("--keep-going", action="store_true",
                       help="skip bad files and publish the rest")
    build.add_argument("--json", action="store_true", help="print the result as JSON")

    serve = sub.add_parser("serve", parents=[common], help="serve the built site over HTTP",
                           description="Serve the output folder with aiohttp: pages, the feed, "
                                       "and media with HTTP Range.")
    serve.add_argument("--host", help="address to listen on (default from mediahub.toml, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    try:
        return _COMMANDS[args.command](args)
    except BuildError as exc:
        for problem in exc.problems:
            print(f"mediahub: error: {problem.line()}", file=sys.stderr)
        if len(exc.problems) != 1:
            print(f"mediahub: error: {exc.line()}", file=sys.stderr)
        return EXIT_USER
    except MediahubError as exc:
        if verbose:
            traceback.print_exc()
        print(f"mediahub: error: {exc.line()}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("mediahub: interrupted", file=sys.stderr)
        return 130


def _root(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "root", None) or Path.cwd())


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

    config = config_module.load(_root(args))
    if args.url:
        config = config.with_url(args.url)
    with Store(config.paths.database) as store:
        result = build(config, store, now=datetime.now(UTC), keep_going=args.keep_going)
    for problem in result.skipped:
        print(f"mediahub: skipped: {problem.line()}", file=sys.stderr)
    stats = result.stats
    if args.json:
        print(json.dumps({"episodes": result.episodes, "posts": result.posts,
                          "scheduled": result.scheduled, "written": stats.written,
                          "unchanged": stats.unchanged, "removed": stats.removed,
                          "skipped": [p.line() for p in result.skipped],
                          "output": str(config.paths.output)}))
    else:
        print(f"built {_count(result.episodes, 'episode')} and {_count(result.posts, 'post')} "
              f"({result.scheduled} scheduled or draft) into {config.paths.output}: "
              f"{stats.written} written, {stats.unchanged} unchanged, {stats.removed} removed")
    return EXIT_USER if result.skipped else EXIT_OK


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from mediahub.errors import ConfigError
    from mediahub.serve.app import make_app

    config = config_module.load(_root(args))
    public = config.paths.output
    if not (public / "index.html").is_file():
        raise ConfigError(str(public), "has no built site", "run 'mediahub build' first")
    host = args.host or config.serve.host
    port = args.port or config.serve.port
    web.run_app(make_app(public), host=host, port=port, access_log=logging.getLogger("aiohttp.access"),
                print=lambda _: print(f"serving {public} on http://{host}:{port}/ (Ctrl-C stops)",
                                      flush=True))
    return EXIT_OK


_COMMANDS = {"init": cmd_init, "build": cmd_build, "serve": cmd_serve}


if __name__ == "__main__":
    raise SystemExit(main())
