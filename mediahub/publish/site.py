"""Build the site: read content, plan every page and feed, hand them to the writer.

Readers -> renderers -> writer, in that order. If any file is bad, nothing is
written (unless the caller asks to keep going), so public/ is never half-built.
Each page is planned with an input key (its data, the templates and the
configuration); a page whose key is unchanged since the last build is not
even rendered, so a no-change rebuild does almost nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment

from mediahub import __version__
from mediahub.aggregate.opml import to_opml
from mediahub.config import Config, record_podcast_guid
from mediahub.content import Content, assign_guid, read_all
from mediahub.errors import BuildError, ContentError, MediahubError
from mediahub.model import Episode, Post, SourceState
from mediahub.publish.check import check_feed, feed_errors
from mediahub.publish.check_files import LocalFiles
from mediahub.publish.feeds import (
    FeedPage,
    podcast_feed_pages,
    podcast_guid,
    render_atom,
    render_json_feed,
    render_podcast_feed,
)
from mediahub.publish.links import Links
from mediahub.publish.templating import builtin_templates, environment
from mediahub.publish.topics import plan_topics
from mediahub.publish.writer import Writer, WriteStats
from mediahub.store import Store

PAGE_SIZE = 20
# Entries in the posts and combined feeds (the podcast feed has its own limit and archives).
FEED_ENTRIES = 50


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
) -> BuildResult:
    """Publish every episode and post whose date has come; raise BuildError on bad input."""
    content = read_all(config, store)
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
    if config.show.podcast.guid is None:
        config = record_podcast_guid(config, podcast_guid(links.feed()))
    episodes = [assign_guid(e) for e in episodes]
    if progress:
        progress(f"planning {len(episodes)} episodes and {len(posts)} posts")
    site = SitePlan(config, store, links, content.fingerprints)
    site.plan(episodes, posts)
    common = {"show": config.show, "links": links, "show_image": site.show_image}
    plan_topics(site.writer, site.env, links, common, store, now)
    _refuse_broken_feed(site)
    before = _feed_bytes(config.paths.output, site.feed_paths)
    stats = site.writer.commit(last=tuple(site.feed_paths))
    store.save_output_keys(str(config.paths.output), site.writer.keys())
    changed = [p for p in site.feed_paths if _read(config.paths.output / p) != before.get(p)]
    return BuildResult(
        episodes=len(episodes),
        posts=len(posts),
        scheduled=scheduled,
        stats=stats,
        skipped=problems,
        changed_feeds=changed,
    )


def _refuse_broken_feed(site: SitePlan) -> None:
    """Run the error rules of ``mediahub check`` on the podcast feed before anything is
    written; a feed that apps or directories would refuse is not published."""
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


def slugify_tag(tag: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in tag.lower())
    return "-".join(part for part in cleaned.split("-") if part) or "tag"


class SitePlan:
    """Plans every output of one build into a Writer."""

    def __init__(
        self, config: Config, store: Store, links: Links, fingerprints: dict[Path, str]
    ) -> None:
        self.config = config
        self.store = store
        self.links = links
        self.env: Environment = environment(config.paths.templates, config.paths.state / "jinja")
        self.writer = Writer(config.paths.output, store.output_keys(str(config.paths.output)))
        self.fingerprints = fingerprints
        self.feed_paths: list[str] = []
        self.show_image: str | None = None
        self.base_key = _digest(
            __version__,
            config.show,
            _templates_fingerprint(config.paths.templates),
        )

    # -- keys ---------------------------------------------------------------

    def entry_key(self, entry: Episode | Post) -> str:
        source = entry.folder if isinstance(entry, Episode) else entry.source
        return self.fingerprints.get(source, "") + (
            entry.guid if isinstance(entry, Episode) else ""
        )

    def page(self, rel: str, template: str, deps: Iterable[str], **context: Any) -> None:
        """Plan a page rendered from ``template`` only when its inputs changed."""
        common = {"show": self.config.show, "links": self.links, "show_image": self.show_image}
        key = _digest(self.base_key, rel, template, *deps)
        self.writer.add_lazy(
            rel, key, lambda: self.env.get_template(template).render(**common, **context)
        )

    # -- the plan -----------------------------------------------------------

    def plan(self, episodes: list[Episode], posts: list[Post]) -> None:
        config, links, writer = self.config, self.links, self.writer
        if config.show.image is not None:
            image_path = f"cover{config.show.image.suffix.lower()}"
            writer.copy(image_path, config.show.image)
            self.show_image = links.url(image_path)
        entries: list[Episode | Post] = sorted(
            [*episodes, *posts], key=lambda e: e.date, reverse=True
        )
        keys = {id(e): self.entry_key(e) for e in entries}

        self._plan_listing(entries, keys)
        self.page("404.html", "404.html", ())
        self.page(
            "episodes/index.html",
            "episodes.html",
            [keys[id(e)] for e in episodes],
            episodes=episodes,
            subscribe=self.subscribe_links(),
        )
        for episode in episodes:
            self._plan_episode(episode, keys[id(episode)])
        for post in posts:
            self.page(
                Links.page_path(post) + "index.html",
                "post.html",
                [keys[id(post)]],
                post=post,
                tag_slug=slugify_tag,
            )
        self._plan_tags(posts, keys)
        self._plan_archive(entries, keys)
        for rel, source in _static_files(config.paths.templates).items():
            writer.copy(f"static/{rel}", source)
        self._plan_sitemap(entries, keys)
        self._plan_blogroll(entries)
        self._plan_feeds(episodes, posts, entries)

    def _plan_listing(self, entries: list[Episode | Post], keys: dict[int, str]) -> None:
        pages = [entries[i : i + PAGE_SIZE] for i in range(0, len(entries), PAGE_SIZE)] or [[]]
        for number, chunk in enumerate(pages, start=1):
            rel = "index.html" if number == 1 else f"page/{number}/index.html"
            self.page(
                rel,
                "index.html",
                [str(number), str(len(pages)), *(keys[id(e)] for e in chunk)],
                entries=chunk,
                pagination=_pagination(number, len(pages)),
                subscribe=self.subscribe_links(),
            )

    def _plan_episode(self, episode: Episode, key: str) -> None:
        writer = self.writer
        self.page(
            Links.page_path(episode) + "index.html",
            "episode.html",
            [key],
            episode=episode,
            subscribe=self.subscribe_links(),
        )
        writer.copy(Links.media_path(episode), episode.audio.path)
        if episode.chapters_file:
            writer.copy(Links.chapters_path(episode), episode.chapters_file)
        if episode.transcript_file:
            writer.copy(Links.transcript_path(episode), episode.transcript_file)
        for path, _mime in episode.transcript_extra:
            writer.copy(Links.side_path(episode, path), path)
        image_rel = Links.episode_image_path(episode)
        if image_rel and episode.image:
            writer.copy(image_rel, episode.image)

    def _plan_tags(self, posts: list[Post], keys: dict[int, str]) -> None:
        by_tag: dict[str, tuple[str, list[Post]]] = {}
        for post in posts:
            for tag in post.tags:
                slug = slugify_tag(tag)
                by_tag.setdefault(slug, (tag, []))[1].append(post)
        tags = sorted(((slug, name, len(items)) for slug, (name, items) in by_tag.items()))
        self.page("tags/index.html", "tags.html", [repr(tags)], tags=tags)
        for slug, (name, tagged) in by_tag.items():
            self.page(
                f"tags/{slug}/index.html",
                "tag.html",
                [name, *(keys[id(p)] for p in tagged)],
                tag=name,
                posts=tagged,
            )

    def _plan_archive(self, entries: list[Episode | Post], keys: dict[int, str]) -> None:
        years: dict[int, list[Episode | Post]] = {}
        for entry in entries:
            years.setdefault(entry.date.year, []).append(entry)
        self.page(
            "archive/index.html",
            "archive.html",
            [keys[id(e)] for e in entries],
            years=sorted(years.items(), reverse=True),
        )

    def _plan_sitemap(self, entries: list[Episode | Post], keys: dict[int, str]) -> None:
        self.page(
            "sitemap.xml",
            "sitemap.xml",
            [keys[id(e)] for e in entries],
            entries=entries,
        )
        self.writer.add(
            "robots.txt", f"User-agent: *\nAllow: /\nSitemap: {self.links.url('sitemap.xml')}\n"
        )

    def _plan_blogroll(self, entries: list[Episode | Post]) -> None:
        """blogroll.opml: every source the hub follows, grouped by topic."""
        sources = self.store.list_sources()
        if sources:
            when = entries[0].date if entries else None
            title = f"{self.config.show.title}: blogroll"
            self.writer.add("blogroll.opml", to_opml(title, sources, when))

    def _plan_feeds(
        self, episodes: list[Episode], posts: list[Post], entries: list[Episode | Post]
    ) -> None:
        """Plan every feed lazily, keyed by what it lists; the podcast documents go last."""
        config, links, env = self.config, self.links, self.env
        show = config.show
        updated = entries[0].date if entries else None
        podroll = self._podroll()
        hubs = self.websub_hubs()
        keys = {id(e): self.entry_key(e) for e in entries}
        recent_posts, recent = posts[:FEED_ENTRIES], entries[:FEED_ENTRIES]
        self._lazy_feed(
            "posts.atom",
            recent_posts,
            keys,
            lambda: render_atom(
                env, show, recent_posts, links, "posts.atom", f"{show.title}: posts"
            ),
        )
        self._lazy_feed(
            "posts.json",
            recent_posts,
            keys,
            lambda: render_json_feed(
                show, recent_posts, links, "posts.json", f"{show.title}: posts"
            ),
        )
        self._lazy_feed(
            "all.atom",
            recent,
            keys,
            lambda: render_atom(env, show, recent, links, "all.atom", show.title),
        )
        pages = podcast_feed_pages(episodes, show.podcast.feed_limit)
        # Archives before the current feed.xml, which links to them.
        for page in sorted(pages, key=lambda p: p.path == Links.feed_path()):

            def render(page: FeedPage = page) -> bytes:
                return render_podcast_feed(
                    env, show, page, links, self.show_image, updated, hubs=hubs, podroll=podroll
                )

            extra = [
                repr(updated),
                repr(hubs),
                repr([(s.source.url, s.podcast_guid) for s in podroll]),
            ]
            self._lazy_feed(page.path, page.episodes, keys, render, extra)
            self.feed_paths.append(page.path)

    def _lazy_feed(
        self,
        rel: str,
        entries: Sequence[Episode | Post],
        keys: dict[int, str],
        render: Callable[[], bytes],
        extra: Sequence[str] = (),
    ) -> None:
        key = _digest(self.base_key, rel, *extra, *(keys[id(e)] for e in entries))
        self.writer.add_lazy(rel, key, render)

    def websub_hubs(self) -> list[str]:
        """Hubs announced with atom:link rel="hub": the server's own, then configured ones."""
        serve = self.config.serve
        own = [f"{serve.public_url or self.config.show.url}/websub"] if serve.hub else []
        return own + list(serve.websub_hubs)

    def _podroll(self) -> list[SourceState]:
        """Podcast sources the hub follows that announce a podcast:guid."""
        return [s for s in self.store.list_sources() if s.podcast_guid]

    def subscribe_links(self) -> list[tuple[str, str]]:
        """(label, URL) pairs for the "subscribe" box."""
        feed = self.links.feed()
        scheme_less = feed.split("://", 1)[-1]
        links = [("RSS feed", feed), ("Podcast app (podcast://)", f"podcast://{scheme_less}")]
        guid = self.config.show.podcast.guid
        if guid:
            links.append(("Podcast Index", f"https://podcastindex.org/search?q={feed}"))
        return links


def _pagination(number: int, count: int) -> dict[str, str | int | None]:
    def href(n: int) -> str:
        return "" if n == 1 else f"page/{n}/"

    return {
        "number": number,
        "count": count,
        "newer": href(number - 1) if number > 1 else None,
        "older": href(number + 1) if number < count else None,
    }


def _digest(*parts: object) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(repr(part).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _templates_fingerprint(hub_templates: Path) -> str:
    """Contents of every template a build may use: a template edit re-renders its pages."""
    digest = hashlib.blake2b(digest_size=16)
    for root in (builtin_templates(), hub_templates):
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and "static" not in path.relative_to(root).parts:
                    digest.update(path.as_posix().encode())
                    digest.update(path.read_bytes())
    return digest.hexdigest()


def _static_files(hub_templates: Path) -> dict[str, Path]:
    """Static assets of the built-in templates, overridden by the hub's own by name."""
    found: dict[str, Path] = {}
    for root in (builtin_templates() / "static", hub_templates / "static"):
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    found[path.relative_to(root).as_posix()] = path
    return found
