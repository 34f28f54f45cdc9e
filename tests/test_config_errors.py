"""Every key of mediahub.toml, given a wrong value: one ConfigError naming the key and its line.

The cases are generated from config.py itself: a full document is parsed once
while every typed read (``_Table._get``) is recorded, so a key added to the
config module is covered here without editing this file.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mediahub import config as config_module
from mediahub.config import CONFIG_NAME
from mediahub.errors import ConfigError
from tests.conftest import run_cli

# The document the cases start from: required keys, and every kind of table.
# Array tables hold two blocks; the mutations go into the second, so a message
# that points at the first block's line is caught.
BASE: dict[str, Any] = {
    "": {"timezone": "UTC"},
    "site": {
        "title": "Fault Hub",
        "url": "https://hub.example",
        "description": "A hub made to be broken.",
        "author": "Test Author",
    },
    "paths": {},
    "serve": {},
    "aggregate": {},
    "podcast": {},
    "[podcast.funding]": [
        {"url": "https://hub.example/a", "text": "A"},
        {"url": "https://hub.example/b", "text": "B"},
    ],
    "[podcast.person]": [{"name": "One"}, {"name": "Two"}],
    "[sources]": [
        {"url": "https://feeds.example/a.xml"},
        {"url": "https://feeds.example/b.xml"},
    ],
}


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_literal(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def render(doc: dict[str, Any]) -> tuple[str, dict[tuple[str, str], int]]:
    """TOML text for ``doc`` and the line of every key ((table, key) -> line).

    A table key is "site", "" for the top level, "[sources]" for an array table
    (its keys are those of the LAST block, where the mutations go).
    """
    lines: list[str] = []
    where: dict[tuple[str, str], int] = {}
    for table, body in doc.items():
        blocks = body if isinstance(body, list) else [body]
        for block in blocks:
            if table:
                lines += ["", f"[{table}]"]
            where[(table, "")] = len(lines)
            for key, value in block.items():
                lines.append(f"{key} = {_literal(value)}")
                where[(table, key)] = len(lines)
    return "\n".join(lines) + "\n", where


@dataclass(frozen=True)
class Key:
    """One key config.py reads: its table, name, expected kind and whether it is required."""

    table: str
    name: str
    kind: str
    required: bool

    @property
    def dotted(self) -> str:
        table = self.table.strip("[]")
        return f"{table}.{self.name}" if table else self.name

    def __str__(self) -> str:
        return self.dotted


def _table_of(table: config_module._Table) -> str:
    return table.name if table.index is None else f"[{table.name}]"


def discover_keys(tmp_path: Path) -> list[Key]:
    """Parse BASE while recording every typed read config.py makes."""
    seen: dict[tuple[str, str], Key] = {}
    original = config_module._Table._get

    def recording(
        self: config_module._Table, key: str, kind: Any, kind_name: str, default: Any
    ) -> Any:
        table = _table_of(self)
        seen.setdefault(
            (table, key), Key(table, key, kind_name, default is config_module._REQUIRED)
        )
        return original(self, key, kind, kind_name, default)

    text, _ = render(BASE)
    (tmp_path / CONFIG_NAME).write_text(text, encoding="utf-8")
    config_module._Table._get = recording  # type: ignore[method-assign]
    try:
        config_module.load(tmp_path)
    finally:
        config_module._Table._get = original  # type: ignore[method-assign]
    return list(seen.values())


with tempfile.TemporaryDirectory(prefix="mh-config-") as _folder:
    KEYS = discover_keys(Path(_folder))
TABLES = list(BASE)

# A value of another TOML type for each kind config.py asks for.
WRONG = {
    "a string": 12345,
    "true or false": "yes",
    "a whole number": "ten",
    "a list": "not a list",
    "a table": 5,
    "a list of [[sources]] tables": 5,
}


def _load(tmp_path: Path, doc: dict[str, Any]) -> tuple[ConfigError, dict[tuple[str, str], int]]:
    text, where = render(doc)
    (tmp_path / CONFIG_NAME).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config_module.load(tmp_path)
    return caught.value, where


def _with(doc: dict[str, Any], key: Key, value: Any) -> dict[str, Any]:
    """``doc`` with ``key`` set to ``value`` (in the last block of an array table)."""
    copy: dict[str, Any] = json.loads(json.dumps(doc))
    for name in list(copy):  # a table given as something else: drop the table and its children
        if name.strip("[]") == key.dotted or name.strip("[]").startswith(key.dotted + "."):
            del copy[name]
    body = copy[key.table]
    (body[-1] if isinstance(body, list) else body)[key.name] = value
    return copy


def _without(doc: dict[str, Any], key: Key) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(doc))
    body = copy[key.table]
    (body[-1] if isinstance(body, list) else body).pop(key.name)
    return copy


def _assert_names(error: ConfigError, line: int, name: str) -> None:
    text = error.line()
    assert "\n" not in text
    assert f"{CONFIG_NAME}:{line}: " in text, text
    assert re.search(rf"(^|[ .\[]){re.escape(name)}\b", text), text
    assert error.fix, text


def test_every_kind_of_key_was_discovered() -> None:
    tables = {k.table for k in KEYS}
    assert {"", "site", "paths", "serve", "aggregate", "podcast"} <= tables
    assert {"[sources]", "[podcast.funding]", "[podcast.person]"} <= tables
    assert len(KEYS) >= 50, [str(k) for k in KEYS]


@pytest.mark.parametrize("key", [k for k in KEYS if k.table != "" or k.kind == "a string"], ids=str)
def test_a_wrong_type_names_the_key_and_its_line(tmp_path: Path, key: Key) -> None:
    error, where = _load(tmp_path, _with(BASE, key, WRONG[key.kind]))
    _assert_names(error, where[(key.table, key.name)], key.dotted)
    assert "must be" in error.problem


@pytest.mark.parametrize("table", TABLES)
def test_an_unknown_key_names_itself_and_its_line(tmp_path: Path, table: str) -> None:
    key = Key(table, "colour", "a string", False)
    error, where = _load(tmp_path, _with(BASE, key, "teal"))
    _assert_names(error, where[(table, "colour")], key.dotted)
    assert "unknown key 'colour'" in error.problem


@pytest.mark.parametrize("key", [k for k in KEYS if k.required and k.table != ""], ids=str)
def test_a_missing_required_key_names_it_and_its_table(tmp_path: Path, key: Key) -> None:
    error, where = _load(tmp_path, _without(BASE, key))
    _assert_names(error, where[(key.table, "")], key.table.strip("[]"))
    assert f"missing required key '{key.name}'" in error.problem


def _url_keys() -> Iterator[Key]:
    """Keys holding a URL, by name: each must refuse something that is not one."""
    for key in KEYS:
        if re.search(r"(^|_)(url|urls|href|img|hubs)$", key.name):
            yield key


@pytest.mark.parametrize("key", list(_url_keys()), ids=str)
@pytest.mark.parametrize("bad", ["hub.example/feed", "javascript:alert(1)", "http://"])
def test_a_bad_url_is_refused_by_key_and_line(tmp_path: Path, key: Key, bad: str) -> None:
    value: Any = [bad] if key.kind == "a list" else bad
    error, where = _load(tmp_path, _with(BASE, key, value))
    _assert_names(error, where[(key.table, key.name)], key.dotted)
    assert bad in error.problem


def _number_keys() -> list[Key]:
    return [k for k in KEYS if k.kind == "a whole number"]


@pytest.mark.parametrize("key", _number_keys(), ids=str)
@pytest.mark.parametrize("bad", [-1, 10**9, 1.5, "15m", True])
def test_a_bad_number_or_duration_names_the_key_and_line(
    tmp_path: Path, key: Key, bad: object
) -> None:
    if bad == -1 and key.name == "interval_minutes":
        bad = -15
    error, where = _load(tmp_path, _with(BASE, key, bad))
    _assert_names(error, where[(key.table, key.name)], key.dotted)


@pytest.mark.parametrize(
    ("key", "bad", "problem"),
    [
        (Key("", "timezone", "a string", False), "Mars/Olympus", "unknown time zone"),
        (Key("podcast", "guid", "a string", False), "not-a-uuid", "is not a UUID"),
        (Key("podcast", "type", "a string", False), "weekly", "is not allowed"),
        (Key("podcast", "medium", "a string", False), "radio", "is not allowed"),
        (Key("aggregate", "allow_networks", "a list", False), ["300.1.1.0/24"], "not a network"),
        (Key("serve", "trusted_proxies", "a list", False), [1, 2], "list of strings"),
        (Key("site", "title", "a string", True), "  ", "must not be empty"),
        (Key("site", "image", "a string", False), "missing.jpg", "no image at"),
    ],
    ids=str,
)
def test_a_bad_value_names_the_key_and_line(
    tmp_path: Path, key: Key, bad: object, problem: str
) -> None:
    error, where = _load(tmp_path, _with(BASE, key, bad))
    _assert_names(error, where[(key.table, key.name)], key.dotted)
    assert problem in error.problem


def test_a_duplicate_source_names_the_second_block(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(BASE))
    doc["[sources]"][1]["url"] = doc["[sources]"][0]["url"]
    error, where = _load(tmp_path, doc)
    _assert_names(error, where[("[sources]", "url")], "sources.url")
    assert "listed twice" in error.problem


@pytest.mark.parametrize("table", ["site", "paths", "serve", "aggregate", "podcast", "[sources]"])
def test_a_table_of_the_wrong_type_names_it(tmp_path: Path, table: str) -> None:
    name = table.strip("[]")
    error, where = _load(tmp_path, _with(BASE, Key("", name, "", False), 5))
    _assert_names(error, where[("", name)], name)


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (("site", "explicit", "no"), "site.explicit: must be true or false"),
        (("[sources]", "interval_minutes", "15m"), "sources.interval_minutes: must be"),
        (("aggregate", "wobble", 1), "aggregate.wobble: unknown key 'wobble'"),
        (("[podcast.funding]", "url", "coffee"), "podcast.funding.url:"),
    ],
)
def test_the_cli_prints_one_line_and_exits_2(
    tmp_path: Path, edit: tuple[str, str, object], expect: str
) -> None:
    """Through the real command: exit 2, one line, no traceback, for build and aggregate."""
    table, name, value = edit
    text, where = render(_with(BASE, Key(table, name, "", False), value))
    (tmp_path / CONFIG_NAME).write_text(text, encoding="utf-8")
    for command in ("build", "aggregate"):
        result = run_cli(command, cwd=tmp_path)
        assert result.code == 2, result.err
        assert "Traceback" not in result.err
        [line] = result.err.strip().splitlines()
        assert line.startswith(
            f"mediahub: error: {tmp_path / CONFIG_NAME}:{where[(table, name)]}: "
        )
        assert expect in line, line
