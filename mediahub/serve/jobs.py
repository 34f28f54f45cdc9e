"""Background work of the always-on server: rebuilds, scheduled publishing, aggregation,
watching.

Everything runs as asyncio tasks started and stopped by the app's
``cleanup_ctx``. A job that fails logs one line and tries again after a
pause; it never takes the server down. Builds run in a worker thread, one at
a time, with a store connection of their own. The clock is injected so that
tests can move time forward and watch a scheduled episode go live.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from mediahub.aggregate.cycle import CycleSettings, cycle_once
from mediahub.config import Config
from mediahub.content import read_all
from mediahub.errors import BuildError, MediahubError
from mediahub.model import Episode, Post
from mediahub.publish.site import build
from mediahub.publish.topics import build_topics, site_lacks_topics
from mediahub.serve.subscriber import Subscriber
from mediahub.store import Store

log = logging.getLogger("mediahub.jobs")

Clock = Callable[[], datetime]
FeedListener = Callable[[bytes], Awaitable[None]]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class BuildOutcome:
    """What one rebuild did: whether the feed changed and when the next entry is due."""

    ok: bool
    feed_changed: bool
    next_due: datetime | None


@dataclass
class Publisher:
    """Rebuilds the site on demand, one build at a time, and reports feed changes."""

    config: Config
    clock: Clock = system_clock
    listeners: list[FeedListener] = field(default_factory=list)
    next_due: datetime | None = None
    builds: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def feed_path(self) -> Path:
        return self.config.paths.output / "feed.xml"

    async def rebuild(self, reason: str) -> BuildOutcome:
        """Build now (waiting for a running build first); never raises for bad content."""
        async with self._lock:
            before = _digest(self.feed_path)
            now = self.clock()
            try:
                self.next_due = await asyncio.to_thread(self._build, now)
                ok = True
            except BuildError as exc:
                for problem in exc.problems:
                    log.error("rebuild (%s): %s", reason, problem.line())
                log.error("rebuild (%s): %s", reason, exc.line())
                ok = False
            except MediahubError as exc:
                log.error("rebuild (%s): %s", reason, exc.line())
                ok = False
            feed = _read(self.feed_path)
            changed = ok and feed is not None and hashlib.sha256(feed).digest() != before
            self.builds += 1
            log.info("rebuilt (%s)%s", reason, ", feed changed" if changed else "")
            self.changed.set()
            self.changed = asyncio.Event()
        if changed and feed is not None:
            for listener in self.listeners:
                try:
                    await listener(feed)
                except Exception:  # a listener's failure must not stop the others
                    log.exception("after rebuild: a feed listener failed")
        return BuildOutcome(ok, changed, self.next_due)

    async def rebuild_topics(self, now: datetime) -> int:
        """Rewrite the topic pages only (after aggregation stored new items), between builds;
        return how many files were written (-1: the whole site was rebuilt)."""
        if not (self.config.paths.output / "index.html").is_file():
            return 0  # no site yet: the first full build writes them
        # The first ones come with the whole site, whose menus then link to them (a
        # build that fails has said why; the topic pages are still written below).
        if site_lacks_topics(self.config) and (await self.rebuild("first topic pages")).ok:
            return -1

        def topics() -> int:
            with Store(self.config.paths.database) as store:
                return build_topics(self.config, store, now)

        async with self._lock:
            written = await asyncio.to_thread(topics)
            self.changed.set()  # for --dev live reload
            self.changed = asyncio.Event()
            return written

    def _build(self, now: datetime) -> datetime | None:
        with Store(self.config.paths.database) as store:
            build(self.config, store, now, keep_going=True)
            content = read_all(self.config, store)
        entries: list[Episode | Post] = [*content.episodes, *content.posts]
        future = [entry.date for entry in entries if not entry.draft and entry.date > now]
        return min(future, default=None)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _digest(path: Path) -> bytes | None:
    data = _read(path)
    return None if data is None else hashlib.sha256(data).digest()


async def forever(name: str, step: Callable[[], Awaitable[float]], retry: float = 30.0) -> None:
    """Run ``step`` again and again; it returns how long to wait before the next run.

    An exception is logged and the step tried again after ``retry`` seconds.
    """
    while True:
        try:
            pause = await step()
        except asyncio.CancelledError:
            raise
        except MediahubError as exc:
            log.error("%s: %s (retrying in %g s)", name, exc.line(), retry)
            pause = retry
        except Exception:
            log.exception("%s failed (retrying in %g s)", name, retry)
            pause = retry
        await asyncio.sleep(pause)


def scheduled_publishing(publisher: Publisher, tick: float) -> Callable[[], Awaitable[float]]:
    """A step that rebuilds when the next scheduled episode or post is due."""

    async def step() -> float:
        due = publisher.next_due
        if due is not None and publisher.clock() >= due:
            await publisher.rebuild(f"scheduled entry due at {due.isoformat()}")
        return tick

    return step


def aggregation(
    publisher: Publisher, idle: float = 60.0, subscriber: Subscriber | None = None
) -> Callable[[], Awaitable[float]]:
    """A step that runs one aggregation cycle over the due sources, then rebuilds topics
    and brings the search index up to date (the cycle itself leaves it behind).

    It returns the pause until the next source is due (at most ``idle`` seconds,
    so sources added with 'mediahub sources add' meanwhile are picked up).
    """
    config = publisher.config
    settings = CycleSettings.from_config(config)

    async def step() -> float:
        now = publisher.clock()
        with Store(config.paths.database) as store:
            for source in config.aggregate.sources:  # mediahub.toml's are always followed
                store.add_source(source, now)
            report = await cycle_once(store, settings, now)
            states = store.list_sources()
        upcoming = [s.next_fetch for s in states if s.next_fetch and not s.gone]
        if report.outcomes:
            log.info("aggregate: %s", report.summary())
            for failed in report.errors:
                log.warning("aggregate: %s", failed.message or failed.url)
        if report.new_items:
            written = await publisher.rebuild_topics(now)
            if written >= 0:
                log.info("aggregate: %d topic files rebuilt", written)
        if report.count("fetched"):
            # Changed items wait for the index too, not only new ones.
            indexed = await asyncio.to_thread(_update_search, config.paths.database)
            log.info("aggregate: %d items indexed for search", indexed)
        if subscriber is not None:
            await subscriber.maintain(states)
        if not upcoming:
            return idle
        wait = (min(upcoming) - publisher.clock()).total_seconds()
        return max(0.5, min(idle, wait))

    return step


def _update_search(database: Path) -> int:
    """The search index brought up to date after a cycle (its own connection: a thread's)."""
    with Store(database) as store:
        return store.update_search()


def watch_content(publisher: Publisher, stop: asyncio.Event) -> Callable[[], Awaitable[float]]:
    """A step that rebuilds whenever content or templates change on disk."""
    from watchfiles import awatch

    paths = publisher.config.paths
    folders = [p for p in (paths.episodes, paths.posts, paths.templates) if p.is_dir()]

    async def step() -> float:
        if not folders:
            return 60.0
        async for changes in awatch(*folders, stop_event=stop, debounce=300):
            names = sorted({Path(p).name for _, p in changes})
            await publisher.rebuild("changed: " + ", ".join(names[:3]))
        return 1.0

    return step


PUBLISHER = web.AppKey("publisher", Publisher)


@dataclass(frozen=True, slots=True)
class JobOptions:
    """Which background jobs run and how often the scheduler looks at the clock."""

    initial_build: bool = True
    watch: bool = True
    tick: float = 1.0
    aggregate: bool = True
    # Longest pause between looks at the sources (new ones are picked up within it).
    aggregate_idle: float = 60.0
    # Subscribes sources that advertise a WebSub hub (None: polling only).
    subscriber: Subscriber | None = None


def start_jobs(
    publisher: Publisher, options: JobOptions
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx entry: start the jobs with the app, cancel them on shutdown."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        app[PUBLISHER] = publisher
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []

        async def first_then_schedule() -> None:
            if options.initial_build:
                await publisher.rebuild("start")
            await forever("scheduled publishing", scheduled_publishing(publisher, options.tick))

        tasks.append(asyncio.create_task(first_then_schedule(), name="scheduled publishing"))
        if options.aggregate:

            async def aggregate_after_start() -> None:
                while options.initial_build and publisher.builds == 0:
                    await publisher.changed.wait()  # the first build writes the site
                await forever(
                    "aggregation",
                    aggregation(publisher, options.aggregate_idle, options.subscriber),
                )

            tasks.append(asyncio.create_task(aggregate_after_start(), name="aggregation"))
        if options.watch:
            tasks.append(
                asyncio.create_task(
                    forever("watch", watch_content(publisher, stop)), name="watch content"
                )
            )
        yield
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    return context
