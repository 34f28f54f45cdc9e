"""Front matter YAML, read and written: PyYAML's one home.

Reading is PyYAML's safe loader, with a fast path for flat ``key: value`` lines.

Nearly every episode and post starts with a handful of ``key: scalar`` lines. For
those, PyYAML spends most of its time building and walking an event and node
tree (about 0.1 ms a file, a twentieth of a cold build). The fast path splits
such lines itself and hands every scalar to PyYAML's own resolver and
constructor, so types (YAML 1.1 booleans, numbers, timestamps, nulls) come out
exactly as ``yaml.load`` makes them. Anything else (comments, blank lines,
nesting, block or flow mappings, anchors, escapes, tabs) goes to ``yaml.load``
whole; a differential test holds the two to the same result.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import ScalarNode

from mediahub.errors import ContentError

# libyaml's safe loader when PyYAML was built with it: the same result, many times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# One line the fast path takes: a bare key, a colon, at least one space, a value.
_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):[ ]+(\S(?:.*\S)?)[ ]*")
# Characters YAML refuses in a stream (PyYAML's Reader): such text gets yaml's error.
_NON_PRINTABLE = re.compile("[^\x0a\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What may not start a plain scalar the fast path reads (YAML's indicators).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# An item of a one-line flow sequence the fast path reads: no quotes, brackets,
# braces, colons or comments.
_FLOW_ITEM = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@` ][^,\[\]{}:#'\"]*")
# The tags the fast path constructs; any other resolved tag (merge '<<', '=') falls back.
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)
_STR = "tag:yaml.org,2002:str"


class _Scalars(_LOADER):  # type: ignore[misc, valid-type]
    """PyYAML's resolver and safe constructor, fed one plain scalar at a time."""

    def __init__(self) -> None:
        super().__init__("")
        # First characters some implicit type starts with: a plain scalar starting
        # otherwise is a string, without asking every resolver (None: one matches
        # whatever the first character, so always ask).
        firsts = self.yaml_implicit_resolvers
        self.typed_firsts = None if None in firsts else frozenset(firsts)
        self.string_keys: set[str] = set()

    def key(self, key: str) -> bool:
        """Whether a plain ``key`` is read as a string (not ``yes``, ``null``, ``on``...)."""
        if key in self.string_keys:
            return True
        if self.resolve(ScalarNode, key, (True, False)) != _STR:
            return False
        if len(self.string_keys) < 256:
            self.string_keys.add(key)
        return True

    def plain(self, value: str) -> Any:
        """``value`` as yaml.load types a plain scalar; raises LookupError when not simple."""
        if self.typed_firsts is not None and value[0] not in self.typed_firsts:
            return value
        tag = self.resolve(ScalarNode, value, (True, False))
        if tag not in _SCALAR_TAGS:
            raise LookupError(tag)
        if tag == _STR:
            return value
        # The tag's constructor itself: construct_object would remember every node.
        return self.yaml_constructors[tag](self, ScalarNode(tag, value))


_SCALARS = _Scalars()


def load(where: str, text: str) -> Any:
    """What ``yaml.load(text, Loader=CSafeLoader)`` returns; ContentError naming ``where``
    (a file) and the line when it is not YAML, or the key when a value is impossible
    (a 30 February: PyYAML raises a bare ValueError for that)."""
    fast = _flat(where, text)
    if fast is not None:
        return fast
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ContentError(
            where,
            f"front matter is not valid YAML{line}: {problem}",
            "fix the YAML between the '---' lines",
        ) from None
    except (ValueError, OverflowError) as exc:
        raise _impossible(where, "", exc) from None


def _impossible(where: str, key: str, exc: Exception) -> ContentError:
    named = f" '{key}'" if key else ""
    return ContentError(
        where,
        f"front matter{named} holds an impossible value: {exc}",
        "correct it (a date is written 2026-11-02 or 2026-11-02 08:00:00)",
    )


def dump(meta: dict[str, Any]) -> str:
    """Front matter lines for ``meta``, keys in the order given."""
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10_000)


def _flat(where: str, text: str) -> dict[Any, Any] | None:
    """``text`` as a dict when every line is a simple ``key: value``, else None."""
    if not text or _NON_PRINTABLE.search(text):
        return None
    scalars = _SCALARS
    result: dict[Any, Any] = {}
    try:
        for line in text.removesuffix("\n").split("\n"):
            match = _LINE.fullmatch(line)
            if match is None:
                return None
            key, value = match.groups()
            if not scalars.key(key):
                return None
            try:
                result[key] = _value(scalars, value)
            except (ValueError, OverflowError) as exc:
                raise _impossible(where, key, exc) from None
    except LookupError:
        return None
    return result


def _value(scalars: _Scalars, value: str) -> Any:
    first = value[0]
    if first in "\"'":  # quoted, without escapes: the text between the quotes
        inner = value[1:-1]
        if len(value) < 2 or value[-1] != first or first in inner or "\\" in inner:
            raise LookupError(value)
        return inner
    if first == "[":
        if value[-1] != "]":
            raise LookupError(value)
        inner = value[1:-1].strip(" ")
        if not inner:
            return []
        items = [item.strip(" ") for item in inner.split(",")]
        if not all(item and _FLOW_ITEM.fullmatch(item) for item in items):
            raise LookupError(value)
        return [scalars.plain(item) for item in items]
    if first in _INDICATORS or ": " in value or " #" in value or value[-1] == ":":
        raise LookupError(value)
    return scalars.plain(value)
