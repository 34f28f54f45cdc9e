"""Where everything lives in the built site: one place decides every path and URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mediahub.model import Episode, Post


@dataclass(frozen=True, slots=True)
class Links:
    """Site-relative output paths and absolute URLs under the hub's base URL."""

    base_url: str
    # The base URL's path ('' at a host's root), worked out once: every page asks for it.
    root: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", urlsplit(self.base_url).path)

    def url(self, path: str) -> str:
        """Absolute URL of a site path ('' is the home page): for feeds and share links."""
        return f"{self.base_url}/{path}"

    def href(self, path: str) -> str:
        """Root-relative link for pages, so the site works on any host it is served from."""
        return f"{self.root}/{path}"

    @staticmethod
    def page_path(entry: Episode | Post) -> str:
        folder = "episodes" if isinstance(entry, Episode) else "posts"
        return f"{folder}/{entry.slug}/"

    def page(self, entry: Episode | Post) -> str:
        return self.url(self.page_path(entry))

    @staticmethod
    def media_path(episode: Episode) -> str:
        return f"episodes/{episode.slug}/{episode.slug}{episode.audio.path.suffix.lower()}"

    def media(self, episode: Episode) -> str:
        return self.url(self.media_path(episode))

    @staticmethod
    def chapters_path(episode: Episode) -> str:
        return f"episodes/{episode.slug}/chapters.json"

    @staticmethod
    def transcript_path(episode: Episode) -> str:
        return f"episodes/{episode.slug}/transcript.vtt"

    @staticmethod
    def side_path(episode: Episode, source: Path) -> str:
        """A side file (an extra transcript, ...) published under its own name."""
        return f"episodes/{episode.slug}/{source.name}"

    @staticmethod
    def episode_image_path(episode: Episode) -> str | None:
        if episode.image is None:
            return None
        return f"episodes/{episode.slug}/cover{episode.image.suffix.lower()}"

    @staticmethod
    def cover_path(image: Path) -> str:
        """The show's cover, published at the site's root."""
        return f"cover{image.suffix.lower()}"

    @staticmethod
    def feed_path() -> str:
        return "feed.xml"

    def feed(self) -> str:
        return self.url(self.feed_path())
