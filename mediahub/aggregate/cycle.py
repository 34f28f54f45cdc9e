"""One aggregation cycle: pick due sources, fetch them concurrently, parse, store, report.

Fetching runs on the event loop (one aiohttp session, global and per-host
limits); parsing, the whole cost of a cold cycle, runs in a process pool
sized to the cores (``workers``) and is skipped for 304s and unchanged bodies;
the store is written from one thread (``store_writer``) so the loop never
waits on SQLite. One failing source never stops the others: it gets an error
outcome and backs off.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from mediahub.aggregate.fetch import Fetcher, FetchSettings, Response, read_local, user_agent
from mediahub.aggregate.guard import NetworkGuard
from mediahub.aggregate.schedule import Policy, next_fetch, should_pause
from mediahub.aggregate.store_writer import GATHER_WRITES, StoreWriter
from mediahub.aggregate.workers import ParsePool, few_collections
from mediahub.config import Config
from mediahub.errors import FetchError, MediahubError, StoreError, unexpected
from mediahub.model import ParsedFeed, SourceState

if TYPE_CHECKING:
    from mediahub.store.item_rows import ItemRow

# A permanent redirect moves a source only after this many fetches in a row saw it.
MOVE_AFTER = 3
# Bytes of fetched bodies whose feeds are being parsed or stored at once (see _Budget).
STORE_BACKLOG = 24 * 1024 * 1024


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
        self._parsers = ParsePool(settings.workers, settings.parse_timeout, now, pool)
        self._writer = StoreWriter(store, GATHER_WRITES)
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
        if self._parsers.owned and any(
            s.last_fetched is None and not s.error_count for s in sources
        ):
            warming = asyncio.ensure_future(self._parsers.start())
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
            self._parsers.close()
        return CycleReport(tuple(outcomes))

    async def _write(self, fn: Callable[..., object], *args: object, **kwargs: object) -> object:
        return await self._writer.call(fn, *args, **kwargs)

    async def _one(
        self, fetcher: Fetcher, state: SourceState, fetched: Callable[[], None] = lambda: None
    ) -> tuple[Outcome, SourceState | None]:
        """Fetch one source, and parse and store its items if it has new ones.

        Returns the outcome and the source's new state if that is still to be saved:
        either way, one store write per source (see ``StoreWriter.expect``). ``fetched``
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
        prepared = await self._parsers.parse(resp.body, resp.url, resp.content_type)
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
