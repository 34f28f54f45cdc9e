"""Command line: parses arguments, calls the services, prints, exits.

One module per command group (hub.py: init/build, server.py: serve, ...);
each has ``register(subparsers, common)`` and sets ``handler`` on its parsers.

Exit codes: 0 done, 1 an internal error (a bug: the traceback is shown),
2 a user mistake (one line naming the file or key; -v adds the traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from mediahub import __version__
from mediahub.cli import aggregate, catalog, check, hub, search, server
from mediahub.cli.common import EXIT_USER, common_options
from mediahub.errors import BuildError, MediahubError

# Command groups in the order --help lists them.
GROUPS = (hub, catalog, server, check, aggregate, search)


def parser() -> argparse.ArgumentParser:
    common = common_options()
    top = argparse.ArgumentParser(
        prog="mediahub",
        parents=[common],
        description="A self-hosted podcast and media hub: catalogue audio, publish a podcast "
        "feed and pages, aggregate feeds, serve it all.",
    )
    top.add_argument("--version", action="version", version=f"mediahub {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.register(sub, common)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", stream=sys.stderr
    )
    try:
        return int(args.handler(args))
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
