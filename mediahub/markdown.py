"""Markdown to HTML: CommonMark with GitHub's extensions, through cmark-gfm (cmarkgfm).

cmarkgfm's helpers never free the document tree they parse (about seven times the
size of the text) nor the HTML they render, on every call, and its binding does not
expose ``cmark_node_free``. So the text is parsed and rendered here step by step,
and both are freed through the same shared library. Left alone, the leak took 150 MB in the
workers of a 2,000-post build, and grew for as long as ``mediahub serve`` ran and
re-rendered changed entries. Where the function cannot be found (another build of
the library), pages still render, through the leaking helper.
"""

from __future__ import annotations

import ctypes
from typing import Any

from cmarkgfm import _cmark
from cmarkgfm import cmark as _api
from cmarkgfm.cmark import Options

# Raw HTML is the author's own and kept; "smart" gives typographic quotes and dashes.
# GitHub's tag filter still neutralises <script>, <iframe>, <style> and the like.
# The options and extensions are those of cmarkgfm's github_flavored_markdown_to_html.
_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_SMART | Options.CMARK_OPT_GITHUB_PRE_LANG
_EXTENSION_NAMES = ("table", "autolink", "tagfilter", "strikethrough", "tasklist")


class _Release:
    """Frees what cmark hands back: its document tree, and the HTML it renders (which
    cmarkgfm's ``render_html`` leaks too), given as cffi pointers."""

    def __init__(self) -> None:
        # The extension module carries cmark itself; cmark allocates with the C
        # library's calloc and realloc, so its text goes back through free().
        self._tree = ctypes.CDLL(_cmark.__file__).cmark_node_free
        self._text = ctypes.CDLL(None).free
        for function in (self._tree, self._text):
            function.argtypes = [ctypes.c_void_p]
            function.restype = None

    def tree(self, root: Any) -> None:
        self._tree(int(_cmark.ffi.cast("uintptr_t", root)))

    def text(self, raw: Any) -> None:
        self._text(int(_cmark.ffi.cast("uintptr_t", raw)))


def _release() -> _Release | None:
    try:
        return _Release()
    except (OSError, AttributeError):  # not this build of the library
        return None


_RELEASE = _release()
_api.core_extensions_ensure_registered()
_EXTENSIONS = [_api.find_syntax_extension(name) for name in _EXTENSION_NAMES]


def render_markdown(text: str) -> str:
    """CommonMark + GitHub's tables, strikethrough, autolinks and task lists."""
    release = _RELEASE
    if release is None:
        return str(_api.github_flavored_markdown_to_html(text, options=_OPTIONS))
    parser = _api.parser_new(options=_OPTIONS)
    try:
        for extension in _EXTENSIONS:
            _api.parser_attach_syntax_extension(parser, extension)
        _api.parser_feed(parser, text)
        root = _api.parser_finish(parser)
        try:
            extensions = _api.parser_get_syntax_extensions(parser)
            raw = _cmark.lib.cmark_render_html(root, _OPTIONS, extensions)
            try:
                return str(_cmark.ffi.string(raw).decode("utf-8"))
            finally:
                release.text(raw)
        finally:
            release.tree(root)
    finally:
        _api.parser_free(parser)
