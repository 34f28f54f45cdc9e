"""The statistics area of the store: bytes served per listener, episode and day.

A listener is a salted hash of the IP address plus the user agent; the salt is
kept for one day only, so yesterday's hashes can never be matched again.
A row becomes one download once its bytes reach what it ``needed``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from mediahub.model import DownloadCount, ServedBytes
from mediahub.store.base import StoreBase

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE stats_salt (day TEXT PRIMARY KEY, salt BLOB NOT NULL);
    CREATE TABLE stats_served (
        day TEXT NOT NULL,
        listener TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        episode TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        needed INTEGER NOT NULL,
        PRIMARY KEY (day, listener, user_agent, episode)
    );
    CREATE INDEX stats_served_episode ON stats_served (episode, day)
    """,
)


class StatsQueries(StoreBase):
    """Typed queries on the statistics tables (one base of Store)."""

    def day_salt(self, day: str) -> bytes:
        """The salt for ``day`` (made on first use); salts of other days are deleted."""
        with self._transaction() as db:
            db.execute("DELETE FROM stats_salt WHERE day <> ?", (day,))
            row = db.execute("SELECT salt FROM stats_salt WHERE day = ?", (day,)).fetchone()
            if row is not None:
                return bytes(row[0])
            salt = os.urandom(32)
            db.execute("INSERT INTO stats_salt VALUES (?, ?)", (day, salt))
            return salt

    def add_served(self, rows: Sequence[ServedBytes]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO stats_served VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (day, listener, user_agent, episode) DO UPDATE SET"
                " bytes = bytes + excluded.bytes, needed = MIN(needed, excluded.needed)",
                [(r.day, r.listener, r.user_agent, r.episode, r.bytes, r.needed) for r in rows],
            )

    def download_counts(self, since: str | None = None) -> list[DownloadCount]:
        """Downloads per (day, episode), oldest day first; ``since`` is an ISO day."""
        rows = self._db.execute(
            "SELECT day, episode, COUNT(*) FROM stats_served"
            " WHERE bytes >= needed AND day >= ? GROUP BY day, episode ORDER BY day, episode",
            (since or "",),
        )
        return [DownloadCount(str(d), str(e), int(n)) for d, e, n in rows]
