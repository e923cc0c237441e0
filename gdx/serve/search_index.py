"""package_search over one caller class's view without scanning every package per request.

`search.matches`, `search.sort_docs` and `search.facets` define what a query answers; this index
gives the same answers from structures built once per view (gdx/serve/views.py):

- per field, normalised value → positions (built on the first query naming the field): exact
  terms are one lookup; wildcards and substring fields scan the field's distinct values, not the
  packages;
- the normalised free-text haystack of every package, and the positions each free-text term
  matched (Thai has no word breaks, so free text stays a substring test);
- per sort key, the value of every package (Thai sort keys computed once);
- per facet field, the values of every package, and the counts over the whole view.

Positions are indexes into the view's packages, which are sorted by name, so a sorted set of
positions is already in the name order `sort_docs` starts from. Ranges and `field:*` are rare
and evaluated with `search.matches` itself.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import Counter
from collections.abc import Callable
from itertools import chain
from typing import Any

from gdx.serve.search import (
    _FREE_TEXT_FIELDS,
    And,
    Document,
    MatchAll,
    Node,
    Not,
    Or,
    Range,
    Term,
    facet_values,
    matches,
    norm,
    score,
    thai_sort_key,
)

_TERM_CACHE = 1024  # free-text terms remembered per view (a term costs one pass over the texts)
_RESULT_CACHE = 2048  # answered queries remembered per view: (q, fq, sort) → ordered positions
_FACET_CACHE = 4096  # facet answers remembered per view: (query, field, limit, mincount) → counts


def _haystack(doc: Document) -> str:
    """The normalised free text of a document, computed once and shared by every view holding it."""
    text = doc.__dict__.get("_haystack")
    if text is None:
        text = doc.__dict__["_haystack"] = norm(doc.text)
    return text


class _NoScores(dict[int, float]):
    """Every document scores 0 (no free-text terms): the score keeps the order as it is."""

    def __missing__(self, key: int) -> float:
        return 0.0


class _Scores(dict[int, float]):
    """The scores of the documents a term occurs in; every other document scores 0."""

    def __missing__(self, key: int) -> float:
        return 0.0


def _sort_value(doc: Document, key: str) -> Any:
    raw = doc.package.get(key)
    if isinstance(raw, str) and key in ("title", "title_en", "name"):
        return thai_sort_key(raw)
    return raw


def _memo(doc: Document, kind: str, key: str, compute: Callable[[], Any]) -> Any:
    """A value derived from one document only, kept on it: views that share the document share it."""
    memo = doc.__dict__.setdefault("_memo", {})
    found = memo.get((kind, key))
    if found is None:
        found = memo[(kind, key)] = (compute(),)
    return found[0]


class SearchIndex:
    """Query evaluation, sorting and facet counting over a fixed list of documents."""

    def __init__(self, docs: list[Document]) -> None:
        self.docs = docs
        self.everything = frozenset(range(len(docs)))
        self._texts: list[str] | None = None
        self._fields: dict[str, dict[str, frozenset[int]]] = {}
        self._terms: dict[str, frozenset[int]] = {}
        self._sort_values: dict[str, list[Any]] = {}
        self._facet_lists: dict[
            str, tuple[list[list[str]], dict[str, str] | None, list[list[tuple[str, str]]]]
        ] = {}
        self._all_counts: dict[str, Counter[str]] = {}
        self._all_positions: list[int] | None = None
        self._all_orders: dict[tuple[tuple[str, bool], ...], list[int]] = {}
        # The view never changes once built, so an answer computed once is the answer for good:
        # the same query, sort or facet again is a dictionary lookup (Solr's result caches).
        self._term_scores: dict[str, _Scores] = {}
        self._results: dict[Any, list[int]] = {}
        self._facet_answers: dict[Any, tuple[dict[str, int], dict[str, Any]]] = {}
        self._lock = threading.Lock()  # guards the lazily built parts (built once, then read-only)

    def warm(
        self,
        fields: tuple[str, ...] = ("organization", "tags", "res_format", "license_id", "data_category"),
        sorts: tuple[str, ...] = ("metadata_modified", "title", "name"),
    ) -> None:
        """Build the free-text haystack, the postings and facet lists of `fields` and the sort
        values of `sorts` now: in the process that forks the workers, so that they share them
        instead of each building its own on its first requests."""
        self._free_text("")
        for name in fields:
            self._field(name)
            self._facet(name)
        for key in sorts:
            self._values(key)

    # --- a whole query -------------------------------------------------------------------------------

    def query(
        self, q: Node, filters: list[Node], spec: list[tuple[str, bool]], terms: list[str]
    ) -> tuple[list[int], Any]:
        """Positions matching `q` and every filter, in `spec` order (`terms` score them when the
        sort names the score), and the key under which `facets` may remember their counts."""
        key = (q, tuple(filters), tuple(spec), tuple(terms))
        found = self._results.get(key)
        if found is None:
            selected = self.select(q)
            for f in filters:
                if not selected:
                    break
                narrowed = self.select(f)
                if narrowed is not self.everything:
                    selected = narrowed if selected is self.everything else selected & narrowed
            positions = self.positions(selected)
            found = self.order(positions, spec, self.scores(positions, terms))
            if len(self._results) >= _RESULT_CACHE:
                self._results.clear()
            self._results[key] = found
        return found, key  # facet labels may depend on the order: the sort is part of the key

    # --- matching ------------------------------------------------------------------------------------

    def select(self, node: Node) -> frozenset[int]:
        """Positions of the documents `node` matches (`search.matches` for each, in one go)."""
        if isinstance(node, MatchAll):
            return self.everything
        if isinstance(node, Not):
            return self.everything - self.select(node.node)
        if isinstance(node, And):
            found = self.select(node.nodes[0])
            for sub in node.nodes[1:]:
                if not found:
                    break
                found = found & self.select(sub)
            return found
        if isinstance(node, Or):
            return frozenset().union(*(self.select(sub) for sub in node.nodes))
        if isinstance(node, Range):
            return self._scan(node)
        return self._term(node)

    def _scan(self, node: Node) -> frozenset[int]:
        return frozenset(i for i, doc in enumerate(self.docs) if matches(node, doc))

    def _term(self, node: Term) -> frozenset[int]:
        if node.field is None or node.field in ("text", "q"):
            value = node.value.strip("*")
            if not value:
                return self.everything
            if "*" in value or "?" in value:
                return self._scan(node)
            return self._free_text(norm(value))
        if node.value == "*":
            return self._scan(node)
        wanted = norm(node.value)
        index = self._field(node.field)
        if "*" in wanted or "?" in wanted:
            keys = [k for k in index if fnmatch.fnmatchcase(k, wanted)]
        elif node.field in _FREE_TEXT_FIELDS:
            keys = [k for k in index if wanted in k]
        else:
            return index.get(wanted, frozenset())
        return frozenset().union(*(index[k] for k in keys))

    def _free_text(self, wanted: str) -> frozenset[int]:
        found = self._terms.get(wanted)
        if found is None:
            if self._texts is None:
                with self._lock:
                    if self._texts is None:
                        self._texts = [_haystack(doc) for doc in self.docs]
            found = frozenset(i for i, text in enumerate(self._texts) if wanted in text)
            if len(self._terms) >= _TERM_CACHE:
                self._terms.clear()
            self._terms[wanted] = found
        return found

    def _field(self, name: str) -> dict[str, frozenset[int]]:
        index = self._fields.get(name)
        if index is None:
            with self._lock:
                index = self._fields.get(name)
                if index is None:
                    positions: dict[str, set[int]] = {}
                    for i, doc in enumerate(self.docs):
                        normed = _memo(doc, "norm", name, lambda d=doc: [norm(v) for v in d.values(name)])
                        for value in normed:
                            positions.setdefault(value, set()).add(i)
                    index = {k: frozenset(v) for k, v in positions.items()}
                    self._fields[name] = index
        return index

    # --- scoring and sorting -------------------------------------------------------------------------

    def scores(self, positions: list[int], terms: list[str]) -> dict[int, float]:
        """`search.score` of the documents at `positions`, from per-term scores computed once."""
        if not terms:
            return _NoScores()
        per_term = [self._term_score(term) for term in terms]
        if len(per_term) == 1:
            return per_term[0]
        return {i: float(sum(t[i] for t in per_term)) for i in positions}

    def _term_score(self, term: str) -> _Scores:
        found = self._term_scores.get(term)
        if found is None:
            found = _Scores()
            bare = term.strip("*")
            # a document scores only where the term occurs, so in its haystack (all its texts)
            candidates = (
                self._free_text(bare) if "*" not in bare and "?" not in bare else range(len(self.docs))
            )
            for i in candidates:
                value = score(self.docs[i], [term])
                if value:
                    found[i] = value
            if len(self._term_scores) >= _TERM_CACHE:
                self._term_scores.clear()
            self._term_scores[term] = found
        return found

    def _values(self, key: str) -> list[Any]:
        values = self._sort_values.get(key)
        if values is None:
            values = [_memo(doc, "sort", key, lambda d=doc: _sort_value(d, key)) for doc in self.docs]
            self._sort_values[key] = values
        return values

    def positions(self, selected: frozenset[int]) -> list[int]:
        """The selected positions in view (= name) order."""
        if selected is self.everything:
            if self._all_positions is None:
                self._all_positions = list(range(len(self.docs)))
            return self._all_positions
        return sorted(selected)

    def order(
        self, positions: list[int], spec: list[tuple[str, bool]], scores: dict[int, float]
    ) -> list[int]:
        """`search.sort_docs` on positions (given in name order): stable keys, missing values last.
        The order of the whole view is kept per sort when no score takes part (browsing)."""
        whole = positions is self._all_positions and isinstance(scores, _NoScores)
        key = tuple(spec)
        if whole and key in self._all_orders:
            return self._all_orders[key]
        ordered = self._order(positions, spec, scores)
        if whole:
            self._all_orders[key] = ordered
        return ordered

    def _order(
        self, positions: list[int], spec: list[tuple[str, bool]], scores: dict[int, float]
    ) -> list[int]:
        ordered = positions
        for key, descending in reversed(spec):
            value: Callable[[int], Any] = (
                scores.__getitem__ if key == "score" else self._values(key).__getitem__
            )
            present = [i for i in ordered if value(i) is not None]
            missing = [i for i in ordered if value(i) is None]
            present.sort(key=value, reverse=descending)
            ordered = present + missing
        return ordered

    # --- facets --------------------------------------------------------------------------------------

    def _facet(self, name: str) -> tuple[list[list[str]], dict[str, str] | None, list[list[tuple[str, str]]]]:
        """Per document the facet values; the display name of each value when it has only one."""
        found = self._facet_lists.get(name)
        if found is None:
            pairs = [_memo(doc, "facet", name, lambda d=doc: facet_values(d, name)) for doc in self.docs]
            display: dict[str, str] | None = {}
            for doc_pairs in pairs:
                for value, label in doc_pairs:
                    shown = label or value
                    if display is not None and display.setdefault(value, shown) != shown:
                        display = None  # labels differ: the last document in result order names it
            found = ([[v for v, _ in p] for p in pairs], display, pairs)
            self._facet_lists[name] = found
        return found

    def facets(
        self,
        ordered: list[int],
        names: list[str],
        limit: int,
        mincount: int,
        whole_view: bool,
        key: Any = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """`search.facets` over the documents at `ordered` (`whole_view`: they are all of them).
        With the `key` of `query`, each field's answer is remembered (callers must not mutate it)."""
        legacy: dict[str, Any] = {}
        rich: dict[str, Any] = {}
        for name in names:
            # labels unique per value: the counts do not depend on the order, so every sort of
            # the same query shares them (key[:2] = q and filters)
            scope = key if key is None or self._facet(name)[1] is None else key[:2]
            cache_key = None if scope is None else (scope, name, limit, mincount)
            cached = self._facet_answers.get(cache_key) if cache_key is not None else None
            if cached is None:
                cached = self._facet_field(ordered, name, limit, mincount, whole_view)
                if cache_key is not None:
                    if len(self._facet_answers) >= _FACET_CACHE:
                        self._facet_answers.clear()
                    self._facet_answers[cache_key] = cached
            legacy[name], rich[name] = cached
        return legacy, rich

    def _facet_field(
        self, ordered: list[int], name: str, limit: int, mincount: int, whole_view: bool
    ) -> tuple[dict[str, int], dict[str, Any]]:
        values, display, pairs = self._facet(name)
        if display is None:
            counts: dict[str, int] = {}
            shown: dict[str, str] = {}
            for i in ordered:
                for value, label in pairs[i]:
                    counts[value] = counts.get(value, 0) + 1
                    shown[value] = label or value
        else:
            shown = display
            if whole_view:
                counts = self._all_counts.get(name)  # type: ignore[assignment]
                if counts is None:
                    counts = self._all_counts[name] = Counter(chain.from_iterable(values))
            else:
                counts = Counter(chain.from_iterable(map(values.__getitem__, ordered)))
        items = sorted(((v, c) for v, c in counts.items() if c >= mincount), key=lambda vc: (-vc[1], vc[0]))
        if limit >= 0:
            items = items[:limit]
        return dict(items), {
            "title": name,
            "items": [{"name": v, "display_name": shown[v], "count": c} for v, c in items],
        }
