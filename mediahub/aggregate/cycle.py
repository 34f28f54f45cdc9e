"""One aggregation cycle: pick due sources, fetch them concurrently, parse, store, report.

Fetching runs on the event loop (one aiohttp session, global and per-host
limits); parsing, the whole cost of a cold cycle, runs in a process pool
sized to the cores and is skipped for 304s and unchanged bodies; the store
is written from one thread so the loop never waits on SQLite. One failing
source never stops the others: it gets an error outcome and backs off.
"""

from __future__ import annotations

import asyncio
import gc
import os
import queue
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from contextlib import (
    AbstractContextManager,
    asynccontextmanager,
    nullcontext,
    suppress,
)
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from mediahub.aggregate.fetch import Fetcher, FetchSettings, Response, read_local, user_agent
from mediahub.aggregate.guard import NetworkGuard
from mediahub.aggregate.schedule import Policy, next_fetch, posting_interval, should_pause
from mediahub.config import Config
from mediahub.errors import FetchError, MediahubError, ParseError, StoreError, unexpected
from mediahub.model import ParsedFeed, SourceState
from mediahub.parallel import process_pool, stop_pool

if TYPE_CHECKING:
    from mediahub.store.items import ItemRow

# A permanent redirect moves a source only after this many fetches in a row saw it.
MOVE_AFTER = 3
# At most this many store writes are committed together (see _Writer).
WRITE_BATCH = 64
# Seconds the writer waits for more writes to commit with the first one, while the
# cycle still expects some (see _Writer).
GATHER_WRITES = 0.1
# Feeds given to the parse pool at once, per worker: one parsing, one queued.
PARSE_BACKLOG = 2
# Bytes of fetched bodies whose feeds are being parsed or stored at once (see _Budget).
STORE_BACKLOG = 24 * 1024 * 1024


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
    from mediahub.store.items import feed_rows

    feed = parse_within(seconds, body, url, content_type)
    posting = posting_interval([i.published or i.updated for i in feed.items], now)
    return Prepared(replace(feed, items=()), posting, feed_rows(feed))


def _new_parse_pool(workers: int) -> Executor:
    """A pool of parse processes (imported here: a warm cycle, all 304, never starts one)."""
    import multiprocessing

    # forkserver: never fork a process that runs an event loop and threads.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["mediahub.aggregate.parse", "mediahub.store.items"])
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
    pool = _new_parse_pool(workers)
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


class CycleStore(Protocol):
    """What a cycle needs of the store (Store has it; a test double may too).

    A store may also offer ``batch()``, a context manager that commits the writes
    made inside it once, and ``checkpoints_aside()``, one that moves the work of
    checkpointing its log off the writing thread; the cycle's writer uses each
    when it is there.
    """

    def due_sources(self, now: datetime) -> list[SourceState]: ...
    def list_sources(self, topic: str | None = None) -> list[SourceState]: ...
    def save_fetch_state(self, state: SourceState) -> None: ...
    def save_items(
        self,
        source_url: str,
        feed: ParsedFeed,
        now: datetime,
        *,
        rows: Sequence[ItemRow] | None = None,
    ) -> int: ...


class _Writer:
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

    def __init__(self, store: CycleStore, gather: float = 0.0) -> None:
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


class _Budget:
    """A semaphore counting bytes: ``hold(n)`` waits until ``n`` more fit in ``total``.

    A request larger than the whole budget waits until nothing else is held, so
    one huge body still goes through, alone.
    """

    def __init__(self, total: int) -> None:
        self._total = total
        self._used = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, amount: int) -> AsyncIterator[None]:
        amount = min(amount, self._total)
        async with self._changed:
            await self._changed.wait_for(lambda: self._used + amount <= self._total)
            self._used += amount
        try:
            yield
        finally:
            async with self._changed:
                self._used -= amount
                self._changed.notify_all()


class _Held:
    """A semaphore held from ``async with`` until ``release()`` or the block's end."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = False

    async def __aenter__(self) -> _Held:
        await self._semaphore.acquire()
        self._held = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


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


@dataclass(frozen=True, slots=True)
class CycleSettings:
    """Everything a cycle needs besides the store and the clock."""

    guard: NetworkGuard = field(default_factory=NetworkGuard)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    policy: Policy = field(default_factory=Policy)
    files: Path | None = None
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Seconds one feed may take to parse: a hostile body can make the parser crawl.
    parse_timeout: float = 60.0

    @classmethod
    def from_config(cls, config: Config) -> CycleSettings:
        agg = config.aggregate
        return cls(
            guard=NetworkGuard.from_settings(agg.allow_private_networks, agg.allow_networks),
            fetch=FetchSettings(
                concurrency=agg.concurrency,
                per_host=agg.per_host,
                max_bytes=agg.max_body_mb * 1024 * 1024,
                connect_timeout=agg.connect_timeout,
                total_timeout=agg.timeout,
                user_agent=user_agent(config.show.url),
            ),
            policy=Policy(
                floor=timedelta(minutes=agg.floor_minutes),
                ceiling=timedelta(hours=agg.ceiling_hours),
            ),
            files=agg.files,
            parse_timeout=agg.parse_timeout,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one source in a cycle."""

    url: str
    kind: str  # fetched | not-modified | unchanged | gone | error
    new_items: int = 0
    message: str | None = None


@dataclass(frozen=True, slots=True)
class CycleReport:
    outcomes: tuple[Outcome, ...]

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind)

    @property
    def new_items(self) -> int:
        return sum(o.new_items for o in self.outcomes)

    @property
    def errors(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.kind in ("error", "gone"))

    def summary(self) -> str:
        return (
            f"{len(self.outcomes)} sources: {self.count('fetched')} fetched, "
            f"{self.count('not-modified') + self.count('unchanged')} not modified, "
            f"{self.new_items} new items, {len(self.errors)} errors"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "sources": len(self.outcomes),
            "fetched": self.count("fetched"),
            "not_modified": self.count("not-modified") + self.count("unchanged"),
            "new_items": self.new_items,
            "errors": len(self.errors),
            "outcomes": [
                {"url": o.url, "outcome": o.kind, "new_items": o.new_items, "message": o.message}
                for o in self.outcomes
            ],
        }


def run(
    store: CycleStore,
    settings: CycleSettings,
    now: datetime,
    *,
    force_all: bool = False,
    progress: Callable[[Outcome, int, int], None] | None = None,
) -> CycleReport:
    """Run one cycle over the due sources (all with ``force_all``) and return its report."""
    thresholds = gc.get_threshold()
    few_collections()
    try:
        return asyncio.run(cycle_once(store, settings, now, force_all=force_all, progress=progress))
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def few_collections() -> None:
    """Python's cycle collector, seldom, for the rest of a cycle (or a parse worker).

    A cold cycle makes hundreds of thousands of containers (items, their rows) that
    reference counting frees alone; at the default thresholds the collector still
    ran about 340 times, through all the process had imported, 0.29 CPU-s of the
    cycle's process at 1,000 feeds, holding the GIL the fetching loop needs (and 2%
    of a parse worker's time). What exists now is frozen, never scanned again, and
    a collection waits for 10,000 new containers instead of 700: 0.04 CPU-s.
    ``run`` restores the collector after its cycle; a parse worker ends with it.
    """
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


async def cycle_once(
    store: CycleStore,
    settings: CycleSettings,
    now: datetime,
    *,
    force_all: bool = False,
    progress: Callable[[Outcome, int, int], None] | None = None,
) -> CycleReport:
    """The same cycle on a running event loop (for a long-lived scheduler such as serve's)."""
    sources = store.list_sources() if force_all else store.due_sources(now)
    if force_all:
        sources = [s for s in sources if not s.gone]
    return await Cycle(store, settings, now, progress=progress).run(sources)


class Cycle:
    """One cycle's state: the session, the parse pool (started only if needed), the writer."""

    def __init__(
        self,
        store: CycleStore,
        settings: CycleSettings,
        now: datetime,
        *,
        progress: Callable[[Outcome, int, int], None] | None = None,
        pool: Executor | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.now = now
        self.progress = progress
        self._pool = pool
        self._own_pool = pool is None
        # Where a feed lost with a dead parse worker is parsed again, alone (see _parse).
        self._lone_pool: Executor | None = None
        self._alone = asyncio.Lock()
        self._starting = asyncio.Lock()
        self._writer = _Writer(store, GATHER_WRITES)
        # Feeds in the parse pool at once: enough to keep every worker busy.
        self._parsing = asyncio.Semaphore(PARSE_BACKLOG * max(1, settings.workers))
        # Feeds parsed or being stored, by the size of their bodies: the workers go on
        # parsing while the writer is busy (it then commits more feeds at once), but
        # parsed items (larger than their bodies) never pile up in memory behind it;
        # fetched bodies wait here instead.
        self._storing = _Budget(STORE_BACKLOG)
        self._done = 0

    async def run(self, sources: Sequence[SourceState]) -> CycleReport:
        # Bound what is in flight to keep memory flat: requests, and fetched bodies until
        # their items are stored (a source with nothing new gives its slot back at once).
        gate = asyncio.Semaphore(self.settings.fetch.concurrency)
        # A source waits for its host first, so sources queued behind a busy host never
        # hold one of the global slots that sources on other hosts could use. The host
        # is held for the request only: parsing and storing a body does not keep the
        # next source of the same host from being fetched.
        hosts: dict[str, asyncio.Semaphore] = {}
        self._writer.expect(len(sources))  # one write each (_one)
        # Sources never fetched are sure to bring bodies to parse: start the workers
        # while their first requests are out, not once the first body is in.
        warming = None
        if self._own_pool and any(s.last_fetched is None and not s.error_count for s in sources):
            warming = asyncio.ensure_future(self._parse_pool())
        try:
            async with Fetcher(self.settings.guard, self.settings.fetch) as fetcher:

                async def one(state: SourceState) -> Outcome:
                    host = urlsplit(state.fetch_url).netloc.lower()
                    if host not in hosts:
                        hosts[host] = asyncio.Semaphore(self.settings.fetch.per_host)
                    async with _Held(hosts[host]) as host_slot, gate:
                        outcome, unsaved = await self._one(fetcher, state, host_slot.release)
                    # A state alone holds no body: its write, which can wait for the
                    # writer's batch to gather, keeps no fetch slot from the next source.
                    if unsaved is not None:
                        await self._write(self.store.save_fetch_state, unsaved)
                    self._done += 1
                    if self.progress is not None:
                        self.progress(outcome, self._done, len(sources))
                    return outcome

                outcomes = await asyncio.gather(*(one(s) for s in sources))
        finally:
            self._writer.shutdown()
            if warming is not None:  # its failure, if any, was each parse's to report
                await asyncio.gather(warming, return_exceptions=True)
            if self._own_pool and self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            if self._lone_pool is not None:
                self._lone_pool.shutdown(wait=True, cancel_futures=True)
        return CycleReport(tuple(outcomes))

    async def _parse_pool(self) -> Executor:
        if self._pool is None:
            async with self._starting:
                if self._pool is None:
                    self._pool = await _started_pool(self.settings.workers)
        return self._pool

    async def _parse(self, resp: Response) -> Prepared:
        """The fetched feed parsed in the pool, surviving the death of a parse worker.

        A worker that dies (the out-of-memory killer, a crash in C code on a hostile
        body) takes every feed in the pool with it, and which one killed it is not
        known. So each feed lost that way is parsed once more alone, in a pool of one
        process: the feed that dies there too is failed, with one line, and only it.
        (A worker killed as it starts shows as EOFError or OSError from the pool.)
        """
        from concurrent.futures.process import BrokenProcessPool

        lost = (BrokenProcessPool, EOFError, OSError)
        loop = asyncio.get_running_loop()
        args = (self.settings.parse_timeout, resp.body, resp.url, resp.content_type, self.now)
        async with self._parsing:
            pool = None
            try:
                pool = await self._parse_pool()
                return await loop.run_in_executor(pool, parse_for_store, *args)
            except lost:
                if not self._own_pool:
                    raise _parser_died(resp.url) from None
                if pool is not None and self._pool is pool:  # the first to see it replaces it
                    self._pool = None
                    stop_pool(pool)  # what it held has failed: each such feed comes here
        async with self._alone:
            lone = None
            try:
                lone = self._lone_pool = self._lone_pool or await _started_pool(1)
                return await loop.run_in_executor(lone, parse_for_store, *args)
            except lost:
                self._lone_pool = None
                if lone is not None:
                    stop_pool(lone)
                raise _parser_died(resp.url) from None

    async def _write(self, fn: Callable[..., object], *args: object, **kwargs: object) -> object:
        return await self._writer.call(fn, *args, **kwargs)

    async def _one(
        self, fetcher: Fetcher, state: SourceState, fetched: Callable[[], None] = lambda: None
    ) -> tuple[Outcome, SourceState | None]:
        """Fetch one source, and parse and store its items if it has new ones.

        Returns the outcome and the source's new state if that is still to be saved:
        either way, one store write per source (see ``_Writer.expect``). ``fetched``
        is called once the response is in.
        """
        url = state.source.url
        try:
            try:
                response = await self._fetch(fetcher, state)
            finally:
                fetched()
            state, outcome, saved = await self._handle(state, response)
        except MediahubError as exc:
            (state, outcome), saved = self._failed(state, exc), False
        outcome = outcome if outcome.url == url else replace(outcome, url=url)
        return outcome, None if saved else state

    async def _fetch(self, fetcher: Fetcher, state: SourceState) -> Response:
        target = state.fetch_url
        if urlsplit(target).scheme == "file":
            if self.settings.files is None:
                raise FetchError(target, "file: sources are not enabled", "set [aggregate] files")
            return await asyncio.to_thread(
                read_local, target, self.settings.files, self.settings.fetch.max_bytes
            )
        return await fetcher.get(target, state.etag, state.last_modified)

    async def _handle(
        self, state: SourceState, resp: Response
    ) -> tuple[SourceState, Outcome, bool]:
        """The source's new state and outcome, and whether that state is saved already."""
        url = state.source.url
        state = self._track_redirect(state, resp)
        ok = replace(
            state,
            last_fetched=self.now,
            error_count=0,
            first_error=None,
            last_error=None,
            paused=False,
        )
        if resp.status == 410:
            gone = replace(
                state,
                last_fetched=self.now,
                gone=True,
                last_error="410 Gone: the publisher removed this feed",
                next_fetch=None,
            )
            message = f"{url}: 410 Gone, no longer fetched ('mediahub sources remove' it)"
            return gone, Outcome(url, "gone", message=message), False
        hints = [resp.max_age]
        posting = timedelta(seconds=state.posting_seconds) if state.posting_seconds else None
        digest = resp.body_hash if resp.status != 304 else None
        if resp.status == 304 or digest == state.body_hash:
            kind = "not-modified" if resp.status == 304 else "unchanged"
            nxt = self._next(state, posting, hints)
            etag = resp.etag or state.etag
            modified = resp.last_modified or state.last_modified
            fresh = replace(ok, next_fetch=nxt, etag=etag, last_modified=modified)
            return fresh, Outcome(url, kind), False
        async with self._storing.hold(len(resp.body)):
            return await self._parse_and_save(state, ok, resp, digest, hints)

    async def _parse_and_save(
        self,
        state: SourceState,
        ok: SourceState,
        resp: Response,
        digest: str | None,
        hints: list[float | None],
    ) -> tuple[SourceState, Outcome, bool]:
        url = state.source.url
        prepared = await self._parse(resp)
        feed, posting = prepared.feed, prepared.posting
        state = replace(
            ok,
            feed_title=feed.title or state.feed_title,
            site_link=feed.link or state.site_link,
            hub=feed.hub or state.hub,
            podcast_guid=feed.podcast_guid or state.podcast_guid,
            etag=resp.etag,
            last_modified=resp.last_modified,
            body_hash=digest,
            posting_seconds=posting.total_seconds() if posting else None,
            next_fetch=self._next(state, posting, [*hints, feed.ttl_seconds]),
        )
        # Items and the state that records their body go to the store as one write.
        try:
            new = await self._write(self._save_feed, url, feed, prepared.rows, state)
        except MediahubError:
            raise
        except Exception as exc:
            # The writer replays a failed batch one write at a time, so this failure
            # is this feed's own (an item the database refuses): the source gets it as
            # its error, the cycle goes on. (A store that fails every write says so
            # for every source.)
            raise StoreError(
                url,
                f"its items could not be stored ({unexpected(exc)})",
                "the other feeds were stored; if it keeps happening, report it",
            ) from None
        note = f"recovered from: {feed.bozo}" if feed.bozo else None
        return state, Outcome(url, "fetched", int(new), note), True  # type: ignore[call-overload]

    def _save_feed(
        self, url: str, feed: ParsedFeed, rows: Sequence[ItemRow], state: SourceState
    ) -> int:
        new = self.store.save_items(url, feed, self.now, rows=rows)
        self.store.save_fetch_state(state)
        return new

    def _next(
        self, state: SourceState, posting: timedelta | None, hints: Sequence[float | None]
    ) -> datetime:
        configured = state.source.interval_seconds
        return next_fetch(
            state.source.url,
            self.now,
            self.settings.policy,
            posting=posting,
            hints=hints,
            configured=timedelta(seconds=configured) if configured else None,
        )

    def _track_redirect(self, state: SourceState, resp: Response) -> SourceState:
        """Move a source only after MOVE_AFTER fetches in a row were permanently redirected."""
        target = resp.permanent_url
        if target is None:
            return replace(state, redirect_url=None, redirect_count=0)
        count = state.redirect_count + 1 if target == state.redirect_url else 1
        if count >= MOVE_AFTER:
            return replace(state, moved_to=target, redirect_url=None, redirect_count=0)
        return replace(state, redirect_url=target, redirect_count=count)

    def _failed(self, state: SourceState, exc: MediahubError) -> tuple[SourceState, Outcome]:
        errors = state.error_count + 1
        first = state.first_error or self.now
        retry = exc.retry_after if isinstance(exc, FetchError) else None
        paused = should_pause(first, self.now, self.settings.policy)
        line = exc.line()
        nxt = next_fetch(
            state.source.url, self.now, self.settings.policy, errors=errors, retry_after=retry
        )
        failed = replace(
            state,
            last_fetched=self.now,
            error_count=errors,
            first_error=first,
            last_error=line,
            paused=paused,
            next_fetch=nxt,
        )
        if paused:
            line += " (failing for 30 days: paused; 'mediahub sources resume' it when fixed)"
        return failed, Outcome(state.source.url, "error", message=line)
