"""Plan every output of a build into the writer: pages, feeds, copies, site files.

Each page is planned with an input key (its data, the templates and the
configuration); a page whose key is unchanged since the last build is not
even rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment

from mediahub import __version__
from mediahub.aggregate.opml import to_opml
from mediahub.config import Config, user_cache_dir
from mediahub.model import Episode, Post, SourceState
from mediahub.publish.feeds import (
    FeedPage,
    podcast_feed_pages,
    render_atom,
    render_json_feed,
    render_podcast_feed,
)
from mediahub.publish.keys import builtin_templates, digest, templates_fingerprint
from mediahub.publish.links import Links
from mediahub.publish.templating import environment, page_globals
from mediahub.publish.writer import Writer
from mediahub.store import Store

PAGE_SIZE = 20
# Entries in the posts and combined feeds (the podcast feed has its own limit and archives).
FEED_ENTRIES = 50


def site_environment(config: Config) -> Environment:
    """The hub's template environment. Compiled templates are kept in the user's cache,
    not the hub's state folder: the built-in ones then serve every hub, and a first
    build (no state yet) does not compile them again (0.18 s of CPU)."""
    cache = user_cache_dir()
    return environment(config.paths.templates, cache / "jinja" if cache else None)


def slugify_tag(tag: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in tag.lower())
    return "-".join(part for part in cleaned.split("-") if part) or "tag"


class SitePlan:
    """Plans every output of one build into a Writer."""

    def __init__(
        self,
        config: Config,
        store: Store,
        links: Links,
        fingerprints: dict[Path, str],
        env: Environment | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.links = links
        self.env: Environment = env or site_environment(config)
        self.writer = Writer(config.paths.output, store.output_keys(str(config.paths.output)))
        self.fingerprints = fingerprints
        self.feed_paths: list[str] = []
        topics = store.has_sources()
        self.common = page_globals(config.show, links, topics=topics)
        self.show_image: str | None = self.common["show_image"]
        self.base_key = digest(
            __version__,
            config.show,
            templates_fingerprint(config.paths.templates),
            # Every page's menu links to the topic pages once there are any.
            str(topics),
        )

    # -- keys ---------------------------------------------------------------

    def entry_key(self, entry: Episode | Post) -> str:
        source = entry.folder if isinstance(entry, Episode) else entry.source
        return self.fingerprints.get(source, "") + (
            entry.guid if isinstance(entry, Episode) else ""
        )

    def page(self, rel: str, template: str, deps: Iterable[str], **context: Any) -> None:
        """Plan a page rendered from ``template`` only when its inputs changed."""
        common = self.common
        key = digest(self.base_key, rel, template, *deps)
        self.writer.add_lazy(
            rel, key, lambda: self.env.get_template(template).render(**common, **context)
        )

    # -- the plan -----------------------------------------------------------

    def plan(self, episodes: list[Episode], posts: list[Post]) -> None:
        config, writer = self.config, self.writer
        if config.show.image is not None:
            writer.copy(Links.cover_path(config.show.image), config.show.image)
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
        self._plan_feeds(episodes, posts, entries, keys)

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
        self,
        episodes: list[Episode],
        posts: list[Post],
        entries: list[Episode | Post],
        keys: dict[int, str],
    ) -> None:
        """Plan every feed lazily, keyed by what it lists; the podcast documents go last."""
        config, links, env = self.config, self.links, self.env
        show = config.show
        updated = entries[0].date if entries else None
        podroll = self._podroll()
        hubs = self.websub_hubs()
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
        key = digest(self.base_key, rel, *extra, *(keys[id(e)] for e in entries))
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


def _static_files(hub_templates: Path) -> dict[str, Path]:
    """Static assets of the built-in templates, overridden by the hub's own by name."""
    found: dict[str, Path] = {}
    for root in (builtin_templates() / "static", hub_templates / "static"):
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    found[path.relative_to(root).as_posix()] = path
    return found
