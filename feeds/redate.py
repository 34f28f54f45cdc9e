"""Move the sample feeds' dates forward so that their newest item is a day old.

The example hub's topic pages hide sources silent for 28 days, as a hub should.
The sample feeds here are files with fixed dates, so without this the demo's
topic pages would empty four weeks after the dates were written. ``make demo``
runs it first; it shifts every date in every sample feed by the same whole
number of days (weekdays follow), and leaves feeds fresher than a week alone.

    python feeds/redate.py [--today YYYY-MM-DD] [FOLDER]
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

# RSS pubDate / lastBuildDate (RFC 822), Atom and JSON Feed dates (RFC 3339, UTC "Z").
_RFC822 = re.compile(r"(<(pubDate|lastBuildDate)>)([^<]+)(</\2>)")
_RFC3339 = re.compile(r"(<(published|updated)>|\"date_(?:published|modified)\": \")([^<\"]+)")
_FRESH = timedelta(days=7)


def _dates(text: str) -> list[datetime]:
    found = [parsedate_to_datetime(m.group(3)) for m in _RFC822.finditer(text)]
    found += [datetime.fromisoformat(m.group(3)) for m in _RFC3339.finditer(text)]
    return found


def _shifted(text: str, delta: timedelta) -> str:
    text = _RFC822.sub(
        lambda m: (
            m.group(1) + format_datetime(parsedate_to_datetime(m.group(3)) + delta) + m.group(4)
        ),
        text,
    )
    return _RFC3339.sub(
        lambda m: (
            m.group(1)
            + (datetime.fromisoformat(m.group(3)) + delta)
            .astimezone(UTC)
            .isoformat()
            .replace("+00:00", "Z")
        ),
        text,
    )


def redate(folder: Path, today: date) -> int:
    """Shift the feeds in ``folder``; return how many days they moved (0: fresh already)."""
    feeds = sorted(p for p in folder.iterdir() if p.suffix in (".xml", ".atom", ".json"))
    texts = {p: p.read_text(encoding="utf-8") for p in feeds}
    newest = max(d for text in texts.values() for d in _dates(text))
    target = datetime.combine(today - timedelta(days=1), newest.timetz())
    if target - newest < _FRESH:
        return 0
    delta = timedelta(days=(target - newest).days)
    for path, text in texts.items():
        path.write_text(_shifted(text, delta), encoding="utf-8")
    return delta.days


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python feeds/redate.py", description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=Path(__file__).parent)
    parser.add_argument("--today", type=date.fromisoformat, default=datetime.now(UTC).date())
    args = parser.parse_args(argv)
    days = redate(args.folder, args.today)
    if days:
        print(f"sample feeds in {args.folder}: dates moved {days} days forward")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
