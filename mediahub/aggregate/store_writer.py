"""The store's one writing thread during an aggregation cycle (``StoreWriter``)."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from typing import Any

__all__ = ["GATHER_WRITES", "WRITE_BATCH", "StoreWriter"]

# At most this many store writes are committed together.
WRITE_BATCH = 64
# Seconds the writer waits for more writes to commit with the first one, while the
# cycle still expects some.
GATHER_WRITES = 0.1


class StoreWriter:
    """The one thread that writes the store during a cycle, committing in groups.

    Writes go into one transaction together (at most ``WRITE_BATCH``): those
    queued while the last one was written, and, while more are expected
    (``expect``), those arriving within ``gather`` seconds of the first. Every
    commit rewrites the index pages its rows touched, and new items' keys are
    spread over the whole of each index: a cold cycle of 1,000 feeds used to
    commit 440 times, 262 of them a single feed. The window is short because a
    source whose items wait for their write still holds its fetch slot and its
    share of the store budget (at 0.25 s, and with the slot given back early, the
    bench's peak memory rose 30-65 MB). A batch that fails is rolled back and its writes
    replayed one by one, so a failing write fails alone. Callers await their own
    write's result, which arrives once its group is committed.
    """

    def __init__(self, store: object, gather: float = 0.0) -> None:
        self._store = store
        self._gather = gather
        # Writes still to come (set by expect, counted down by call, read by the thread):
        # when none are, a batch is committed at once rather than waiting for more.
        self._expected = 0
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="mediahub-store", daemon=True)
        self._thread.start()

    def expect(self, writes: int) -> None:
        """``writes`` more calls are coming: gather them into fewer transactions."""
        self._expected = writes

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._expected -= 1
        self._jobs.put((fn, args, kwargs, loop, future))
        return await future

    def shutdown(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        with self._store_context("checkpoints_aside"):
            self._serve()

    def _serve(self) -> None:
        stop = False
        while not stop:
            first = self._jobs.get()
            if first is None:
                return
            jobs = [first]
            deadline = time.monotonic() + self._gather
            while len(jobs) < WRITE_BATCH:
                wait = deadline - time.monotonic() if self._expected > 0 else 0.0
                try:
                    job = self._jobs.get(timeout=wait) if wait > 0 else self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
            results: list[tuple[bool, Any]] = []
            try:
                with self._store_context("batch"):
                    results = [(True, fn(*args, **kwargs)) for fn, args, kwargs, _, _ in jobs]
            except Exception:
                # The batch was rolled back as a whole: each write again on its own, so
                # only the failing one fails (and its caller gets the error).
                results = [_attempt(fn, args, kwargs) for fn, args, kwargs, _, _ in jobs]
            for (_, _, _, loop, future), (ok, value) in zip(jobs, results, strict=True):
                # RuntimeError: the loop is gone, so nobody awaits this write any more.
                with suppress(RuntimeError):
                    loop.call_soon_threadsafe(_settle, future, ok, value)

    def _store_context(self, name: str) -> AbstractContextManager[object]:
        """The store's context ``name`` (``batch``: one transaction; ``checkpoints_aside``:
        the writer only appends to the WAL while the store copies it into the database,
        and waits for the disk, on a thread of its own), or none if it has none."""
        enter = getattr(self._store, name, None)
        return enter() if enter is not None else nullcontext()


def _attempt(fn: Callable[..., Any], args: Any, kwargs: Any) -> tuple[bool, Any]:
    try:
        return True, fn(*args, **kwargs)
    except Exception as exc:  # the write's own failure, for its caller
        return False, exc


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
