"""Plain typed data shared by every part of mediahub.

Nothing here imports anything of ours, reads configuration or touches disk:
the services build these values and the writers render them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Chapter:
    """A point in an episode: start time in seconds and a title."""

    start: float
    title: str
    url: str | None = None
    image: str | None = None


@dataclass(frozen=True, slots=True)
class Cue:
    """One timed line of a transcript."""

    start: float
    end: float
    text: str
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the catalogue read from one audio file, the same for every format."""

    path: Path
    size: int
    mtime_ns: int
    mime_type: str
    duration: float
    bitrate: int = 0
    sample_rate: int = 0
    channels: int = 0
    codec: str = ""
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    date: str | None = None
    comment: str | None = None
    genre: str | None = None
    guid: str | None = None
    chapters: tuple[Chapter, ...] = ()


@dataclass(frozen=True, slots=True)
class Show:
    """The podcast and site as a whole, from the [site] table of mediahub.toml."""

    title: str
    url: str
    description: str
    language: str
    author: str
    email: str | None
    image: Path | None
    category: str
    subcategory: str | None
    explicit: bool
    copyright: str | None = None


@dataclass(frozen=True, slots=True)
class Episode:
    """One published (or scheduled) episode, read from its folder.

    ``guid`` is "" until the episode is first published and its GUID is written
    into its front matter.
    """

    slug: str
    folder: Path
    title: str
    date: datetime
    guid: str
    summary: str
    notes_html: str
    audio: AudioInfo
    season: int | None = None
    number: int | None = None
    episode_type: str = "full"
    explicit: bool | None = None
    draft: bool = False
    chapters_file: Path | None = None
    chapters: tuple[Chapter, ...] = ()
    transcript_file: Path | None = None
    transcript: tuple[Cue, ...] = ()
    image: Path | None = None
    guests: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "episode"


@dataclass(frozen=True, slots=True)
class Post:
    """A written post: Markdown with front matter."""

    slug: str
    source: Path
    title: str
    date: datetime
    summary: str
    body_html: str
    tags: tuple[str, ...] = field(default_factory=tuple)
    draft: bool = False

    @property
    def kind(self) -> str:
        return "post"


# -- aggregation -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A media file attached to an aggregated item (podcast episodes)."""

    url: str
    type: str | None = None
    length: int | None = None
    duration: float | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One normalised entry of an aggregated feed; HTML fields are already sanitised."""

    id: str
    title: str
    link: str | None
    published: datetime | None
    updated: datetime | None
    author: str | None = None
    summary_html: str | None = None
    content_html: str | None = None
    enclosures: tuple[Enclosure, ...] = ()
    image: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What the parser made of one downloaded feed body."""

    title: str | None
    link: str | None
    description: str | None
    items: tuple[Item, ...]
    hub: str | None = None
    self_url: str | None = None
    podcast_guid: str | None = None
    ttl_seconds: int | None = None
    image: str | None = None
    # A description of what was wrong with a feed the parser still recovered items from.
    bozo: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """An external feed the hub follows, as configured or added."""

    url: str
    topic: str
    title: str | None = None
    interval_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source plus what the hub knows of it from fetching."""

    source: Source
    feed_title: str | None = None
    site_link: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_fetched: datetime | None = None
    next_fetch: datetime | None = None
    error_count: int = 0
    last_error: str | None = None
    paused: bool = False
    gone: bool = False
    podcast_guid: str | None = None
    hub: str | None = None


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An aggregated item as the store keeps it: which source carried it, and when.

    ``story`` groups the same story carried by several sources (same canonical link,
    or same normalised title close in time); ``sort_date`` is the item's date, or when
    it was first seen if the feed gave none.
    """

    source_url: str
    item: Item
    first_seen: datetime
    sort_date: datetime
    story: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One full-text search result: the item, its source's topic and a plain-text snippet."""

    stored: StoredItem
    topic: str
    source_title: str | None
    snippet: str
    # Where a permanent redirect moved the feed (fetched instead of source.url).
    moved_to: str | None = None
    # A permanent redirect not yet trusted: its target and how many fetches in a row saw it.
    redirect_url: str | None = None
    redirect_count: int = 0
    # When the current run of failures began (None after any success).
    first_error: datetime | None = None
    # How often the source posts (seconds), from the last fetch that had items.
    posting_seconds: float | None = None

    @property
    def fetch_url(self) -> str:
        """The URL to request: the moved-to URL once a move is trusted, else the source's."""
        return self.moved_to or self.source.url
