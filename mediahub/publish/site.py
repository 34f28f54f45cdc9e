"""Build the site: read content, plan every page and feed, hand them to the writer.

Readers -> renderers -> writer, in that order. If any file is bad, nothing is
written (unless the caller asks to keep going), so public/ is never half-built.
Each page is planned with an input key (its data, the templates and the
configuration); a page whose key is unchanged since the last build is not
even rendered, so a no-change rebuild does almost nothing.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediahub import __version__
from mediahub import model as model_module
from mediahub.config import Config, record_podcast_guid
from mediahub.content_scan import fingerprint, quick_digest
from mediahub.errors import BuildError, ContentError, MediahubError
from mediahub.files import exclusive
from mediahub.model import Episode, Post
from mediahub.publish import stamp
from mediahub.publish.keys import (
    builtin_templates,
    digest,
    static_fingerprint,
    templates_fingerprint,
)
from mediahub.publish.links import Links
from mediahub.publish.writer import WriteStats
from mediahub.store import Store

if TYPE_CHECKING:  # the renderers are imported only when a build has work to do
    from jinja2 import Environment

    from mediahub.content import Content
    from mediahub.publish.plan import SitePlan


@dataclass
class BuildResult:
    episodes: int
    posts: int
    scheduled: int
    stats: WriteStats
    skipped: list[MediahubError] = field(default_factory=list)
    # Site paths of the feeds whose bytes changed in this build (for WebSub pings).
    changed_feeds: list[str] = field(default_factory=list)


def build(
    config: Config,
    store: Store,
    now: datetime,
    keep_going: bool = False,
    progress: Callable[[str], None] | None = None,
    *,
    leave_stamp: bool = False,
    url_option: str | None = None,
) -> BuildResult:
    """Publish every episode and post whose date has come; raise BuildError on bad input.

    When nothing that a build reads has changed since the last complete one (content
    files, configuration, templates, the followed sources) and no scheduled entry
    has come due, the outputs are still right and nothing is read or rendered.
    One build at a time per hub, across processes (a server's and the command's).

    ``leave_stamp``: leave a build stamp (publish/stamp.py) for the next ``mediahub
    build`` given ``url_option`` as its ``--url`` (None: none given, the command's
    ``config`` is mediahub.toml's). Any build that writes the site removes the
    stamp first.
    """
    with exclusive(config.paths.output_lock), _without_cycle_collection():
        return _build(config, store, now, keep_going, progress, leave_stamp, url_option)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector for one build.

    A build makes hundreds of thousands of long-lived objects (entries, pages,
    keys) and next to no cyclic garbage: the bench hub's single-process build
    peaks at the same memory either way. The collector's passes over those
    objects took 0.11-0.13 s of a cold build of that hub, all of it in the
    process that plans and waits on the workers. Builds hold the output lock,
    so they never overlap here.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _build(
    config: Config,
    store: Store,
    now: datetime,
    keep_going: bool,
    progress: Callable[[str], None] | None,
    leave_stamp: bool,
    url_option: str | None,
) -> BuildResult:
    root = str(config.paths.root)
    # A stamp is found by the hub's root alone: only with the default state folder.
    stamping = leave_stamp and config.paths.state == config.paths.root / stamp.STATE
    inputs = stamp.Inputs() if stamping else None
    last = store.last_build(str(config.paths.output))
    if last is not None:
        build_digest = _build_digest(config, store, quick_digest(config, inputs), inputs)
        unchanged = _unchanged_since_last_build(config, last, build_digest, now)
        if unchanged is not None:
            # (a build with problems is never recorded as complete)
            if inputs is not None:
                last_due = last[1]
                stamp.write(
                    root,
                    inputs,
                    url=url_option,
                    output=str(config.paths.output),
                    due=stamp.due_ns(datetime.fromisoformat(last_due) if last_due else None),
                    outputs=last[2].get("outputs", []),
                    counts=(unchanged.episodes, unchanged.posts, unchanged.scheduled),
                )
            return unchanged
    # This build may write the site: no stamp may vouch for it until it is complete.
    stamp.remove(stamp.state_folder(root))
    if last is None:  # recorded (for the stamp) before templates are read, below
        head = _build_head(config, store, inputs)
    from mediahub.content import assign_guid, read_all

    prepared: list[Environment] = []
    content = read_all(
        config,
        store,
        inputs if last is None else None,
        meanwhile=lambda: _prepare_rendering(config, prepared),
    )
    if last is None:  # a first build: the scan's own digest, not a second listing
        build_digest = digest(head, content.digest)
    from mediahub.publish.check import podcast_guid
    from mediahub.publish.plan import SitePlan, site_environment
    from mediahub.publish.topics import plan_topics

    env = prepared[0] if prepared else site_environment(config)
    problems = list(content.problems)
    if problems and not keep_going:
        raise BuildError(problems)
    episodes = sorted(
        (e for e in content.episodes if is_live(e, now)), key=lambda e: e.date, reverse=True
    )
    posts = sorted(
        (p for p in content.posts if is_live(p, now)), key=lambda p: p.date, reverse=True
    )
    scheduled = len(content.episodes) + len(content.posts) - len(episodes) - len(posts)
    duplicate = _duplicate_guids(episodes)
    if duplicate:
        raise BuildError(duplicate)
    links = Links(config.show.url)
    # Writing a guid changes a source file: the digest saved below must see it.
    writes_sources = config.show.podcast.guid is None or any(not e.guid for e in episodes)
    if config.show.podcast.guid is None:
        config = record_podcast_guid(config, podcast_guid(links.feed()))
    episodes = [assign_guid(e) for e in episodes]
    if progress:
        progress(f"planning {len(episodes)} episodes and {len(posts)} posts")
    site = SitePlan(config, store, links, content.fingerprints, env)
    site.plan(episodes, posts)
    plan_topics(site.writer, site.env, links, site.common, store, now)
    before = _feed_bytes(config.paths.output, site.feed_paths)
    store.begin_writing(str(config.paths.output))
    try:
        # While the workers write: the store's WAL (the parse cache, tens of MB on a
        # first build) into the database, which closing the store would otherwise do after.
        stats = site.writer.commit(
            last=tuple(site.feed_paths),
            meanwhile=store.checkpoint,
            check=lambda: _refuse_broken_feed(site),
        )
    except BuildError:
        # Only the check raises it, and before any output is in place: nothing was
        # cut short, so the next build need not walk the whole folder.
        store.end_writing(str(config.paths.output))
        raise
    store.save_output_keys(str(config.paths.output), site.writer.keys())
    changed = [p for p in site.feed_paths if _read(config.paths.output / p) != before.get(p)]
    if not problems:
        due = next_scheduled(content, now)
        outputs = sorted(site.writer.planned)
        summary = {
            "episodes": len(episodes),
            "posts": len(posts),
            "scheduled": scheduled,
            "outputs": outputs,
        }
        # The build itself may have written a guid or podcast:guid: then scan again.
        if writes_sources:
            inputs = stamp.Inputs() if stamping else None
            build_digest = _build_digest(config, store, quick_digest(config, inputs), inputs)
        store.save_build(
            str(config.paths.output),
            build_digest,
            due.isoformat() if due else None,
            summary,
        )
        if inputs is not None:
            stamp.write(
                root,
                inputs,
                url=url_option,
                output=str(config.paths.output),
                due=stamp.due_ns(due),
                outputs=outputs,
                counts=(len(episodes), len(posts), scheduled),
            )
    return BuildResult(
        episodes=len(episodes),
        posts=len(posts),
        scheduled=scheduled,
        stats=stats,
        skipped=problems,
        changed_feeds=changed,
    )


def _prepare_rendering(config: Config, prepared: list[Environment]) -> None:
    """Load what rendering needs (jinja2, the planners, every template compiled) into
    ``prepared``. A build does it while the parse workers run: they were forked before
    and never need it, and the render workers, forked after, inherit it all."""
    from mediahub.publish import check, topics  # noqa: F401 (loaded now, used after)
    from mediahub.publish.plan import site_environment
    from mediahub.publish.templating import compile_templates

    env = site_environment(config)
    compile_templates(env)
    prepared.append(env)


def _build_digest(
    config: Config, store: Store, sources: str, inputs: stamp.Inputs | None = None
) -> str:
    """Everything a build reads, in one digest (file contents by size and mtime);
    ``sources`` is the content folders' digest (``quick_digest``). ``inputs`` records
    the rest of what the digest reads (for the build stamp), each before it is read."""
    return digest(_build_head(config, store, inputs), sources)


def _build_head(config: Config, store: Store, inputs: stamp.Inputs | None = None) -> str:
    """``_build_digest`` but for the content folders: the program, the configuration,
    the templates, the show's image and the followed sources."""
    image = config.show.image
    if inputs is not None:
        inputs.file(os.path.abspath(config.source))
        if image is not None:
            inputs.file(str(image))
        inputs.tree(str(builtin_templates()))
        inputs.tree(str(config.paths.templates))
        inputs.file(str(model_module.__file__))  # the parse cache's key holds its SHAPE
        inputs.token = store.sources_token()
    followed = [(s.source.url, s.last_fetched, s.podcast_guid) for s in store.list_sources()]
    return digest(
        __version__,
        config.source.read_bytes(),
        config.show.url,
        templates_fingerprint(config.paths.templates),
        static_fingerprint(config.paths.templates),
        fingerprint(image) if image is not None else None,
        followed,
    )


def _unchanged_since_last_build(
    config: Config, last: tuple[str, str | None, dict[str, Any]], digest: str, now: datetime
) -> BuildResult | None:
    """The last build's result if it is still exactly right, else None."""
    output = config.paths.output
    if last[0] != digest:
        return None
    due, summary = last[1], last[2]
    if due is not None and datetime.fromisoformat(due) <= now:
        return None
    outputs = summary.get("outputs", [])
    root = os.path.join(output, "")
    if not outputs or not all(os.path.exists(root + p) for p in outputs):
        return None
    return BuildResult(
        episodes=int(summary.get("episodes", 0)),
        posts=int(summary.get("posts", 0)),
        scheduled=int(summary.get("scheduled", 0)),
        stats=WriteStats(unchanged=len(outputs)),
    )


def _refuse_broken_feed(site: SitePlan) -> None:
    """Run the error rules of ``mediahub check`` on the podcast feed before any output
    can be seen (the writer's ``check``); a feed that apps or directories would refuse
    is not published."""
    from mediahub.publish.check import check_feed, feed_errors
    from mediahub.publish.check_files import LocalFiles

    writer = site.writer
    feed = Links.feed_path()
    if feed not in writer.planned or not writer.needs_render(feed):
        return  # unchanged since it was last checked and written
    data = writer.materialize(feed)
    files = {rel: v for rel, v in writer.planned.items() if isinstance(v, (bytes, Path))}
    resolver = LocalFiles(site.links.base_url, site.config.paths.output, files)
    errors = feed_errors(check_feed(data, feed_url=site.links.feed(), resolve=resolver))
    if errors:
        raise BuildError(errors)


def is_live(entry: Episode | Post, now: datetime) -> bool:
    """Published: not a draft and its date has come."""
    return not entry.draft and entry.date <= now


def next_scheduled(content: Content, now: datetime) -> datetime | None:
    """When the next scheduled (future-dated, non-draft) entry goes live, if any."""
    entries: list[Episode | Post] = [*content.episodes, *content.posts]
    return min((e.date for e in entries if not e.draft and e.date > now), default=None)


def _duplicate_guids(episodes: Sequence[Episode]) -> list[MediahubError]:
    seen: dict[str, Episode] = {}
    problems: list[MediahubError] = []
    for episode in episodes:
        if episode.guid and episode.guid in seen:
            other = seen[episode.guid].folder
            problems.append(
                ContentError(
                    str(episode.folder / "episode.md"),
                    f"has the same guid as {other}",
                    "a guid must be unique: remove the copied 'guid:' line",
                )
            )
        seen[episode.guid] = episode
    return problems


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _feed_bytes(output: Path, paths: Iterable[str]) -> dict[str, bytes | None]:
    return {p: _read(output / p) for p in paths}
