"""``mediahub search``: full-text search over aggregated items."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mediahub.cli.common import EXIT_OK, count, load_config, print_json, progress_bar


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    search = sub.add_parser(
        "search",
        parents=[common],
        help="search the items of the feeds the hub follows",
        description="Full-text search (SQLite FTS5) over titles, summaries and content of "
        "aggregated items. Every word must match, as a word or a word's beginning; "
        "best matches first. Items stored since the last search are indexed first.",
    )
    search.add_argument("query", help='words to look for, e.g. "delegation trust"')
    search.add_argument("--topic", help="only items from sources in this topic")
    search.add_argument(
        "--limit", type=int, default=20, help="at most this many results (default 20)"
    )
    search.add_argument("--json", action="store_true", help="print the results as JSON")
    search.set_defaults(handler=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    from mediahub.store import Store

    config = load_config(args)
    limit = max(1, min(args.limit, 1000))
    with Store(config.paths.database) as store:
        # Items stored since the index last caught up are indexed first (with a bar
        # on a terminal: after a first cycle of many feeds this takes seconds).
        tty = sys.stderr.isatty() and not args.json
        store.update_search(progress=_indexing if tty else None)
        hits = store.search_items(args.query, topic=args.topic, limit=limit)
    if args.json:
        print_json(
            [
                {
                    "title": hit.stored.item.title,
                    "link": hit.stored.item.link,
                    "date": hit.stored.sort_date.isoformat(),
                    "author": hit.stored.item.author,
                    "source": hit.stored.source_url,
                    "source_title": hit.source_title,
                    "topic": hit.topic,
                    "snippet": hit.snippet,
                }
                for hit in hits
            ]
        )
        return EXIT_OK
    for hit in hits:
        item = hit.stored.item
        source = hit.source_title or hit.stored.source_url
        print(f"{item.title or '(untitled)'}")
        print(f"  {source} · {hit.topic} · {hit.stored.sort_date:%Y-%m-%d}")
        if item.link:
            print(f"  {item.link}")
        if hit.snippet:
            print(f"  {hit.snippet}")
    print(f"{count(len(hits), 'item')} found", file=sys.stderr)
    return EXIT_OK


def _indexing(done: int, total: int) -> None:
    progress_bar("indexing", done, total)
