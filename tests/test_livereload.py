"""`mediahub serve --dev`: a page open in headless Chromium reloads itself after an edit;
without --dev, pages are served exactly as built."""

from __future__ import annotations

import re
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Browser

from mediahub import config as config_module
from mediahub.publish.site import build
from mediahub.serve.jobs import PUBLISHER
from mediahub.serve.livereload import PATH, STREAMS
from mediahub.serve.server import ServerOptions, make_server
from mediahub.store import Store
from tests.conftest import Served
from tests.servers import ManualClock, running, wait_until
from tests.test_pages_browser import browser  # noqa: F401 (the headless Chromium fixture)

START = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)


def test_an_open_page_reloads_after_an_edit(hub: Path, browser: Browser) -> None:  # noqa: F811
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        build(config, store, START)
    options = ServerOptions(dev=True, stats=False, aggregate=False, tick=0.05)
    app = make_server(config, options, ManualClock(START))
    with running(app) as server:
        wait_until(lambda: app[PUBLISHER].builds >= 1, "the start-up rebuild")
        page = browser.new_page()
        loads: list[str] = []
        page.on("load", lambda _: loads.append(page.url))
        page.goto(server.url + "/")
        assert "Edited live" not in page.inner_text("body")
        wait_until(lambda: app[STREAMS].open >= 1, "the page's event stream")
        post = next((hub / "posts").glob("*.md"))
        text = post.read_text(encoding="utf-8")
        post.write_text(
            re.sub(r"(?m)^title:.*$", 'title: "Edited live"', text, count=1), encoding="utf-8"
        )
        # Nobody navigates: the page's own script reloads it after the rebuild.
        page.wait_for_function("document.body.innerText.includes('Edited live')", timeout=60_000)
        assert len(loads) >= 2
        page.close()


def test_without_dev_pages_are_served_as_built(served_hub: Served) -> None:
    with urllib.request.urlopen(served_hub.url + "/", timeout=10) as response:
        body = response.read()
    assert body == (served_hub.root / "public" / "index.html").read_bytes()
    assert PATH.encode() not in body
