"""Posts and episode folders: front matter + Markdown -> model.

Files on disk are the source of truth. A bad file becomes a ContentError that
names it; the reader collects every problem instead of stopping at the first.
"""

from __future__ import annotations

import html
import os
import pickle
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from mediahub import frontmatter
from mediahub.aggregate.sanitize import apple_description
from mediahub.catalog.chapters import read_json_chapters
from mediahub.catalog.scan import audio_info
from mediahub.catalog.tags import AUDIO_SUFFIXES
from mediahub.config import Config
from mediahub.content_scan import EPISODE_FILE, Job, SourceScan
from mediahub.errors import ContentError, MediahubError
from mediahub.files import write_text_atomic
from mediahub.markdown import render_markdown
from mediahub.model import AudioInfo, Cue, Episode, Post, Soundbite
from mediahub.parallel import default_workers, fork_imap
from mediahub.store import Store

if TYPE_CHECKING:
    from mediahub.publish.stamp import Inputs

EPISODE_TYPES = ("full", "trailer", "bonus")
# Transcript formats published beside transcript.vtt when present: (file name, MIME type).
EXTRA_TRANSCRIPTS = (("transcript.srt", "application/x-subrip"), ("transcript.html", "text/html"))
_FENCE = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Document:
    """A text file split into its front matter and Markdown body."""

    path: Path
    meta: dict[str, Any]
    body: str
    # Where the body starts, so a field can be added to the front matter in place.
    fence_end: int


@dataclass(frozen=True, slots=True)
class Content:
    episodes: list[Episode]
    posts: list[Post]
    problems: list[MediahubError]
    # source (episode folder or post file) -> fingerprint of everything it was read from
    fingerprints: dict[Path, str] = field(default_factory=dict)
    # the content folders as ``quick_digest`` reports them
    digest: str = ""


def read_document(path: Path) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContentError(str(path), "is not UTF-8 text", "save it as UTF-8") from None
    except OSError as exc:
        raise ContentError(str(path), f"cannot be read: {exc.strerror}", "check the file") from None
    match = _FENCE.match(text)
    if not match:
        raise ContentError(
            str(path),
            "has no front matter",
            "start the file with a '---' line, 'title: ...', and another '---' line",
        )
    meta = frontmatter.load(str(path), match.group(1)) or {}
    if not isinstance(meta, dict):
        raise ContentError(
            str(path),
            "front matter is not a set of 'key: value' lines",
            "write one 'key: value' per line between the '---' lines",
        )
    return Document(path=path, meta=meta, body=text[match.end() :], fence_end=match.end(1))


class _Fields:
    """Typed reads from front matter, with errors naming the file and key."""

    def __init__(self, doc: Document, tz: ZoneInfo) -> None:
        self.doc = doc
        self.tz = tz

    def error(self, key: str, problem: str, fix: str) -> ContentError:
        return ContentError(str(self.doc.path), f"'{key}' {problem}", fix)

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.doc.meta.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise ContentError(
                    str(self.doc.path), f"has no '{key}'", f"add '{key}: ...' to its front matter"
                )
            return None
        if isinstance(value, (dict, list)):
            raise self.error(key, "must be plain text", f"write '{key}: some text'")
        return str(value).strip()

    def integer(self, key: str) -> int | None:
        value = self.doc.meta.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(key, f"must be a whole number, not {value!r}", f"write '{key}: 1'")
        return value

    def flag(self, key: str) -> bool | None:
        value = self.doc.meta.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        raise self.error(key, f"must be true or false, not {value!r}", f"write '{key}: false'")

    def when(self, key: str = "date") -> datetime:
        value = self.doc.meta.get(key)
        if value is None:
            raise ContentError(
                str(self.doc.path),
                f"has no '{key}'",
                f"add '{key}: 2026-01-31 09:00' to its front matter",
            )
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise self.error(
                    key, f"is not a date: {value!r}", "write it as 2026-01-31 or 2026-01-31 09:00"
                ) from None
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, time(0, 0))
        if not isinstance(value, datetime):
            raise self.error(key, f"is not a date: {value!r}", "write it as 2026-01-31 09:00")
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        return value.astimezone(UTC)

    def names(self, key: str) -> tuple[str, ...]:
        value = self.doc.meta.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value.strip(),)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(v.strip() for v in value)
        raise self.error(key, "must be a name or a list of names", f"write '{key}: [Ada, Grace]'")


def summary_of(body_html: str, limit: int = 280) -> str:
    """A plain-text summary: the first paragraph of the rendered body."""
    match = re.search(r"<p>(.*?)</p>", body_html, re.DOTALL)
    text = re.sub(r"<[^>]+>", "", match.group(1) if match else body_html)
    text = html.unescape(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def read_post(path: Path, tz: ZoneInfo) -> Post:
    doc = read_document(path)
    fields = _Fields(doc, tz)
    body_html = render_markdown(doc.body)
    title = fields.text("title", required=True)
    assert title is not None
    slug = fields.text("slug") or path.stem
    _check_slug(slug, path)
    return Post(
        slug=slug,
        source=path,
        title=title,
        date=fields.when(),
        summary=fields.text("summary") or summary_of(body_html),
        body_html=body_html,
        tags=fields.names("tags"),
        draft=bool(fields.flag("draft")),
    )


def read_episode(
    folder: Path,
    tz: ZoneInfo,
    audio_reader: Callable[[Path], AudioInfo],
    files: frozenset[str] | None = None,
) -> Episode:
    """One episode folder; ``files`` (the names in it) spares listing it again."""
    present = _file_names(folder) if files is None else files
    doc = read_document(folder / EPISODE_FILE)
    fields = _Fields(doc, tz)
    title = fields.text("title", required=True)
    assert title is not None
    notes_html = render_markdown(doc.body)
    audio_path = _audio_file(folder, fields, present)
    episode_type = fields.text("type") or "full"
    if episode_type not in EPISODE_TYPES:
        raise fields.error(
            "type", f"must be one of {', '.join(EPISODE_TYPES)}", "write 'type: full'"
        )
    _check_slug(folder.name, folder)
    image_name = fields.text("image")
    image = folder / image_name if image_name else None
    if image_name and not _present(folder, image_name, present):
        raise fields.error(
            "image",
            f"names {image_name}, which is not in the folder",
            "put the image next to episode.md or remove the key",
        )
    audio = audio_reader(audio_path)
    chapters_file = _side_file(folder, "chapters.json", present)
    transcript_file = _side_file(folder, "transcript.vtt", present)
    return Episode(
        slug=folder.name,
        folder=folder,
        title=title,
        date=fields.when(),
        guid=fields.text("guid") or "",
        summary=fields.text("summary") or summary_of(notes_html),
        notes_html=notes_html,
        description_html=apple_description(notes_html),
        audio=audio,
        season=fields.integer("season"),
        number=fields.integer("number"),
        episode_type=episode_type,
        explicit=fields.flag("explicit"),
        draft=bool(fields.flag("draft")),
        chapters_file=chapters_file,
        chapters=read_json_chapters(chapters_file, audio.duration) if chapters_file else (),
        transcript_file=transcript_file,
        transcript=read_vtt(transcript_file) if transcript_file else (),
        transcript_extra=tuple(
            (path, mime)
            for name, mime in EXTRA_TRANSCRIPTS
            if (path := _side_file(folder, name, present)) is not None
        ),
        soundbites=_soundbites(fields, audio.duration),
        image=image,
        guests=fields.names("guests"),
    )


def _audio_file(folder: Path, fields: _Fields, present: frozenset[str]) -> Path:
    named = fields.text("audio")
    if named:
        path = folder / named
        if not _present(folder, named, present):
            raise ContentError(
                str(path),
                "is missing (named by 'audio' in episode.md)",
                "put the audio file in the episode folder or fix the name",
            )
        return path
    found = sorted(
        folder / name for name in present if name[name.rfind(".") :].lower() in AUDIO_SUFFIXES
    )
    if not found:
        raise ContentError(
            str(folder),
            "has no audio file",
            "add the episode's MP3/M4A/Ogg file or name it with 'audio:'",
        )
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ContentError(
            str(folder),
            f"has several audio files ({names})",
            "name the one to publish with 'audio: FILE' in episode.md",
        )
    return found[0]


def read_vtt(path: Path) -> tuple[Cue, ...]:
    """Cues of a WebVTT transcript; a speaker given as ``<v Name>`` is kept apart."""
    import webvtt  # here: most episodes have no transcript, and a build starts sooner

    try:
        captions = webvtt.read(str(path)).captions
    except (webvtt.errors.MalformedFileError, webvtt.errors.MalformedCaptionError) as exc:
        raise ContentError(
            str(path),
            f"is not valid WebVTT: {exc}",
            "start it with 'WEBVTT' and write cues as '00:00:01.000 --> 00:00:04.000'",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(str(path), f"cannot be read: {exc}", "check the file") from None
    cues = []
    for caption in captions:
        cues.append(
            Cue(
                start=_vtt_seconds(caption.start),
                end=_vtt_seconds(caption.end),
                text=caption.text.strip(),
                speaker=caption.voice,
            )
        )
    return tuple(cues)


def _vtt_seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.split(":")]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def _soundbites(fields: _Fields, duration: float) -> tuple[Soundbite, ...]:
    raw = fields.doc.meta.get("soundbites")
    if raw is None:
        return ()
    fix = "write 'soundbites: [{start: 73.5, duration: 30, title: ...}]'"
    if not isinstance(raw, list):
        raise fields.error("soundbites", "must be a list", fix)
    bites = []
    for index, item in enumerate(raw, start=1):
        start = item.get("start") if isinstance(item, dict) else None
        length = item.get("duration") if isinstance(item, dict) else None
        if not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, length)
        ):
            raise fields.error(
                "soundbites", f"entry {index} needs a numeric start and duration", fix
            )
        assert isinstance(start, (int, float)) and isinstance(length, (int, float))
        if start < 0 or length <= 0 or start + length > duration + 0.5:
            raise fields.error(
                "soundbites", f"entry {index} is outside the audio ({duration:.1f}s)", fix
            )
        title = item.get("title")
        bites.append(Soundbite(float(start), float(length), str(title) if title else None))
    return tuple(bites)


def _side_file(folder: Path, name: str, present: frozenset[str]) -> Path | None:
    return folder / name if name in present else None


def _present(folder: Path, name: str, present: frozenset[str]) -> bool:
    """Whether ``name`` (a file of the folder, or a path below it) is a file."""
    return name in present or ("/" in name and (folder / name).is_file())


def _file_names(folder: Path) -> frozenset[str]:
    """Everything in the folder, by name: an audio file that turns out to be a pipe or
    a folder is then refused by name when read, not reported missing."""
    with os.scandir(folder) as entries:
        return frozenset(entry.name for entry in entries)


def _check_slug(slug: str, where: Path) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", slug):
        raise ContentError(
            str(where),
            f"name {slug!r} cannot be used in a URL",
            "use only letters, digits, '-', '_' and '.'",
        )


def read_all(
    config: Config,
    store: Store,
    inputs: Inputs | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> Content:
    """Every episode and post of the hub, plus every problem found on the way.

    A file whose fingerprint (size and mtime of everything it is made of) is
    unchanged since the last read comes from the store's cache; the others are
    parsed, by one process per core when there are many. ``meanwhile`` is the
    caller's own work, done while those processes parse (or first, with none);
    ``inputs`` records what the scan looks at, for the build stamp.

    With nothing cached (a first build), the workers start before the content
    folders are scanned and parse each chunk of sources as soon as the scan has
    found it: the scan costs a first build no time of its own.
    """
    cache = store.cached_content()
    scan = SourceScan(config, inputs)
    if not cache and (workers := default_workers(scan.count)) > 1:
        return _finish(config, store, scan, {}, scan, workers, meanwhile)
    parsed: dict[Path, object] = {}
    missing: list[Job] = []
    for job in scan:
        hit = cache.get(str(job[1]))
        if hit is not None and hit[0] == job[2]:
            parsed[job[1]] = hit[1]
        else:
            missing.append(job)
    return _finish(config, store, scan, parsed, missing, default_workers(len(missing)), meanwhile)


# Entries a forked worker parses before handing them back.
_CHUNK = 100


def _chunked(jobs: Iterable[Job], size: int) -> Iterator[list[Job]]:
    chunk: list[Job] = []
    for job in jobs:
        chunk.append(job)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _finish(
    config: Config,
    store: Store,
    scan: SourceScan,
    parsed: dict[Path, object],
    jobs: Iterable[Job],
    workers: int,
    meanwhile: Callable[[], object] | None = None,
) -> Content:
    """Parse ``jobs`` (by ``workers`` forked processes if more than one, which take
    chunks of them as they come), cache what was parsed, and put the content together."""
    shares: Iterable[tuple[list[tuple[Path, str, bytes | MediahubError]], list[AudioInfo]]]
    if workers > 1:
        # Chunks, taken in as they come: the cache writes here overlap the parsing there.
        chunks = _chunked(jobs, _CHUNK)
        shares = fork_imap(lambda chunk: _parse_share(config, chunk), chunks, workers, meanwhile)
    else:
        if meanwhile is not None:
            meanwhile()
        shares = [_parse_share(config, list(jobs), store)]
    unreadable: list[MediahubError] = []
    for results, media in shares:
        store.save_media_many(media)  # one transaction per share, never one per file
        fresh: list[tuple[str, str, bytes]] = []
        for source, fingerprint, outcome in results:
            if isinstance(outcome, MediahubError):
                unreadable.append(outcome)
            else:
                parsed[source] = pickle.loads(outcome)
                fresh.append((str(source), fingerprint, outcome))
        store.save_content(fresh)
    # Every chunk has been parsed, so the scan has ended: its result is whole.
    sources = scan.result()
    found, problems = sources.jobs, sources.problems + unreadable
    episodes = [o for _, s, _, _ in found if isinstance(o := parsed.get(s), Episode)]
    posts = [o for _, s, _, _ in found if isinstance(o := parsed.get(s), Post)]
    problems.sort(key=lambda e: e.where)
    problems.extend(_duplicate_slugs(posts))
    store.keep_content({str(s) for _, s, _, _ in found})
    fingerprints = {source: fingerprint for _, source, fingerprint, _ in found}
    return Content(
        episodes=episodes,
        posts=posts,
        problems=problems,
        fingerprints=fingerprints,
        digest=sources.digest,
    )


def _parse_share(
    config: Config, jobs: list[Job], store: Store | None = None
) -> tuple[list[tuple[Path, str, bytes | MediahubError]], list[AudioInfo]]:
    """Parse some episodes and posts: (source, fingerprint, pickled entry or its error)
    for each, and the audio files read (for the caller to store in one go).

    The entry is pickled here, once: that is both what crosses back from a forked
    worker and what the content cache stores. A forked worker (``store`` None)
    opens its own connection, to read the media cache only: a SQLite connection
    must not be shared across a fork, and writes are the parent's.
    """
    tz = ZoneInfo(config.timezone)
    own = store if store is not None else Store(config.paths.database)
    media: list[AudioInfo] = []

    def reader(path: Path) -> AudioInfo:
        return audio_info(own, path, media.append)

    results: list[tuple[Path, str, bytes | MediahubError]] = []
    try:
        for kind, source, fingerprint, names in jobs:
            try:
                entry = (
                    read_episode(source, tz, reader, names)
                    if kind == "episode"
                    else read_post(source, tz)
                )
                outcome: bytes | MediahubError = pickle.dumps(entry, pickle.HIGHEST_PROTOCOL)
            except MediahubError as exc:
                outcome = exc
            results.append((source, fingerprint, outcome))
    finally:
        if store is None:
            own.close()
    return results, media


def _duplicate_slugs(posts: list[Post]) -> list[MediahubError]:
    seen: dict[str, Path] = {}
    problems: list[MediahubError] = []
    for post in posts:
        if post.slug in seen:
            problems.append(
                ContentError(
                    str(post.source),
                    f"has the same slug as {seen[post.slug]}",
                    "give one of them another 'slug:'",
                )
            )
        seen[post.slug] = post.source
    return problems


def assign_guid(episode: Episode) -> Episode:
    """Give an episode its permanent GUID, written into its own front matter once.

    The GUID is what podcast apps use to tell episodes apart: it must never change,
    even if the database is deleted, so the file is its home.
    """
    if episode.guid:
        return episode
    guid = str(uuid.uuid4())
    source = episode.folder / EPISODE_FILE
    doc = read_document(source)
    text = source.read_text(encoding="utf-8")
    head, tail = text[: doc.fence_end], text[doc.fence_end :]
    if head and not head.endswith("\n"):
        head += "\n"
    write_text_atomic(source, f"{head}guid: {guid}\n{tail}")
    return replace(episode, guid=guid)


def episode_document(meta: dict[str, Any], notes: str) -> str:
    """The text of an episode.md: YAML front matter (keys in the order given), then the notes."""
    head = frontmatter.dump(meta)
    body = notes.strip()
    return f"---\n{head}---\n\n{body}\n" if body else f"---\n{head}---\n"
