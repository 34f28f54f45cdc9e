"""The SQLite connection, transactions and per-component migrations.

Each area of the store (media, sources, stats, ...) owns its own list of
migrations and its own version row, so areas evolve independently.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from mediahub.errors import StoreError
from mediahub.files import exclusive

# SQLite's default: a commit that grows the WAL past this many pages checkpoints it.
_AUTOCHECKPOINT = 1000


class StoreBase:
    """A SQLite file under the hub's state folder (WAL, one writer at a time)."""

    def __init__(
        self,
        path: Path,
        migrations: Mapping[str, Sequence[str]],
        functions: Mapping[str, tuple[int, Callable[..., str | int | float | None]]] | None = None,
    ) -> None:
        """Open (and migrate) the database; ``functions`` are SQL functions by name
        (arity, deterministic Python function) that the schema's triggers and the
        migrations call, so they are registered on the connection before either runs.
        """
        self.path = path
        # The thread inside ``batch()``, whose writes join its transaction.
        self._batch_thread: int | None = None
        # One transaction at a time on the connection, which threads share (a
        # server's request handlers and a test or job thread; the cycle's loop and
        # writer): a second thread's BEGIN would fail with "cannot start a
        # transaction within a transaction", so it waits for the first's COMMIT.
        self._writing = threading.RLock()
        # Set at each commit while ``checkpoints_aside`` runs: its thread checkpoints then.
        self._committed: threading.Event | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=False
            )
            for name, (arity, function) in (functions or {}).items():
                self._db.create_function(name, arity, function, deterministic=True)
            if self._needs_setup(migrations):
                # One process at a time: several opening a new store together (a
                # build's workers, a server, a cron command) would each read version
                # 0 and run the same steps, and turning a new file to WAL fails at
                # once, without waiting, while another process does it.
                with exclusive(path.with_name(path.name + ".lock")):
                    self._setup(migrations)
            # 16 MiB of page cache (the default is 2): the item indexes' pages stay
            # cached while a cycle writes thousands of rows (and the search index's
            # while update_search catches up).
            self._db.execute("PRAGMA cache_size=-16384")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                str(path),
                f"cannot be opened: {exc}",
                "it is a cache: move it away and run the command again",
            ) from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self._batch_thread == threading.get_ident():
            # Inside batch(): part of its transaction (a failure undoes the whole batch).
            yield self._db
            return
        with self._locked_transaction():
            yield self._db

    @contextmanager
    def _locked_transaction(self) -> Iterator[None]:
        """BEGIN .. COMMIT (ROLLBACK on an exception), one thread at a time."""
        with self._writing:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            if self._committed is not None:
                self._committed.set()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Commit the writes made inside (by this thread) once, as one transaction.

        All or nothing: an exception inside rolls every write of the batch back
        (no savepoints: FTS5 flushes its pending index at each one). A commit per
        feed is most of what writing a feed costs (FTS5 writes a segment, the
        WAL grows by the pages touched), so the aggregation writer commits what
        queued up while it was busy at once, and replays a failed batch one
        write at a time.
        """
        if self._batch_thread == threading.get_ident():
            raise RuntimeError("batch() does not nest")
        with self._locked_transaction():
            self._batch_thread = threading.get_ident()
            try:
                yield
            finally:
                self._batch_thread = None

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the database now (passively: never waiting for a
        reader or writer), so that closing the store, which does the same, finds little
        left: a build calls it while its workers write the site."""
        with suppress(sqlite3.Error):  # busy or failing: closing will do it
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def checkpoints_aside(self, every: float = 0.2) -> Iterator[None]:
        """While inside, WAL checkpoints run on a thread and a connection of their own.

        A checkpoint copies committed pages from the WAL into the database and
        waits for the disk (fsync); by default the connection whose commit filled
        the WAL does it, so a writer committing many transactions in a row (the
        aggregation cycle's) stalls for it again and again. Here the writer only
        appends to the WAL; the other thread checkpoints passively (never blocking
        the writer or readers) as soon as this connection commits, and every
        ``every`` seconds for other connections' commits. On leaving, the thread
        stops and this connection checkpoints as before.

        Right after each commit, the checkpoint is usually done before the next
        transaction begins, which then starts the WAL over: it stays about one
        transaction long. Checkpointing every 0.2 s instead let it grow to 199 MB in
        a cold cycle of 1,000 feeds (31 MB now), and each new page of it is one the
        kernel must find for its cache, which costs more than the copying (writing
        600 MB to a new file: 1.3 CPU-s here; over cached pages: 0.1).
        """
        stop = threading.Event()
        committed = threading.Event()

        def checkpoint() -> None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            try:
                while True:
                    committed.wait(every)
                    if stop.is_set():
                        return
                    committed.clear()  # a commit during this checkpoint asks for another
                    # Busy (another process's checkpoint) or failing: the next one may do.
                    with suppress(sqlite3.Error):
                        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                db.close()

        thread = threading.Thread(target=checkpoint, name="mediahub-checkpoint", daemon=True)
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._committed = committed
        thread.start()
        try:
            yield
        finally:
            self._committed = None
            stop.set()
            committed.set()
            thread.join()
            self._db.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT}")

    def _needs_setup(self, migrations: Mapping[str, Sequence[str]]) -> bool:
        """A new store, or one whose schema is not this version's (one read, no lock)."""
        try:
            found = dict(self._db.execute("SELECT component, version FROM schema_version"))
        except sqlite3.OperationalError:  # no such table (a new file), or being set up
            return True
        return any(found.get(component) != len(steps) for component, steps in migrations.items())

    def _setup(self, migrations: Mapping[str, Sequence[str]]) -> None:
        """Make the file a WAL database and run the migrations it lacks (under the lock)."""
        # A new database gets 16 KiB pages: an aggregated item's HTML (a few KiB)
        # then fits its row's page instead of a chain of overflow pages, which
        # halves what storing a cold cycle's items writes through the WAL. (A no-op
        # on an existing database: its page size stays.)
        self._db.execute("PRAGMA page_size=16384")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        for component, steps in migrations.items():
            self._migrate(component, steps)

    def _migrate(self, component: str, steps: Sequence[str]) -> None:
        row = self._db.execute(
            "SELECT version FROM schema_version WHERE component = ?", (component,)
        ).fetchone()
        version = row[0] if row else 0
        if version > len(steps):
            raise StoreError(
                str(self.path),
                f"{component} schema version {version} is newer than this mediahub",
                "upgrade mediahub",
            )
        for number in range(version, len(steps)):
            # executescript commits any open transaction, so each step carries its own.
            self._db.executescript(
                f"BEGIN IMMEDIATE; {steps[number]};"
                f" INSERT OR REPLACE INTO schema_version VALUES ('{component}', {number + 1});"
                " COMMIT;"
            )

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
