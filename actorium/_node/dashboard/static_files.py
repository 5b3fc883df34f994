"""The dashboard's assets: every file under ``_node/static/``, served as it is (no build step).

The page is plain ES modules: ``main.js`` loads ``core/*.js`` and every module in ``pages/``,
each of which registers its page with the router. Adding a page is adding a file to
``static/pages/`` (the node lists them at ``GET /api/ui/pages``). Only files that exist in the
package are served, so no request path can reach outside it.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                 ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json"}


def _walk(folder: Traversable, prefix: str) -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    for item in folder.iterdir():
        name = f"{prefix}{item.name}"
        if item.is_dir():
            found.update(_walk(item, f"{name}/"))
        elif any(item.name.endswith(suffix) for suffix in CONTENT_TYPES):
            found[name] = item
    return found


class StaticFiles:
    """The asset tree, listed once; files are read on each request (they are small)."""

    def __init__(self) -> None:
        self.files = _walk(resources.files("actorium._node").joinpath("static"), "")

    def read(self, name: str) -> tuple[bytes, str] | None:
        """(content, content type) of one asset, or None if there is no such file."""
        item = self.files.get(name)
        if item is None:
            return None
        suffix = name[name.rfind("."):]
        return item.read_bytes(), CONTENT_TYPES[suffix]

    def index(self) -> bytes:
        """``index.html`` naming every module for preloading, so that a first visit fetches
        them all at once instead of level by level of the import graph (main.js, then the
        core it imports, then the page list, then the pages): under load each level is a
        round trip, and a fresh tab took seconds before the first page was drawn."""
        body, _ = self.read("index.html") or (b"", "")
        links = "".join(f'<link rel="modulepreload" href="/static/{name}">\n'
                        for name in sorted(self.files) if name.endswith(".js"))
        return body.replace(b"</head>", links.encode() + b"</head>", 1)

    def page_modules(self) -> list[str]:
        """URLs of the page modules, in file-name order (each page says where it goes)."""
        return [f"/static/{name}" for name in sorted(self.files)
                if name.startswith("pages/") and name.endswith(".js")]
