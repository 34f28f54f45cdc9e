"""``mediahub serve`` and ``mediahub stats``."""

from __future__ import annotations

import argparse
from typing import Any

from mediahub.cli.common import EXIT_OK, load_config, print_json


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
    serve.add_argument(
        "--dev",
        action="store_true",
        help="while editing: pages reload in the browser after each rebuild (one worker)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (default 1; 0 = one per CPU core); the first one "
        "also runs the background work",
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
    import os
    from dataclasses import replace

    from mediahub.errors import ConfigError
    from mediahub.serve.run import bind, serve
    from mediahub.serve.server import ServerOptions, make_server

    config = load_config(args)
    if args.url:
        config = config.with_url(args.url)
    public = config.paths.output
    if not (public / "index.html").is_file():
        raise ConfigError(str(public), "has no built site", "run 'mediahub build' first")
    host = args.host or config.serve.host
    port = args.port or config.serve.port
    if args.workers < 0:
        raise ConfigError(
            "--workers", f"{args.workers} is not a number of processes", "use 0 or more"
        )
    workers = 1 if args.dev else args.workers or os.cpu_count() or 1
    on = not args.static_only
    options = ServerOptions(
        dev=args.dev,
        jobs=on,
        stats=on,
        watch=on and config.serve.watch and not args.no_watch,
        fast_path=True,
        subscribe=on,
    )
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise ConfigError(
            f"{host}:{port}", f"cannot listen there: {exc.strerror}", "choose another --port"
        ) from None

    def app(index: int) -> Any:
        # Background work runs once, in the first process; the others serve and count.
        mine = options if index == 0 else replace(options, jobs=False, watch=False)
        return make_server(config, mine)

    def ready() -> None:
        extra = f" with {workers} workers" if workers > 1 else ""
        print(f"serving {public} on http://{host}:{port}/{extra} (Ctrl-C stops)", flush=True)

    serve(app, sock, workers, ready)
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
