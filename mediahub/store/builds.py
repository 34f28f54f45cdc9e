"""The build area of the store: parsed content cached by file fingerprint, and the
input key of every output written, so an unchanged build renders nothing."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterable, Mapping
from typing import Any

from mediahub.store.base import StoreBase

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE content_cache (
        path TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        data BLOB NOT NULL
    );
    CREATE TABLE outputs (
        output TEXT NOT NULL,
        path TEXT NOT NULL,
        input_key TEXT NOT NULL,
        PRIMARY KEY (output, path)
    )
    """,
    """
    CREATE TABLE build_state (
        output TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        next_due TEXT,
        summary TEXT NOT NULL
    )
    """,
    # An output folder being written: a row left behind means that write was cut short.
    """
    CREATE TABLE writing (output TEXT PRIMARY KEY)
    """,
    # The input keys of an output folder, read and replaced whole by every build: one
    # JSON object per folder instead of a row (and an index entry) per file.
    """
    CREATE TABLE output_keys (output TEXT PRIMARY KEY, keys TEXT NOT NULL);
    INSERT INTO output_keys
        SELECT output, json_group_object(path, input_key) FROM outputs GROUP BY output;
    DROP TABLE outputs
    """,
)


class BuildQueries(StoreBase):
    """Typed queries on the build cache (one base of Store)."""

    def cached_content(self) -> dict[str, tuple[str, object]]:
        """Every cached parse: source path -> (fingerprint, parsed object)."""
        rows = self._db.execute("SELECT path, fingerprint, data FROM content_cache")
        cached: dict[str, tuple[str, object]] = {}
        for path, fingerprint, data in rows:
            try:
                cached[path] = (fingerprint, pickle.loads(data))
            except Exception:
                continue
        return cached

    def save_content(self, entries: Iterable[tuple[str, str, bytes]]) -> None:
        """Store fresh parses: (path, fingerprint, pickled object) each."""
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO content_cache VALUES (?, ?, ?)", entries)

    def keep_content(self, keep: set[str]) -> None:
        """Forget the cached parses of every path not in ``keep`` (files gone from the hub)."""
        with self._transaction() as db:
            stale = [(p,) for (p,) in db.execute("SELECT path FROM content_cache") if p not in keep]
            db.executemany("DELETE FROM content_cache WHERE path = ?", stale)

    def last_build(self, output: str) -> tuple[str, str | None, dict[str, Any]] | None:
        """(input digest, next scheduled time, summary) of the last complete build."""
        row = self._db.execute(
            "SELECT digest, next_due, summary FROM build_state WHERE output = ?", (output,)
        ).fetchone()
        if row is None:
            return None
        try:
            summary = json.loads(row[2])
        except ValueError:
            return None
        return str(row[0]), row[1], summary if isinstance(summary, dict) else {}

    def save_build(
        self, output: str, digest: str, next_due: str | None, summary: Mapping[str, Any]
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO build_state VALUES (?, ?, ?, ?)",
                (output, digest, next_due, json.dumps(summary)),
            )

    def output_keys(self, output: str) -> dict[str, str]:
        """What the last complete write of ``output`` wrote, with input keys; nothing if
        a write began since and never finished (it may have left anything behind)."""
        cut_short = self._db.execute("SELECT 1 FROM writing WHERE output = ?", (output,))
        if cut_short.fetchone() is not None:
            return {}
        row = self._db.execute("SELECT keys FROM output_keys WHERE output = ?", (output,))
        found = row.fetchone()
        if found is None:
            return {}
        try:
            keys = json.loads(found[0])
        except ValueError:
            return {}
        return keys if isinstance(keys, dict) else {}

    def begin_writing(self, output: str) -> None:
        """Record that ``output`` is being written (until ``save_output_keys``)."""
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO writing VALUES (?)", (output,))

    def end_writing(self, output: str) -> None:
        """Forget ``begin_writing``: the write was abandoned before it changed anything."""
        with self._transaction() as db:
            db.execute("DELETE FROM writing WHERE output = ?", (output,))

    def save_output_keys(self, output: str, keys: Mapping[str, str]) -> None:
        """Replace the recorded input keys of one output folder, after a successful write."""
        with self._transaction() as db:
            db.execute("DELETE FROM writing WHERE output = ?", (output,))
            db.execute(
                "INSERT OR REPLACE INTO output_keys VALUES (?, ?)",
                (output, json.dumps(dict(keys), separators=(",", ":"))),
            )
