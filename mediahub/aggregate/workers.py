"""The parse side of a cycle: what runs in the parse processes, and the pool they run in.

Parsing is the whole cost of a cold cycle, so it runs in a process pool sized
to the cores, never on the event loop. A pool process gets a fetched body and
hands back the feed with its items already turned into the store's rows
(``parse_for_store``). ``ParsePool`` owns the pool for one cycle: it starts the
workers off the loop, keeps a bounded backlog of feeds in them, and survives a
worker that dies on a hostile body, so that only that body's feed fails.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import threading
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mediahub.aggregate.schedule import posting_interval
from mediahub.errors import ParseError
from mediahub.model import ParsedFeed
from mediahub.parallel import process_pool, stop_pool

if TYPE_CHECKING:
    from mediahub.store.item_rows import ItemRow

__all__ = ["ParsePool", "Prepared", "few_collections", "parse_for_store", "parse_within"]

# Feeds given to the pool at once, per worker: one parsing, one queued.
PARSE_BACKLOG = 2


class _OutOfTime(BaseException):
    """Raised by the parse alarm; a BaseException so no parser's ``except Exception`` eats it."""


def _alarm(signum: int, frame: object) -> None:
    raise _OutOfTime


def parse_within(
    seconds: float, body: bytes, url: str, content_type: str | None = None
) -> ParsedFeed:
    """``parse_feed`` stopped after ``seconds`` (in a pool process; SIGALRM needs a main thread).

    Pathological bodies (millions of entity references in broken XML) make the
    parsers crawl for minutes; the fetch timeout does not cover parsing, so
    without this one such feed would hold a worker, and the cycle, for as long.
    """
    # Imported here: a warm cycle (all 304) never loads the parser in the main process.
    from mediahub.aggregate.parse import parse_feed

    if threading.current_thread() is not threading.main_thread():
        return parse_feed(body, url, content_type)
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return parse_feed(body, url, content_type)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _OutOfTime:
        raise ParseError(
            url,
            f"took longer than {seconds:g} s to parse",
            "the feed is too large or malformed; raise [aggregate] parse_timeout if it is real",
        ) from None
    finally:
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed feed as the parse workers hand it back: the feed itself without its
    items, how often it posts, and its items as rows for the store (``ItemRow``)."""

    feed: ParsedFeed
    posting: timedelta | None
    rows: tuple[ItemRow, ...]


def parse_for_store(
    seconds: float, body: bytes, url: str, content_type: str | None, now: datetime
) -> Prepared:
    """``parse_within``, plus all that storing derives from the items alone (in a pool
    process): content digests, story keys, the columns as text.

    Computed here they cost the parse workers, on every core, instead of the
    cycle's process, and only strings cross back to it.
    """
    from mediahub.store.item_rows import feed_rows

    feed = parse_within(seconds, body, url, content_type)
    posting = posting_interval([i.published or i.updated for i in feed.items], now)
    return Prepared(replace(feed, items=()), posting, feed_rows(feed))


def new_parse_pool(workers: int) -> Executor:
    """A pool of parse processes (imported here: a warm cycle, all 304, never starts one)."""
    import multiprocessing

    # forkserver: never fork a process that runs an event loop and threads. The server
    # imports what the workers run, once; this module's are kept light for them (the
    # cycle's imports aiohttp, which no worker needs).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["mediahub.aggregate.workers", "mediahub.aggregate.parse", "mediahub.store.item_rows"]
    )
    # glibc's malloc is left as it is. A fixed mmap threshold (512 KiB) once kept the
    # workers from holding on to the heap of their largest feed, 25-30 MB less peak
    # at 1,000 feeds, but every large body then came from fresh pages: 1.5-3 CPU-s of
    # page faults per cold cycle (5-9% of its CPU), with the peak well under target.
    return process_pool(workers, context, initializer=few_collections)


async def _started_pool(workers: int) -> Executor:
    """A new parse pool whose workers are started on a thread, not on the event loop.

    Its first task starts the forkserver and waits for it to import the parser
    (about 0.2 s): on the loop, that stalls every fetch in flight, and in ``serve``
    every request.
    """
    pool = new_parse_pool(workers)
    try:
        await asyncio.to_thread(_start_workers, pool, workers)
    except Exception:
        stop_pool(pool)
        raise
    return pool


def _start_workers(pool: Executor, workers: int) -> None:
    # The pool starts a worker for each task that finds none idle.
    for _ in range(workers):
        pool.submit(os.getpid)


def _parser_died(url: str) -> ParseError:
    return ParseError(
        url,
        "the parser process died on this feed (out of memory, or a crash in the parser)",
        "the other feeds were not affected; if it keeps happening, remove the source",
    )


def few_collections() -> None:
    """Python's cycle collector, seldom, for the rest of a cycle (or a parse worker).

    A cold cycle makes hundreds of thousands of containers (items, their rows) that
    reference counting frees alone; at the default thresholds the collector still
    ran about 340 times, through all the process had imported, 0.29 CPU-s of the
    cycle's process at 1,000 feeds, holding the GIL the fetching loop needs (and 2%
    of a parse worker's time). What exists now is frozen, never scanned again, and
    a collection waits for 10,000 new containers instead of 700: 0.04 CPU-s.
    The cycle's ``run`` restores the collector after it; a parse worker ends with it.
    """
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


class ParsePool:
    """One cycle's parse processes: started on first need (off the loop), a bounded
    backlog of feeds in them, and a feed lost with a dead worker parsed again alone.

    A pool handed in (``pool``) is the caller's: it is neither replaced nor stopped.
    """

    def __init__(
        self, workers: int, timeout: float, now: datetime, pool: Executor | None = None
    ) -> None:
        self._workers = max(1, workers)
        self._timeout = timeout
        self._now = now
        self._pool = pool
        self._own = pool is None
        # Where a feed lost with a dead worker is parsed again, alone (see parse).
        self._lone: Executor | None = None
        self._alone = asyncio.Lock()
        self._starting = asyncio.Lock()
        # Feeds in the pool at once: enough to keep every worker busy.
        self._backlog = asyncio.Semaphore(PARSE_BACKLOG * self._workers)

    @property
    def owned(self) -> bool:
        """Whether this object starts (and so may start early) its own pool."""
        return self._own

    async def start(self) -> Executor:
        """The pool, its workers started on a thread if they were not yet."""
        if self._pool is None:
            async with self._starting:
                if self._pool is None:
                    self._pool = await _started_pool(self._workers)
        return self._pool

    async def parse(self, body: bytes, url: str, content_type: str | None) -> Prepared:
        """The feed parsed in the pool, surviving the death of a parse worker.

        A worker that dies (the out-of-memory killer, a crash in C code on a hostile
        body) takes every feed in the pool with it, and which one killed it is not
        known. So each feed lost that way is parsed once more alone, in a pool of one
        process: the feed that dies there too is failed, with one line, and only it.
        (A worker killed as it starts shows as EOFError or OSError from the pool.)
        """
        from concurrent.futures.process import BrokenProcessPool

        lost = (BrokenProcessPool, EOFError, OSError)
        loop = asyncio.get_running_loop()
        args = (self._timeout, body, url, content_type, self._now)
        async with self._backlog:
            pool = None
            try:
                pool = await self.start()
                return await loop.run_in_executor(pool, parse_for_store, *args)
            except lost:
                if not self._own:
                    raise _parser_died(url) from None
                if pool is not None and self._pool is pool:  # the first to see it replaces it
                    self._pool = None
                    stop_pool(pool)  # what it held has failed: each such feed comes here
        async with self._alone:
            lone = None
            try:
                lone = self._lone = self._lone or await _started_pool(1)
                return await loop.run_in_executor(lone, parse_for_store, *args)
            except lost:
                self._lone = None
                if lone is not None:
                    stop_pool(lone)
                raise _parser_died(url) from None

    def close(self) -> None:
        """Wait for the pools this object started to finish, and stop them."""
        if self._own and self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._lone is not None:
            self._lone.shutdown(wait=True, cancel_futures=True)
