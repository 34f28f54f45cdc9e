"""The house rules of ARCHITECTURE.md, checked: each outside library has one home,
and dependencies point one way (cli/serve -> services -> model)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mediahub"

# library -> modules (relative to mediahub/; "x/" is a package) that may import it
HOMES = {
    "mutagen": ("catalog/tags.py",),
    "feedparser": ("aggregate/parse.py",),
    "feedparser_rs": ("aggregate/fastparse.py",),
    "sqlite3": ("store/",),
    "jinja2": ("publish/",),
    "yaml": ("frontmatter.py",),
    "cmarkgfm": ("markdown.py",),
    "nh3": ("aggregate/sanitize.py",),
    "PIL": ("artwork.py",),
    "brotli": ("serve/prepared.py",),
    "uvloop": ("serve/run.py",),
}
# the aiohttp *client* lives in one place; the server side lives in serve/
AIOHTTP_ALLOWED = ("serve/", "aggregate/fetch.py", "cli/server.py")


def modules() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[rel] = names
    return found


@pytest.mark.parametrize("library", sorted(HOMES))
def test_each_library_has_one_home(library: str) -> None:
    users = {
        rel
        for rel, names in modules().items()
        if any(n == library or n.startswith(library + ".") for n in names)
    }
    strays = {rel for rel in users if not rel.startswith(HOMES[library])}
    assert not strays, f"{library} imported outside its home: {strays}"


def test_aiohttp_stays_in_the_server_and_the_fetcher() -> None:
    users = {
        rel for rel, names in modules().items() if any(n.split(".")[0] == "aiohttp" for n in names)
    }
    assert all(rel.startswith(AIOHTTP_ALLOWED) for rel in users), users


def test_model_imports_nothing_of_ours() -> None:
    assert not {n for n in modules()["model.py"] if n.startswith("mediahub")}


def test_dependencies_point_one_way() -> None:
    # Nothing below the CLI imports it; services never import the server.
    for rel, names in modules().items():
        ours = {n for n in names if n.startswith("mediahub")}
        if not rel.startswith("cli/") and rel != "__main__.py":
            assert not any(n.startswith("mediahub.cli") for n in ours), rel
        if not rel.startswith(("serve/", "cli/")):
            assert not any(n.startswith("mediahub.serve") for n in ours), rel
        if rel.startswith(("catalog/", "store/", "config.py", "errors.py", "files.py")):
            assert not any(
                n.startswith(("mediahub.publish", "mediahub.aggregate")) for n in ours
            ), rel
