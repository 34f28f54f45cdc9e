"""The episode page in a real browser: headless Chromium (Debian's), driven by Playwright.

Playwright only speaks the DevTools protocol here: it launches the system
Chromium, never a browser of its own. The hub is built and served by
``mediahub serve``, so the page, the player script and the MP3 (with Range)
come over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mutagen.mp3
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.conftest import Served, require_tool

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = require_tool("chromium")
    with sync_playwright() as playwright:
        # launch() gives every browser a fresh temporary profile (user data dir).
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def episode_page(served_hub: Served, browser: Browser) -> Iterator[tuple[Page, list[str], Path]]:
    folder = next(p for p in (served_hub.root / "episodes").iterdir() if p.is_dir())
    page = browser.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text} at {message.location.get('url')}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
    )
    page.goto(f"{served_hub.url}/episodes/{folder.name}/", wait_until="load")
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=20_000)
    yield page, problems, folder
    page.close()


def test_the_episode_page_loads_without_console_errors(
    episode_page: tuple[Page, list[str], Path],
) -> None:
    page, problems, _folder = episode_page
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("Writing before coaching")
    assert problems == []


def test_the_audio_element_reports_the_files_duration(
    episode_page: tuple[Page, list[str], Path],
) -> None:
    page, _problems, folder = episode_page
    expected = mutagen.mp3.MP3(next(folder.glob("*.mp3"))).info.length
    duration = page.evaluate("document.getElementById('player').duration")
    assert duration == pytest.approx(expected, abs=0.15)


def test_clicking_a_chapter_seeks_the_player(episode_page: tuple[Page, list[str], Path]) -> None:
    page, problems, folder = episode_page
    chapters = json.loads((folder / "chapters.json").read_text(encoding="utf-8"))["chapters"]
    target = chapters[2]
    page.locator(".chapters a", has_text=target["title"]).click()
    page.wait_for_function(
        f"Math.abs(document.getElementById('player').currentTime - {target['startTime']}) < 0.5",
        timeout=10_000,
    )
    assert problems == []


def test_the_transcript_shows_below_the_player(episode_page: tuple[Page, list[str], Path]) -> None:
    page, _problems, folder = episode_page
    vtt = (folder / "transcript.vtt").read_text(encoding="utf-8")
    first_line = next(line for line in vtt.splitlines() if line.startswith("<v "))
    speaker, text = first_line[3:].split(">", 1)
    cue = page.locator(".transcript .cue").first
    assert cue.is_visible()
    assert text in cue.inner_text()
    assert speaker in cue.inner_text()
    assert page.locator(".transcript .cue").count() == vtt.count("-->")
    # The transcript comes after the player in the page, as a reader meets it.
    order = page.evaluate(
        "document.getElementById('player').compareDocumentPosition("
        "document.querySelector('.transcript'))"
    )
    assert order & 4  # DOCUMENT_POSITION_FOLLOWING
