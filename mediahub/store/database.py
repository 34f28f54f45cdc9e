"""The typed Store over every area of the database (``mediahub.store.Store``)."""

from __future__ import annotations

from pathlib import Path

from mediahub.store import builds, items, media, sources, stats, websub
from mediahub.store.builds import BuildQueries
from mediahub.store.items import ItemQueries
from mediahub.store.media import MediaQueries
from mediahub.store.sources import SourceQueries
from mediahub.store.stats import StatsQueries
from mediahub.store.websub import WebSubQueries

# component -> its migrations; each area adds itself here and as a base class below.
MIGRATIONS = {
    "media": media.MIGRATIONS,
    "sources": sources.MIGRATIONS,
    # after sources: items reference sources(url)
    "items": items.MIGRATIONS,
    "stats": stats.MIGRATIONS,
    "builds": builds.MIGRATIONS,
    "websub": websub.MIGRATIONS,
}

# SQL functions the schema calls (the search index's delete trigger): name -> (arity, fn).
FUNCTIONS = items.FUNCTIONS


class Store(MediaQueries, SourceQueries, StatsQueries, BuildQueries, ItemQueries, WebSubQueries):
    """The hub's database: ``with Store(path) as store: ...``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, MIGRATIONS, FUNCTIONS)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
