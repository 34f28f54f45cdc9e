"""Command line: parses arguments, calls the services, prints, exits.

One module per command group (hub.py: init/build, server.py: serve, ...);
each has ``register(subparsers, common)`` and sets ``handler`` on its parsers.

Exit codes: 0 done, 1 an internal error (a bug: the traceback is shown),
2 a user mistake (one line naming the file or key; -v adds the traceback).
"""

from __future__ import annotations

import sys
from typing import NoReturn

from mediahub import __version__
from mediahub.cli.common import EXIT_BROKEN_PIPE, EXIT_USER, common_options
from mediahub.cli.hub import quick_build

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    import argparse

    from mediahub.cli import aggregate, catalog, check, hub, search, server

    # Command groups in the order --help lists them.
    groups = (hub, catalog, server, check, aggregate, search)
    common = common_options()
    top = argparse.ArgumentParser(
        prog="mediahub",
        parents=[common],
        description="A self-hosted podcast and media hub: catalogue audio, publish a podcast "
        "feed and pages, aggregate feeds, serve it all.",
    )
    top.add_argument("--version", action="version", version=f"mediahub {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in groups:
        group.register(sub, common)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    # A no-change `mediahub build` is answered from the build stamp, before argparse
    # and the rest of mediahub are even imported (see publish/stamp.py).
    quick = quick_build(sys.argv[1:] if argv is None else argv)
    if quick is not None:
        return quick
    import logging
    import traceback

    from mediahub.errors import BuildError, MediahubError

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
    except BrokenPipeError:
        # Whoever read the output stopped (``mediahub sources list | head``): stop
        # quietly, as command-line tools do, with the code of a process that SIGPIPE
        # ended; what is still buffered for the pipe goes nowhere.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def run() -> NoReturn:
    """The ``mediahub`` program: ``main()``, then an exit that skips tearing down the heap.

    A build or an aggregation cycle ends holding hundreds of thousands of objects
    (entries, pages, rows); freeing them one by one, and the interpreter's last
    garbage collection, cost a cold build about 0.1 s for nothing (mypy exits the
    same way, for the same reason). Exit handlers still run and the standard
    streams are flushed first; commands close what they write before returning.
    With other threads still alive, or under a profiler or tracer (``python -m
    cProfile``, coverage) that reports when the interpreter exits, the exit is the
    normal one.
    """
    code = main()
    import threading

    if threading.active_count() > 1 or sys.getprofile() or sys.gettrace():
        sys.exit(code)
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe
            code = code or 120  # as Python exits when it cannot flush them
    os._exit(code)
