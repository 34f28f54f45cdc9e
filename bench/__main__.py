"""Run the benchmarks: ``python -m bench [NAME ...]``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from bench.common import RESULTS, write_summary

HERE = Path(__file__).parent
SKIP = {"common", "__main__", "peers"}


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name not in SKIP)


def main(argv: list[str]) -> int:
    # The first argument names a benchmark unless it is an option; the rest go to it.
    if argv and not argv[0].startswith("-"):
        if argv[0] not in available():
            print(
                f"bench: unknown benchmark {argv[0]!r}; choose from {', '.join(available())}",
                file=sys.stderr,
            )
            return 2
        names = [argv[0]]
    else:
        names = available()
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name} ==", flush=True)
        section = module.main(argv)
        (RESULTS / f"{name}.md").write_text(section, encoding="utf-8")
        print(section, flush=True)
    write_summary()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
