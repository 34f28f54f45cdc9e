"""Publishing in depth: channel and item tags, podcast:guid, RFC 5005 archives, posts
feeds, incremental and deterministic builds, scheduled episodes, template overrides."""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest

from mediahub import config as config_module
from mediahub.errors import BuildError
from mediahub.publish.feeds import podcast_guid
from mediahub.publish.site import build
from mediahub.store import Store
from tests.conftest import run_cli

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "fh": "http://purl.org/syndication/history/1.0",
}
EXTRA_KEYS = """type = "serial"
locked = true
medium = "podcast"
txt_verify = ["verify-me-123"]
update_frequency = "Weekly"
update_rrule = "FREQ=WEEKLY"
license = "cc-by-4.0"
license_url = "https://creativecommons.org/licenses/by/4.0/"
location = "Stockholm, Sweden"
location_geo = "geo:59.33,18.07"
"""
EXTRA_TABLES = """
[[podcast.funding]]
url = "https://example.org/support"
text = "Buy the host a coffee"
[[podcast.person]]
name = "Maya Lindqvist"
role = "host"
href = "https://example.org/maya"
"""


def configure_podcast(hub: Path, keys: str, tables: str = "") -> None:
    """Add keys to the example's [podcast] table (and array tables at the end)."""
    toml = hub / "mediahub.toml"
    text = toml.read_text(encoding="utf-8")
    assert "\n[podcast]\n" in text
    toml.write_text(
        text.replace("\n[podcast]\n", f"\n[podcast]\n{keys}\n") + tables, encoding="utf-8"
    )


def feed_doc(hub: Path, name: str = "feed.xml") -> ET.Element:
    return ET.parse(hub / "public" / name).getroot()


def add_episodes(
    hub: Path, count: int, start: datetime | None = None, prefix: str = "extra"
) -> list[Path]:
    """Copies of the example episode with their own titles, dates and no guid."""
    source = next(p for p in (hub / "episodes").iterdir() if p.is_dir() and p.name[:4].isdigit())
    base = start or datetime(2025, 1, 6, 8, 0)
    folders = []
    for index in range(count):
        folder = hub / "episodes" / f"{prefix}-{index:03d}"
        shutil.copytree(source, folder)
        text = (folder / "episode.md").read_text(encoding="utf-8")
        lines = [
            line
            for line in text.splitlines()
            if not line.startswith(("guid:", "title:", "date:", "number:"))
        ]
        lines.insert(1, f"title: Extra episode {index}")
        lines.insert(2, f"date: {(base + timedelta(days=7 * index)).isoformat()}")
        lines.insert(3, f"number: {index + 2}")
        (folder / "episode.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        folders.append(folder)
    return folders


def build_json(hub: Path, *args: str) -> dict[str, object]:
    result = run_cli("build", "--json", *args, cwd=hub)
    assert result.code == 0, result.err
    return dict(json.loads(result.out))


def test_channel_and_item_tags(hub: Path) -> None:
    configure_podcast(hub, EXTRA_KEYS, EXTRA_TABLES)
    episode_md = next(hub.glob("episodes/*/episode.md"))
    episode_md.write_text(
        episode_md.read_text().replace(
            "type: full",
            "type: full\nsoundbites:\n  - {start: 12.7, duration: 7.8, title: Why write}",
        )
    )
    build_json(hub)
    channel = feed_doc(hub).find("channel")
    assert channel is not None

    def text(path: str) -> str | None:
        node = channel.find(path, NS)
        return None if node is None else node.text

    assert text("itunes:type") == "serial"
    assert text("podcast:locked") == "yes"
    assert channel.find("podcast:locked", NS).get("owner") == "maya@quietleader.example"
    assert text("podcast:medium") == "podcast"
    assert text("podcast:txt") == "verify-me-123"
    assert text("podcast:updateFrequency") == "Weekly"
    assert text("podcast:license") == "cc-by-4.0"
    assert text("podcast:location") == "Stockholm, Sweden"
    assert text("podcast:funding") == "Buy the host a coffee"
    assert channel.find("podcast:person", NS).get("href") == "https://example.org/maya"
    guid = text("podcast:guid")
    assert guid == podcast_guid("http://127.0.0.1:8000/feed.xml")
    category = channel.find("itunes:category", NS)
    assert category.get("text") == "Business"
    assert category.find("itunes:category", NS).get("text") == "Management"
    self_link = channel.find("atom:link[@rel='self']", NS)
    assert self_link.get("href") == "http://127.0.0.1:8000/feed.xml"

    (item,) = channel.findall("item")
    assert "Sam Okafor" in (item.find("content:encoded", NS).text or "")
    # Apple's description keeps only p/ol/ul/li/a, with absolute links.
    description = item.find("description").text or ""
    assert "<strong>" not in description and "<li>" in description
    assert 'href="http://127.0.0.1:8000/posts/the-question-after-the-question/"' in description
    assert item.find("podcast:season", NS).text == "1"
    assert item.find("podcast:episode", NS).text == "1"
    assert item.find("podcast:person", NS).get("role") == "guest"
    assert item.find("podcast:transcript", NS).get("type") == "text/vtt"
    assert item.find("podcast:chapters", NS).get("type") == "application/json+chapters"
    bite = item.find("podcast:soundbite", NS)
    assert (bite.get("startTime"), bite.get("duration"), bite.text) == ("12.7", "7.8", "Why write")
    assert item.find("itunes:image", NS).get("href") == "http://127.0.0.1:8000/cover.jpg"


def test_podcast_guid_matches_the_definition_and_never_changes() -> None:
    assert podcast_guid("https://podnews.net/rss") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert podcast_guid("podnews.net/rss/") == "9b024349-ccf0-5f69-a609-6b82873eab3c"


def test_podcast_guid_is_recorded_once_and_survives_a_move(hub: Path) -> None:
    toml = hub / "mediahub.toml"
    toml.write_text(
        "\n".join(x for x in toml.read_text().splitlines() if not x.startswith("guid =")) + "\n"
    )
    build_json(hub)
    recorded = config_module.load(hub).show.podcast.guid
    assert recorded == podcast_guid("http://127.0.0.1:8000/feed.xml")
    build_json(hub, "--url", "https://new-home.example.org")
    assert config_module.load(hub).show.podcast.guid == recorded
    assert f"<podcast:guid>{recorded}</podcast:guid>" in (hub / "public/feed.xml").read_text()
    uuid.UUID(recorded)


def test_rfc5005_archives_hold_every_episode_once_and_stay_stable(hub: Path) -> None:
    configure_podcast(hub, "feed_limit = 2")
    add_episodes(hub, 4)  # five episodes in all
    build_json(hub)
    current = feed_doc(hub)
    assert len(current.findall("channel/item")) == 2
    prev = current.find("channel/atom:link[@rel='prev-archive']", NS)
    assert prev is not None and prev.get("href").endswith("feed/archive-2.xml")
    guids: list[str] = [g.text or "" for g in current.iter("guid")]
    for number in (1, 2):
        archive = feed_doc(hub, f"feed/archive-{number}.xml")
        assert archive.find("channel/fh:archive", NS) is not None
        current_link = archive.find("channel/atom:link[@rel='current']", NS)
        assert current_link.get("href") == "http://127.0.0.1:8000/feed.xml"
        guids += [g.text or "" for g in archive.iter("guid")]
    assert len(guids) == len(set(guids)) == 5
    oldest = (hub / "public/feed/archive-1.xml").read_bytes()
    # A new, newer episode pushes one more into the archives; the oldest archive is untouched.
    add_episodes(hub, 1, start=datetime(2026, 11, 20, 8, 0), prefix="newer")
    build_json(hub)
    assert (hub / "public/feed/archive-1.xml").read_bytes() == oldest


def test_posts_have_atom_and_json_feeds(hub: Path) -> None:
    build_json(hub)
    atom = feedparser.parse((hub / "public/posts.atom").read_bytes())
    assert not atom.bozo, atom.get("bozo_exception")
    assert len(atom.entries) == 5
    assert atom.entries[0].title == "The question after the question"
    assert atom.entries[0].link == "http://127.0.0.1:8000/posts/the-question-after-the-question/"
    document = json.loads((hub / "public/posts.json").read_text(encoding="utf-8"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert len(document["items"]) == 5
    everything = feedparser.parse((hub / "public/all.atom").read_bytes())
    assert not everything.bozo and len(everything.entries) == 6
    assert any(e.get("enclosures") for e in everything.entries)


def test_no_change_rebuild_renders_nothing_and_an_edit_renders_little(hub: Path) -> None:
    first = build_json(hub)
    assert first["rendered"] > 10
    second = build_json(hub)
    assert second["rendered"] == 0 and second["written"] == 0
    post = hub / "posts" / "a-page-a-morning.md"
    post.write_text(post.read_text().replace("One page, no more.", "One page, never more."))
    third = build_json(hub)
    assert 0 < third["rendered"] < first["rendered"] / 2
    page = (hub / "public/posts/a-page-a-morning/index.html").read_text(encoding="utf-8")
    assert "One page, never more." in page


def test_builds_are_deterministic(tmp_path: Path, hub: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(hub, other)
    build_json(hub)
    build_json(other)
    files = sorted(
        p.relative_to(hub / "public") for p in (hub / "public").rglob("*") if p.is_file()
    )
    assert files == sorted(
        p.relative_to(other / "public") for p in (other / "public").rglob("*") if p.is_file()
    )
    for rel in files:
        assert (hub / "public" / rel).read_bytes() == (other / "public" / rel).read_bytes(), rel


def test_a_hub_template_overrides_the_builtin_one(hub: Path) -> None:
    build_json(hub)
    (hub / "templates").mkdir()
    (hub / "templates" / "post.html").write_text(
        '{% extends "base.html" %}{% block main %}<p class="mine">{{ post.title }}</p>'
        "{% endblock %}",
        encoding="utf-8",
    )
    result = build_json(hub)
    page = (hub / "public/posts/deciding-in-the-open/index.html").read_text(encoding="utf-8")
    assert '<p class="mine">Deciding in the open</p>' in page
    # Only the pages made from the changed template set were rendered again.
    assert result["rendered"] >= 5


def test_scheduled_episode_goes_live_at_its_time(hub: Path) -> None:
    when = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    (folder,) = add_episodes(hub, 1, start=when.replace(tzinfo=None))
    config = config_module.load(hub)
    # The example hub's zone is Europe/Stockholm: 09:00 there is 08:00 UTC in March.
    live_at = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
    with Store(config.paths.database) as store:
        before = build(config, store, now=live_at - timedelta(minutes=1))
        assert before.scheduled == 1
        assert "Extra episode 0" not in (hub / "public/feed.xml").read_text()
        assert not (hub / "public/episodes" / folder.name).exists()
        after = build(config_module.load(hub), store, now=live_at)
        assert after.scheduled == 0 and "feed.xml" in after.changed_feeds
    assert "Extra episode 0" in (hub / "public/feed.xml").read_text()
    assert "guid:" in (folder / "episode.md").read_text()


@pytest.mark.parametrize(
    "name",
    [
        "sitemap.xml",
        "robots.txt",
        "archive/index.html",
        "tags/index.html",
        "episodes/index.html",
        "404.html",
    ],
)
def test_site_files_exist(hub: Path, name: str) -> None:
    build_json(hub)
    assert (hub / "public" / name).is_file()
    if name.endswith(".xml"):
        ET.parse(hub / "public" / name)


def test_blogroll_lists_the_sources_the_hub_follows(hub: Path) -> None:
    from mediahub.model import Source

    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        store.add_source(Source(url="https://radio.example.org/feed.xml", topic="radio"))
    build_json(hub)
    outline = ET.parse(hub / "public" / "blogroll.opml").getroot()
    urls = [o.get("xmlUrl") for o in outline.iter("outline") if o.get("xmlUrl")]
    assert urls == ["https://radio.example.org/feed.xml"]


def test_build_refuses_a_feed_directories_would_reject(hub: Path) -> None:
    build_json(hub)
    before = (hub / "public/feed.xml").read_bytes()
    toml = hub / "mediahub.toml"
    toml.write_text(toml.read_text().replace('category = "Business"', 'category = "Buisness"'))
    result = run_cli("build", cwd=hub)
    assert result.code == 2
    assert "category" in result.err and "Buisness" in result.err
    assert "Traceback" not in result.err
    assert (hub / "public/feed.xml").read_bytes() == before


def test_a_first_build_with_a_feed_directories_would_reject_publishes_nothing(
    hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first build, with forked workers, whose feed the checks refuse: no site, no
    hidden staging folder left behind, and no record of a write cut short."""
    monkeypatch.setenv("MEDIAHUB_WORKERS", "2")
    toml = hub / "mediahub.toml"
    good = toml.read_text()
    toml.write_text(good.replace('category = "Business"', 'category = "Buisness"'))
    result = run_cli("build", cwd=hub)
    assert result.code == 2 and "Buisness" in result.err and "Traceback" not in result.err
    assert not (hub / "public").exists()
    assert not [p.name for p in hub.iterdir() if p.name.startswith(".public.building-")]
    # Not recorded as a build cut short (that would make the next one walk everything).
    with sqlite3.connect(hub / ".mediahub" / "mediahub.db") as db:
        assert db.execute("SELECT count(*) FROM writing").fetchone() == (0,)
    toml.write_text(good)
    assert run_cli("build", cwd=hub).code == 0
    assert (hub / "public" / "feed.xml").is_file()


def test_parallel_and_serial_builds_write_the_same_bytes(tmp_path: Path, hub: Path) -> None:
    import os
    import subprocess
    import sys

    add_episodes(hub, 40)
    other = tmp_path / "serial"
    shutil.copytree(hub, other)
    outputs = []
    for folder, workers in ((hub, "2"), (other, "1")):
        env = {**os.environ, "MEDIAHUB_WORKERS": workers}
        proc = subprocess.run(
            [sys.executable, "-m", "mediahub", "build", "--json"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(json.loads(proc.stdout))
        # GUIDs are assigned by the build: give both copies the same ones for the comparison.
        if folder == hub:
            for md in hub.glob("episodes/*/episode.md"):
                shutil.copy2(md, other / md.relative_to(hub))
            shutil.copy2(hub / "mediahub.toml", other / "mediahub.toml")
    assert outputs[0]["rendered"] == outputs[1]["rendered"] > 40
    for path in sorted((hub / "public").rglob("*")):
        if path.is_file():
            rel = path.relative_to(hub / "public")
            assert path.read_bytes() == (other / "public" / rel).read_bytes(), rel


def test_a_first_builds_digest_is_the_one_the_next_build_compares(hub: Path) -> None:
    """A first build takes the content digest from its scan, not from a second listing;
    the no-change check lists with ``quick_digest``: both must agree, or no rebuild
    would ever be recognised as a no-change one."""
    from mediahub.content_scan import quick_digest, scan_sources

    (hub / "episodes" / "not-an-episode").mkdir()
    (hub / "episodes" / "not-an-episode" / "notes.txt").write_text("draft", encoding="utf-8")
    (hub / "posts" / "2026").mkdir()
    (hub / "posts" / "2026" / "nested.md").write_text(
        "---\ntitle: Nested\ndate: 2026-01-02\n---\n\nBody.\n", encoding="utf-8"
    )
    config = config_module.load(hub)
    sources = scan_sources(config)
    assert any("not-an-episode" in p.where for p in sources.problems)
    assert sources.digest == quick_digest(config)
    (hub / "posts" / "2026" / "nested.md").write_text("changed", encoding="utf-8")
    assert quick_digest(config) != sources.digest


def test_a_first_read_parsing_while_it_scans_finds_what_a_serial_read_finds(
    hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing cached, forked workers parse chunks while the scan is still listing
    folders: the entries, the problems, the fingerprints, the digest and what the
    stamp records must all be those of a scan first, then a serial parse."""
    from mediahub.content import read_all
    from mediahub.content_scan import quick_digest
    from mediahub.publish.stamp import Inputs

    add_episodes(hub, 150)
    (hub / "episodes" / "not-an-episode").mkdir()
    (hub / "posts" / "broken.md").write_text("no front matter\n", encoding="utf-8")
    config = config_module.load(hub)
    seen = []
    for workers in ("2", "1"):
        monkeypatch.setenv("MEDIAHUB_WORKERS", workers)
        shutil.rmtree(config.paths.state, ignore_errors=True)  # nothing cached
        inputs = Inputs()
        with Store(config.paths.database) as store:  # the workers open it too
            content = read_all(config, store, inputs)
        seen.append(
            (
                [e.slug for e in content.episodes],
                [(p.slug, p.body_html) for p in content.posts],
                [p.line() for p in content.problems],
                content.fingerprints,
                content.digest,
                sorted(inputs.files),
                sorted(inputs.folders),
            )
        )
    streamed, serial = seen
    assert streamed == serial
    assert len(streamed[0]) > 150
    assert any("not-an-episode" in line for line in streamed[2])
    assert any("broken.md" in line for line in streamed[2])
    assert streamed[4] == quick_digest(config)


def test_a_second_build_of_unchanged_content_is_recognised_as_one(
    hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mediahub.content as content

    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        build(config, store, datetime.now(UTC))

        def no_scan(*args: object) -> None:
            raise AssertionError("a no-change build scanned the content folders")

        monkeypatch.setattr(content, "SourceScan", no_scan)
        again = build(config, store, datetime.now(UTC))
    assert again.stats.rendered == 0 and again.stats.written == 0 and again.stats.unchanged


def test_the_cycle_collector_is_paused_for_a_build_and_resumed_after_it(hub: Path) -> None:
    """A build pauses gc (its objects are long-lived, its cyclic garbage next to none)
    and gives it back, whether the build succeeds or fails."""
    import gc

    seen: list[bool] = []
    config = config_module.load(hub)
    with Store(config.paths.database) as store:
        build(config, store, now=datetime.now(UTC), progress=lambda _: seen.append(gc.isenabled()))
        assert seen and not any(seen)
        assert gc.isenabled()
        (hub / "posts" / "broken.md").write_text("no front matter\n", encoding="utf-8")
        with pytest.raises(BuildError):
            build(config, store, now=datetime.now(UTC))
        assert gc.isenabled()


def test_absolute_links_skip_the_regex_only_when_it_would_change_nothing() -> None:
    """The quick check (every link value has a scheme) never hides a link to fix."""
    import random
    import re

    from mediahub.publish import html

    base = "https://pod.example.org/show/"
    host = "https://pod.example.org"

    def reference(text: str) -> str:
        def fix(match: re.Match[str]) -> str:
            value = match.group(2)
            absolute = host + value if value.startswith("/") else urljoin(base, value)
            return f'{match.group(1)}{absolute}"'

        return html._LINK_ATTR.sub(fix, text)

    pieces = [" ", "\n", "<a", "<img", " href=", " src=", " poster=", "data-src=", '"', ">"]
    pieces += ["https:", "mailto:x", "//cdn", "/p", "../x", "#top", "a", "é", "x:y", ":"]
    rng = random.Random(11)
    fixed = 0
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.5:  # a well-formed link among the noise
            value = "".join(rng.choice(pieces[10:]) for _ in range(rng.randint(0, 3)))
            text += f'<a {rng.choice(["href", "src", "poster"])}="{value}">x</a>'
        expected = reference(text)
        assert html.absolute_links(text, base) == expected, text
        fixed += expected != text
    assert fixed > 3000  # the slow path ran too
