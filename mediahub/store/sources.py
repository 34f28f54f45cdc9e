"""The sources area of the store: the feeds the hub follows and their fetch state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mediahub.model import Source, SourceState
from mediahub.store import changes
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
    # 2: permanent moves, pending redirects, failure runs and posting rate.
    """
    ALTER TABLE sources ADD COLUMN moved_to TEXT;
    ALTER TABLE sources ADD COLUMN redirect_url TEXT;
    ALTER TABLE sources ADD COLUMN redirect_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sources ADD COLUMN first_error TEXT;
    ALTER TABLE sources ADD COLUMN posting_seconds REAL;
    CREATE INDEX sources_next_fetch ON sources (next_fetch)
    """,
    # 3: a token every change to the table replaces (for a build's no-change check).
    changes.MIGRATION,
)

_COLUMNS = (
    "url, topic, title, interval_seconds, feed_title, site_link, etag, last_modified,"
    " body_hash, last_fetched, next_fetch, error_count, last_error, paused, gone,"
    " podcast_guid, hub, moved_to, redirect_url, redirect_count, first_error, posting_seconds"
)


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _state(row: tuple[Any, ...]) -> SourceState:
    (
        url,
        topic,
        title,
        interval,
        feed_title,
        site_link,
        etag,
        last_modified,
        body_hash,
        last_fetched,
        next_fetch,
        error_count,
        last_error,
        paused,
        gone,
        podcast_guid,
        hub,
        moved_to,
        redirect_url,
        redirect_count,
        first_error,
        posting_seconds,
    ) = row
    return SourceState(
        source=Source(url=str(url), topic=str(topic), title=title, interval_seconds=interval),
        feed_title=feed_title,
        site_link=site_link,
        etag=etag,
        last_modified=last_modified,
        body_hash=body_hash,
        last_fetched=_when(last_fetched),
        next_fetch=_when(next_fetch),
        error_count=int(error_count),
        last_error=last_error,
        paused=bool(paused),
        gone=bool(gone),
        podcast_guid=podcast_guid,
        hub=hub,
        moved_to=moved_to,
        redirect_url=redirect_url,
        redirect_count=int(redirect_count),
        first_error=_when(first_error),
        posting_seconds=posting_seconds,
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

    def sources_token(self) -> str:
        """Changes whenever any source is added, updated or removed (store/changes.py)."""
        return str(self._db.execute(changes.QUERY).fetchone()[0])

    def has_sources(self) -> bool:
        """Whether the hub follows any feed (and so has topic pages)."""
        return self._db.execute("SELECT 1 FROM sources LIMIT 1").fetchone() is not None

    def get_source(self, url: str) -> SourceState | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM sources WHERE url = ?", (url,)).fetchone()
        return _state(row) if row else None

    def list_sources(self, topic: str | None = None) -> list[SourceState]:
        if topic is None:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM sources ORDER BY topic, url")
        else:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM sources WHERE topic = ? ORDER BY url", (topic,)
            )
        return [_state(row) for row in rows]

    def due_sources(self, now: datetime) -> list[SourceState]:
        """Sources whose next fetch is due (or never fetched), neither paused nor gone."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM sources WHERE paused = 0 AND gone = 0"
            " AND (next_fetch IS NULL OR next_fetch <= ?) ORDER BY next_fetch, url",
            (now.astimezone(UTC).isoformat(),),
        )
        return [_state(row) for row in rows]

    def save_fetch_state(self, state: SourceState) -> None:
        """Write what fetching learnt about a source (everything but its configuration)."""

        def when(value: datetime | None) -> str | None:
            return value.astimezone(UTC).isoformat() if value else None

        with self._transaction() as db:
            db.execute(
                "UPDATE sources SET feed_title = ?, site_link = ?, etag = ?, last_modified = ?,"
                " body_hash = ?, last_fetched = ?, next_fetch = ?, error_count = ?,"
                " last_error = ?, paused = ?, gone = ?, podcast_guid = ?, hub = ?, moved_to = ?,"
                " redirect_url = ?, redirect_count = ?, first_error = ?, posting_seconds = ?"
                " WHERE url = ?",
                (
                    state.feed_title,
                    state.site_link,
                    state.etag,
                    state.last_modified,
                    state.body_hash,
                    when(state.last_fetched),
                    when(state.next_fetch),
                    state.error_count,
                    state.last_error,
                    int(state.paused),
                    int(state.gone),
                    state.podcast_guid,
                    state.hub,
                    state.moved_to,
                    state.redirect_url,
                    state.redirect_count,
                    when(state.first_error),
                    state.posting_seconds,
                    state.source.url,
                ),
            )

    def resume_source(self, url: str) -> bool:
        """Clear a paused or gone flag and the error run, so the next cycle fetches it."""
        with self._transaction() as db:
            return (
                db.execute(
                    "UPDATE sources SET paused = 0, gone = 0, error_count = 0, first_error = NULL,"
                    " next_fetch = NULL WHERE url = ?",
                    (url,),
                ).rowcount
                > 0
            )
