"""The one jinja2 environment: a hub's own templates/ override the built-in ones by name."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup

from mediahub.model import Episode, Post, Show
from mediahub.publish.keys import builtin_templates
from mediahub.publish.links import Links

# Characters XML 1.0 forbids; stripped from every value a template prints so a feed
# built from odd tags or notes stays well-formed.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def strip_xml_illegal(text: str) -> str:
    """Remove the characters XML 1.0 forbids (applied to whole rendered feeds, once)."""
    return _XML_ILLEGAL.sub("", text)


# The same characters in UTF-8: single bytes (never part of a longer sequence), and
# the encodings of U+FFFE and U+FFFF.
_ILLEGAL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_ILLEGAL_SEQUENCES = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


def strip_xml_illegal_bytes(data: bytes) -> bytes:
    """strip_xml_illegal on UTF-8 bytes: one C-speed pass, several times faster on
    megabytes of feed items than a regular expression."""
    data = data.translate(None, _ILLEGAL_BYTES)
    for sequence in _ILLEGAL_SEQUENCES:
        if sequence in data:
            data = data.replace(sequence, b"")
    return data


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


def page_globals(show: Show, links: Links, *, topics: bool = False) -> dict[str, Any]:
    """What every page template receives (base.html uses all of it). ``topics``: the
    hub follows feeds, so it has topic pages, and the site's menu links to them."""
    image = links.url(Links.cover_path(show.image)) if show.image is not None else None
    return {
        "show": show,
        "links": links,
        "show_image": image,
        "feed_url": links.feed(),
        "topics_url": links.href("topics/") if topics else None,
    }


def day(moment: datetime) -> str:
    return moment.strftime("%d %B %Y")


def day_month(moment: datetime) -> str:
    return moment.strftime("%d %b")


# Links as filters: a filter is a plain call in compiled templates, where a method
# call (links.href(...)) goes through jinja's slower generic call path, and pages
# make dozens. They take the context (the page's ``links``), which also keeps jinja
# from folding them into a compiled template that outlives a change of base URL.
def _image(links: Links, episode: Episode, absolute: bool) -> str | None:
    path = Links.episode_image_path(episode)
    if path is None:
        return None
    return links.url(path) if absolute else links.href(path)


_LINK_FILTERS: dict[str, Callable[[Links, Any], str | None]] = {
    "href": lambda links, path: links.href(path),  # site path -> root-relative link
    "url": lambda links, path: links.url(path),  # site path -> absolute URL
    "page_url": lambda links, entry: links.page(entry),
    "page_href": lambda links, entry: links.href(Links.page_path(entry)),
    "media_url": lambda links, episode: links.media(episode),
    "media_href": lambda links, episode: links.href(Links.media_path(episode)),
    "image_url": lambda links, episode: _image(links, episode, absolute=True),
    "image_href": lambda links, episode: _image(links, episode, absolute=False),
}


def _link_filter(make: Callable[[Links, Any], str | None]) -> Callable[..., str | None]:
    @pass_context
    def link_filter(context: Context, value: Any) -> str | None:
        return make(context["links"], value)

    return link_filter


class SiteEnvironment(Environment):
    """The environment, plus fragments rendered once per build and reused by every page.

    An entry's list item appears on the home pages, its tag pages and the episode
    list; the subscribe box on every episode page. Each is a macro of _macros.html
    (a hub can override it), called once per entry (or build) here.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.fragments: dict[object, tuple[object, Markup]] = {}

    def fragment(self, key: object, anchor: object, make: Any) -> Markup:
        """``make()`` once per ``key``; ``anchor`` is the object the key names (kept alive)."""
        hit = self.fragments.get(key)
        if hit is None or hit[0] is not anchor:
            hit = self.fragments[key] = (anchor, Markup(make()))
        return hit[1]


@pass_context
def entry_html(context: Context, entry: Episode | Post) -> Markup:
    """The list item of one entry (macro entry_item), rendered once per build."""
    env = context.environment
    assert isinstance(env, SiteEnvironment)
    macro = env.get_template("_macros.html").module.entry_item  # type: ignore[attr-defined]
    links = context["links"]
    return env.fragment(("entry_item", id(entry)), entry, lambda: macro(entry, links))


@pass_context
def subscribe_html(context: Context) -> Markup:
    """The subscribe box (macro subscribe_box), rendered once per build."""
    env = context.environment
    assert isinstance(env, SiteEnvironment)
    macro = env.get_template("_macros.html").module.subscribe_box  # type: ignore[attr-defined]
    subscribe, links = context["subscribe"], context["links"]
    key = ("subscribe_box", repr(subscribe), links.base_url)
    return env.fragment(key, None, lambda: macro(subscribe, links))


def compile_templates(env: Environment) -> None:
    """Compile every page and feed template now (a bytecode-cache read when unchanged).

    A build does this in its own process while the parse workers run, so the render
    workers forked later inherit them compiled, instead of each compiling every
    template again (about 50 ms each). A template with a mistake is left for
    rendering to report, with its name and line.
    """
    for name in env.list_templates(extensions=("html", "xml", "atom")):
        with suppress(TemplateError):
            env.get_template(name)


def _bytecode_cache(folder: Path | None) -> FileSystemBytecodeCache | None:
    if folder is None:
        return None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds code to run
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


def environment(
    hub_templates: Path | None, cache_dir: Path | None = None, auto_reload: bool = False
) -> SiteEnvironment:
    """The jinja2 environment; ``cache_dir`` keeps compiled templates between runs.

    A build makes its own environment, so it need not look at each template file's
    mtime again on every page (``auto_reload``); a long-lived one should.
    """
    loaders = [FileSystemLoader(str(builtin_templates()))]
    if hub_templates is not None and hub_templates.is_dir():
        loaders.insert(0, FileSystemLoader(str(hub_templates)))
    env = SiteEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "xml", "atom"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(cache_dir),
        auto_reload=auto_reload,
    )
    env.filters.update(rfc822=rfc822, rfc3339=rfc3339, clock=clock, cdata=cdata, day=day)
    env.filters.update(day_month=day_month)
    env.filters.update({name: _link_filter(make) for name, make in _LINK_FILTERS.items()})
    env.globals.update(entry_html=entry_html, subscribe_html=subscribe_html)
    return env
