"""Hostile feeds and the local server that serves them (127.0.0.1 only).

Every payload is written here, by these tests. ``HostileServer`` serves each
feed at ``/feed/<name>`` plus the misbehaving endpoints (gzip bombs, a body
over the limit, a one-byte-a-second drip, redirect loops, redirects to
private addresses) and records every request to ``/pwned/...`` -- the marker
URL an executed payload would call -- and to ``/xxe/...``, which only an XML
parser resolving an external entity would fetch.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path

from aiohttp import web

from tests.aggserver import serving_in_thread

MARK = "/pwned/"
XXE = "/xxe/"
# The items' date: an hour before the tests run. The hub aggregates them with the real
# clock and its topic pages hide sources silent for 28 days, so a fixed date would
# empty those pages (and make the checks on them vacuous) four weeks after it.
POSTED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
POSTED_RFC822 = format_datetime(POSTED, usegmt=True)
POSTED_ISO = POSTED.isoformat().replace("+00:00", "Z")
_ZEROS = bytes(1024 * 1024)


def rss(title: str, items: str, *, head: str = "", channel: str = "") -> bytes:
    """A small RSS 2.0 document around ``items`` (already XML)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"{head}"
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>http://127.0.0.1/</link>"
        f"<description>hostile</description>{channel}{items}</channel></rss>"
    ).encode()


def item(n: int, title: str, description: str = "", extra: str = "") -> str:
    return (
        f"<item><title>{title}</title><guid>urn:hostile:{n}</guid>"
        f"<link>http://127.0.0.1/item/{n}</link><pubDate>{POSTED_RFC822}</pubDate>"
        f"<description>{description}</description>{extra}</item>"
    )


def good_feed(name: str) -> bytes:
    """An ordinary feed whose items must come through any cycle intact."""
    items = "".join(
        item(n, f"{name} headline {n}", f"&lt;p&gt;Plain summary {n} of {name}.&lt;/p&gt;")
        .replace("urn:hostile:", f"urn:{name}:")
        .replace("/item/", f"/{name}/")
        for n in range(1, 4)
    )
    return rss(f"Good {name}", items)


# --- entities ----------------------------------------------------------------------------


def billion_laughs() -> bytes:
    levels = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    ]
    head = f"<!DOCTYPE rss [{''.join(levels)}]>\n"
    return rss("Laughs &l9;", item(1, "lol &l9;", "&l9;"), head=head)


def quadratic_blowup(entity_size: int = 20_000, references: int = 1_000_000) -> bytes:
    """One large entity referenced a million times: gigabytes if ever expanded."""
    head = f'<!DOCTYPE rss [<!ENTITY big "{"B" * entity_size}">]>\n'
    return rss("Quadratic", item(1, "quadratic", "&big;" * references), head=head)


def external_entity(system_id: str) -> bytes:
    head = f'<!DOCTYPE rss [<!ENTITY ext SYSTEM "{system_id}">]>\n'
    return rss("External &ext;", item(1, "ext &ext;", "&ext;"), head=head)


def external_parameter_entity(system_id: str) -> bytes:
    head = f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{system_id}"> %ext;]>\n'
    return rss("Parameter entity", item(1, "param", "text"), head=head)


# --- sizes and encodings -----------------------------------------------------------------


def many_items(count: int = 100_000) -> bytes:
    return rss(
        "Many items",
        "".join(f"<item><title>n{n}</title><guid>g{n}</guid></item>" for n in range(count)),
    )


def huge_title(size: int = 10 * 1024 * 1024) -> bytes:
    return rss("Huge title", item(1, "T" * size, "after the title"))


def invalid_utf8() -> bytes:
    """Declared UTF-8, with bytes that are no UTF-8 at all."""
    body = rss("Bad bytes", item(1, "cafe", "broken"))
    body = body.replace(b"Bad bytes", b"Bad \xff bytes").replace(b"cafe", b"caf\xe9 \x80\x81")
    return body.replace(b"broken", b"broken \xc3\x28 sequence")


def mislabelled_latin1() -> bytes:
    """Declared UTF-8, written in Latin-1."""
    return rss("Mislabelled", item(1, "Göteborg år", "Ärlig")).decode().encode("latin-1")


def mislabelled_utf16() -> bytes:
    """Declared UTF-8, written in UTF-16 without a BOM."""
    return rss("Sixteen", item(1, "wide", "chars")).decode().encode("utf-16-le")


def unreadable_encoding_name(name: bytes) -> bytes:
    """An XML declaration whose encoding name is no name at all (feedparser raised on it)."""
    return rss("Odd declaration", item(1, "declared", "oddly")).replace(
        b'encoding="utf-8"', b'encoding="' + name + b'"', 1
    )


def references_to_no_character() -> bytes:
    """Character references to a surrogate and past U+10FFFF (feedparser raised on them)."""
    return rss("No character &#xD800;", item(1, "half &#55357; a pair", "far &#x110000; out"))


def json_lone_surrogates() -> bytes:
    """A JSON Feed escaping lone surrogates, which no UTF-8 store or page can hold."""
    return (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Half \\ud800 pairs",'
        b' "items": [{"id": "lone-\\udfff", "title": "Only \\ud83d half",'
        b' "content_html": "<p>\\udc00</p>"}]}'
    )


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzipped (about a megabyte)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = bytearray()
    for _ in range(1024):
        out += packer.compress(_ZEROS)
    out += packer.flush()
    return bytes(out)


@lru_cache(maxsize=1)
def nested_gzip_bomb() -> bytes:
    """The bomb gzipped again: a few kilobytes on the wire, 1 GiB two layers down."""
    return gzip.compress(gzip_bomb(), 9)


# --- HTML payloads -----------------------------------------------------------------------


def _js(mark: str, name: str) -> str:
    """Script text that, if it ever runs, leaves both kinds of marker."""
    return f"window.__pwned='{name}';fetch('{mark}{name}')"


def xss_payloads(mark: str) -> dict[str, str]:
    """HTML that tries to run script or navigate; ``mark`` is the marker URL prefix."""
    p: dict[str, str] = {
        "script": f"<script>{_js(mark, 'script')}</script>",
        "script-case": f"<ScRiPt>{_js(mark, 'script-case')}</sCrIpT>",
        "script-split": f"<scr<script>ipt>{_js(mark, 'script-split')}</script>",
        "img-onerror": f'<img src="x:" onerror="{_js(mark, "img-onerror")}">',
        "img-onerror-case": f'<IMG SRC=x: OnErRoR="{_js(mark, "img-onerror-case")}">',
        "body-onload": f'<body onload="{_js(mark, "body-onload")}">',
        "svg-onload": f'<svg onload="{_js(mark, "svg-onload")}"></svg>',
        "svg-script": f"<svg><script>{_js(mark, 'svg-script')}</script></svg>",
        "js-link": f'<a href="javascript:{_js(mark, "js-link")}">click</a>',
        "js-link-entities": '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;'
        f'&#58;{_js(mark, "js-link-entities")}">click</a>',
        "js-link-tab": f'<a href="jav&#x09;ascript:{_js(mark, "js-link-tab")}">click</a>',
        "js-link-case": f'<a href="JaVaScRiPt:{_js(mark, "js-link-case")}">click</a>',
        "data-link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>',
        "data-iframe": '<iframe src="data:text/html,<script>parent.__pwned=1</script>"></iframe>',
        "iframe": f'<iframe src="{mark}iframe"></iframe>',
        "iframe-srcdoc": "<iframe srcdoc=\"<script>parent.__pwned='srcdoc'</script>\"></iframe>",
        "form": f'<form action="{mark}form"><input name="q" autofocus '
        f'onfocus="{_js(mark, "form-focus")}"><button formaction="{mark}formaction">go'
        "</button></form>",
        "meta-refresh": f'<meta http-equiv="refresh" content="0;url={mark}meta-refresh">',
        "style-expression": "<style>p{width:expression(window.__pwned='expression')}</style>",
        "style-url": f"<style>body{{background:url({mark}style-url)}}</style>"
        "<style>p{background:url(javascript:window.__pwned='style-js')}</style>",
        "style-attribute": f'<p style="background:url({mark}style-attribute)">styled</p>',
        "base-href": f'<base href="{mark}base/"><img src="relative.png"><a href="rel">r</a>',
        "object": f'<object data="{mark}object"></object><embed src="{mark}embed">',
        "link-stylesheet": f'<link rel="stylesheet" href="{mark}link">',
        "srcset": f'<img src="https://127.0.0.1:1/a.png" srcset="{mark}srcset 1x">',
        "noscript-mxss": f'<noscript><p title="</noscript><img src=x: onerror={_js(mark, "mx")}>">',
        "math-mxss": "<math><mtext><table><mglyph><style><img src=x: "
        f'onerror="{_js(mark, "math")}">',
        "video-poster": f'<video poster="{mark}poster"><source src="{mark}video"></video>',
        "entity-escaped-script": f"&lt;script&gt;{_js(mark, 'escaped')}&lt;/script&gt;",
        "comment-break": f"<!--><script>{_js(mark, 'comment')}</script>-->",
    }
    return p


def xss_feed(mark: str) -> bytes:
    """One RSS item per payload, in the description (as escaped HTML) and the title."""
    from xml.sax.saxutils import escape

    items = []
    for n, (name, payload) in enumerate(xss_payloads(mark).items(), start=1):
        items.append(
            item(
                n,
                escape(f"{name} {payload}"),
                escape(payload),
                f"<content:encoded><![CDATA[<p>{name}</p>{payload}]]></content:encoded>",
            )
        )
    js_link = f"javascript:{_js(mark, 'item-link')}"
    items.append(
        f"<item><title>bad link</title><guid>urn:hostile:links</guid><link>{escape(js_link)}</link>"
        f'<enclosure url="{escape(js_link)}" type="audio/mpeg" length="1"/></item>'
    )
    channel = f"<image><url>{escape(js_link)}</url></image>"
    return rss(
        escape(f"<script>{_js(mark, 'feed-title')}</script>Hostile"),
        "".join(items),
        channel=channel,
    ).replace(b"<link>http://127.0.0.1/</link>", f"<link>{escape(js_link)}</link>".encode(), 1)


def xss_atom(mark: str) -> bytes:
    from xml.sax.saxutils import escape

    entries = []
    for n, (name, payload) in enumerate(xss_payloads(mark).items(), start=1):
        entries.append(
            f'<entry><title type="html">{escape(payload)}</title><id>urn:atom:{n}</id>'
            f'<link href="http://127.0.0.1/atom/{n}"/><updated>{POSTED_ISO}</updated>'
            f'<summary type="html">{escape(payload)}</summary>'
            f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>{name}</p>'
            f"<script>{_js(mark, 'xhtml-' + name)}</script>"
            f'<img src="x:" onerror="{_js(mark, "xhtml-img")}"/></div></content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        '<title type="html">&lt;img src=x: onerror=alert(1)&gt;Atom hostile</title>'
        f"<id>urn:atom:hostile</id><updated>{POSTED_ISO}</updated>"
        f'<link href="javascript:{_js(mark, "atom-link")}"/>{"".join(entries)}</feed>'
    ).encode()


# --- the server --------------------------------------------------------------------------


@dataclass
class HostileServer:
    """What the hostile server has seen: marker hits, external-entity fetches."""

    base: str = ""
    feeds: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    marks: list[str] = field(default_factory=list)
    xxe: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"{self.base}/feed/{name}"


def _app(state: HostileServer) -> web.Application:
    async def feed(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in state.feeds:
            raise web.HTTPNotFound
        body, kind = state.feeds[name]
        return web.Response(body=body, headers={"Content-Type": kind})

    async def mark(request: web.Request) -> web.Response:
        with state.lock:
            state.marks.append(request.path_qs)
        return web.Response(text="marked")

    async def xxe(request: web.Request) -> web.Response:
        with state.lock:
            state.xxe.append(request.path_qs)
        return web.Response(text="LEAKED-BY-XXE")

    async def bomb(request: web.Request) -> web.Response:
        body = nested_gzip_bomb() if request.match_info["kind"] == "nested" else gzip_bomb()
        return web.Response(
            body=body, headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        )

    async def too_big(request: web.Request) -> web.StreamResponse:
        """16 MiB without a Content-Length (streamed), so only the running count can stop it."""
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>')
        try:
            for _ in range(16 * 16):
                await response.write(b"x" * 65536)
        except (ConnectionError, RuntimeError):
            return response
        await response.write_eof()
        return response

    async def declared_too_big(request: web.Request) -> web.Response:
        return web.Response(
            body=b" " * (16 * 1024 * 1024), headers={"Content-Type": "application/rss+xml"}
        )

    async def drip(request: web.Request) -> web.StreamResponse:
        """One byte a second, for at most two minutes."""
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        try:
            for byte in good_feed("drip")[:120]:
                await response.write(bytes([byte]))
                await asyncio.sleep(1)
        except (ConnectionError, RuntimeError):
            pass
        return response

    async def loop(request: web.Request) -> web.Response:
        hop = int(request.query.get("hop", "0"))
        raise web.HTTPFound(f"/loop?hop={hop + 1}")

    async def self_loop(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/self-loop")

    async def redirect(request: web.Request) -> web.Response:
        targets = {
            "private": "http://10.0.0.1/feed.xml",
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "file": "file:///etc/passwd",
        }
        raise web.HTTPFound(targets[request.match_info["to"]])

    app = web.Application()
    app.router.add_get("/feed/{name}", feed)
    app.router.add_get(MARK + "{tail:.*}", mark)
    app.router.add_get(XXE + "{tail:.*}", xxe)
    app.router.add_get("/bomb/{kind}", bomb)
    app.router.add_get("/too-big", too_big)
    app.router.add_get("/declared-too-big", declared_too_big)
    app.router.add_get("/drip", drip)
    app.router.add_get("/loop", loop)
    app.router.add_get("/self-loop", self_loop)
    app.router.add_get("/redirect/{to}", redirect)
    return app


@dataclass(frozen=True)
class Case:
    """One hostile source: its URL, and what its failure must say (None: may succeed)."""

    name: str
    url: str
    error: tuple[str, ...] | None


def cases(server: HostileServer, secret_file: Path) -> list[Case]:
    """Every hostile source, registering each feed body with ``server``."""
    b = server.base
    xml = "application/rss+xml"
    bodies: dict[str, tuple[bytes, str]] = {
        "billion-laughs": (billion_laughs(), xml),
        "xxe-passwd": (external_entity("file:///etc/passwd"), xml),
        "xxe-secret": (external_entity(secret_file.as_uri()), xml),
        "xxe-loopback": (external_entity(f"{b}{XXE}entity"), xml),
        "xxe-parameter": (external_parameter_entity(f"{b}{XXE}parameter"), xml),
        "many-items": (many_items(), xml),
        "huge-title": (huge_title(), xml),
        "invalid-utf8": (invalid_utf8(), xml),
        "mislabelled-latin1": (mislabelled_latin1(), xml),
        "mislabelled-utf16": (mislabelled_utf16(), xml),
        "charset-lies": (good_feed("charset"), "application/rss+xml; charset=utf-16"),
        "encoding-name-not-utf8": (unreadable_encoding_name(b"\x80utf-8"), xml),
        "encoding-name-nul": (unreadable_encoding_name(b"utf\x00-8"), xml),
        "references-to-no-character": (references_to_no_character(), xml),
        "json-lone-surrogates": (json_lone_surrogates(), "application/feed+json"),
        "xss-rss": (xss_feed(b + MARK), xml),
        "xss-atom": (xss_atom(b + MARK), "application/atom+xml"),
        "xss-json": (_xss_json(b + MARK), "application/feed+json"),
    }
    bodies["quadratic"] = (quadratic_blowup(), xml)
    server.feeds.update(bodies)
    nested_gzip_bomb()  # made now, not while a client waits for it
    return [
        *(Case(name, server.url(name), None) for name in bodies if name != "quadratic"),
        Case("gzip-bomb", f"{b}/bomb/flat", ("larger than",)),
        # Fails on its parse time limit where the parser crawls; must be bounded either way.
        Case("quadratic", server.url("quadratic"), None),
        Case("nested-gzip-bomb", f"{b}/bomb/nested", ("inflates to more than",)),
        Case("too-big", f"{b}/too-big", ("larger than",)),
        Case("declared-too-big", f"{b}/declared-too-big", ("larger than",)),
        Case("drip", f"{b}/drip", ("timed out",)),
        Case("redirect-loop", f"{b}/loop", ("redirects",)),
        Case("self-loop", f"{b}/self-loop", ("redirects",)),
        Case("redirect-private", f"{b}/redirect/private", ("private",)),
        Case("redirect-metadata", f"{b}/redirect/metadata", ("link-local",)),
        Case("redirect-file", f"{b}/redirect/file", ("scheme",)),
    ]


def _xss_json(mark: str) -> bytes:
    import json

    items = [
        {
            "id": f"json-{n}",
            "url": f"http://127.0.0.1/json/{n}",
            "title": f"{name} {payload}",
            "content_html": payload,
            "date_published": POSTED_ISO,
        }
        for n, (name, payload) in enumerate(xss_payloads(mark).items(), start=1)
    ]
    items.append({"id": "json-js", "url": f"javascript:{_js(mark, 'json-url')}", "title": "js"})
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "<script>JSON hostile</script>",
        "home_page_url": f"javascript:{_js(mark, 'json-home')}",
        "items": items,
    }
    return json.dumps(doc).encode()


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    state = HostileServer()
    with serving_in_thread(_app(state)) as base:
        state.base = base
        yield state
