"""mediahub.toml -> typed Config.

Every error names the file, the key and its line, and says how to fix it.
Unknown keys are errors too: a typo must not be silently ignored.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mediahub.errors import ConfigError
from mediahub.model import Link, Person, PodcastSettings, Show, Source

CONFIG_NAME = "mediahub.toml"


def user_cache_dir() -> Path | None:
    """Where mediahub keeps what every hub of this user may reuse (compiled built-in
    templates, as Python keeps .pyc files): ``MEDIAHUB_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/mediahub``, else ``~/.cache/mediahub``; None without a home."""
    if chosen := os.environ.get("MEDIAHUB_CACHE_DIR"):
        return Path(chosen)
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg) / "mediahub"
    try:
        return Path.home() / ".cache" / "mediahub"
    except RuntimeError:  # no HOME and no password entry
        return None


@dataclass(frozen=True, slots=True)
class Paths:
    """Folders of a hub, all absolute."""

    root: Path
    episodes: Path
    posts: Path
    templates: Path
    output: Path
    state: Path
    # More folders `mediahub scan` catalogues besides episodes/ (raw recordings, archives).
    media: tuple[Path, ...] = ()

    @property
    def database(self) -> Path:
        return self.state / "mediahub.db"

    @property
    def output_lock(self) -> Path:
        """Held while anything writes ``output`` (builds, topic pages)."""
        return self.state / "output.lock"


@dataclass(frozen=True, slots=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    # The URL the running server is reached at, if not site.url (WebSub callbacks, the hub).
    public_url: str | None = None
    # Proxies whose X-Forwarded-For/-Proto/-Host are believed (IP addresses).
    trusted_proxies: tuple[str, ...] = ()
    # Token for the /stats page; no token, no page.
    stats_token: str | None = None
    # WebSub: run the built-in hub; other hubs to ping; extra ping URLs ({feed} = feed URL).
    hub: bool = True
    websub_hubs: tuple[str, ...] = ()
    ping_urls: tuple[str, ...] = ()
    # Rebuild when episodes/, posts/ or templates/ change.
    watch: bool = True
    # Seconds a client has to send a request's head once it began (slow-loris
    # connections are closed with a 408), and an idle keep-alive connection stays open.
    header_timeout: int = 20


@dataclass(frozen=True, slots=True)
class AggregateConfig:
    """The [aggregate] table and the [[sources]] list: what to follow and how politely."""

    sources: tuple[Source, ...] = ()
    # Folder that file: sources must lie in (None: file: sources are refused).
    files: Path | None = None
    allow_private_networks: bool = False
    allow_networks: tuple[str, ...] = ()
    concurrency: int = 32
    per_host: int = 2
    max_body_mb: int = 15
    timeout: int = 60
    connect_timeout: int = 10
    parse_timeout: int = 60
    floor_minutes: int = 15
    ceiling_hours: int = 24


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration of one hub."""

    source: Path
    show: Show
    paths: Paths
    serve: ServeConfig
    timezone: str = "UTC"
    aggregate: AggregateConfig = AggregateConfig()

    def with_url(self, url: str) -> Config:
        """The same hub published under another base URL (``build --url``)."""
        from dataclasses import replace

        return replace(self, show=replace(self.show, url=check_base_url(url, "--url")))


def check_base_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(where, f"{url!r} is not an http(s) URL", 'use e.g. "https://example.org"')
    return url.rstrip("/")


class _Table:
    """Typed reads from one TOML table, with errors that name key and line."""

    def __init__(
        self, data: dict[str, Any], name: str, file: Path, text: str, index: int | None = None
    ) -> None:
        self.data = data
        self.name = name
        self.file = file
        self.text = text
        self.used: set[str] = set()
        # Which block of an array of tables ([[sources]]) this is, counted from 0.
        self.index = index

    def where(self, key: str | None = None) -> str:
        line = _line_of(self.text, self.name, key, self.index)
        dotted = f"{self.name}.{key}" if key and self.name else (key or f"[{self.name}]")
        return f"{self.file}:{line}: {dotted}" if line else f"{self.file}: {dotted}"

    def _get(self, key: str, kind: type | tuple[type, ...], kind_name: str, default: Any) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is _REQUIRED:
                raise ConfigError(
                    self.where(),
                    f"missing required key {key!r}",
                    f"add {key} = ... under [{self.name}]",
                )
            return default
        value = self.data[key]
        # bool is a subclass of int: refuse it where a number is wanted.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                self.where(key),
                f"must be {kind_name}, not {_toml_type(value)}",
                f"write e.g. {key} = {_example(kind_name)}",
            )
        return value

    def text_value(self, key: str, default: Any = None) -> Any:
        value = self._get(key, str, "a string", default)
        if isinstance(value, str) and not value.strip() and default is _REQUIRED:
            raise ConfigError(self.where(key), "must not be empty", f"give {key} a value")
        return value

    def flag(self, key: str, default: bool) -> bool:
        return bool(self._get(key, bool, "true or false", default))

    def number(self, key: str, default: int, low: int, high: int) -> int:
        value = int(self._get(key, int, "a whole number", default))
        if not low <= value <= high:
            raise ConfigError(
                self.where(key), f"{value} is out of range", f"use a number from {low} to {high}"
            )
        return value

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = str(self.text_value(key, default))
        if value not in allowed:
            raise ConfigError(
                self.where(key), f"{value!r} is not allowed", f"use one of: {', '.join(allowed)}"
            )
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key, list, "a list", [])
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(self.where(key), "must be a list of strings", f'write {key} = ["a"]')
        return tuple(value)

    def tables(self, key: str) -> list[_Table]:
        """An array of tables (``[[podcast.funding]]``) as typed tables of their own."""
        value = self._get(key, list, "a list", [])
        if not all(isinstance(v, dict) for v in value):
            raise ConfigError(
                self.where(key), "must be a list of tables", f"write [[{self.name}.{key}]] blocks"
            )
        name = f"{self.name}.{key}" if self.name else key
        return [_Table(dict(v), name, self.file, self.text, n) for n, v in enumerate(value)]

    def check_unknown(self) -> None:
        for key in self.data:
            if key not in self.used:
                known = ", ".join(sorted(self.used))
                raise ConfigError(
                    self.where(key), f"unknown key {key!r}", f"remove it or use one of: {known}"
                )


_REQUIRED = object()


def _toml_type(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _example(kind_name: str) -> str:
    return {
        "a string": '"text"',
        "true or false": "true",
        "a whole number": "10",
        "a table": "{ ... } or a [table] header",
        "a list": "[ ... ]",
        "a list of [[sources]] tables": "... as [[sources]] blocks",
    }[kind_name]


def _line_of(text: str, table: str, key: str | None, index: int | None = None) -> int | None:
    """Line number of ``key`` inside ``[table]`` (or of the header itself).

    With ``index``, inside the index-th ``[[table]]`` block of an array of tables.
    """
    in_table = table == ""
    blocks = -1
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[(\[)?\s*([^\]]+?)\s*\]", stripped)
        if header:
            is_array = header.group(1) is not None
            in_table = header.group(2) == table
            if in_table and is_array:
                blocks += 1
            if index is not None:
                in_table = in_table and is_array and blocks == index
            if in_table and key is None:
                return number
            continue
        if in_table and key and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return None


def load(root: Path) -> Config:
    """Read ``root/mediahub.toml``; raise ConfigError naming the key and line."""
    file = root / CONFIG_NAME
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(file), "no such file", "run 'mediahub init DIR' or pass --root to the hub's folder"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            str(file), f"cannot be read: {exc}", "check its permissions and encoding"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{file}:{match.group(1)}" if match else str(file)
        problem = re.sub(r"\s*\(at line.*\)$", "", str(exc))
        raise ConfigError(
            where, f"not valid TOML: {problem}", "fix the syntax on that line"
        ) from None
    return parse(data, file, text)


def parse(data: dict[str, Any], file: Path, text: str) -> Config:
    root = file.parent.resolve()
    top = _Table(data, "", file, text)
    site = _Table(_table(top, "site"), "site", file, text)
    paths_t = _Table(_table(top, "paths", optional=True), "paths", file, text)
    serve_t = _Table(_table(top, "serve", optional=True), "serve", file, text)
    aggregate_t = _Table(_table(top, "aggregate", optional=True), "aggregate", file, text)
    source_list = top._get("sources", list, "a list of [[sources]] tables", [])
    podcast_t = _Table(_table(top, "podcast", optional=True), "podcast", file, text)
    timezone = top.text_value("timezone", "UTC")
    top.check_unknown()

    url = site.text_value("url", _REQUIRED)
    try:
        url = check_base_url(url, site.where("url"))
    except ConfigError as exc:
        raise ConfigError(site.where("url"), exc.problem, exc.fix) from None
    image_name = site.text_value("image", None)
    show = Show(
        title=site.text_value("title", _REQUIRED),
        url=url,
        description=site.text_value("description", _REQUIRED),
        language=site.text_value("language", "en"),
        author=site.text_value("author", _REQUIRED),
        email=site.text_value("email", None),
        image=(root / image_name) if image_name else None,
        category=site.text_value("category", "Society & Culture"),
        subcategory=site.text_value("subcategory", None),
        explicit=site.flag("explicit", False),
        copyright=site.text_value("copyright", None),
        podcast=_podcast(podcast_t),
    )
    site.check_unknown()
    if show.image is not None and not show.image.is_file():
        raise ConfigError(
            site.where("image"),
            f"no image at {show.image}",
            "point site.image at a square JPEG or PNG, 1400-3000 px",
        )

    paths = Paths(
        root=root,
        episodes=root / paths_t.text_value("episodes", "episodes"),
        posts=root / paths_t.text_value("posts", "posts"),
        templates=root / paths_t.text_value("templates", "templates"),
        output=root / paths_t.text_value("output", "public"),
        state=root / paths_t.text_value("state", ".mediahub"),
        media=tuple(root / folder for folder in paths_t.strings("media")),
    )
    paths_t.check_unknown()
    serve = ServeConfig(
        host=serve_t.text_value("host", "127.0.0.1"),
        port=serve_t.number("port", 8000, 1, 65535),
        public_url=_optional_url(serve_t, "public_url"),
        trusted_proxies=serve_t.strings("trusted_proxies"),
        stats_token=serve_t.text_value("stats_token", None),
        hub=serve_t.flag("hub", True),
        websub_hubs=tuple(
            check_base_url(u, serve_t.where("websub_hubs")) for u in serve_t.strings("websub_hubs")
        ),
        ping_urls=tuple(
            check_base_url(u, serve_t.where("ping_urls")) for u in serve_t.strings("ping_urls")
        ),
        watch=serve_t.flag("watch", True),
        header_timeout=serve_t.number("header_timeout", 20, 1, 3600),
    )
    serve_t.check_unknown()
    _check_timezone(timezone, top)
    aggregate = _aggregate(aggregate_t, source_list, root)
    return Config(
        source=file, show=show, paths=paths, serve=serve, timezone=timezone, aggregate=aggregate
    )


PODCAST_MEDIUMS = ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog")


def _podcast(table: _Table) -> PodcastSettings:
    """The [podcast] table: iTunes and Podcasting 2.0 channel settings, all optional."""
    guid = table.text_value("guid", None)
    if guid is not None:
        try:
            guid = str(uuid.UUID(guid))
        except ValueError:
            raise ConfigError(
                table.where("guid"), f"{guid!r} is not a UUID", "remove it: mediahub computes it"
            ) from None
    new_feed_url = table.text_value("new_feed_url", None)
    if new_feed_url is not None:
        check_base_url(new_feed_url, table.where("new_feed_url"))
    funding = []
    for item in table.tables("funding"):
        funding.append(
            Link(
                url=_link(item, "url", _REQUIRED),
                text=item.text_value("text", "Support the show"),
            )
        )
        item.check_unknown()
    persons = []
    for item in table.tables("person"):
        persons.append(
            Person(
                name=item.text_value("name", _REQUIRED),
                role=item.text_value("role", "host"),
                group=item.text_value("group", "cast"),
                href=_link(item, "href", None),
                img=_link(item, "img", None),
            )
        )
        item.check_unknown()
    settings = PodcastSettings(
        type=table.choice("type", "episodic", ("episodic", "serial")),
        guid=guid,
        locked=table.flag("locked", False),
        block=table.flag("block", False),
        complete=table.flag("complete", False),
        new_feed_url=new_feed_url,
        medium=table.choice("medium", "podcast", PODCAST_MEDIUMS),
        funding=tuple(funding),
        persons=tuple(persons),
        txt_verify=table.strings("txt_verify"),
        update_frequency=table.text_value("update_frequency", None),
        update_rrule=table.text_value("update_rrule", None),
        license=table.text_value("license", None),
        license_url=_link(table, "license_url", None),
        location=table.text_value("location", None),
        location_geo=table.text_value("location_geo", None),
        location_osm=table.text_value("location_osm", None),
        feed_limit=table.number("feed_limit", 300, 1, 100_000),
    )
    table.check_unknown()
    return settings


def _link(table: _Table, key: str, default: Any) -> Any:
    """An http(s) URL the feed links to, kept exactly as written."""
    value = table.text_value(key, default)
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                table.where(key),
                f"{value!r} is not an http(s) URL",
                'use e.g. "https://example.org"',
            )
    return value


def _optional_url(table: _Table, key: str) -> str | None:
    value = table.text_value(key, None)
    return None if value is None else check_base_url(value, table.where(key))


def _aggregate(table: _Table, entries: list[Any], root: Path) -> AggregateConfig:
    allow = table._get("allow_networks", list, "a list", [])
    for number, net in enumerate(allow):
        try:
            ipaddress.ip_network(net, strict=False)
        except (TypeError, ValueError):
            raise ConfigError(
                table.where("allow_networks"),
                f"item {number + 1} ({net!r}) is not a network",
                'write e.g. allow_networks = ["192.168.1.0/24"]',
            ) from None
    settings = AggregateConfig(
        sources=_sources(entries, table.file, table.text),
        files=root / table.text_value("files", "feeds"),
        allow_private_networks=table.flag("allow_private_networks", False),
        allow_networks=tuple(allow),
        concurrency=table.number("concurrency", 32, 1, 1024),
        per_host=table.number("per_host", 2, 1, 64),
        max_body_mb=table.number("max_body_mb", 15, 1, 1024),
        timeout=table.number("timeout", 60, 1, 3600),
        connect_timeout=table.number("connect_timeout", 10, 1, 600),
        parse_timeout=table.number("parse_timeout", 60, 1, 3600),
        floor_minutes=table.number("floor_minutes", 15, 1, 24 * 60),
        ceiling_hours=table.number("ceiling_hours", 24, 1, 24 * 30),
    )
    table.check_unknown()
    if settings.floor_minutes > settings.ceiling_hours * 60:
        raise ConfigError(
            table.where("floor_minutes"), "is longer than ceiling_hours", "lower floor_minutes"
        )
    return settings


def _sources(entries: list[Any], file: Path, text: str) -> tuple[Source, ...]:
    """The [[sources]] blocks, each checked; errors name the key's line in its block."""
    headers = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[sources]]"]
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        line = headers[index] if index < len(headers) else None
        where = f"{file}:{line}: sources" if line else f"{file}: sources[{index + 1}]"
        if not isinstance(entry, dict):
            raise ConfigError(where, "must be a table", "write [[sources]] blocks with url = ...")
        block = _Table(dict(entry), "sources", file, text, index)
        url = str(block.text_value("url", _REQUIRED)).strip()
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https", "file") or (
            scheme != "file" and not urlsplit(url).netloc
        ):
            raise ConfigError(
                block.where("url"),
                f"{url!r} is not an http(s) or file: URL",
                'write e.g. url = "https://example.org/feed.xml"',
            )
        if url in seen:
            raise ConfigError(block.where("url"), f"{url} is listed twice", "remove one block")
        seen.add(url)
        interval = block.number("interval_minutes", 0, 0, 60 * 24 * 30)
        sources.append(
            Source(
                url=url,
                topic=block.text_value("topic", "general"),
                title=block.text_value("title", None),
                interval_seconds=interval * 60 if interval else None,
            )
        )
        block.check_unknown()
    return tuple(sources)


def _table(parent: _Table, key: str, optional: bool = False) -> dict[str, Any]:
    if key not in parent.data and not optional:
        raise ConfigError(
            str(parent.file),
            f"missing the [{key}] table",
            f"add a [{key}] table; 'mediahub init' writes an example",
        )
    value = parent._get(key, dict, "a table", {})
    return dict(value)


def _check_timezone(name: str, top: _Table) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            top.where("timezone"),
            f"unknown time zone {name!r}",
            'use an IANA name such as "Europe/Berlin" or "UTC"',
        ) from None


def record_podcast_guid(config: Config, guid: str) -> Config:
    """Write ``guid`` into mediahub.toml's [podcast] table once, and return the updated config.

    podcast:guid must survive a move of the feed to another URL, so after it is
    first computed from the feed URL it lives in the configuration, not in a cache.
    """
    from dataclasses import replace

    from mediahub.files import write_text_atomic

    text = config.source.read_text(encoding="utf-8")
    line = f'guid = "{guid}"  # podcast:guid, computed once from the first feed URL: keep it\n'
    lines = text.splitlines(keepends=True)
    for index, current in enumerate(lines):
        if re.match(r"^\s*\[\s*podcast\s*\]", current):
            lines.insert(index + 1, line)
            break
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(f"\n[podcast]\n{line}")
    write_text_atomic(config.source, "".join(lines))
    podcast = replace(config.show.podcast, guid=guid)
    return replace(config, show=replace(config.show, podcast=podcast))
