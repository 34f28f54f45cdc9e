"""The media area of the store: audio metadata cached by path, size and mtime."""

from __future__ import annotations

from pathlib import Path

from mediahub.model import AudioInfo
from mediahub.store.base import StoreBase

MIGRATIONS: tuple[str, ...] = (
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
    )
    """,
)


class MediaQueries(StoreBase):
    """Typed queries on the media tables (one base of Store)."""

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
        return AudioInfo(
            path=path,
            size=size,
            mtime_ns=mtime_ns,
            mime_type=row[0],
            duration=row[1],
            bitrate=row[2],
            sample_rate=row[3],
            channels=row[4],
            codec=row[5],
            title=row[6],
            artist=row[7],
            album=row[8],
            date=row[9],
            genre=row[10],
        )

    def save_media(self, info: AudioInfo) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO media VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    str(info.path),
                    info.size,
                    info.mtime_ns,
                    info.mime_type,
                    info.duration,
                    info.bitrate,
                    info.sample_rate,
                    info.channels,
                    info.codec,
                    info.title,
                    info.artist,
                    info.album,
                    info.date,
                    info.genre,
                ),
            )
