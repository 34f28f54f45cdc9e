"""What every command shares: options, exit codes, finding the hub, printing.

Light to import (the modules of the command groups import it at start, and a
no-change ``mediahub build`` may finish before argparse is even loaded):
argparse, json, pathlib and the configuration are imported where they are used.
"""

from __future__ import annotations

import sys
from datetime import date, time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from pathlib import Path
    from typing import Any

    from mediahub.config import Config

EXIT_OK, EXIT_BUG, EXIT_USER = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of the output went away


def common_options() -> argparse.ArgumentParser:
    """-v and --root, accepted before or after the command name."""
    import argparse
    from pathlib import Path

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and debug logging",
    )
    common.add_argument(
        "--root",
        type=Path,
        default=argparse.SUPPRESS,
        help="the hub's folder (default: the current folder)",
    )
    return common


def hub_root(args: argparse.Namespace) -> Path:
    from pathlib import Path

    return Path(getattr(args, "root", None) or Path.cwd())


def load_config(args: argparse.Namespace) -> Config:
    from mediahub import config as config_module

    return config_module.load(hub_root(args))


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout; dates and times in ISO 8601 (RFC 3339) form."""
    import json

    json.dump(data, sys.stdout, indent=2, default=_json_value, ensure_ascii=False)
    sys.stdout.write("\n")


def _json_value(value: object) -> str:
    # str() of a datetime puts a space between date and time, which not every reader
    # of RFC 3339 takes (JavaScript's Date.parse, for one); isoformat() puts the "T".
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def progress_bar(label: str, done: int, total: int, width: int = 30) -> None:
    """Draw ``label [####----] done/total`` over itself on stderr (a terminal's), a
    newline once ``done`` reaches ``total``."""
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{label} [{'#' * filled}{'-' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
