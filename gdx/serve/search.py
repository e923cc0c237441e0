"""package_search over the in-memory catalog: a small Solr/Lucene query parser, matching, sort, facets.

CKAN hands `q` and `fq` to Solr. Clients (ckanapi scripts, data.go.th users) send the Lucene subset
this module understands:

    pm25                         free text over titles (Thai and English), notes, tags, organisation
    ฝุ่น คุณภาพอากาศ               several terms: all must match (CKAN's q.op is AND)
    "air quality"                a phrase
    organization:pcd             a field (exact, case-insensitive); `tags:`, `res_format:`, `license_id:`,
    tags:pm25 tags:"clean-air"   `owner_org:` (id or name), `name:`, `data_category:`, any GD-Catalog field
    +organization:pcd -tags:x    required / excluded clauses
    tags:(pm25 OR fire)          a field applied to a group; AND, OR, NOT, &&, ||, ! and parentheses
    data_category:"ข้อมูลสาธารณะ"  quoted values (spaces, Thai)
    name:pcd-*  title:*อากาศ*    wildcards
    metadata_modified:[2024-01-01T00:00:00Z TO *]   ranges ([] inclusive, {} exclusive)
    *:*                          everything

Malformed queries raise `QuerySyntaxError` (CKAN answers those with a 400 "Search Query Error").
Thai is written without spaces between words, so free text matches substrings, not tokens.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class QuerySyntaxError(ValueError):
    """A q/fq string that is not a query this parser understands."""


class SortError(ValueError):
    """A sort specification naming an unknown field or direction."""


# --- the query tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    field: str | None  # None = free text
    value: str
    phrase: bool = False


@dataclass(frozen=True)
class Range:
    field: str
    low: str | None
    high: str | None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class MatchAll:
    pass


Node = Term | Range | Not | And | Or | MatchAll

# --- lexer ----------------------------------------------------------------------------------------

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_OPERATORS = {"AND": "AND", "OR": "OR", "NOT": "NOT", "&&": "AND", "||": "OR", "!": "NOT"}
_BREAK = set(' \t\r\n()"')


@dataclass
class _Token:
    kind: str  # LP RP AND OR NOT PLUS MINUS FIELD TERM PHRASE RANGE ALL
    value: Any = None


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    out = []
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise QuerySyntaxError("unterminated quoted phrase")


def _read_range(text: str, i: int) -> tuple[_Token, int]:
    """`[low TO high]`; `{` / `}` exclude a bound, and Lucene lets the two ends differ (`[a TO b}`)."""
    match = re.compile(r"[\]}]").search(text, i + 1)
    if match is None:
        raise QuerySyntaxError("unterminated range, expected ']' or '}'")
    end = match.start()
    parts = text[i + 1 : end].split(" TO ")
    if len(parts) != 2:
        raise QuerySyntaxError("a range is written [low TO high]")
    low, high = (p.strip().strip('"') for p in parts)
    bounds = (low if low != "*" else None, high if high != "*" else None, text[i] == "[", text[end] == "]")
    return _Token("RANGE", bounds), end + 1


def tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(_Token("LP"))
            i += 1
        elif ch == ")":
            tokens.append(_Token("RP"))
            i += 1
        elif ch == '"':
            value, i = _read_quoted(text, i)
            tokens.append(_Token("PHRASE", value))
        elif ch in "[{" and tokens and tokens[-1].kind == "FIELD":
            token, i = _read_range(text, i)
            tokens.append(token)
        elif text.startswith(("&&", "||"), i):
            tokens.append(_Token(_OPERATORS[text[i : i + 2]]))
            i += 2
        elif ch in "+-!" and i + 1 < len(text) and not text[i + 1].isspace():
            tokens.append(_Token({"+": "PLUS", "-": "MINUS", "!": "NOT"}[ch]))
            i += 1
        else:
            word: list[str] = []
            while i < len(text) and text[i] not in _BREAK:
                if text[i] == "\\" and i + 1 < len(text):
                    word.append(text[i + 1])
                    i += 2
                    continue
                if text[i] == ":" and (not tokens or tokens[-1].kind != "FIELD"):
                    name = "".join(word)
                    if name == "*" and text.startswith(":*", i):
                        word = ["*:*"]
                        i += 2
                        break
                    if _FIELD_NAME.match(name):
                        tokens.append(_Token("FIELD", name))
                        word = []
                        i += 1
                        break
                word.append(text[i])
                i += 1
            if not word:
                continue
            value = "".join(word)
            if value == "*:*":
                tokens.append(_Token("ALL"))
            elif value in _OPERATORS and value.isupper():
                tokens.append(_Token(_OPERATORS[value]))
            else:
                tokens.append(_Token("TERM", value))
    return tokens


# --- parser ---------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str:
        return self.tokens[self.pos].kind if self.pos < len(self.tokens) else "EOF"

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            return MatchAll()
        node = self.or_(None)
        if self.peek() != "EOF":
            raise QuerySyntaxError("unbalanced ')'")
        return node

    def or_(self, fld: str | None) -> Node:
        nodes = [self.and_(fld)]
        while self.peek() == "OR":
            self.take()
            nodes.append(self.and_(fld))
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def and_(self, fld: str | None) -> Node:
        nodes = [self.unary(fld)]
        while self.peek() not in ("EOF", "RP", "OR"):
            if self.peek() == "AND":
                self.take()
            nodes.append(self.unary(fld))
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def unary(self, fld: str | None) -> Node:
        kind = self.peek()
        if kind in ("NOT", "MINUS"):
            self.take()
            return Not(self.unary(fld))
        if kind == "PLUS":
            self.take()
            return self.unary(fld)
        return self.primary(fld)

    def primary(self, fld: str | None) -> Node:
        kind = self.peek()
        if kind == "EOF":
            raise QuerySyntaxError("the query ends where a term was expected")
        token = self.take()
        if kind == "LP":
            node = self.or_(fld)
            if self.peek() != "RP":
                raise QuerySyntaxError("unbalanced '('")
            self.take()
            return node
        if kind == "FIELD":
            if self.peek() == "LP":
                return self.primary(token.value)
            if self.peek() in ("TERM", "PHRASE", "RANGE"):
                value = self.take()
                if value.kind == "RANGE":
                    low, high, inc_low, inc_high = value.value
                    return Range(token.value, low, high, inc_low, inc_high)
                return Term(token.value, value.value, value.kind == "PHRASE")
            raise QuerySyntaxError(f"field {token.value!r} has no value")
        if kind in ("TERM", "PHRASE"):
            return Term(fld, token.value, kind == "PHRASE")
        if kind == "ALL":
            return MatchAll()
        raise QuerySyntaxError(f"unexpected {kind}")


def parse_query(text: str | None) -> Node:
    """The query tree of a q or fq string; empty means everything."""
    text = (text or "").strip()
    if len(text) > 2000:
        raise QuerySyntaxError("the query is longer than 2000 characters")
    return _Parser(tokenize(text)).parse()


# --- documents ------------------------------------------------------------------------------------


def norm(text: Any) -> str:
    """Case- and Unicode-form-insensitive text (Thai input methods produce different code orders)."""
    return unicodedata.normalize("NFC", str(text)).casefold()


_TEXT_FIELDS = ("title", "title_en", "notes", "objective", "data_source", "maintainer", "calculation_method")
_FREE_TEXT_FIELDS = {
    "text",
    "title",
    "title_en",
    "notes",
    "objective",
    "data_source",
    "calculation_method",
    "q",
}
_FIELD_ALIASES = {
    "tag": "tags",
    "organisation": "organization",
    "res_format": "res_format",
    "format": "res_format",
    "license": "license_id",
    "title_string": "title",
    "id": "id",
}


def _scalars(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None and not isinstance(v, dict)]
    if isinstance(value, dict):
        return []
    if isinstance(value, bool):
        return [str(value).lower()]
    return [str(value)]


@dataclass
class Document:
    """A package as the matcher sees it: field → display values, plus one free-text haystack."""

    package: dict[str, Any]
    fields: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""
    weighted: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def of(cls, package: dict[str, Any]) -> Document:
        fields: dict[str, list[str]] = {}
        for key, value in package.items():
            if key in ("extras", "resources", "organization", "tags", "columns"):
                continue
            fields[key] = _scalars(value)
        org = package.get("organization") or {}
        tags = [t["name"] for t in package.get("tags", [])]
        fields["tags"] = tags
        fields["organization"] = [org.get("name", "")]
        fields["owner_org"] = [org.get("id", ""), org.get("name", "")]
        fields["res_format"] = sorted({r.get("format", "") for r in package.get("resources", [])})
        fields["res_name"] = [r.get("name", "") for r in package.get("resources", [])]
        fields["title"] = [package.get("title") or "", package.get("title_en") or ""]
        for extra in package.get("extras", []):
            fields.setdefault(f"extras_{extra['key']}", [extra["value"]])
        title = " ".join(fields["title"])
        others = [str(package.get(k) or "") for k in _TEXT_FIELDS[2:]]
        org_names = " ".join(str(org.get(k) or "") for k in ("name", "title", "title_en"))
        weighted = [
            (norm(title), 3),
            (norm(" ".join(tags)), 2),
            (norm(" ".join([*others, org_names, package.get("name", "")])), 1),
        ]
        text = " ".join(w for w, _ in weighted)
        return cls(package, fields, text, weighted)

    def values(self, name: str) -> list[str]:
        name = _FIELD_ALIASES.get(name, name)
        if name in self.fields:
            return self.fields[name]
        if name.startswith("extras_"):
            return self.fields.get(name[7:], [])
        return []


def _value_matches(candidates: Iterable[str], pattern: str, substring: bool) -> bool:
    wanted = norm(pattern)
    wild = "*" in wanted or "?" in wanted
    for candidate in candidates:
        have = norm(candidate)
        if wild:
            if fnmatch.fnmatchcase(have, wanted):
                return True
        elif (wanted in have) if substring else (have == wanted):
            return True
    return False


def _compare(value: str, bound: str) -> int:
    try:
        a, b = float(value), float(bound)
    except ValueError:
        a, b = norm(value), norm(bound)  # type: ignore[assignment]
    return (a > b) - (a < b)


def matches(node: Node, doc: Document) -> bool:
    if isinstance(node, MatchAll):
        return True
    if isinstance(node, Not):
        return not matches(node.node, doc)
    if isinstance(node, And):
        return all(matches(n, doc) for n in node.nodes)
    if isinstance(node, Or):
        return any(matches(n, doc) for n in node.nodes)
    if isinstance(node, Range):
        for value in doc.values(node.field):
            low_ok = node.low is None or _compare(value, node.low) >= (0 if node.include_low else 1)
            high_ok = node.high is None or _compare(value, node.high) <= (0 if node.include_high else -1)
            if low_ok and high_ok:
                return True
        return False
    if node.field is None or node.field in ("text", "q"):
        value = node.value.strip("*")
        if not value:
            return True
        pattern = f"*{value}*" if "*" in value or "?" in value else value
        return _value_matches([doc.text], pattern, substring=True)
    if node.value == "*":
        return any(v != "" for v in doc.values(node.field))
    return _value_matches(doc.values(node.field), node.value, substring=node.field in _FREE_TEXT_FIELDS)


def free_text_terms(node: Node) -> list[str]:
    """The positive free-text terms of a query (for scoring)."""
    if isinstance(node, Term) and node.field in (None, "text", "q"):
        return [norm(node.value)]
    if isinstance(node, And | Or):
        return [t for n in node.nodes for t in free_text_terms(n)]
    return []


def score(doc: Document, terms: list[str]) -> float:
    return float(sum(weight for term in terms for text, weight in doc.weighted if term.strip("*") in text))


# --- sort and facets ------------------------------------------------------------------------------

_THAI_LEADING_VOWELS = "เแโใไ"


def thai_sort_key(text: str) -> str:
    """Dictionary order for Thai: a leading vowel (เ แ โ ใ ไ) sorts after the consonant it precedes."""
    chars = list(norm(text))
    i = 0
    while i < len(chars) - 1:
        if chars[i] in _THAI_LEADING_VOWELS:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
            i += 2
        else:
            i += 1
    return "".join(chars)


SORT_FIELDS = {
    "score": "score",
    "metadata_modified": "metadata_modified",
    "metadata_created": "metadata_created",
    "name": "name",
    "title": "title",
    "title_string": "title",
    "title_en": "title_en",
    "num_resources": "num_resources",
    "num_tags": "num_tags",
    "quality_score": "quality_score",
    "row_count": "row_count",
    "last_updated": "last_updated",
    "views_recent": "score",  # no tracking here: keeps clients that ask for popularity working
}


def parse_sort(text: str | None) -> list[tuple[str, bool]]:
    """`"metadata_modified desc, name asc"` → [("metadata_modified", True), ("name", False)]."""
    text = (text or "").strip() or "score desc, metadata_modified desc"
    out = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or words[0] not in SORT_FIELDS:
            raise SortError(f"cannot sort on {part.strip()!r}; sortable: {', '.join(sorted(SORT_FIELDS))}")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise SortError(f"sort direction must be asc or desc, not {words[1]!r}")
        out.append((SORT_FIELDS[words[0]], direction == "desc"))
    return out


def sort_docs(
    docs: list[tuple[Document, float]], spec: list[tuple[str, bool]]
) -> list[tuple[Document, float]]:
    """Stable multi-key sort; missing values last whatever the direction; ties by name."""
    ordered = sorted(docs, key=lambda d: d[0].package["name"])
    for key, descending in reversed(spec):

        def value(item: tuple[Document, float], key: str = key) -> Any:
            if key == "score":
                return item[1]
            raw = item[0].package.get(key)
            if isinstance(raw, str) and key in ("title", "title_en", "name"):
                return thai_sort_key(raw)
            return raw

        present = [d for d in ordered if value(d) is not None]
        missing = [d for d in ordered if value(d) is None]
        ordered = sorted(present, key=value, reverse=descending) + missing
    return ordered


def facet_values(doc: Document, name: str) -> list[tuple[str, str]]:
    """(value, display name) pairs of a facet field for one document."""
    package = doc.package
    if name in ("organization", "owner_org"):
        org = package.get("organization") or {}
        return [(org.get("name", ""), org.get("title", ""))] if org else []
    if name in ("tags", "tag"):
        return [(t["name"], t.get("display_name", t["name"])) for t in package.get("tags", [])]
    return [(v, v) for v in dict.fromkeys(doc.values(name)) if v != ""]


def facets(
    docs: list[Document], names: list[str], limit: int, mincount: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """CKAN's `facets` ({field: {value: count}}) and `search_facets` ({field: {title, items}})."""
    legacy: dict[str, Any] = {}
    rich: dict[str, Any] = {}
    for name in names:
        counts: dict[str, int] = {}
        display: dict[str, str] = {}
        for doc in docs:
            for value, label in facet_values(doc, name):
                counts[value] = counts.get(value, 0) + 1
                display[value] = label or value
        items = sorted(((v, c) for v, c in counts.items() if c >= mincount), key=lambda vc: (-vc[1], vc[0]))
        if limit >= 0:
            items = items[:limit]
        legacy[name] = dict(items)
        rich[name] = {
            "title": name,
            "items": [{"name": v, "display_name": display[v], "count": c} for v, c in items],
        }
    return legacy, rich
