"""``mediahub serve`` and ``mediahub stats``."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from mediahub.cli.common import EXIT_OK, load_config, print_json

# The combined log format web servers write (and log analysers read).
ACCESS_LOG_FORMAT = '%a - - %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"'


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="serve the built site over HTTP and run the hub's background work",
        description="Serve the output folder with aiohttp (pages, the feed, media with HTTP "
        "Range), publish scheduled episodes when their time comes, rebuild when content "
        "changes, count downloads. SIGTERM or Ctrl-C stops it gracefully.",
    )
    serve.add_argument(
        "--host", help="address to listen on (default from mediahub.toml, 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    serve.add_argument(
        "--url", help="base URL the rebuilt site is published under (as for 'mediahub build')"
    )
    serve.add_argument(
        "--static-only",
        action="store_true",
        help="only serve files: no rebuilds, scheduling, watching or statistics",
    )
    serve.add_argument(
        "--no-watch", action="store_true", help="do not rebuild when content files change"
    )
    serve.set_defaults(handler=cmd_serve)

    stats = sub.add_parser(
        "stats",
        parents=[common],
        help="downloads per episode and per day",
        description="Downloads counted by 'mediahub serve': once per listener, episode and "
        "day, from the first minute of audio; probes and known bots are not counted.",
    )
    stats.add_argument("--days", type=int, default=30, help="days shown per day (default 30)")
    stats.add_argument("--json", action="store_true", help="print JSON for scripts")
    stats.set_defaults(handler=cmd_stats)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from mediahub.errors import ConfigError
    from mediahub.serve.server import ServerOptions, make_server

    config = load_config(args)
    if args.url:
        config = config.with_url(args.url)
    public = config.paths.output
    if not (public / "index.html").is_file():
        raise ConfigError(str(public), "has no built site", "run 'mediahub build' first")
    host = args.host or config.serve.host
    port = args.port or config.serve.port
    on = not args.static_only
    options = ServerOptions(
        jobs=on,
        stats=on,
        watch=on and config.serve.watch and not args.no_watch,
    )
    web.run_app(
        make_server(config, options),
        host=host,
        port=port,
        access_log=logging.getLogger("aiohttp.access"),
        access_log_format=ACCESS_LOG_FORMAT,
        shutdown_timeout=10,
        print=lambda _: print(
            f"serving {public} on http://{host}:{port}/ (Ctrl-C stops)", flush=True
        ),
    )
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from mediahub.errors import ConfigError
    from mediahub.serve.stats import per_day, per_episode
    from mediahub.store import Store

    if args.days < 1:
        raise ConfigError("--days", f"{args.days} is not a number of days", "use 1 or more")
    config = load_config(args)
    with Store(config.paths.database) as store:
        counts = store.download_counts()
    since = (datetime.now(UTC).date() - timedelta(days=args.days - 1)).isoformat()
    episodes = per_episode(counts)
    days = {day: n for day, n in per_day(counts).items() if day >= since}
    if args.json:
        print_json(
            {
                "total": sum(episodes.values()),
                "episodes": [{"episode": e, "downloads": n} for e, n in episodes.items()],
                "days": [{"day": d, "downloads": n} for d, n in days.items()],
            }
        )
        return EXIT_OK
    if not episodes:
        print("no downloads counted yet")
        return EXIT_OK
    width = max(len(e) for e in episodes)
    print(f"{'episode':<{width}}  downloads")
    for episode, n in episodes.items():
        print(f"{episode:<{width}}  {n:>9}")
    print(f"{'total':<{width}}  {sum(episodes.values()):>9}")
    print()
    for day, n in days.items():
        print(f"{day}  {n:>6}")
    return EXIT_OK
