"""mediahub.toml -> typed Config.

Every error names the file, the key and its line, and says how to fix it.
Unknown keys are errors too: a typo must not be silently ignored.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mediahub.errors import ConfigError
from mediahub.model import Show, Source

CONFIG_NAME = "mediahub.toml"


@dataclass(frozen=True, slots=True)
class Paths:
    """Folders of a hub, all absolute."""

    root: Path
    episodes: Path
    posts: Path
    templates: Path
    output: Path
    state: Path

    @property
    def database(self) -> Path:
        return self.state / "mediahub.db"


@dataclass(frozen=True, slots=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000


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

    def __init__(self, data: dict[str, Any], name: str, file: Path, text: str) -> None:
        self.data = data
        self.name = name
        self.file = file
        self.text = text
        self.used: set[str] = set()

    def where(self, key: str | None = None) -> str:
        line = _line_of(self.text, self.name, key)
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
    }[kind_name]


def _line_of(text: str, table: str, key: str | None) -> int | None:
    """Line number of ``key`` inside ``[table]`` (or of the header itself)."""
    in_table = table == ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            in_table = header.group(1) == table
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
    )
    paths_t.check_unknown()
    serve = ServeConfig(
        host=serve_t.text_value("host", "127.0.0.1"),
        port=serve_t.number("port", 8000, 1, 65535),
    )
    serve_t.check_unknown()
    _check_timezone(timezone, top)
    aggregate = _aggregate(aggregate_t, source_list, root)
    return Config(
        source=file, show=show, paths=paths, serve=serve, timezone=timezone, aggregate=aggregate
    )


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
        floor_minutes=table.number("floor_minutes", 15, 1, 24 * 60),
        ceiling_hours=table.number("ceiling_hours", 24, 1, 24 * 30),
    )
    table.check_unknown()
    if settings.floor_minutes > settings.ceiling_hours * 60:
        raise ConfigError(
            table.where("floor_minutes"), "is longer than ceiling_hours", "lower floor_minutes"
        )
    return settings


class _Block(_Table):
    """One [[sources]] block: its errors name the block's header line."""

    def __init__(self, data: dict[str, Any], prefix: str, file: Path) -> None:
        super().__init__(data, "", file, "")
        self.prefix = prefix

    def where(self, key: str | None = None) -> str:
        return f"{self.prefix}.{key}" if key else self.prefix


def _sources(entries: list[Any], file: Path, text: str) -> tuple[Source, ...]:
    """The [[sources]] blocks, each checked; errors name the block's line."""
    headers = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[sources]]"]
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        line = headers[index] if index < len(headers) else None
        where = f"{file}:{line}: sources" if line else f"{file}: sources[{index + 1}]"
        if not isinstance(entry, dict):
            raise ConfigError(where, "must be a table", "write [[sources]] blocks with url = ...")
        block = _Block(dict(entry), where, file)
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
