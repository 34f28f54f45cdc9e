"""The one jinja2 environment: a hub's own templates/ override the built-in ones by name."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup

from mediahub.publish.keys import builtin_templates

# Characters XML 1.0 forbids; stripped from every value a template prints so a feed
# built from odd tags or notes stays well-formed.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def strip_xml_illegal(text: str) -> str:
    """Remove the characters XML 1.0 forbids (applied to whole rendered feeds, once)."""
    return _XML_ILLEGAL.sub("", text)


def rfc822(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def clock(seconds: float) -> str:
    """Seconds as H:MM:SS or M:SS, for people."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def cdata(text: str) -> Markup:
    """Wrap text in CDATA for XML, splitting any ']]>' it contains.

    Characters XML forbids are removed from the whole feed afterwards, in one pass.
    """
    body = str(text).replace("]]>", "]]]]><![CDATA[>")
    return Markup(f"<![CDATA[{body}]]>")


def _bytecode_cache(folder: Path | None) -> FileSystemBytecodeCache | None:
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


def environment(hub_templates: Path | None, cache_dir: Path | None = None) -> Environment:
    """The jinja2 environment; ``cache_dir`` keeps compiled templates between runs."""
    loaders = [FileSystemLoader(str(builtin_templates()))]
    if hub_templates is not None and hub_templates.is_dir():
        loaders.insert(0, FileSystemLoader(str(hub_templates)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "xml", "atom"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(cache_dir),
    )
    env.filters.update(rfc822=rfc822, rfc3339=rfc3339, clock=clock, cdata=cdata)
    return env
