"""Building the example hub: pages, the podcast feed as podcast apps read it, stable GUIDs."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import mutagen
import podcastparser
import pytest
import yaml

from tests.conftest import copy_example_hub, run_cli


def front_matter(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    return dict(yaml.safe_load(text.split("---")[1]))


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def built(hub: Path) -> Path:
    result = run_cli("build", cwd=hub)
    assert result.code == 0, result.err
    return hub


def test_feed_matches_the_sources_as_podcastparser_reads_it(built: Path) -> None:
    feed_path = built / "public" / "feed.xml"
    with feed_path.open("rb") as stream:
        parsed = podcastparser.parse("http://127.0.0.1:8000/feed.xml", stream)
    assert parsed["title"] == "The Quiet Leader"
    assert parsed["cover_url"] == "http://127.0.0.1:8000/cover.jpg"
    folders = sorted(p.parent for p in (built / "episodes").glob("*/episode.md"))
    assert len(parsed["episodes"]) == len(folders) >= 1
    by_guid = {e["guid"]: e for e in parsed["episodes"]}
    tz = ZoneInfo("Europe/Stockholm")
    for folder in folders:
        meta = front_matter(folder / "episode.md")
        episode = by_guid[str(meta["guid"])]
        assert episode["title"] == meta["title"]
        when = meta["date"]
        when = datetime.fromisoformat(when) if isinstance(when, str) else when
        assert isinstance(when, datetime)
        assert episode["published"] == int(when.replace(tzinfo=tz).timestamp())
        (audio,) = folder.glob("*.mp3")
        (enclosure,) = episode["enclosures"]
        assert enclosure["url"] == (
            f"http://127.0.0.1:8000/episodes/{folder.name}/{folder.name}.mp3"
        )
        assert enclosure["file_size"] == audio.stat().st_size
        assert enclosure["mime_type"] == "audio/mpeg"
        assert episode["total_time"] == round(mutagen.File(audio).info.length)
        assert episode["link"] == f"http://127.0.0.1:8000/episodes/{folder.name}/"
        # The published media is the same bytes as the source.
        published = built / "public" / "episodes" / folder.name / f"{folder.name}.mp3"
        assert published.read_bytes() == audio.read_bytes()


def test_pages_exist_link_the_feed_and_list_newest_first(built: Path) -> None:
    public = built / "public"
    pages = sorted(public.rglob("*.html"))
    names = {p.relative_to(public).as_posix() for p in pages}
    expected = {
        "index.html",
        "404.html",
        "episodes/index.html",
        "archive/index.html",
        "tags/index.html",
        "tags/listening/index.html",
    }
    expected |= {f"posts/{p.stem}/index.html" for p in (built / "posts").glob("*.md")}
    expected |= {f"episodes/{p.name}/index.html" for p in (built / "episodes").glob("*-*")}
    assert expected <= names, expected - names
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert '<link rel="alternate" type="application/rss+xml"' in html, page
        assert 'href="http://127.0.0.1:8000/feed.xml"' in html
    home = (public / "index.html").read_text(encoding="utf-8")
    titles = [
        "Writing before coaching",
        "The question after the question",
        "Deciding in the open",
        "Saying the hard thing plainly",
        "A page a morning",
        "The first ninety days are for listening",
    ]
    positions = [home.index(t) for t in titles]
    assert positions == sorted(positions), "home page is not newest first"
    episode_page = next(public.glob("episodes/*/index.html")).read_text(encoding="utf-8")
    assert '<audio id="player" controls' in episode_page
    assert "download" in episode_page and ".mp3" in episode_page
    assert "Why write first?" in episode_page  # a chapter
    assert "Ask one more question than feels comfortable." in episode_page  # the transcript


def test_rebuild_without_changes_writes_nothing_and_is_identical(built: Path) -> None:
    before = tree_digest(built / "public")
    again = run_cli("build", "--json", cwd=built)
    assert again.code == 0, again.err
    assert '"written": 0' in again.out
    assert tree_digest(built / "public") == before


def test_guid_is_written_once_and_survives_a_lost_database(hub: Path) -> None:
    source = next(hub.glob("episodes/*/episode.md"))
    text = source.read_text(encoding="utf-8")
    without = "\n".join(line for line in text.splitlines() if not line.startswith("guid:")) + "\n"
    source.write_text(without, encoding="utf-8")
    assert run_cli("build", cwd=hub).code == 0
    guid = front_matter(source)["guid"]
    assert isinstance(guid, str) and len(guid) == 36
    # The rest of the file is untouched: only the guid line was added.
    assert source.read_text(encoding="utf-8").replace(f"guid: {guid}\n", "") == without
    shutil.rmtree(hub / ".mediahub")
    assert run_cli("build", cwd=hub).code == 0
    assert front_matter(source)["guid"] == guid
    assert f">{guid}</guid>" in (hub / "public" / "feed.xml").read_text(encoding="utf-8")


def test_drafts_and_future_entries_are_not_published(hub: Path) -> None:
    future = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)
    (hub / "posts" / "next-year.md").write_text(
        f"---\ntitle: Not yet\ndate: {future.isoformat()}\n---\nSoon.\n", encoding="utf-8"
    )
    (hub / "posts" / "draft.md").write_text(
        "---\ntitle: Half done\ndate: 2026-01-01\ndraft: true\n---\nWIP.\n", encoding="utf-8"
    )
    result = run_cli("build", cwd=hub)
    assert result.code == 0, result.err
    assert "(2 scheduled or draft)" in result.out
    assert not (hub / "public" / "posts" / "next-year").exists()
    assert not (hub / "public" / "posts" / "draft").exists()


def test_build_url_overrides_the_base_url(hub: Path) -> None:
    result = run_cli("build", "--url", "https://pod.example.org/show/", cwd=hub)
    assert result.code == 0, result.err
    feed = (hub / "public" / "feed.xml").read_text(encoding="utf-8")
    assert 'href="https://pod.example.org/show/feed.xml"' in feed
    page = (hub / "public" / "index.html").read_text(encoding="utf-8")
    assert 'href="/show/static/style.css"' in page


def test_a_removed_post_disappears_from_the_site(built: Path) -> None:
    (built / "posts" / "a-page-a-morning.md").unlink()
    assert run_cli("build", cwd=built).code == 0
    assert not (built / "public" / "posts" / "a-page-a-morning").exists()


def test_a_changed_base_url_changes_every_link_even_with_compiled_templates_kept(
    hub: Path,
) -> None:
    """Link filters read the page's links at render time: the compiled templates that
    builds keep in the user's cache must not carry the old base URL."""
    assert run_cli("build", "--url", "https://pod.example.org/one/", cwd=hub).code == 0
    assert run_cli("build", "--url", "https://pod.example.org/two/", cwd=hub).code == 0
    public = hub / "public"
    pages = [public / "index.html", *public.glob("episodes/*/index.html")]
    pages += [*public.glob("posts/*/index.html"), public / "archive" / "index.html"]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "/one/" not in html, page
        assert 'href="/two/static/style.css"' in html, page
    assert "https://pod.example.org/two/posts/" in (public / "sitemap.xml").read_text()


def test_a_first_build_appears_whole_or_not_at_all(hub: Path) -> None:
    """Into a missing public/, a build writes a hidden sibling folder and renames it:
    a template that fails half-way leaves no public/ and no staging folder behind."""
    (hub / "templates").mkdir(exist_ok=True)
    (hub / "templates" / "post.html").write_text(
        '{% extends "base.html" %}{% block main %}{{ post.no_such_field }}{% endblock %}',
        encoding="utf-8",
    )
    failed = run_cli("build", cwd=hub)
    assert failed.code != 0
    assert "post.html" in failed.err and "Traceback" not in failed.err
    assert sorted(p.name for p in hub.iterdir() if "public" in p.name) == []
    (hub / "templates" / "post.html").unlink()
    assert run_cli("build", cwd=hub).code == 0
    assert (hub / "public" / "feed.xml").is_file()
    assert sorted(p.name for p in hub.iterdir() if "public" in p.name) == ["public"]


def test_files_put_into_public_by_hand_stay_and_removed_entries_go(built: Path) -> None:
    """Stale outputs are what the last build wrote and this one no longer plans."""
    mine = built / "public" / "keybase.txt"
    mine.write_text("proof\n", encoding="utf-8")
    (built / "posts" / "deciding-in-the-open.md").unlink()
    assert run_cli("build", cwd=built).code == 0
    assert mine.read_text(encoding="utf-8") == "proof\n"
    assert not (built / "public" / "posts" / "deciding-in-the-open").exists()
    listing = (built / "public" / "index.html").read_text(encoding="utf-8")
    assert "posts/deciding-in-the-open/" not in listing


def test_an_overridden_list_item_macro_is_used_on_every_listing(hub: Path) -> None:
    """List items are rendered once per entry and reused: from the hub's own macro."""
    builtin = Path(__file__).parents[1] / "templates" / "_macros.html"
    own = builtin.read_text(encoding="utf-8").replace(
        '<li class="entry {{ entry.kind }}">', '<li class="entry mine {{ entry.kind }}">'
    )
    (hub / "templates").mkdir(exist_ok=True)
    (hub / "templates" / "_macros.html").write_text(own, encoding="utf-8")
    assert run_cli("build", cwd=hub).code == 0
    public = hub / "public"
    for page in (public / "index.html", public / "episodes" / "index.html"):
        assert 'class="entry mine' in page.read_text(encoding="utf-8"), page
    tag_pages = list(public.glob("tags/*/index.html"))
    assert tag_pages and all('class="entry mine' in p.read_text() for p in tag_pages)


def test_the_staging_folder_of_a_killed_first_build_is_swept(hub: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = hub / f".public.building-{dead.pid}"
    (leftover / "posts").mkdir(parents=True)
    (leftover / "posts" / "index.html").write_text("half", encoding="utf-8")
    assert run_cli("build", cwd=hub).code == 0
    assert not leftover.exists()
    assert (hub / "public" / "index.html").is_file()


def test_characters_xml_forbids_in_show_notes_never_break_the_feed(hub: Path) -> None:
    import xml.etree.ElementTree as ET

    source = next(hub.glob("episodes/*/episode.md"))
    text = source.read_text(encoding="utf-8")
    source.write_text(text + "\nA pasted \x0bvertical tab and a \x01 start-of-heading.\n")
    result = run_cli("build", cwd=hub)
    assert result.code == 0, result.err
    feed = (hub / "public" / "feed.xml").read_bytes()
    root = ET.fromstring(feed)  # well-formed
    notes = "".join(e.text or "" for e in root.iterfind(".//{*}encoded"))
    assert "vertical tab" in notes and "\x0b" not in notes and "\x01" not in notes


def test_a_replaced_cover_image_is_published_by_the_next_build(built: Path) -> None:
    """The show's image is an input like any other: same name, new bytes, new output."""
    from mediahub.artwork import placeholder_cover

    cover = built / "episodes" / "cover.jpg"
    before = (built / "public" / "cover.jpg").read_bytes()
    placeholder_cover(cover, "another seed entirely")
    assert cover.read_bytes() != before
    assert run_cli("build", cwd=built).code == 0
    assert (built / "public" / "cover.jpg").read_bytes() == cover.read_bytes()


def test_an_edit_in_place_to_a_post_is_seen_by_the_next_build(built: Path) -> None:
    post = built / "posts" / "deciding-in-the-open.md"
    with post.open("a", encoding="utf-8") as handle:  # same file, no rename: mtime and size
        handle.write("\nA sentence added in place.\n")
    assert run_cli("build", cwd=built).code == 0
    page = built / "public" / "posts" / "deciding-in-the-open" / "index.html"
    assert "A sentence added in place." in page.read_text(encoding="utf-8")


def test_a_build_waits_while_another_process_writes_the_site(hub: Path) -> None:
    """One writer at a time per hub: the command waits for a running server's build."""
    import subprocess
    import sys
    import time

    from mediahub.files import exclusive

    lock = hub / ".mediahub" / "output.lock"
    with exclusive(lock):
        waiting = subprocess.Popen(
            [sys.executable, "-m", "mediahub", "--root", str(hub), "build"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.5)  # ample time to build this hub, were it not waiting
        assert waiting.poll() is None
        assert not (hub / "public").exists()
    _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert (hub / "public" / "feed.xml").is_file()


def test_a_public_folder_that_is_a_link_stays_a_link(hub: Path, tmp_path: Path) -> None:
    """Some hosts point public/ at the web server's folder: a build writes through it."""
    served = tmp_path / "www"
    served.mkdir()
    (hub / "public").symlink_to(served)
    assert run_cli("build", cwd=hub).code == 0
    assert (hub / "public").is_symlink()
    assert (served / "feed.xml").is_file()


def test_an_added_or_edited_static_file_is_published_by_the_next_build(built: Path) -> None:
    """templates/static/ is an input of the build like the templates themselves."""
    static = built / "templates" / "static"
    static.mkdir(parents=True)
    (static / "style.css").write_text("body { color: teal; }\n", encoding="utf-8")
    assert run_cli("build", cwd=built).code == 0
    published = built / "public" / "static" / "style.css"
    assert published.read_text(encoding="utf-8") == "body { color: teal; }\n"
    (static / "extra.css").write_text("p { margin: 0; }\n", encoding="utf-8")
    assert run_cli("build", cwd=built).code == 0
    assert (built / "public" / "static" / "extra.css").is_file()


def test_the_input_keys_of_a_build_survive_the_upgrade_to_one_row_per_folder(
    built: Path,
) -> None:
    """A store from before output keys were kept as one JSON object per output folder
    (a row per file) is migrated with its keys: the next build after an edit renders
    only what the edit touched, as it would have without the upgrade."""
    import json
    import sqlite3

    database = built / ".mediahub" / "mediahub.db"
    with sqlite3.connect(database) as db:  # back to the schema before the migration
        (output, keys), *others = db.execute("SELECT output, keys FROM output_keys").fetchall()
        assert not others
        db.executescript(
            "CREATE TABLE outputs (output TEXT NOT NULL, path TEXT NOT NULL,"
            " input_key TEXT NOT NULL, PRIMARY KEY (output, path));"
            " DROP TABLE output_keys;"
            " UPDATE schema_version SET version = 3 WHERE component = 'builds';"
        )
        db.executemany(
            "INSERT INTO outputs VALUES (?, ?, ?)",
            ((output, path, key) for path, key in json.loads(keys).items()),
        )
    post = built / "posts" / "deciding-in-the-open.md"
    with post.open("a", encoding="utf-8") as handle:
        handle.write("\nOne more line.\n")
    result = run_cli("build", "--json", cwd=built)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    # the post's page, the listings and feeds that show it; not the whole site again
    assert 0 < report["rendered"] < 20 < report["unchanged"]
    with sqlite3.connect(database) as db:
        (migrated,) = db.execute("SELECT keys FROM output_keys").fetchone()
        assert json.loads(migrated).keys() == json.loads(keys).keys()


def test_a_second_hubs_first_build_reuses_the_compiled_built_in_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled templates live in the user's cache (MEDIAHUB_CACHE_DIR here), so a
    first build of another hub compiles none of the built-in ones again."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MEDIAHUB_CACHE_DIR", str(cache))
    one, two = copy_example_hub(tmp_path / "one"), copy_example_hub(tmp_path / "two")
    assert run_cli("build", cwd=one).code == 0
    compiled = {p.name: p.stat().st_mtime_ns for p in (cache / "jinja").iterdir()}
    assert len(compiled) >= 10  # every page and feed template
    assert run_cli("build", cwd=two).code == 0
    assert {p.name: p.stat().st_mtime_ns for p in (cache / "jinja").iterdir()} == compiled
    assert not (two / ".mediahub" / "jinja").exists()
    assert tree_digest(one / "public").keys() == tree_digest(two / "public").keys()


def test_a_cache_folder_that_cannot_be_made_costs_only_speed(
    hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    monkeypatch.setenv("MEDIAHUB_CACHE_DIR", str(blocker / "cache"))
    result = run_cli("build", cwd=hub)
    assert result.code == 0, result.err
    assert (hub / "public" / "feed.xml").is_file()
