"""Plain typed data shared by every part of mediahub.

Nothing here imports anything of ours, reads configuration or touches disk:
the services build these values and the writers render them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Chapter:
    """A point in an episode: start time in seconds and a title."""

    start: float
    title: str
    url: str | None = None
    image: str | None = None
    # Where the chapter ends (seconds); None means "where the next one starts".
    end: float | None = None


@dataclass(frozen=True, slots=True)
class Artwork:
    """A picture embedded in an audio file (ID3 APIC, MP4 covr, FLAC/Vorbis PICTURE)."""

    mime_type: str
    size: int
    # ID3/FLAC picture type: 3 is the front cover.
    picture_type: int = 3
    description: str = ""


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
    track: str | None = None
    copyright: str | None = None
    publisher: str | None = None
    description: str | None = None
    podcast: bool = False
    feed_url: str | None = None
    lyrics: str | None = None
    artwork: tuple[Artwork, ...] = ()
    # TXXX frames and other free-form tags, as (key, value) pairs.
    custom: tuple[tuple[str, str], ...] = ()
    # The tag container found: "ID3v2.4", "ID3v1", "MP4", "Vorbis", "" for none.
    tag_format: str = ""
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class TagSet:
    """Normalised episode metadata the catalogue writes into an audio file.

    ``None`` leaves a field out; the same values go to ID3, MP4 atoms or Vorbis comments.
    """

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    date: str | None = None
    comment: str | None = None
    description: str | None = None
    genre: str | None = "Podcast"
    track: str | None = None
    copyright: str | None = None
    publisher: str | None = None
    guid: str | None = None
    feed_url: str | None = None
    podcast: bool = True
    lyrics: str | None = None
    artwork: bytes | None = None
    artwork_mime: str = "image/jpeg"
    chapters: tuple[Chapter, ...] = ()


@dataclass(frozen=True, slots=True)
class Person:
    """podcast:person: a host, guest or other contributor."""

    name: str
    role: str = "host"
    group: str = "cast"
    href: str | None = None
    img: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A URL with the text shown for it (funding, license)."""

    url: str
    text: str


@dataclass(frozen=True, slots=True)
class PodcastSettings:
    """Directory-facing settings of the show's feed: iTunes and Podcasting 2.0 channel tags."""

    type: str = "episodic"
    guid: str | None = None
    locked: bool = False
    block: bool = False
    complete: bool = False
    new_feed_url: str | None = None
    medium: str = "podcast"
    funding: tuple[Link, ...] = ()
    persons: tuple[Person, ...] = ()
    txt_verify: tuple[str, ...] = ()
    update_frequency: str | None = None
    update_rrule: str | None = None
    license: str | None = None
    license_url: str | None = None
    location: str | None = None
    location_geo: str | None = None
    location_osm: str | None = None
    feed_limit: int = 300


@dataclass(frozen=True, slots=True)
class Soundbite:
    """podcast:soundbite: a short, shareable part of an episode."""

    start: float
    duration: float
    title: str | None = None


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
    podcast: PodcastSettings = PodcastSettings()


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
    soundbites: tuple[Soundbite, ...] = ()
    # The show notes cut down to the tags Apple shows (computed once, when read).
    description_html: str = ""
    # Extra transcript formats published beside transcript.vtt: (path, MIME type).
    transcript_extra: tuple[tuple[Path, str], ...] = ()

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
    """One normalised entry of an aggregated feed.

    Its HTML fields hold the feed's HTML as fetched (untrusted): whatever shows them
    sanitises them first (``mediahub.aggregate.sanitize.sanitize_html``).
    """

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


# -- feed checks ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One rule of ``mediahub check`` applied to a whole feed.

    ``status`` is "pass", "warning", "error" or "skip" (nothing to check, or it
    needs what this run does not have); ``problems`` names each place at fault.
    """

    rule: str
    authority: str
    status: str
    message: str
    fix: str = ""
    problems: tuple[str, ...] = ()


# -- download statistics -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServedBytes:
    """Bytes of one episode served to one listener (salted IP hash + user agent) on one day."""

    day: str
    listener: str
    user_agent: str
    episode: str
    bytes: int
    needed: int


@dataclass(frozen=True, slots=True)
class DownloadCount:
    """Downloads of one episode on one day, counted in the IAB style."""

    day: str
    episode: str
    downloads: int


@dataclass(frozen=True, slots=True)
class Subscription:
    """A verified WebSub subscriber of one of the hub's own feeds, until its lease expires."""

    topic: str
    callback: str
    secret: str | None
    expires: datetime


@dataclass(frozen=True, slots=True)
class SourceSubscription:
    """Our subscription, at a followed source's WebSub hub, to that source's pushes."""

    source: str  # the source's URL (the key its items are stored under)
    topic: str  # the URL we subscribed to (the feed URL we fetch)
    hub: str
    token: str  # the last path segment of our callback URL
    secret: str
    asked: datetime
    expires: datetime | None = None  # set once the hub verified the intent
    denied: str | None = None


def _pickle_by_constructor(cls: type) -> None:
    """Pickle instances as ``cls(*values)``.

    The dataclass default for slots classes restores each field through a Python
    loop; calling the constructor loads about twice as fast, and thousands of
    entries cross back from build workers and out of the content cache.
    """
    names = tuple(f.name for f in fields(cls))

    def __reduce__(self: object) -> tuple[type, tuple[object, ...]]:
        return cls, tuple([getattr(self, name) for name in names])

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]


_MODEL = [v for v in list(globals().values()) if isinstance(v, type) and is_dataclass(v)]
for _cls in _MODEL:
    _pickle_by_constructor(_cls)

# Field names, in order, of every class here: a pickle made under another shape
# (the content cache's) is not loaded.
SHAPE = repr([(cls.__name__, [f.name for f in fields(cls)]) for cls in _MODEL])
