"""One caller class's view of the catalog, with what its requests need precomputed.

A view is the list `Catalog.view` gives a caller: the full form of the public packages and of the
restricted ones the caller may read (`readable`, decided by gdx/serve/access.py), the
metadata-only form of the others. Callers with the same `readable` set (every anonymous caller;
agencies with the same grants) share one view, built once per catalog build; nothing in it is
ever computed from another caller's packages, so a restricted package's full form cannot reach a
caller through a cache.

Everything here is derived lazily and then read-only: the name/id index of package_show, the
search index, the organisations with their counts, and the packages' JSON text.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from gdx.serve.search import Document
from gdx.serve.search_index import SearchIndex


def dumps(data: Any) -> str:
    """JSON text as the API writes it (ckan_api.json_response's settings)."""
    return json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))


class PackageJson:
    """The JSON text of each package of one build, serialised once (packages are read-only)."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[dict[str, Any], str]] = {}

    def add(self, packages: list[dict[str, Any]]) -> None:
        """Make `packages` known (their text is computed on first use)."""
        for package in packages:
            self._texts.setdefault(id(package), (package, ""))

    def holds(self, data: Any) -> bool:
        """True when `data` is one of the build's packages (the object itself)."""
        found = self._texts.get(id(data))
        return found is not None and found[0] is data

    def inherit(self, older: PackageJson) -> None:
        """Take the texts already computed for packages that are also in `older`'s build."""
        for key, (package, text) in older._texts.items():
            mine = self._texts.get(key)
            if text and mine is not None and mine[0] is package:
                self._texts[key] = (package, text)

    def get(self, data: Any) -> str | None:
        """The cached text when `data` is one of the build's packages (the object itself)."""
        found = self._texts.get(id(data))
        if found is None or found[0] is not data:
            return None
        if not found[1]:
            found = (data, dumps(data))
            self._texts[id(data)] = found
        return found[1]

    def encode(self, data: Any, depth: int = 0) -> str:
        """`dumps(data)` with the build's packages spliced in from the cache (same text).

        Only containers that hold packages are taken apart (the envelope, a search result, a list
        of packages); anything else is one `dumps` call."""
        if isinstance(data, dict):
            cached = self.get(data)
            if cached is not None:
                return cached
            if depth < 3 and all(isinstance(k, str) for k in data):
                return (
                    "{" + ",".join(f"{dumps(k)}:{self._value(v, depth + 1)}" for k, v in data.items()) + "}"
                )
        elif isinstance(data, list) and any(id(v) in self._texts for v in data):
            return "[" + ",".join(self.encode(v, depth + 1) for v in data) + "]"
        return dumps(data)

    def _value(self, data: Any, depth: int) -> str:
        return self.encode(data, depth) if isinstance(data, dict | list) else dumps(data)


class CatalogView:
    """The packages one caller class sees (sorted by name), and indexes over them."""

    def __init__(self, packages: list[dict[str, Any]], documents: dict[int, Document]) -> None:
        self.packages = packages
        self._documents = documents  # id(package) → Document, shared by the views of one build
        self._lock = threading.Lock()
        self._by_key: dict[str, dict[str, Any]] | None = None
        self._index: SearchIndex | None = None
        self._organizations: dict[str, dict[str, Any]] | None = None
        self._names: list[str] | None = None
        self._org_orders: dict[tuple[str, bool], tuple[list[dict[str, Any]], list[str]]] = {}

    def warm(self) -> None:
        """Build what requests use (lookups, search index, organisations) now, not on a request."""
        self.find("")
        _ = self.names
        self.index.warm()
        for key in ("name", "title", "package_count"):
            self.sorted_organizations(key, False)

    def find(self, key: str) -> dict[str, Any] | None:
        """The first package (in name order) whose name, id or contract id is `key`."""
        if self._by_key is None:
            by_key: dict[str, dict[str, Any]] = {}
            for package in self.packages:
                for k in (package["name"], package["id"], package.get("contract_id")):
                    if isinstance(k, str):
                        by_key.setdefault(k, package)
            self._by_key = by_key
        return self._by_key.get(key)

    @property
    def names(self) -> list[str]:
        if self._names is None:
            self._names = [p["name"] for p in self.packages]
        return self._names

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    docs = []
                    for package in self.packages:
                        doc = self._documents.get(id(package))
                        if doc is None or doc.package is not package:
                            doc = self._documents[id(package)] = Document.of(package)
                        docs.append(doc)
                    self._index = SearchIndex(docs)
        return self._index

    @property
    def organizations(self) -> dict[str, dict[str, Any]]:
        """Organisation name → its dict with `package_count` in this view (first package's org dict)."""
        if self._organizations is None:
            orgs: dict[str, dict[str, Any]] = {}
            for package in self.packages:
                org = package["organization"]
                entry = orgs.setdefault(org["name"], {**org, "package_count": 0})
                entry["package_count"] += 1
            self._organizations = orgs
        return self._organizations

    def sorted_organizations(self, key: str, descending: bool) -> tuple[list[dict[str, Any]], list[str]]:
        """The organisations sorted by `key` (ties by name), and their names: sorted once per view
        (1,250 agencies at national scale), shared by the requests that list them (read-only)."""
        found = self._org_orders.get((key, descending))
        if found is None:
            orgs = sorted(self.organizations.values(), key=lambda o: o["name"])
            orgs.sort(key=lambda o: o[key], reverse=descending)
            found = self._org_orders[(key, descending)] = (orgs, [o["name"] for o in orgs])
        return found
