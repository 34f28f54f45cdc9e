"""``mediahub serve``."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from mediahub.cli.common import EXIT_OK, load_config


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="serve the built site over HTTP",
        description="Serve the output folder with aiohttp: pages, the feed, "
        "and media with HTTP Range.",
    )
    serve.add_argument(
        "--host", help="address to listen on (default from mediahub.toml, 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from mediahub.errors import ConfigError
    from mediahub.serve.app import make_app

    config = load_config(args)
    public = config.paths.output
    if not (public / "index.html").is_file():
        raise ConfigError(str(public), "has no built site", "run 'mediahub build' first")
    host = args.host or config.serve.host
    port = args.port or config.serve.port
    web.run_app(
        make_app(public),
        host=host,
        port=port,
        access_log=logging.getLogger("aiohttp.access"),
        print=lambda _: print(
            f"serving {public} on http://{host}:{port}/ (Ctrl-C stops)", flush=True
        ),
    )
    return EXIT_OK
