"""The sources area of the store: the feeds the hub follows and their fetch state."""

from __future__ import annotations

from datetime import UTC, datetime

from mediahub.model import Source, SourceState
from mediahub.store.base import StoreBase

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sources (
        url TEXT PRIMARY KEY,
        topic TEXT NOT NULL,
        title TEXT,
        interval_seconds INTEGER,
        added TEXT NOT NULL,
        feed_title TEXT,
        site_link TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_fetched TEXT,
        next_fetch TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        paused INTEGER NOT NULL DEFAULT 0,
        gone INTEGER NOT NULL DEFAULT 0,
        podcast_guid TEXT,
        hub TEXT
    )
    """,
)

_COLUMNS = (
    "url, topic, title, interval_seconds, feed_title, site_link, etag, last_modified,"
    " body_hash, last_fetched, next_fetch, error_count, last_error, paused, gone,"
    " podcast_guid, hub"
)


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _state(row: tuple[object, ...]) -> SourceState:
    (url, topic, title, interval, feed_title, site_link, etag, last_modified, body_hash,
     last_fetched, next_fetch, error_count, last_error, paused, gone, podcast_guid, hub) = row
    return SourceState(
        source=Source(url=str(url), topic=str(topic), title=title,  # type: ignore[arg-type]
                      interval_seconds=interval),  # type: ignore[arg-type]
        feed_title=feed_title, site_link=site_link, etag=etag,  # type: ignore[arg-type]
        last_modified=last_modified, body_hash=body_hash,  # type: ignore[arg-type]
        last_fetched=_when(last_fetched), next_fetch=_when(next_fetch),  # type: ignore[arg-type]
        error_count=int(error_count), last_error=last_error,  # type: ignore[call-overload,arg-type]
        paused=bool(paused), gone=bool(gone), podcast_guid=podcast_guid,  # type: ignore[arg-type]
        hub=hub,  # type: ignore[arg-type]
    )


class SourceQueries(StoreBase):
    """Typed queries on the sources table (one base of Store)."""

    def add_source(self, source: Source, now: datetime | None = None) -> bool:
        """Add a source, or update its topic/title/interval; True if it was new."""
        added = (now or datetime.now(UTC)).isoformat()
        with self._transaction() as db:
            exists = db.execute("SELECT 1 FROM sources WHERE url = ?", (source.url,)).fetchone()
            db.execute(
                "INSERT INTO sources (url, topic, title, interval_seconds, added)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET topic = excluded.topic,"
                " title = excluded.title, interval_seconds = excluded.interval_seconds",
                (source.url, source.topic, source.title, source.interval_seconds, added),
            )
        return exists is None

    def remove_source(self, url: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM sources WHERE url = ?", (url,)).rowcount > 0

    def get_source(self, url: str) -> SourceState | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM sources WHERE url = ?", (url,)).fetchone()
        return _state(row) if row else None

    def list_sources(self, topic: str | None = None) -> list[SourceState]:
        if topic is None:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM sources ORDER BY topic, url")
        else:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM sources WHERE topic = ? ORDER BY url", (topic,))
        return [_state(row) for row in rows]
