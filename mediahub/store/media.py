"""The media area of the store: the audio catalogue, one row per file.

A row is keyed by path and remembers size and mtime, so a scan can tell an
unchanged file without opening it; ``meta`` holds everything tags.read found
(as JSON), ``gone`` marks files that were removed since.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from mediahub.model import Artwork, AudioInfo, Chapter
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
    """
    ALTER TABLE media ADD COLUMN sha256 TEXT;
    ALTER TABLE media ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE media ADD COLUMN meta TEXT
    """,
    # The listing (paths, sizes, mtimes) a complete scan of some roots saw, as a digest.
    """
    CREATE TABLE media_scans (roots TEXT PRIMARY KEY, listing TEXT NOT NULL)
    """,
)

_COLUMNS = (
    "path, size, mtime_ns, mime_type, duration, bitrate, sample_rate, channels, codec,"
    " title, artist, album, date, genre, sha256, gone, meta"
)


_META_FIELDS = tuple(f.name for f in fields(AudioInfo) if f.name != "path")
_CHAPTER_FIELDS = tuple(f.name for f in fields(Chapter))
_ARTWORK_FIELDS = tuple(f.name for f in fields(Artwork))


def _row(info: AudioInfo) -> tuple[Any, ...]:
    # By hand rather than dataclasses.asdict, which costs as much as reading the tags.
    meta: dict[str, Any] = {name: getattr(info, name) for name in _META_FIELDS}
    meta["chapters"] = [[getattr(c, n) for n in _CHAPTER_FIELDS] for c in info.chapters]
    meta["artwork"] = [[getattr(a, n) for n in _ARTWORK_FIELDS] for a in info.artwork]
    return (
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
        info.sha256,
        0,
        json.dumps(meta, ensure_ascii=False),
    )


def _info(path: str, meta: str | None, row: tuple[Any, ...]) -> AudioInfo:
    """Rebuild an AudioInfo from ``meta``, or from the old columns for rows before it existed."""
    if meta is None:
        keys: tuple[str, ...] = (
            "size",
            "mtime_ns",
            "mime_type",
            "duration",
            "bitrate",
            "sample_rate",
        )
        keys += ("channels", "codec", "title", "artist", "album", "date", "genre")
        return AudioInfo(Path(path), **dict(zip(keys, row, strict=True)))
    data = json.loads(meta)
    data["chapters"] = tuple(Chapter(*c) for c in data.get("chapters", ()))
    data["artwork"] = tuple(Artwork(*a) for a in data.get("artwork", ()))
    data["custom"] = tuple(tuple(pair) for pair in data.get("custom", ()))
    return AudioInfo(path=Path(path), **data)


class MediaQueries(StoreBase):
    """Typed queries on the media tables (one base of Store)."""

    def cached_media(self, path: Path, size: int, mtime_ns: int) -> AudioInfo | None:
        """The stored metadata of ``path`` if the file is unchanged since it was read."""
        row = self._db.execute(
            "SELECT meta, size, mtime_ns, mime_type, duration, bitrate, sample_rate, channels,"
            " codec, title, artist, album, date, genre FROM media"
            " WHERE path = ? AND size = ? AND mtime_ns = ? AND gone = 0",
            (str(path), size, mtime_ns),
        ).fetchone()
        if row is None:
            return None
        return _info(str(path), row[0], row[1:])

    def save_media(self, info: AudioInfo) -> None:
        self.save_media_many((info,))

    def save_media_many(self, infos: Iterable[AudioInfo]) -> None:
        """Store (or replace) many rows in one transaction."""
        with self._transaction() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO media ({_COLUMNS}) VALUES ({','.join('?' * 17)})",
                (_row(info) for info in infos),
            )

    def last_scan(self, roots: str) -> str | None:
        """The listing digest of the last complete scan of ``roots``, if any."""
        row = self._db.execute(
            "SELECT listing FROM media_scans WHERE roots = ?", (roots,)
        ).fetchone()
        return None if row is None else str(row[0])

    def save_scan(self, roots: str, listing: str | None) -> None:
        """Record (None: forget) the listing a scan of ``roots`` left complete."""
        with self._transaction() as db:
            if listing is None:
                db.execute("DELETE FROM media_scans WHERE roots = ?", (roots,))
            else:
                db.execute("INSERT OR REPLACE INTO media_scans VALUES (?, ?)", (roots, listing))

    def media_stamps(self, hashed: bool = False) -> dict[str, tuple[int, int, int]]:
        """path -> (size, mtime_ns, gone 0/1) of every catalogued file: what a scan compares.

        ``hashed`` leaves out files catalogued without their SHA-256.
        """
        query = "SELECT path, size, mtime_ns, gone FROM media"
        if hashed:
            query += " WHERE sha256 IS NOT NULL"
        rows = self._db.execute(query).fetchall()
        return {path: (size, mtime_ns, gone) for path, size, mtime_ns, gone in rows}

    def mark_media_gone(self, paths: Iterable[str]) -> None:
        with self._transaction() as db:
            db.executemany("UPDATE media SET gone = 1 WHERE path = ?", ((p,) for p in paths))

    def media_catalogue(self, include_gone: bool = False) -> list[tuple[AudioInfo, bool]]:
        """Every catalogued file and whether it is gone, by path."""
        rows = self._db.execute(
            "SELECT path, gone, meta, size, mtime_ns, mime_type, duration, bitrate, sample_rate,"
            " channels, codec, title, artist, album, date, genre FROM media"
            + ("" if include_gone else " WHERE gone = 0")
            + " ORDER BY path"
        ).fetchall()
        return [(_info(row[0], row[2], row[3:]), bool(row[1])) for row in rows]
