"""Build the site: read content, render pages and the feed, hand them to the writer.

Readers -> renderers -> writer, in that order. If any file is bad, nothing is
written (unless the caller asks to keep going), so public/ is never half-built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mediahub.config import Config
from mediahub.content import assign_guid, read_all
from mediahub.errors import BuildError, ContentError, MediahubError
from mediahub.model import Episode, Post
from mediahub.publish.feeds import render_podcast_feed
from mediahub.publish.links import Links
from mediahub.publish.templating import builtin_templates, environment
from mediahub.publish.writer import Writer, WriteStats
from mediahub.store import Store


@dataclass
class BuildResult:
    episodes: int
    posts: int
    scheduled: int
    stats: WriteStats
    skipped: list[MediahubError] = field(default_factory=list)


def build(
    config: Config,
    store: Store,
    now: datetime,
    keep_going: bool = False,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Publish every episode and post whose date has come; raise BuildError on bad input."""
    content = read_all(config, store)
    problems = list(content.problems)
    if problems and not keep_going:
        raise BuildError(problems)
    episodes = sorted(
        (e for e in content.episodes if _is_live(e, now)), key=lambda e: e.date, reverse=True
    )
    posts = sorted(
        (p for p in content.posts if _is_live(p, now)), key=lambda p: p.date, reverse=True
    )
    scheduled = len(content.episodes) + len(content.posts) - len(episodes) - len(posts)
    duplicate = _duplicate_guids(episodes)
    if duplicate:
        raise BuildError(duplicate)
    episodes = [assign_guid(e) for e in episodes]
    if progress:
        progress(f"rendering {len(episodes)} episodes and {len(posts)} posts")
    writer = _render(config, episodes, posts)
    stats = writer.commit(last=(Links.feed_path(),))
    return BuildResult(
        episodes=len(episodes), posts=len(posts), scheduled=scheduled, stats=stats, skipped=problems
    )


def _is_live(entry: Episode | Post, now: datetime) -> bool:
    return not entry.draft and entry.date <= now


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


def _render(config: Config, episodes: list[Episode], posts: list[Post]) -> Writer:
    env = environment(config.paths.templates)
    links = Links(config.show.url)
    writer = Writer(config.paths.output)
    show_image = None
    if config.show.image is not None:
        image_path = f"cover{config.show.image.suffix.lower()}"
        writer.copy(image_path, config.show.image)
        show_image = links.url(image_path)
    common: dict[str, Any] = {"show": config.show, "links": links, "show_image": show_image}

    def page(rel: str, template: str, **extra: Any) -> None:
        writer.add(rel, env.get_template(template).render(**common, **extra))

    entries: list[Episode | Post] = sorted([*episodes, *posts], key=lambda e: e.date, reverse=True)
    page("index.html", "index.html", entries=entries)
    page("404.html", "404.html")
    for episode in episodes:
        page(Links.page_path(episode) + "index.html", "episode.html", episode=episode)
        writer.copy(Links.media_path(episode), episode.audio.path)
        if episode.chapters_file:
            writer.copy(Links.chapters_path(episode), episode.chapters_file)
        if episode.transcript_file:
            writer.copy(Links.transcript_path(episode), episode.transcript_file)
        image_rel = Links.episode_image_path(episode)
        if image_rel and episode.image:
            writer.copy(image_rel, episode.image)
    for post in posts:
        page(Links.page_path(post) + "index.html", "post.html", post=post)
    for rel, source in _static_files(config.paths.templates).items():
        writer.copy(f"static/{rel}", source)
    updated = entries[0].date if entries else None
    writer.add(
        Links.feed_path(),
        render_podcast_feed(env, config.show, episodes, links, show_image, updated),
    )
    return writer


def _static_files(hub_templates: Path) -> dict[str, Path]:
    """Static assets of the built-in templates, overridden by the hub's own by name."""
    found: dict[str, Path] = {}
    for root in (builtin_templates() / "static", hub_templates / "static"):
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    found[path.relative_to(root).as_posix()] = path
    return found
