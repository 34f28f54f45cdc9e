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
    names = [a for a in argv if not a.startswith("-")] or available()
    unknown = set(names) - set(available())
    if unknown:
        print(f"bench: unknown benchmark(s) {', '.join(sorted(unknown))}; "
              f"choose from {', '.join(available())}", file=sys.stderr)
        return 2
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
