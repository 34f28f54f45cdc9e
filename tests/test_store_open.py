"""Opening the store: safe when several processes open a new store at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from mediahub.model import Subscription
from mediahub.store import Store

# Imports first, then waits for the go file, so that the opens themselves coincide.
OPEN = """
import sys, time
from pathlib import Path
from mediahub.store import Store
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
Store(Path(sys.argv[1])).close()
"""


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """A build's workers, a server and a cron command may open a new store together.
    Without one process at a time setting it up, each read schema version 0 and ran
    the same steps ("table ... already exists"), or found the file being turned to
    WAL ("database is locked", at once)."""
    for attempt in range(6):
        database = tmp_path / f"round-{attempt}" / "mediahub.db"
        go = tmp_path / f"go-{attempt}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN, str(database), str(go)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        time.sleep(1.0)  # every process imported and waiting
        go.touch()
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_store_set_up_opens_again_without_a_lock_or_a_migration(tmp_path: Path) -> None:
    database = tmp_path / "mediahub.db"
    Store(database).close()
    lock = tmp_path / "mediahub.db.lock"
    assert lock.exists()
    lock.unlink()
    with sqlite3.connect(database) as db:
        versions = db.execute("SELECT component, version FROM schema_version").fetchall()
    Store(database).close()
    assert not lock.exists()  # no setup: the lock was not taken
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT component, version FROM schema_version").fetchall() == versions
    assert versions and all(version > 0 for _, version in versions)


def test_threads_sharing_a_store_take_turns_at_its_transactions(tmp_path: Path) -> None:
    """A server's store is one connection its threads share: a write from one thread
    while another's transaction is open waits for its commit instead of failing with
    "cannot start a transaction within a transaction"."""
    store = Store(tmp_path / "state.sqlite")
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    inside, other_started = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def write_while_the_batch_is_open() -> None:
        inside.wait(10)
        other_started.set()
        try:
            store.save_subscription(Subscription("topic", "https://b.example/cb", None, expires))
        except BaseException as exc:  # what the old code raised
            failures.append(exc)

    other = threading.Thread(target=write_while_the_batch_is_open)
    other.start()
    with store.batch():
        store.save_subscription(Subscription("topic", "https://a.example/cb", None, expires))
        inside.set()
        other_started.wait(10)
        time.sleep(0.2)  # the other thread's write is under way meanwhile
    other.join(10)
    assert failures == []
    subscribers = store.active_subscriptions("topic", datetime(2029, 1, 1, tzinfo=UTC))
    assert [sub.callback for sub in subscribers] == ["https://a.example/cb", "https://b.example/cb"]
    store.close()
