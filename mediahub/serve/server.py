"""The whole always-on process: static serving plus statistics, background jobs and WebSub.

``make_server`` assembles the app from ``serve/app.py`` (plain files, which
any web server could serve instead) and the parts only a running process can
do; each part is optional so the static side never depends on them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from mediahub.aggregate.guard import NetworkGuard
from mediahub.config import Config
from mediahub.model import ServedBytes
from mediahub.serve import app as static
from mediahub.serve import livereload
from mediahub.serve.jobs import (
    PUBLISHER,
    Clock,
    JobOptions,
    Publisher,
    forever,
    start_jobs,
    system_clock,
)
from mediahub.serve.stats import DownloadCounter
from mediahub.serve.statspage import stats_routes
from mediahub.serve.subscriber import Subscriber
from mediahub.serve.websub import RETRIES, Hub
from mediahub.store import Store

log = logging.getLogger("mediahub.serve")

STORE = web.AppKey("store", Store)
HUB = web.AppKey("hub", Hub)
SUBSCRIBER = web.AppKey("subscriber", Subscriber)


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """What runs besides the files; tests turn parts off or speed them up."""

    dev: bool = False
    jobs: bool = True
    watch: bool = True
    stats: bool = True
    stats_flush_seconds: float = 5.0
    tick: float = 1.0
    websub_retries: tuple[float, ...] = RETRIES
    aggregate: bool = True
    aggregate_idle: float = 60.0
    # Take WebSub pushes from sources' hubs (needs serve.public_url); the process that
    # runs the jobs also subscribes. Subscriptions are in the store: every worker
    # answers the callbacks.
    subscribe: bool = True
    # Let the fast path (serve/fastpath.py) answer cached pages and feeds.
    fast_path: bool = False


def _store_context(config: Config) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        store = Store(config.paths.database)
        app[STORE] = store
        yield
        store.close()

    return context


def _stats_context(
    counter: DownloadCounter, every: float
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Write gathered download counts every few seconds and once more on shutdown."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        async def step() -> float:
            counter.flush()
            return every

        task = asyncio.create_task(forever("statistics", step), name="statistics")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        counter.flush()

    return context


class _LazyStats:
    """The store's statistics methods, bound once the store is open."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def day_salt(self, day: str) -> bytes:
        return self._app[STORE].day_salt(day)

    def add_served(self, rows: Sequence[ServedBytes]) -> None:
        self._app[STORE].add_served(rows)


def _hub(config: Config, store: Callable[[], Store], clock: Clock, options: ServerOptions) -> Hub:
    """The built-in WebSub hub and pinger for the hub's own feed."""
    base = config.serve.public_url or config.show.url
    guard = NetworkGuard.from_settings(
        config.aggregate.allow_private_networks, config.aggregate.allow_networks
    )
    pings = (*config.serve.websub_hubs, *config.serve.ping_urls)
    return Hub(
        f"{config.show.url}/feed.xml",
        f"{base}/websub",
        store,
        clock,
        guard,
        pings,
        options.websub_retries,
    )


def _subscriber(config: Config, clock: Clock, publisher: Publisher) -> Subscriber:
    """WebSub pushes from the hubs aggregated sources advertise (needs serve.public_url)."""
    agg = config.aggregate
    return Subscriber(
        str(config.serve.public_url),
        NetworkGuard.from_settings(agg.allow_private_networks, agg.allow_networks),
        lambda: Store(config.paths.database),
        clock,
        publisher.rebuild_topics,
        agg.max_body_mb * 1024 * 1024,
    )


def _closing(hub: Hub) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        yield
        await hub.close()

    return context


def make_server(
    config: Config, options: ServerOptions | None = None, clock: Clock = system_clock
) -> web.Application:
    options = options or ServerOptions()
    routes: list[web.RouteDef] = []
    holder: dict[str, web.Application] = {}

    def store() -> Store:
        return holder["app"][STORE]

    if options.stats:
        routes += stats_routes(config, store, clock)
    if options.dev:

        def changes() -> asyncio.Event | None:
            publisher = holder["app"].get(PUBLISHER)
            return None if publisher is None else publisher.changed

        routes += livereload.routes(changes)
    hub = _hub(config, store, clock, options)
    if config.serve.hub:
        routes.append(web.post("/websub", hub.handle))
    publisher = Publisher(config, clock, listeners=[hub.feed_changed])
    subscriber = None
    if options.aggregate and options.subscribe and config.serve.public_url:
        subscriber = _subscriber(config, clock, publisher)
        routes += subscriber.routes()
    app = static.make_app(
        config.paths.output,
        static.ServeOptions(
            trusted_proxies=frozenset(config.serve.trusted_proxies),
            dev=options.dev,
            fast_targets=options.fast_path and not options.dev,
            header_seconds=float(config.serve.header_timeout),
        ),
        routes,
    )
    holder["app"] = app
    app[HUB] = hub
    if options.dev:
        livereload.install(app)
    app.cleanup_ctx.append(_store_context(config))
    if options.stats:
        counter = DownloadCounter(_LazyStats(app), clock)
        app[static.COUNTER] = counter
        app.cleanup_ctx.append(_stats_context(counter, options.stats_flush_seconds))
    app.cleanup_ctx.append(_closing(hub))
    if subscriber is not None:
        app[SUBSCRIBER] = subscriber
    if options.jobs:
        app.cleanup_ctx.append(
            start_jobs(
                publisher,
                JobOptions(
                    watch=options.watch,
                    tick=options.tick,
                    aggregate=options.aggregate,
                    aggregate_idle=options.aggregate_idle,
                    subscriber=subscriber,  # subscribes and renews: in this process only
                ),
            )
        )
    return app
