"""Whole cycles against real aiohttp servers on 127.0.0.1 and a real SQLite store."""

from __future__ import annotations

import asyncio
import gzip
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mediahub.aggregate.cycle import Cycle, CycleReport, CycleSettings, run
from mediahub.aggregate.fetch import FetchSettings
from mediahub.aggregate.guard import NetworkGuard
from mediahub.model import Source
from mediahub.store import Store
from tests.aggserver import serving, serving_in_thread
from tests.conftest import corpus_documents

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SETTINGS = CycleSettings(guard=NetworkGuard.from_settings(False, ["127.0.0.0/8"]), workers=2)


def rss(*items: tuple[str, str], pub: str = "Mon, 02 Nov 2026 07:30:00 GMT") -> bytes:
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://x.example/{guid}</link>"
        f"<pubDate>{pub}</pubDate></item>"
        for guid, title in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Lead Weekly'
        f"</title><link>https://x.example/</link><ttl>60</ttl>{body}</channel></rss>"
    ).encode()


class CountingPool(ThreadPoolExecutor):
    """Parses in threads (fast to start in tests) and counts how often parsing was asked for."""

    def __init__(self) -> None:
        super().__init__(2)
        self.calls = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        return super().submit(fn, *args, **kwargs)


def cycle(
    store: Store,
    base: str,
    urls: dict[str, str],
    now: datetime = NOW,
    pool: CountingPool | None = None,
    settings: CycleSettings = SETTINGS,
) -> CycleReport:
    """Add ``urls`` (path -> topic) on the server at ``base``, then run one cycle."""
    for path, topic in urls.items():
        store.add_source(Source(f"{base}{path}", topic))
    sources = [s for s in store.list_sources() if not s.gone]
    return asyncio.run(Cycle(store, settings, now, pool=pool or CountingPool()).run(sources))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state" / "mediahub.db")


def test_200_then_304_parses_once(store: Store) -> None:
    body = rss(("a", "One"), ("b", "Two"))

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(body=body, headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_get("/feed", feed)
    with serving_in_thread(app) as base:
        pool = CountingPool()
        first = cycle(store, base, {"/feed": "leadership"}, pool=pool)
        assert (first.count("fetched"), first.new_items, first.errors) == (1, 2, ())
        (state,) = store.list_sources()
        assert state.etag == '"v1"' and state.feed_title == "Lead Weekly"
        assert state.next_fetch is not None and state.next_fetch >= NOW + timedelta(minutes=50)
        second = cycle(store, base, {}, now=NOW + timedelta(days=1), pool=pool)
        assert second.count("not-modified") == 1 and second.new_items == 0
        assert pool.calls == 1
        assert "0 new items" in second.summary()


def test_an_unchanged_body_is_not_parsed_again(store: Store) -> None:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=rss(("a", "One")))  # no validators at all

    app = web.Application()
    app.router.add_get("/feed", feed)
    with serving_in_thread(app) as base:
        pool = CountingPool()
        cycle(store, base, {"/feed": "t"}, pool=pool)
        again = cycle(store, base, {}, now=NOW + timedelta(hours=2), pool=pool)
        assert again.count("unchanged") == 1
        assert pool.calls == 1


def test_301_moves_the_source_only_after_three_fetches_302_never(store: Store) -> None:
    async def old(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/new")

    async def temp(request: web.Request) -> web.Response:
        raise web.HTTPFound("/new")

    async def new(request: web.Request) -> web.Response:
        return web.Response(body=rss(("a", "One")))

    app = web.Application()
    app.router.add_get("/old", old)
    app.router.add_get("/temp", temp)
    app.router.add_get("/new", new)
    with serving_in_thread(app) as base:
        cycle(store, base, {"/old": "t", "/temp": "t"})
        for hour in (1, 2):
            states = {s.source.url.rsplit("/", 1)[1]: s for s in store.list_sources()}
            assert states["old"].moved_to is None and states["old"].redirect_count == hour
            cycle(store, base, {}, now=NOW + timedelta(hours=hour))
        states = {s.source.url.rsplit("/", 1)[1]: s for s in store.list_sources()}
        assert states["old"].moved_to is not None and states["old"].moved_to.endswith("/new")
        assert states["old"].fetch_url.endswith("/new")
        assert states["temp"].moved_to is None and states["temp"].redirect_count == 0


def test_410_stops_the_source_and_says_so(store: Store) -> None:
    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=410)

    app = web.Application()
    app.router.add_get("/feed", gone)
    with serving_in_thread(app) as base:
        report = cycle(store, base, {"/feed": "t"})
        assert report.count("gone") == 1
        assert report.errors[0].message is not None and "410 Gone" in report.errors[0].message
        (state,) = store.list_sources()
        assert state.gone and store.due_sources(NOW + timedelta(days=365)) == []


def test_429_retry_after_and_error_backoff(store: Store) -> None:
    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "7200"})

    app = web.Application()
    app.router.add_get("/feed", busy)
    with serving_in_thread(app) as base:
        report = cycle(store, base, {"/feed": "t"})
        assert report.count("error") == 1
        (state,) = store.list_sources()
        assert state.error_count == 1 and state.first_error == NOW
        assert state.last_error is not None and "HTTP 429" in state.last_error
        assert state.next_fetch is not None and state.next_fetch >= NOW + timedelta(hours=2)


def test_thirty_days_of_failure_pauses_the_source(store: Store) -> None:
    fixed = False

    async def broken(request: web.Request) -> web.Response:
        return web.Response(body=rss(("a", "One"))) if fixed else web.Response(status=500)

    app = web.Application()
    app.router.add_get("/feed", broken)
    with serving_in_thread(app) as base:
        cycle(store, base, {"/feed": "t"})
        cycle(store, base, {}, now=NOW + timedelta(days=31))
        (state,) = store.list_sources()
        assert state.paused and state.error_count == 2
        assert store.due_sources(NOW + timedelta(days=60)) == []
        # Fixed at last: a forced cycle (what 'sources resume' leads to) clears the flag.
        fixed = True
        cycle(store, base, {}, now=NOW + timedelta(days=32))
        (state,) = store.list_sources()
        assert not state.paused and state.error_count == 0 and state.first_error is None


def test_one_bad_source_does_not_stop_the_others(store: Store) -> None:
    async def good(request: web.Request) -> web.Response:
        return web.Response(body=rss(("a", "One")))

    async def html(request: web.Request) -> web.Response:
        return web.Response(body=b"<html><body>hello</body></html>", content_type="text/html")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(body=rss(("z", "Late")))

    app = web.Application()
    app.router.add_get("/good", good)
    app.router.add_get("/html", html)
    app.router.add_get("/slow", slow)
    with serving_in_thread(app) as base:
        settings = CycleSettings(
            guard=SETTINGS.guard, fetch=FetchSettings(total_timeout=0.5), workers=1
        )
        report = cycle(store, base, {"/good": "t", "/html": "t", "/slow": "t"}, settings=settings)
        kinds = {o.url.rsplit("/", 1)[1]: (o.kind, o.message or "") for o in report.outcomes}
        assert kinds["good"][0] == "fetched"
        assert kinds["html"][0] == "error" and "/html" in kinds["html"][1]
        assert kinds["slow"][0] == "error" and "timed out" in kinds["slow"][1]
        assert report.new_items == 1


def test_file_sources_are_confined_to_the_feeds_folder(tmp_path: Path, store: Store) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "local.xml").write_bytes(rss(("a", "Local")))
    (tmp_path / "secret.xml").write_bytes(rss(("s", "Secret")))
    store.add_source(Source("file:feeds/local.xml", "t"))
    store.add_source(Source("file:feeds/../secret.xml", "t"))
    store.add_source(Source(f"file://{tmp_path / 'secret.xml'}", "t"))
    settings = CycleSettings(guard=SETTINGS.guard, files=feeds, workers=1)
    report = asyncio.run(Cycle(store, settings, NOW, pool=CountingPool()).run(store.list_sources()))
    kinds = {o.url: o.kind for o in report.outcomes}
    assert kinds["file:feeds/local.xml"] == "fetched"
    assert [o.message for o in report.errors if "outside the feeds folder" in (o.message or "")]
    assert len(report.errors) == 2


def test_the_real_corpus_through_the_process_pool(store: Store) -> None:
    """Every corpus document served by a local server, parsed in the real process pool."""
    corpus_documents()  # skips, or fails under MEDIAHUB_REQUIRE_TOOLS=1, without the corpus
    files = sorted(p for p in CORPUS.iterdir() if p.suffix in (".xml", ".atom", ".rss", ".html"))

    async def serve(request: web.Request) -> web.Response:
        data = (CORPUS / request.match_info["name"]).read_bytes()
        if data[:2] == b"\x1f\x8b":  # stored compressed: serve as the transport encoding
            return web.Response(body=data, headers={"Content-Encoding": "gzip"})
        if request.match_info["name"].endswith(".html"):
            return web.Response(body=data, content_type="text/html")
        return web.Response(body=gzip.compress(data), headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/c/{name}", serve)

    async def go() -> CycleReport:
        async with serving(app) as base:
            for path in files:
                store.add_source(Source(f"{base}/c/{path.name}", "corpus"))
            return await Cycle(store, SETTINGS, NOW).run(store.list_sources())

    report = asyncio.run(go())
    assert len(report.outcomes) == len(files)
    errors = {o.url.rsplit("/", 1)[1]: o.message for o in report.errors}
    assert "node-feedparser__notafeed.html" in errors
    for message in errors.values():
        assert message and "\n" not in message
    # Nearly everything yields a feed: broken XML (bozo) still gives what feedparser recovers.
    assert report.count("fetched") >= len(files) - 6, errors
    assert report.new_items > 400
    recovered = {o.url.rsplit("/", 1)[1]: o for o in report.outcomes if o.kind == "fetched"}
    assert recovered["node-feedparser__saxerror.xml"].new_items >= 1
    assert recovered["node-feedparser__iconv.xml"].new_items >= 1  # windows-1251
    assert recovered["node-feedparser__compressed.xml"].new_items >= 1  # gzip transport


def test_run_picks_only_due_sources(store: Store) -> None:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=rss(("a", "One")))

    app = web.Application()
    app.router.add_get("/feed", feed)
    with serving_in_thread(app) as base:
        cycle(store, base, {"/feed": "t"})
        # Straight after, nothing is due; --all forces it (in the real process pool).
        assert run(store, SETTINGS, NOW + timedelta(minutes=1)).outcomes == ()
        forced = run(store, SETTINGS, NOW + timedelta(minutes=1), force_all=True)
        assert [o.kind for o in forced.outcomes] == ["unchanged"]


def test_duplicate_guids_undated_items_and_json_feed_over_http(store: Store) -> None:
    dupes = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Dupes</title>'
        b"<item><guid>same</guid><title>First</title></item>"
        b"<item><guid>same</guid><title>Second</title></item>"
        b"<item><title>No guid, no date</title><link>https://x.example/n</link></item>"
        b"</channel></rss>"
    )
    json_feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": ['
        b'{"id": "1", "content_text": "one", "date_published": "2026-11-01T10:00:00Z"},'
        b'{"id": "2", "content_html": "<p>two</p>"}]}'
    )

    async def rss_handler(request: web.Request) -> web.Response:
        return web.Response(body=dupes, content_type="application/rss+xml")

    async def json_handler(request: web.Request) -> web.Response:
        return web.Response(body=json_feed, content_type="application/feed+json")

    app = web.Application()
    app.router.add_get("/dupes", rss_handler)
    app.router.add_get("/json", json_handler)
    with serving_in_thread(app) as base:
        report = cycle(store, base, {"/dupes": "t", "/json": "t"})
    got = {o.url.rsplit("/", 1)[1]: o.new_items for o in report.outcomes}
    assert got == {"dupes": 3, "json": 2}, report
    (json_state,) = [s for s in store.list_sources() if s.source.url.endswith("/json")]
    assert json_state.feed_title == "J"


def test_a_busy_host_does_not_hold_the_slots_other_hosts_could_use(store: Store) -> None:
    """Sources queued for one host wait for that host, not in the global queue."""
    import threading

    lock = threading.Lock()
    active = {"one": 0, "two": 0}
    overlapping = 0

    def app(name: str) -> web.Application:
        other = "two" if name == "one" else "one"

        async def feed(request: web.Request) -> web.Response:
            nonlocal overlapping
            with lock:
                active[name] += 1
                overlapping += active[other] > 0
            await asyncio.sleep(0.1)
            with lock:
                active[name] -= 1
            return web.Response(body=rss(("a", request.path)))

        application = web.Application()
        application.router.add_get("/{name}", feed)
        return application

    settings = CycleSettings(
        guard=SETTINGS.guard, fetch=FetchSettings(concurrency=2, per_host=1), workers=1
    )
    with (
        serving_in_thread(app("one")) as one,
        serving_in_thread(app("two"), host="127.0.0.2") as two,
    ):
        # Sources are taken in URL order: every source of the first host comes first.
        for base in (one, two):
            for n in range(4):
                store.add_source(Source(f"{base}/f{n}", "t"))
        report = asyncio.run(
            Cycle(store, settings, NOW, pool=CountingPool()).run(store.list_sources())
        )
    assert report.count("fetched") == 8
    # Both hosts are fetched side by side from the start, not one after the other.
    assert overlapping >= 4, overlapping


def test_the_writer_commits_queued_writes_together_and_a_failing_one_fails_alone(
    store: Store,
) -> None:
    from mediahub.aggregate.store_writer import StoreWriter
    from mediahub.model import Item, ParsedFeed
    from mediahub.store.item_rows import feed_rows

    urls = [f"https://w{n}.example/feed" for n in range(6)]
    for url in urls:
        store.add_source(Source(url, "t"))

    def parsed(n: int) -> ParsedFeed:
        item = Item(f"id-{n}", f"Title {n}", None, NOW, NOW)
        return ParsedFeed(f"Feed {n}", None, None, (item,))

    def save_then_fail(url: str, feed: ParsedFeed) -> None:
        # A row without a title breaks the items table's NOT NULL once the source's
        # feed title is written.
        (row,) = feed_rows(feed)
        store.save_items(url, feed, NOW, rows=[(row[0], None, *row[2:])])  # type: ignore[list-item]

    async def main() -> list[Any]:
        writer = StoreWriter(store)
        try:
            jobs = [
                writer.call(store.save_items, url, parsed(n), NOW) for n, url in enumerate(urls)
            ]
            # Fails after its first statement (the feed's title): nothing of it may stay.
            jobs.insert(3, writer.call(save_then_fail, urls[0], parsed(99)))
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            writer.shutdown()

    results = asyncio.run(main())
    kinds = [r if isinstance(r, int) else type(r) for r in results]
    assert kinds == [1, 1, 1, sqlite3.IntegrityError, 1, 1, 1]
    assert store.count_items() == 6
    assert [s.item.id for s in store.latest_items(urls[0], 5)] == ["id-0"]
    first = store.get_source(urls[0])
    assert first is not None and first.feed_title == "Feed 0"


def test_the_store_budget_holds_bytes_and_lets_a_huge_body_through_alone() -> None:
    """Feeds being parsed or stored are bounded by the size of their bodies; one body
    larger than the whole budget still goes through, once nothing else is held."""
    from mediahub.aggregate.cycle import _Budget

    budget = _Budget(100)
    held: list[int] = []
    peak = 0
    order: list[str] = []

    async def use(name: str, amount: int, seconds: float) -> None:
        nonlocal peak
        async with budget.hold(amount):
            held.append(min(amount, 100))
            peak = max(peak, sum(held))
            order.append(name)
            await asyncio.sleep(seconds)
            held.remove(min(amount, 100))

    async def main() -> None:
        await asyncio.gather(
            use("a", 60, 0.05),
            use("b", 30, 0.05),
            use("huge", 500, 0.01),
            use("c", 50, 0.01),
        )

    asyncio.run(main())
    assert sorted(order) == ["a", "b", "c", "huge"]
    assert order[:2] == ["a", "b"] and peak <= 100


def test_the_cycle_writer_leaves_checkpoints_to_a_thread_of_their_own(store: Store) -> None:
    """While the writer runs, its connection never checkpoints (the store's own thread
    does); afterwards the connection checkpoints as before and nothing is lost."""
    from mediahub.aggregate.store_writer import StoreWriter
    from mediahub.model import Item, ParsedFeed

    urls = [f"https://c{n}.example/feed" for n in range(40)]
    for url in urls:
        store.add_source(Source(url, "t"))
    text = "<p>" + "words " * 4000 + "</p>"

    def parsed(n: int) -> ParsedFeed:
        items = tuple(
            Item(f"id-{k}", f"Title {k}", None, NOW, NOW, content_html=text) for k in range(5)
        )
        return ParsedFeed(f"Feed {n}", None, None, items)

    seen: list[int] = []

    def autocheckpoint() -> int:
        value = int(store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        seen.append(value)
        return value

    def database_grew(before: int) -> bool:
        # Pages reach the database file only by a checkpoint, never by a commit in WAL mode.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if store.path.stat().st_size > before + 1_000_000:
                return True
            time.sleep(0.05)
        return False

    async def main() -> bool:
        writer = StoreWriter(store)
        try:
            before = store.path.stat().st_size
            for n, url in enumerate(urls):
                await writer.call(store.save_items, url, parsed(n), NOW)
            await writer.call(autocheckpoint)
            return bool(await writer.call(database_grew, before))
        finally:
            writer.shutdown()

    assert asyncio.run(main())  # copied by the other thread: this connection does not
    assert seen == [0]
    assert autocheckpoint() == 1000
    assert store.count_items() == 200
    assert store.integrity_ok()


def test_a_commit_inside_checkpoints_aside_is_checkpointed_at_once(store: Store) -> None:
    """The checkpoint thread copies a commit into the database file right after it, not
    at its next round (an hour away here): the next transaction can then start the WAL
    over, and it stays about one transaction long."""
    from contextlib import closing

    from mediahub.model import Item, ParsedFeed

    url = "https://w.example/feed"
    store.add_source(Source(url, "t"))

    def items_in_the_database_file() -> int:
        # immutable: reads the database file alone, never the WAL.
        with closing(sqlite3.connect(f"file:{store.path}?immutable=1", uri=True)) as db:
            try:
                return int(db.execute("SELECT count(*) FROM items").fetchone()[0])
            except sqlite3.DatabaseError:  # no table yet, or a page being copied
                return 0

    with store.checkpoints_aside(every=3600):
        feed = ParsedFeed("Feed", None, None, (Item("id-1", "Title", None, NOW, NOW),))
        store.save_items(url, feed, NOW)
        deadline = time.monotonic() + 20
        while items_in_the_database_file() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        found = items_in_the_database_file()
    assert found == 1


class _StoreProxy:
    """A store with some methods replaced by a subclass; all else is the store's."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class _CountingBatches(_StoreProxy):
    """A store whose transactions (``batch``) are counted."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.batches = 0

    def batch(self) -> Any:
        self.batches += 1
        return self.store.batch()


def test_the_writer_gathers_expected_writes_into_one_commit_and_never_waits_for_none(
    store: Store,
) -> None:
    """While writes are expected, those arriving within the gathering window share one
    transaction; once none are, the batch is committed at once, not at the window's end."""
    from mediahub.aggregate.store_writer import StoreWriter
    from mediahub.model import Item, ParsedFeed

    urls = [f"https://g{n}.example/feed" for n in range(5)]
    for url in urls:
        store.add_source(Source(url, "t"))
    counted = _CountingBatches(store)

    def parsed(n: int) -> ParsedFeed:
        return ParsedFeed(f"Feed {n}", None, None, (Item(f"id-{n}", f"Title {n}", None, NOW, NOW),))

    async def main(writer: StoreWriter, expected: int) -> list[Any]:
        writer.expect(expected)
        jobs = []
        for n, url in enumerate(urls):
            jobs.append(asyncio.ensure_future(writer.call(store.save_items, url, parsed(n), NOW)))
            await asyncio.sleep(0.05)  # each arrives after the writer began the batch
        # A window of a minute: waiting it out would fail here.
        return await asyncio.wait_for(asyncio.gather(*jobs), 20)

    writer = StoreWriter(counted, gather=60.0)
    try:
        assert asyncio.run(main(writer, expected=5)) == [1] * 5
        assert counted.batches == 1
        # Nothing expected (a caller that never said): each write goes as soon as it can.
        counted.batches = 0
        store.save_items(urls[0], ParsedFeed("Feed", None, None, ()), NOW)
        assert asyncio.run(main(writer, expected=0)) == [0] * 5
        assert counted.batches == 5
    finally:
        writer.shutdown()
    assert store.count_items() == 5


class _HeldStateWrites(_StoreProxy):
    """A store whose fetch-state writes wait until ``release`` is set (at most 20 s)."""

    def __init__(self, store: Store, release: Any) -> None:
        super().__init__(store)
        self.release = release
        self.released_in_time: list[bool] = []

    def save_fetch_state(self, state: Any) -> None:
        self.released_in_time.append(self.release.wait(20))
        self.store.save_fetch_state(state)


def test_a_source_with_nothing_new_gives_its_fetch_slot_back_before_its_write(
    store: Store,
) -> None:
    """A 304 holds no body, so waiting for the writer must not keep the next source
    from being fetched: with one fetch slot, the second source's request has to
    arrive while the first source's state is still being written."""
    import threading

    second_requested = threading.Event()

    async def feed(request: web.Request) -> web.Response:
        if request.path == "/f1":
            second_requested.set()
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(body=rss(("a", request.path)), headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_get("/{name}", feed)
    settings = CycleSettings(
        guard=SETTINGS.guard, fetch=FetchSettings(concurrency=1, per_host=1), workers=1
    )
    with serving_in_thread(app) as base:
        first = cycle(store, base, {"/f0": "t", "/f1": "t"}, settings=settings)
        assert first.count("fetched") == 2
        second_requested.clear()
        held = _HeldStateWrites(store, second_requested)
        sources = store.list_sources()  # in URL order: /f0 first
        report = asyncio.run(
            Cycle(held, settings, NOW + timedelta(days=1), pool=CountingPool()).run(sources)
        )
    assert report.count("not-modified") == 2
    # The first write waited for the second request, which came while it waited.
    assert held.released_in_time == [True, True]


def test_new_sources_start_the_parse_workers_while_their_first_request_is_out(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sources never fetched are sure to need the parser: the workers start with the
    cycle (on a thread, the event loop goes on fetching), not once a body is in. A
    cycle whose sources all answer 304 starts none."""
    import threading

    from mediahub.aggregate import workers

    started = threading.Event()
    start_workers = workers._start_workers

    def start_and_say(pool: Any, workers: int) -> None:
        start_workers(pool, workers)
        started.set()

    monkeypatch.setattr(workers, "_start_workers", start_and_say)
    started_before_answer: list[bool] = []

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        started_before_answer.append(await asyncio.to_thread(started.wait, 20))
        return web.Response(body=rss(("a", "One")), headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_get("/feed", feed)
    with serving_in_thread(app) as base:
        store.add_source(Source(f"{base}/feed", "t"))
        first = asyncio.run(Cycle(store, SETTINGS, NOW).run(store.list_sources()))
        assert (first.count("fetched"), first.new_items) == (1, 1)
        assert started_before_answer == [True]
        started.clear()
        later = NOW + timedelta(days=1)
        second = asyncio.run(Cycle(store, SETTINGS, later).run(store.list_sources()))
        assert second.count("not-modified") == 1
        assert not started.is_set()


def _one_good_one_bad(store: Store, exception: str) -> str:
    """A cycle of /good and /bad (the same feed): only /bad fails, with one line naming
    ``exception``, and its state records it. Returns the server's base URL."""

    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=rss(("a", "One")))

    app = web.Application()
    app.router.add_get("/good", feed)
    app.router.add_get("/bad", feed)
    with serving_in_thread(app) as base:
        report = cycle(store, base, {"/good": "t", "/bad": "t"})
    assert (report.count("fetched"), report.new_items) == (1, 1)
    (error,) = report.errors
    assert error.url == f"{base}/bad" and error.message is not None
    assert "\n" not in error.message and exception in error.message
    (bad,) = [s for s in store.list_sources() if s.source.url.endswith("/bad")]
    assert bad.error_count == 1 and bad.last_error == error.message
    return base


def test_a_parser_raising_something_unexpected_fails_that_feed_alone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A parser bug on a hostile body (feedparser once raised UnicodeDecodeError on an
    # encoding name) used to escape the cycle and stop every other source with it.
    from mediahub.aggregate import parse

    real = parse._parse_xml

    def parse_xml(body: bytes, url: str, content_type: str | None) -> Any:
        if url.endswith("/bad"):
            raise UnicodeDecodeError("utf-8", b"\x80", 0, 1, "invalid start byte")
        return real(body, url, content_type)

    monkeypatch.setattr(parse, "_parse_xml", parse_xml)
    monkeypatch.setattr(parse, "fast_parse", lambda body, content_type: None)

    _one_good_one_bad(store, "UnicodeDecodeError")


def test_a_feed_the_store_refuses_fails_alone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A write error escaped the cycle and stopped every other source (a JSON Feed's
    # lone surrogates did that: SQLite's UTF-8 cannot hold them).
    real = store.save_items

    def save_items(source_url: str, *args: Any, **kwargs: Any) -> int:
        if source_url.endswith("/bad"):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return real(source_url, *args, **kwargs)

    monkeypatch.setattr(store, "save_items", save_items)

    base = _one_good_one_bad(store, "UnicodeEncodeError")
    assert [s.item.title for s in store.latest_items(f"{base}/good", 10)] == ["One"]
