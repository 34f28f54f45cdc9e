"""Background jobs: scheduled publishing at the (test) clock's time, rebuilds on edits,
and a failing job that keeps being retried without taking the server down."""

from __future__ import annotations

import asyncio
import re
import shutil
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from mediahub import config as config_module
from mediahub.publish.site import build
from mediahub.serve.jobs import PUBLISHER, forever
from mediahub.serve.server import ServerOptions, make_server
from mediahub.store import Store
from tests.servers import ManualClock, running, wait_until

START = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
DUE = "2027-01-02 10:00"


def schedule_episode(hub: Path, date: str, title: str, slug: str) -> Path:
    """A second episode, copied from the example one, dated ``date`` (UTC)."""
    source = next(p for p in (hub / "episodes").iterdir() if p.is_dir())
    target = hub / "episodes" / slug
    shutil.copytree(source, target)
    note = target / "episode.md"
    text = re.sub(r"(?m)^guid:.*\n", "", note.read_text(encoding="utf-8"))
    text = re.sub(r"(?m)^title:.*$", f'title: "{title}"', text)
    text = re.sub(r"(?m)^date:.*$", f"date: {date}Z", text)
    note.write_text(text, encoding="utf-8")
    return target


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


def test_a_scheduled_episode_goes_live_when_the_clock_reaches_its_date(hub: Path) -> None:
    schedule_episode(hub, DUE, "Listening at scale", "2027-01-02-listening-at-scale")
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        build(config, store, START)
    clock = ManualClock(START)
    # No aggregation: the rebuild that its first cycle brings (the feed's podroll)
    # would count as a build whenever the cycle ends.
    options = ServerOptions(watch=False, stats=False, tick=0.05, aggregate=False)
    app = make_server(config, options, clock)
    with running(app) as server:
        publisher = app[PUBLISHER]
        wait_until(lambda: publisher.builds >= 1, "the start-up rebuild")
        assert publisher.next_due == datetime(2027, 1, 2, 10, 0, tzinfo=UTC)
        assert "Listening at scale" not in fetch(server.url + "/feed.xml")

        clock.set(datetime(2027, 1, 2, 9, 59, tzinfo=UTC))
        builds = publisher.builds
        assert "Listening at scale" not in fetch(server.url + "/feed.xml")
        assert publisher.builds == builds  # not due yet: nothing rebuilt

        clock.set(datetime(2027, 1, 2, 10, 0, tzinfo=UTC))
        wait_until(
            lambda: "Listening at scale" in fetch(server.url + "/feed.xml"),
            "the scheduled episode in the served feed",
        )
        page = fetch(server.url + "/episodes/2027-01-02-listening-at-scale/")
        assert "Listening at scale" in page
        assert publisher.next_due is None


def test_editing_a_post_rebuilds_the_site(hub: Path) -> None:
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        build(config, store, START)
    app = make_server(config, ServerOptions(stats=False, tick=0.05), ManualClock(START))
    with running(app) as server:
        publisher = app[PUBLISHER]
        wait_until(lambda: publisher.builds >= 1, "the start-up rebuild")
        post = next((hub / "posts").glob("*.md"))
        text = post.read_text(encoding="utf-8")
        post.write_text(
            re.sub(r"(?m)^title:.*$", 'title: "Edited while serving"', text, count=1),
            encoding="utf-8",
        )
        wait_until(
            lambda: "Edited while serving" in fetch(server.url + "/"),
            "the edited title on the home page",
        )


def test_a_bad_edit_is_logged_and_the_server_keeps_serving(hub: Path) -> None:
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        build(config, store, START)
    options = ServerOptions(stats=False, tick=0.05, aggregate=False)  # (see above)
    app = make_server(config, options, ManualClock(START))
    with running(app) as server:
        publisher = app[PUBLISHER]
        wait_until(lambda: publisher.builds >= 1, "the start-up rebuild")
        before = publisher.builds
        (hub / "posts" / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
        wait_until(lambda: publisher.builds > before, "a rebuild after the bad edit")
        assert "The Quiet Leader" in fetch(server.url + "/")


def test_a_failing_step_is_retried_and_does_not_stop_the_loop() -> None:
    calls: list[int] = []

    async def step() -> float:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("boom")
        return 0.0

    async def main() -> None:
        task = asyncio.create_task(forever("test job", step, retry=0.0))
        while len(calls) < 5:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert len(calls) >= 5
