"""All SQL lives here: schema, migrations and typed queries.

The database is a cache of what the files say (audio metadata) plus logs that
only it holds. Its methods are narrow and typed so another backend could sit
behind the same interface.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mediahub.errors import StoreError
from mediahub.model import AudioInfo

# Each entry migrates from version N to N+1; user_version records where we are.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE media (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        mime_type TEXT NOT NULL,
        duration REAL NOT NULL,
        bitrate INTEGER NOT NULL,
        sample_rate INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        codec TEXT NOT NULL,
        title TEXT, artist TEXT, album TEXT, date TEXT, genre TEXT
    );
    """,
)


class Store:
    """A SQLite file under the hub's state folder (WAL, one writer)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(str(path), f"cannot be opened: {exc}",
                             "it is only a cache: move it away and run the command again") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > len(_MIGRATIONS):
            raise StoreError(str(self.path), f"schema version {version} is newer than this mediahub",
                             "upgrade mediahub")
        for number in range(version, len(_MIGRATIONS)):
            # executescript commits any open transaction, so each step carries its own.
            self._db.executescript(
                f"BEGIN IMMEDIATE; {_MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")

    # -- media -------------------------------------------------------------

    def cached_media(self, path: Path, size: int, mtime_ns: int) -> AudioInfo | None:
        """The stored metadata of ``path`` if the file is unchanged since it was read."""
        row = self._db.execute(
            "SELECT mime_type, duration, bitrate, sample_rate, channels, codec,"
            " title, artist, album, date, genre FROM media"
            " WHERE path = ? AND size = ? AND mtime_ns = ?",
            (str(path), size, mtime_ns),
        ).fetchone()
        if row is None:
            return None
        return AudioInfo(path=path, size=size, mtime_ns=mtime_ns, mime_type=row[0],
                         duration=row[1], bitrate=row[2], sample_rate=row[3], channels=row[4],
                         codec=row[5], title=row[6], artist=row[7], album=row[8], date=row[9],
                         genre=row[10])

    def save_media(self, info: AudioInfo) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO media VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (str(info.path), info.size, info.mtime_ns, info.mime_type, info.duration,
                 info.bitrate, info.sample_rate, info.channels, info.codec, info.title,
                 info.artist, info.album, info.date, info.genre),
            )
