"""``mediahub check``: a feed against the rules of Apple Podcasts, Spotify and the Podcast Index.

``check_feed`` is pure: it reads the feed's bytes and asks an optional resolver
(check_files.py) for the files the feed points at; it never touches the network.
It returns one ``CheckResult`` per rule, always in the same order, so a build
can refuse to publish on any "error" row and the CLI can print them all.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from mediahub.artwork import artwork_problem
from mediahub.errors import MediahubError
from mediahub.model import CheckResult
from mediahub.publish.apple_categories import CATEGORIES, suggest
from mediahub.publish.check_files import (
    TRANSCRIPT_TYPES,
    LocalFiles,
    Resolver,
    Resource,
    chapters_problem,
    transcript_problem,
)

PASS, WARNING, ERROR, SKIP = "pass", "warning", "error", "skip"

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
ATOM = "http://www.w3.org/2005/Atom"
NAMESPACES = {"itunes": ITUNES, "podcast": PODCAST, "content": CONTENT, "atom": ATOM}
# Addresses apps do not recognise although people (and old templates) use them.
_WRONG_NAMESPACES = {
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md": PODCAST,
    "http://podcastindex.org/namespace/1.0": PODCAST,
    "https://www.itunes.com/dtds/podcast-1.0.dtd": ITUNES,
}

# The namespace podcast:guid is derived in (Podcasting 2.0, "guid" tag).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
DESCRIPTION_LIMIT = 4000  # bytes, Apple Podcasts
# Apple Podcasts' accepted enclosure types; others (Ogg, FLAC) work in other apps.
APPLE_MEDIA_TYPES = (
    "audio/mpeg",
    "audio/x-m4a",
    "audio/mp4",
    "audio/aac",
    "video/mp4",
    "video/quicktime",
    "video/x-m4v",
    "application/pdf",
)

_RFC2822 = re.compile(
    r"^(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d|60))? "
    r"([+-]\d{4}|GMT|UT|EST|EDT|CST|CDT|MST|MDT|PST|PDT)$"
)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class FeedCheckError(MediahubError):
    """A feed breaks a rule that makes podcast apps or directories refuse it."""


def podcast_guid(feed_url: str) -> str:
    """podcast:guid by its definition: UUIDv5 of the feed URL without scheme and trailing
    slashes, in the Podcasting 2.0 namespace."""
    bare = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", feed_url.strip()).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def feed_errors(results: list[CheckResult], where: str = "feed.xml") -> list[MediahubError]:
    """The error rows as one-line errors, for a build that refuses a broken feed."""
    return [
        FeedCheckError(where, f"{r.rule}: {problem}", r.fix)
        for r in results
        if r.status == ERROR
        for problem in (r.problems or (r.message,))
    ]


def check_built(output: Path, base_url: str) -> list[CheckResult]:
    """Every rule for the feed of a build in ``output``, its files read from there too.

    A build made with ``--url`` points elsewhere than ``base_url``: the feed's own
    rel="self" link says where its files live.
    """
    path = output / "feed.xml"
    try:
        xml = path.read_bytes()
    except FileNotFoundError:
        raise FeedCheckError(str(path), "does not exist", "run 'mediahub build' first") from None
    except OSError as exc:
        raise FeedCheckError(str(path), f"cannot be read: {exc.strerror}") from None
    self_link = re.search(rb'<atom:link href="([^"]+)/feed\.xml" rel="self"', xml)
    if self_link:
        base_url = self_link.group(1).decode("utf-8", "replace")
    return check_feed(xml, feed_url=f"{base_url}/feed.xml", resolve=LocalFiles(base_url, output))


def check_feed(
    xml: bytes, *, feed_url: str | None = None, resolve: Resolver | None = None
) -> list[CheckResult]:
    """Every rule applied to ``xml``; ``feed_url`` is where it is (or will be) served."""
    try:
        feed = _parse(xml, feed_url, resolve)
    except _Malformed as exc:
        first = _result(RULES[0], [exc.problem], [])
        rest = [
            CheckResult(r.name, r.authority, SKIP, "not checked: the feed is not well-formed")
            for r in RULES[1:]
        ]
        return [first, *rest]
    results = []
    for rule in RULES:
        found = _Found()
        rule.check(feed, found)
        results.append(_result(rule, found.errors, found.warnings, found.checked, found.skipped))
    return results


# -- the parsed feed -------------------------------------------------------------


class _Malformed(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass
class _Feed:
    root: ET.Element
    channel: ET.Element
    items: list[ET.Element]
    declared: list[tuple[str, str]]
    feed_url: str | None
    resolve: Resolver | None

    def label(self, index: int) -> str:
        title = (self.items[index].findtext("title") or "").strip()
        return f"item {index + 1}" + (f" ({title[:40]!r})" if title else "")

    def labelled(self) -> Iterator[tuple[str, ET.Element]]:
        for index, item in enumerate(self.items):
            yield self.label(index), item

    def fetch(self, url: str, want_body: bool) -> Resource | None:
        return self.resolve(url, want_body) if self.resolve else None


@dataclass
class _Found:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # True once the rule found something to check; False means "skip".
    checked: bool = True
    skipped: str = ""


def _parse(xml: bytes, feed_url: str | None, resolve: Resolver | None) -> _Feed:
    head = xml[:200].lstrip(b"\xef\xbb\xbf")
    declaration = re.match(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)", head)
    if declaration and declaration.group(1).lower() not in (b"utf-8", b"utf8"):
        raise _Malformed(f"is encoded as {declaration.group(1).decode()}, not UTF-8")
    if b"<!ENTITY" in xml:
        raise _Malformed("declares XML entities, which apps refuse as unsafe")
    declared: list[tuple[str, str]] = []
    try:
        xml.decode("utf-8")
        events = ET.iterparse(BytesIO(xml), events=("start-ns",))
        for _event, ns in events:
            declared.append(ns)
        root = events.root  # type: ignore[attr-defined]
    except UnicodeDecodeError as exc:
        raise _Malformed(f"is not valid UTF-8 at byte {exc.start}") from None
    except ET.ParseError as exc:
        raise _Malformed(f"is not well-formed XML: {exc}") from None
    if root.tag != "rss" or root.get("version") != "2.0":
        raise _Malformed(f'the root element is <{root.tag}>, not <rss version="2.0">')
    channels = root.findall("channel")
    if len(channels) != 1:
        raise _Malformed(f"has {len(channels)} <channel> elements, not one")
    channel = channels[0]
    return _Feed(root, channel, channel.findall("item"), declared, feed_url, resolve)


# -- rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    authority: str
    passed: str
    fix: str
    check: Callable[[_Feed, _Found], None]


def _result(
    rule: Rule, errors: list[str], warnings: list[str], checked: bool = True, skipped: str = ""
) -> CheckResult:
    problems = errors or warnings
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        status = ERROR if errors else WARNING
        return CheckResult(
            rule.name, rule.authority, status, problems[0] + more, rule.fix, tuple(problems)
        )
    if not checked:
        return CheckResult(rule.name, rule.authority, SKIP, skipped or "nothing to check")
    return CheckResult(rule.name, rule.authority, PASS, rule.passed)


def _t(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _well_formed(feed: _Feed, found: _Found) -> None:
    """Parsing already succeeded when this runs."""


def _namespaces(feed: _Feed, found: _Found) -> None:
    used = {prefix: uri for prefix, uri in feed.declared}
    for prefix, uri in feed.declared:
        right = _WRONG_NAMESPACES.get(uri)
        if right is None and uri.lower() in {u.lower() for u in NAMESPACES.values()}:
            right = next(u for u in NAMESPACES.values() if u.lower() == uri.lower())
        if right is not None and right != uri:
            found.errors.append(f'xmlns:{prefix}="{uri}" should be "{right}"')
        elif prefix in NAMESPACES and uri != NAMESPACES[prefix]:
            found.errors.append(f'xmlns:{prefix} is "{uri}", not "{NAMESPACES[prefix]}"')
    if ITUNES not in used.values():
        found.errors.append(f'the iTunes namespace "{ITUNES}" is not declared')


def _channel_required(feed: _Feed, found: _Found) -> None:
    channel = feed.channel
    required = {
        "title": channel.findtext("title"),
        "link": channel.findtext("link"),
        "description": channel.findtext("description"),
        "language": channel.findtext("language"),
        "itunes:image": channel.find(_t(ITUNES, "image")) is not None
        and (channel.find(_t(ITUNES, "image")).get("href") or ""),  # type: ignore[union-attr]
        "itunes:category": channel.find(_t(ITUNES, "category")) is not None,
        "itunes:explicit": channel.findtext(_t(ITUNES, "explicit")),
    }
    for name, value in required.items():
        if not (value.strip() if isinstance(value, str) else value):
            found.errors.append(f"the channel has no {name}")
    recommended = {
        "itunes:author": channel.findtext(_t(ITUNES, "author")),
        "itunes:owner/itunes:email": channel.findtext(
            f"{_t(ITUNES, 'owner')}/{_t(ITUNES, 'email')}"
        ),
        'atom:link rel="self"': _self_link(feed),
    }
    for name, value in recommended.items():
        if not (value or "").strip():
            found.warnings.append(f"the channel has no {name}")


def _self_link(feed: _Feed) -> str | None:
    for link in feed.channel.findall(_t(ATOM, "link")):
        if link.get("rel") == "self":
            return link.get("href")
    return None


def _item_required(feed: _Feed, found: _Found) -> None:
    for label, item in feed.labelled():
        if not (item.findtext("title") or item.findtext(_t(ITUNES, "title")) or "").strip():
            found.errors.append(f"{label} has no title")
        if not (item.findtext("guid") or "").strip():
            found.errors.append(f"{label} has no guid")
        enclosure = item.find("enclosure")
        if enclosure is None:
            found.errors.append(f"{label} has no enclosure")
            continue
        for attribute in ("url", "length", "type"):
            if not (enclosure.get(attribute) or "").strip():
                found.errors.append(f"{label}: the enclosure has no {attribute}")
        kind = enclosure.get("type") or ""
        if kind and kind not in APPLE_MEDIA_TYPES:
            found.warnings.append(f"{label}: Apple Podcasts does not play enclosures of {kind}")
    if not feed.items:
        found.warnings.append("the feed has no items yet; directories list a show once it has one")


def _descriptions(feed: _Feed, found: _Found) -> None:
    places = [("the channel", feed.channel), *feed.labelled()]
    for label, element in places:
        for tag in ("description", _t(ITUNES, "summary")):
            text = element.findtext(tag)
            if text is not None and len(text.encode("utf-8")) > DESCRIPTION_LIMIT:
                size = len(text.encode("utf-8"))
                name = tag if tag == "description" else "itunes:summary"
                found.errors.append(f"{label}: {name} is {size} bytes, over {DESCRIPTION_LIMIT}")


def _category(feed: _Feed, found: _Found) -> None:
    tops = feed.channel.findall(_t(ITUNES, "category"))
    if not tops:
        found.errors.append("the channel has no itunes:category")
    for top in tops:
        name = top.get("text") or ""
        if name not in CATEGORIES:
            hint = suggest(name, list(CATEGORIES))
            found.errors.append(
                f"category {name!r} is not Apple's" + (f' (exact case: "{hint}")' if hint else "")
            )
            continue
        for sub in top.findall(_t(ITUNES, "category")):
            sub_name = sub.get("text") or ""
            if sub_name not in CATEGORIES[name]:
                hint = suggest(sub_name, CATEGORIES[name])
                found.errors.append(
                    f"{sub_name!r} is not a subcategory of {name!r}"
                    + (f' (exact case: "{hint}")' if hint else "")
                )


def _explicit(feed: _Feed, found: _Found) -> None:
    places = [("the channel", feed.channel), *feed.labelled()]
    for label, element in places:
        value = element.findtext(_t(ITUNES, "explicit"))
        if value is None:
            continue
        value = value.strip()
        if value in ("yes", "no", "clean"):
            found.warnings.append(f'{label}: itunes:explicit "{value}" is the old form')
        elif value not in ("true", "false"):
            found.errors.append(f'{label}: itunes:explicit is "{value}"')


def _episode_numbers(feed: _Feed, found: _Found) -> None:
    show_type = (feed.channel.findtext(_t(ITUNES, "type")) or "episodic").strip()
    if show_type not in ("episodic", "serial"):
        found.errors.append(f'itunes:type is "{show_type}", not episodic or serial')
    for label, item in feed.labelled():
        for tag in ("episode", "season"):
            value = item.findtext(_t(ITUNES, tag))
            if value is not None and not (value.strip().isdigit() and int(value) > 0):
                found.errors.append(f'{label}: itunes:{tag} is "{value}", not a whole number > 0')
        kind = (item.findtext(_t(ITUNES, "episodeType")) or "full").strip()
        if kind not in ("full", "trailer", "bonus"):
            found.errors.append(f'{label}: itunes:episodeType is "{kind}"')
        if show_type == "serial" and kind == "full" and item.find(_t(ITUNES, "episode")) is None:
            found.errors.append(f"{label} has no itunes:episode, and the show is serial")


def _unique_guids(feed: _Feed, found: _Found) -> None:
    seen: dict[str, str] = {}
    for label, item in feed.labelled():
        guid = (item.findtext("guid") or "").strip()
        if guid and guid in seen:
            found.errors.append(f"{label} repeats the guid of {seen[guid]}: {guid}")
        seen.setdefault(guid, label)


def _unique_enclosures(feed: _Feed, found: _Found) -> None:
    seen: dict[str, str] = {}
    for label, item in feed.labelled():
        enclosure = item.find("enclosure")
        url = (enclosure.get("url") or "").strip() if enclosure is not None else ""
        if url and url in seen:
            found.errors.append(f"{label} repeats the enclosure URL of {seen[url]}: {url}")
        if url:
            seen.setdefault(url, label)


def _enclosure_length(feed: _Feed, found: _Found) -> None:
    compared = 0
    for label, item in feed.labelled():
        enclosure = item.find("enclosure")
        if enclosure is None or not enclosure.get("length"):
            continue
        length = enclosure.get("length", "").strip()
        if not length.isdigit() or int(length) == 0:
            found.errors.append(f'{label}: enclosure length "{length}" is not a size in bytes')
            continue
        resource = feed.fetch(enclosure.get("url") or "", False)
        if resource is None:
            continue
        if resource.error:
            found.errors.append(f"{label}: {resource.url} {resource.error}")
        elif resource.size is not None:
            compared += 1
            if resource.size != int(length):
                found.errors.append(
                    f"{label}: enclosure length is {length}, the file has {resource.size} bytes"
                )
    if not compared and not found.errors:
        found.checked = False
        found.skipped = "no enclosure could be compared with its file"


def _dates(feed: _Feed, found: _Found) -> None:
    places: list[tuple[str, ET.Element, tuple[str, ...]]]
    places = [("the channel", feed.channel, ("pubDate", "lastBuildDate"))]
    places += [(label, item, ("pubDate",)) for label, item in feed.labelled()]
    for label, element, tags in places:
        for tag in tags:
            value = element.findtext(tag)
            if value is None:
                if tag == "pubDate" and element is not feed.channel:
                    found.errors.append(f"{label} has no pubDate")
                continue
            problem = _rfc2822_problem(value.strip())
            if problem:
                found.errors.append(f'{label}: {tag} "{value.strip()}" {problem}')


def _rfc2822_problem(value: str) -> str | None:
    match = _RFC2822.match(value)
    if match is None:
        return "is not an RFC 2822 date"
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return "is not a real date"
    if match.group(1) and _DAYS[moment.weekday()] != match.group(1):
        return f"was a {_DAYS[moment.weekday()]}, not a {match.group(1)}"
    return None


def _feed_urls(feed: _Feed) -> Iterator[tuple[str, str]]:
    """(where, url) for every URL in the feed apps will open."""
    channel = feed.channel
    yield "the channel's link", channel.findtext("link") or ""
    for element in channel.iter():
        for attribute in ("href", "url"):
            value = element.get(attribute)
            if value is not None:
                name = element.tag.split("}")[-1]
                yield f"<{name} {attribute}>", value
    yield "image url", channel.findtext("image/url") or ""
    for label, item in feed.labelled():
        yield f"{label}: link", item.findtext("link") or ""
        guid = item.find("guid")
        if guid is not None and guid.get("isPermaLink", "true") == "true":
            yield f"{label}: guid (isPermaLink)", guid.text or ""


def _ascii_urls(feed: _Feed, found: _Found) -> None:
    for where, url in _feed_urls(feed):
        url = url.strip()
        if not url:
            continue
        if not url.isascii() or any(c.isspace() for c in url):
            found.errors.append(f"{where} {url!r} has spaces or non-ASCII characters")
        elif urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            found.errors.append(f"{where} {url!r} is not an absolute http(s) URL")


def _artwork(feed: _Feed, found: _Found) -> None:
    images = [("the channel", feed.channel.find(_t(ITUNES, "image")))]
    images += [(label, item.find(_t(ITUNES, "image"))) for label, item in feed.labelled()]
    read = 0
    # Most items share the show's cover: read and decode each distinct image once.
    problems: dict[str, str | None] = {}
    for label, element in images:
        url = element.get("href") if element is not None else None
        if not url:
            continue
        if not urlsplit(url).path.lower().endswith((".jpg", ".jpeg", ".png")):
            found.errors.append(f"{label}: artwork {url} does not end in .jpg or .png")
        if url not in problems:
            resource = feed.fetch(url, True)
            if resource is None:
                continue
            body = resource.body
            problems[url] = resource.error if body is None else artwork_problem(body)
        problem = problems[url]
        read += 1
        if problem:
            found.errors.append(f"{label}: artwork {url} {problem or 'could not be read'}")
    if not read and not found.errors:
        found.checked = False
        found.skipped = "no artwork could be read"


def _media_http(feed: _Feed, found: _Found) -> None:
    asked = 0
    for label, item in feed.labelled():
        enclosure = item.find("enclosure")
        if enclosure is None or not enclosure.get("url"):
            continue
        resource = feed.fetch(enclosure.get("url") or "", False)
        if resource is None or (resource.head_status is None and resource.error is None):
            continue
        asked += 1
        if resource.error:
            found.errors.append(f"{label}: {resource.url} {resource.error}")
            continue
        if resource.head_status != 200:
            found.errors.append(f"{label}: HEAD {resource.url} answered {resource.head_status}")
        if resource.range_status != 206 or resource.range_length != 2:
            found.errors.append(
                f"{label}: GET {resource.url} with Range: bytes=0-1 answered "
                f"{resource.range_status} with {resource.range_length} bytes, not 206 with 2"
            )
    if not asked:
        found.checked = False
        found.skipped = "media are only requested when checking a URL (--url)"


def _podcast_guid(feed: _Feed, found: _Found) -> None:
    element = feed.channel.find(_t(PODCAST, "guid"))
    if element is None:
        found.warnings.append("the channel has no podcast:guid")
        return
    value = (element.text or "").strip()
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        found.errors.append(f'podcast:guid "{value}" is not a UUID')
        return
    if parsed.version != 5 or str(parsed) != value.lower():
        found.errors.append(f'podcast:guid "{value}" is not a version 5 UUID')
        return
    url = feed.feed_url or _self_link(feed)
    if url and podcast_guid(url) != str(parsed):
        found.warnings.append(
            f'podcast:guid "{value}" is not the one derived from {url} ({podcast_guid(url)}); '
            "right only if the feed moved here from another URL"
        )


def _chapters(feed: _Feed, found: _Found) -> None:
    read = 0
    for label, item in feed.labelled():
        for element in item.findall(_t(PODCAST, "chapters")):
            url, kind = element.get("url") or "", element.get("type") or ""
            if kind != "application/json+chapters":
                found.errors.append(f'{label}: podcast:chapters type is "{kind}"')
            resource = feed.fetch(url, True) if url else None
            if resource is None:
                continue
            read += 1
            problem = resource.error if resource.body is None else chapters_problem(resource.body)
            if problem:
                found.errors.append(f"{label}: chapters {url} {problem}")
    if not read and not found.errors:
        found.checked = False
        found.skipped = "no chapters file could be read"


def _transcripts(feed: _Feed, found: _Found) -> None:
    read = 0
    for label, item in feed.labelled():
        for element in item.findall(_t(PODCAST, "transcript")):
            url, kind = element.get("url") or "", element.get("type") or ""
            if kind not in TRANSCRIPT_TYPES:
                found.errors.append(f'{label}: podcast:transcript type is "{kind}"')
                continue
            resource = feed.fetch(url, True) if url else None
            if resource is None:
                continue
            read += 1
            body = resource.body
            problem = resource.error if body is None else transcript_problem(body, kind)
            if problem:
                found.errors.append(f"{label}: transcript {url} {problem}")
    if not read and not found.errors:
        found.checked = False
        found.skipped = "no transcript could be read"


RULES: tuple[Rule, ...] = (
    Rule("well-formed", "RSS 2.0", "well-formed UTF-8 RSS 2.0 with one channel",
         "fix the feed.xml template so it renders valid XML", _well_formed),
    Rule("namespaces", "Apple Podcasts", "iTunes and Podcasting 2.0 namespaces at their addresses",
         "declare each namespace at its exact address", _namespaces),
    Rule("channel-tags", "Apple Podcasts", "the channel has every required and recommended tag",
         "set the missing values under [site] in mediahub.toml", _channel_required),
    Rule("item-tags", "Apple Podcasts", "every item has a title, guid and enclosure",
         "give each episode a title and an audio file", _item_required),
    Rule("description-length", "Apple Podcasts", f"descriptions fit in {DESCRIPTION_LIMIT} bytes",
         "shorten the description or show notes", _descriptions),
    Rule("category", "Apple Podcasts", "categories are on Apple's list, exact case",
         "use a category and subcategory from Apple's list, spelled exactly", _category),
    Rule("explicit", "Apple Podcasts", 'itunes:explicit is "true" or "false"',
         "set explicit = true or false", _explicit),
    Rule("episode-numbers", "Apple Podcasts", "episode numbers and types are valid",
         "number every full episode of a serial show (number: in episode.md)", _episode_numbers),
    Rule("unique-guids", "Apple Podcasts", "every item has its own guid",
         "remove the copied guid: line so a new one is assigned", _unique_guids),
    Rule("unique-enclosures", "Apple Podcasts", "every item has its own enclosure URL",
         "give each episode its own audio file", _unique_enclosures),
    Rule("enclosure-length", "Apple Podcasts", "enclosure lengths equal the files' sizes",
         "rebuild so the feed carries each file's exact size", _enclosure_length),
    Rule("dates", "RSS 2.0", "dates are RFC 2822", 'write dates as "Mon, 02 Nov 2026 07:30:00 GMT"',
         _dates),
    Rule("ascii-urls", "Apple Podcasts", "URLs are absolute ASCII http(s) URLs",
         "percent-encode URLs and use ASCII file names", _ascii_urls),
    Rule("artwork", "Apple Podcasts", "artwork is a square 1400-3000 px RGB JPEG or PNG",
         "export the cover as an RGB JPEG or PNG, square, 1400-3000 px", _artwork),
    Rule("media-http", "Apple Podcasts", "media answer HEAD and Range requests (206)",
         "serve media with a server that supports HEAD and byte ranges", _media_http),
    Rule("podcast-guid", "Podcast Index", "podcast:guid matches its definition",
         "let mediahub compute podcast:guid from the feed URL once", _podcast_guid),
    Rule("chapters", "Podcast Index", "JSON chapters are valid and sorted",
         "fix chapters.json: a version and chapters sorted by startTime", _chapters),
    Rule("transcripts", "Podcast Index", "transcripts parse as their declared type",
         "fix the transcript file or its declared type", _transcripts),
)  # fmt: skip
