"""All SQL lives in this package: one module per area, one typed Store over them.

The database is a cache of what the files say plus logs only it holds
(aggregated items, statistics). Its methods are narrow and typed so that
another backend could sit behind the same interface.

``Store`` (in database.py) is imported on first use, not with the package: a
no-change ``mediahub build`` reads one value through ``changes.py`` and must not
pay for importing every area of the store.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (not typing's: importing typing costs a no-change build ~3 ms)
if TYPE_CHECKING:
    from mediahub.store.database import FUNCTIONS, MIGRATIONS, Store

__all__ = ["FUNCTIONS", "MIGRATIONS", "Store"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from mediahub.store import database

        return getattr(database, name)
    raise AttributeError(f"module 'mediahub.store' has no attribute {name!r}")
