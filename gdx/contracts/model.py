"""The typed view of an ODCS v3 contract that every other part of GDX reads.

Contracts are ODCS v3 YAML (valid for `datacontract lint`). What ODCS lacks lives in
`customProperties` — at contract level: agency, dataset, titleTh/titleEn, ownerAgency, kafkaTopic,
compatibility, pilotProvinces, gdCatalog, seed; at property level: semanticType (province_code,
thai_citizen_id), pii (pseudonymise), aliases (source headers), unit, enum, timezone, rawProperty.
Only this module knows that layout; everything else uses `Contract` and `Property`.

Reference data (`seed: true`, e.g. `ref.provinces`) is loaded as a dbt seed
(`dbt_project/seeds/<agency>_<dataset>.csv`), not published on Kafka: it needs no `kafkaTopic`
(`Contract.topic` is then ""), and ingestion and DAG generation skip it (`Contract.is_seed`).

Dataset-level rules live in the ODCS `quality` list of the schema object. An entry whose
`customProperties` hold `gdxRule` is machine-checked by GDX; its `id` is the rule id:

    quality:
      - id: waste_balance                # rule id: the ingestion engine fills `_rule_waste_balance`
        type: sql                        # plain ODCS, so datacontract-cli can run it too
        query: SELECT COUNT(*) FROM … WHERE …
        mustBe: 0
        customProperties:
          - property: gdxRule
            value: {kind: sum_balance, total: a, parts: [b, c], tolerance_abs: 0.5, tolerance_rel: 0.01}

Rule kinds (`RULE_KINDS`; a rule passes when a value it needs is null — completeness is the job
of `required`): `compare` {left, op (<, <=, ==, >=, >), right}; `sum_balance` {total, parts,
tolerance_abs, tolerance_rel}; `conditional` {when: {col: [values]}, then_in: {col: [values]},
then_not_null: [cols], then_null: [cols], else_in / else_not_null / else_null}; `first_of_month`
{column}; `local_date` {date, timestamp, timezone}. Semantic types add implicit rules:
`<name>_checksum` (thai_citizen_id) and `<name>_known` (province_code). `Contract.rules` lists
them all; `gdx.contracts.rules` evaluates them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

LOGICAL_TYPES = frozenset({"string", "integer", "number", "boolean", "date", "timestamp"})
SEMANTIC_TYPES = frozenset({"province_code", "thai_citizen_id"})
PII_ACTIONS = frozenset({"pseudonymise"})
COMPATIBILITY_MODES = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "day": 86400, "days": 86400}


RULE_KINDS = frozenset({"compare", "sum_balance", "conditional", "first_of_month", "local_date"})
COMPARE_OPS = frozenset({"<", "<=", "==", ">=", ">"})


class ContractError(ValueError):
    """A contract file that cannot be read as a GDX contract; says which file, where and why."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {message}")


def _custom(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {
        item["property"]: item.get("value")
        for item in items or []
        if isinstance(item, dict) and "property" in item
    }


Lines = dict[tuple[str | int, ...], int]


# libyaml's parser when PyYAML was built with it: ~15x faster than the pure-Python one, same
# resolver and constructors (so the same values). Errors are re-raised by the pure-Python parser,
# whose messages name the problem the same way on every machine.
_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _node_lines(root: yaml.Node | None) -> Lines:
    lines: Lines = {}
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                stack.append((value, sub))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = (*path, i)
                lines[sub] = item.start_mark.line + 1
                stack.append((item, sub))
    return lines


def compose_yaml(text: str) -> yaml.Node | None:
    """The YAML node tree of one document (libyaml when available); raises `yaml.YAMLError`."""
    try:
        return yaml.compose(text, Loader=_FastLoader)
    except yaml.YAMLError:
        if _FastLoader is yaml.SafeLoader:
            raise
        return yaml.compose(text, Loader=yaml.SafeLoader)  # raises with PyYAML's own message


def construct_yaml(node: yaml.Node | None) -> Any:
    """What `yaml.safe_load` returns for the document `node` was composed from."""
    if node is None:
        return None
    return yaml.SafeLoader("").construct_document(node)


def load_yaml(text: str) -> tuple[Any, Lines]:
    """`yaml.safe_load(text)` and `yaml_lines(text)` from one parse; raises `yaml.YAMLError`."""
    node = compose_yaml(text)
    return construct_yaml(node), _node_lines(node)


def yaml_lines(text: str) -> Lines:
    """1-based line of every mapping key / list item of a YAML document, by path (("schema", 0, "name"))."""
    try:
        return _node_lines(compose_yaml(text))
    except yaml.YAMLError:
        return {}


def _line(lines: Lines | None, *path: str | int) -> int | None:
    """Line of the deepest known prefix of `path`."""
    if not lines:
        return None
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _custom_line(lines: Lines | None, base: tuple[str | int, ...], items: Any, key: str) -> int | None:
    """Line of the customProperties item `key` under `base`, else of the customProperties list."""
    for i, item in enumerate(items or []):
        if isinstance(item, dict) and item.get("property") == key:
            return _line(lines, *base, "customProperties", i)
    return _line(lines, *base, "customProperties")


@dataclass(frozen=True)
class Property:
    """One column of a dataset, with the checks and handling the contract declares for it."""

    name: str
    logical_type: str
    required: bool = False
    primary_key: bool = False
    primary_key_position: int = -1
    unique: bool = False
    description: str = ""
    minimum: float | str | None = None
    maximum: float | str | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    enum: tuple[Any, ...] | None = None
    semantic_type: str | None = None
    pii: str | None = None
    aliases: tuple[str, ...] = ()
    unit: str | None = None
    timezone: str | None = None
    raw_property: str | None = None
    classification: str | None = None

    @property
    def is_pii(self) -> bool:
        return self.pii is not None

    @property
    def landed_name(self) -> str:
        """Column name in the lake: pseudonymised properties land as `<name>_hmac`, never raw."""
        return f"{self.name}_hmac" if self.pii == "pseudonymise" else self.name


@dataclass(frozen=True)
class SlaProperty:
    property: str
    value: Any
    unit: str | None = None
    element: str | None = None

    @property
    def duration(self) -> timedelta | None:
        if self.unit is None or not isinstance(self.value, int | float):
            return None
        seconds = _UNIT_SECONDS.get(self.unit.lower())
        return timedelta(seconds=self.value * seconds) if seconds else None


@dataclass(frozen=True)
class ReadGrant:
    """One agency's right to read a dataset beyond its owner: an ODCS `roles` entry
    `{role: agency.<code>, access: read, customProperties: [{property: personalData, value: true}]}`.

    The grant is the single source of the Kafka READ ACL on the dataset topic and of catalog
    access (resources, downloads) for that agency's API tokens. A contract that declares personal
    data is granted only by a grant that says `personalData: true` explicitly (lint enforces it).
    """

    agency: str
    personal_data: bool = False
    description: str = ""


@dataclass(frozen=True)
class Rule:
    """A machine-checked rule over one record: ingestion computes `_rule_<id>` (True = passes)."""

    id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    name: str = ""
    description: str = ""
    implicit: bool = False
    """True for rules implied by a property's semanticType rather than declared in `quality`."""

    @property
    def column(self) -> str:
        """The boolean column the ingestion engine computes before running the GX suite."""
        return f"_rule_{self.id}"

    @property
    def columns(self) -> tuple[str, ...]:
        """Contract properties the rule reads."""
        p = self.params
        if self.kind == "compare":
            return (p["left"], p["right"])
        if self.kind == "sum_balance":
            return (p["total"], *p["parts"])
        if self.kind == "conditional":
            cols: list[str] = list(p.get("when", {}))
            for branch in ("then", "else"):
                cols += list(p.get(f"{branch}_in", {}) or {})
                cols += list(p.get(f"{branch}_not_null", []) or [])
                cols += list(p.get(f"{branch}_null", []) or [])
            return tuple(dict.fromkeys(cols))
        if self.kind == "local_date":
            return (p["date"], p["timestamp"])
        return (p["column"],)


@dataclass(frozen=True)
class Contract:
    """A dataset's contract: identity, versioned topic binding, schema, SLA and catalog metadata."""

    id: str
    version: str
    status: str
    agency: str
    dataset: str
    title_th: str
    title_en: str
    topic: str
    compatibility: str
    schema_name: str
    properties: tuple[Property, ...]
    owner_agency: dict[str, Any] = field(default_factory=dict)
    pilot_provinces: tuple[str, ...] = ()
    gd_catalog: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    description: dict[str, str] = field(default_factory=dict)
    domain: str | None = None
    sla: tuple[SlaProperty, ...] = ()
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    rules: tuple[Rule, ...] = ()
    """Implicit semantic-type rules (property order) then the `quality` rules (file order)."""
    seed: bool = False
    read_grants: tuple[ReadGrant, ...] = ()
    """ODCS `roles` with `access: read` and `role: agency.<code>`, in file order."""
    disclosure_threshold: int = 5
    """customProperty `disclosureThreshold`: public figures derived from this dataset's personal
    data suppress cells counting fewer records than this (statistical disclosure control)."""

    @property
    def is_seed(self) -> bool:
        """Reference data loaded as a dbt seed: no Kafka topic, no ingestion, no DAG."""
        return self.seed

    @property
    def seed_path(self) -> str:
        """Repo-relative path of the dbt seed of a reference contract."""
        return f"dbt_project/seeds/{self.agency}_{self.dataset}.csv"

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"{self.id} has no rule {rule_id!r}")

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def dlq_topic(self) -> str:
        return f"gdx.dlq.{self.agency}.{self.dataset}"

    @property
    def slug(self) -> str:
        """`<agency>__<dataset>`: used for dag ids, dbt source tables and file names."""
        return f"{self.agency}__{self.dataset}"

    @property
    def primary_key(self) -> tuple[str, ...]:
        keys = [p for p in self.properties if p.primary_key]
        return tuple(p.name for p in sorted(keys, key=lambda p: p.primary_key_position))

    @property
    def pii_properties(self) -> tuple[Property, ...]:
        return tuple(p for p in self.properties if p.is_pii)

    def prop(self, name: str) -> Property:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(f"{self.id} has no property {name!r}")

    @property
    def freshness(self) -> timedelta | None:
        for sla in self.sla:
            if sla.property == "freshness":
                return sla.duration
        return None

    @property
    def holds_personal_data(self) -> bool:
        """A personal-data property, or the GD-Catalog category ข้อมูลส่วนบุคคล (personal data):
        public figures derived from it go through statistical disclosure control."""
        category = str(self.gd_catalog.get("data_category", "")).strip().lower()
        return bool(self.pii_properties) or category in {"ข้อมูลส่วนบุคคล", "personal"}

    @property
    def access_level(self) -> str:
        """public | restricted: restricted datasets are listed in the catalog without downloads."""
        category = str(self.gd_catalog.get("data_category", ""))
        classification = str(self.gd_catalog.get("data_classification", ""))
        public = category in {"ข้อมูลสาธารณะ", "public"} and classification in {"เปิดเผย", "public", ""}
        return "public" if public and not self.pii_properties else "restricted"

    @property
    def readers(self) -> tuple[str, ...]:
        """Agencies besides the owner that may read the dataset (topic and catalog resources).
        A grant on a personal-data contract counts only if it says `personalData: true`."""
        return tuple(
            dict.fromkeys(
                g.agency
                for g in self.read_grants
                if g.agency != self.agency and (g.personal_data or not self.pii_properties)
            )
        )

    def may_read(self, agency: str) -> bool:
        """True for the owner agency and every agency the contract grants read access to."""
        return agency == self.agency or agency in self.readers


_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def _property(path: Path, raw: Any, index: int = 0, lines: Lines | None = None) -> Property:
    base: tuple[str | int, ...] = ("schema", 0, "properties", index)
    if not isinstance(raw, dict):
        raise ContractError(path, f"schema property #{index + 1} is not a mapping", _line(lines, *base))
    name = raw.get("name")
    if not name:
        raise ContractError(path, f"schema property #{index + 1} has no name", _line(lines, *base))
    logical = raw.get("logicalType")
    if logical not in LOGICAL_TYPES:
        raise ContractError(
            path,
            f"property {name!r}: logicalType {logical!r} is not one of {sorted(LOGICAL_TYPES)}",
            _line(lines, *base, "logicalType"),
        )
    opts = raw.get("logicalTypeOptions") or {}
    if not isinstance(opts, dict):
        raise ContractError(
            path,
            f"property {name!r}: logicalTypeOptions is not a mapping",
            _line(lines, *base, "logicalTypeOptions"),
        )
    items = raw.get("customProperties")
    custom = _custom(items)
    semantic = custom.get("semanticType")
    if semantic is not None and semantic not in SEMANTIC_TYPES:
        raise ContractError(
            path,
            f"property {name!r}: unknown semanticType {semantic!r} (known: {', '.join(sorted(SEMANTIC_TYPES))})",
            _custom_line(lines, base, items, "semanticType"),
        )
    pii = custom.get("pii")
    if pii is not None and pii not in PII_ACTIONS:
        raise ContractError(
            path, f"property {name!r}: unknown pii action {pii!r}", _custom_line(lines, base, items, "pii")
        )
    enum = custom.get("enum")
    if enum is not None and not isinstance(enum, list):
        raise ContractError(
            path,
            f"property {name!r}: enum must be a list of values",
            _custom_line(lines, base, items, "enum"),
        )
    aliases = custom.get("aliases") or ()
    if isinstance(aliases, str):
        aliases = (aliases,)
    return Property(
        name=name,
        logical_type=logical,
        required=bool(raw.get("required", False)),
        primary_key=bool(raw.get("primaryKey", False)),
        primary_key_position=int(raw.get("primaryKeyPosition", -1)),
        unique=bool(raw.get("unique", False)),
        description=raw.get("description", "") or "",
        minimum=opts.get("minimum"),
        maximum=opts.get("maximum"),
        min_length=opts.get("minLength"),
        max_length=opts.get("maxLength"),
        pattern=opts.get("pattern"),
        enum=tuple(enum) if enum is not None else None,
        semantic_type=semantic,
        pii=pii,
        aliases=tuple(str(a) for a in aliases),
        unit=custom.get("unit"),
        timezone=custom.get("timezone"),
        raw_property=custom.get("rawProperty"),
        classification=raw.get("classification"),
    )


_IMPLICIT_RULES = {
    "thai_citizen_id": (
        "checksum",
        "thai_citizen_id_checksum",
        "13-digit Thai citizen id with a valid mod-11 check digit",
    ),
    "province_code": ("known", "province_code_known", "a known ISO 3166-2:TH province code"),
}


def _rule_params_error(kind: str, params: dict[str, Any]) -> str | None:
    """What is wrong with the parameters of a `gdxRule`, or None."""
    if kind == "compare":
        if not params.get("left") or not params.get("right"):
            return "compare needs left and right"
        if params.get("op") not in COMPARE_OPS:
            return f"compare op {params.get('op')!r} is not one of {sorted(COMPARE_OPS)}"
    elif kind == "sum_balance":
        if not params.get("total") or not isinstance(params.get("parts"), list) or not params["parts"]:
            return "sum_balance needs total and a non-empty list of parts"
    elif kind == "conditional":
        if not isinstance(params.get("when"), dict) or not params["when"]:
            return "conditional needs when: {column: [values]}"
        branches = [k for k in params if k != "when"]
        allowed = {f"{b}_{w}" for b in ("then", "else") for w in ("in", "not_null", "null")}
        if not branches or set(branches) - allowed:
            return f"conditional needs one or more of {sorted(allowed)} besides when"
    elif kind == "first_of_month":
        if not params.get("column"):
            return "first_of_month needs column"
    elif kind == "local_date" and (not params.get("date") or not params.get("timestamp")):
        return "local_date needs date and timestamp"
    return None


def _rules(
    path: Path, obj: dict[str, Any], props: tuple[Property, ...], lines: Lines | None
) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for prop in props:
        if prop.semantic_type in _IMPLICIT_RULES:
            suffix, kind, what = _IMPLICIT_RULES[prop.semantic_type]
            rules.append(
                Rule(
                    id=f"{prop.name}_{suffix}",
                    kind=kind,
                    params={"column": prop.name},
                    name=f"{prop.name} {suffix}",
                    description=f"{prop.name} is {what}",
                    implicit=True,
                )
            )
    names = {p.name for p in props}
    quality = obj.get("quality") or []
    if not isinstance(quality, list):
        raise ContractError(path, "schema quality must be a list", _line(lines, "schema", 0, "quality"))
    for i, entry in enumerate(quality):
        base: tuple[str | int, ...] = ("schema", 0, "quality", i)
        if not isinstance(entry, dict):
            raise ContractError(path, f"quality entry #{i + 1} is not a mapping", _line(lines, *base))
        items = entry.get("customProperties")
        spec = _custom(items).get("gdxRule")
        if spec is None:
            continue
        where = _custom_line(lines, base, items, "gdxRule")
        rule_id = entry.get("id")
        if not rule_id or not re.fullmatch(r"[a-z][a-z0-9_]*", str(rule_id)):
            raise ContractError(
                path, f"quality entry #{i + 1} with a gdxRule needs a snake_case id", _line(lines, *base)
            )
        if not isinstance(spec, dict) or spec.get("kind") not in RULE_KINDS:
            kind = spec.get("kind") if isinstance(spec, dict) else spec
            raise ContractError(
                path, f"rule {rule_id!r}: kind {kind!r} is not one of {sorted(RULE_KINDS)}", where
            )
        params = {k: v for k, v in spec.items() if k != "kind"}
        problem = _rule_params_error(spec["kind"], params)
        if problem:
            raise ContractError(path, f"rule {rule_id!r}: {problem}", where)
        rule = Rule(
            id=str(rule_id),
            kind=spec["kind"],
            params=params,
            name=str(entry.get("name") or ""),
            description=" ".join(str(entry.get("description") or "").split()),
        )
        unknown = [c for c in rule.columns if c not in names]
        if unknown:
            raise ContractError(path, f"rule {rule_id!r} refers to unknown properties {unknown}", where)
        if any(r.id == rule.id and not r.implicit for r in rules):
            raise ContractError(path, f"duplicate rule id {rule_id!r}", _line(lines, *base, "id"))
        rules = [r for r in rules if r.id != rule.id]  # an explicit rule replaces an implicit one
        rules.append(rule)
    return tuple(rules)


def parse_contract(
    raw: dict[str, Any], path: Path | str = "<memory>", lines: Lines | None = None
) -> Contract:
    """Build a `Contract` from a parsed ODCS document; raises `ContractError` saying what is wrong.

    `lines` (from `yaml_lines(text)`) lets errors name the line of the offending key.
    """
    path = Path(path)
    if not isinstance(raw, dict):
        raise ContractError(path, "the file is not a YAML mapping", 1)
    for key in ("id", "version", "schema", "customProperties"):
        if key not in raw:
            raise ContractError(path, f"missing top-level key {key!r}")
    version = str(raw["version"])
    if not _SEMVER.match(version):
        raise ContractError(path, f"version {version!r} is not MAJOR.MINOR.PATCH", _line(lines, "version"))
    schema = raw["schema"]
    if not isinstance(schema, list) or len(schema) != 1:
        raise ContractError(
            path, "schema must hold exactly one object (one dataset per contract)", _line(lines, "schema")
        )
    obj = schema[0]
    if not isinstance(obj, dict):
        raise ContractError(path, "the schema object is not a mapping", _line(lines, "schema", 0))
    raw_props = obj.get("properties") or []
    if not isinstance(raw_props, list):
        raise ContractError(path, "schema properties must be a list", _line(lines, "schema", 0, "properties"))
    props = tuple(_property(path, p, i, lines) for i, p in enumerate(raw_props))
    if not props:
        raise ContractError(
            path, f"schema object {obj.get('name')!r} has no properties", _line(lines, "schema", 0)
        )
    seen: set[str] = set()
    for i, prop in enumerate(props):
        if prop.name in seen:
            raise ContractError(
                path, f"duplicate property {prop.name!r}", _line(lines, "schema", 0, "properties", i, "name")
            )
        seen.add(prop.name)
    items = raw.get("customProperties")
    if not isinstance(items, list):
        raise ContractError(path, "customProperties must be a list", _line(lines, "customProperties"))
    custom = _custom(items)
    seed = custom.get("seed") is True
    for key in ("agency", "dataset", "titleTh", "titleEn") + (() if seed else ("kafkaTopic",)):
        if not custom.get(key):
            raise ContractError(path, f"customProperties lacks {key!r}", _line(lines, "customProperties"))
    compatibility = str(custom.get("compatibility", "BACKWARD")).upper()
    if compatibility not in COMPATIBILITY_MODES:
        raise ContractError(
            path,
            f"compatibility {compatibility!r} is not one of {COMPATIBILITY_MODES}",
            _custom_line(lines, (), items, "compatibility"),
        )
    sla_items = raw.get("slaProperties") or []
    for i, s in enumerate(sla_items):
        if not isinstance(s, dict) or "property" not in s:
            raise ContractError(
                path, f"slaProperties #{i + 1} has no property", _line(lines, "slaProperties", i)
            )
    sla = tuple(
        SlaProperty(s["property"], s.get("value"), s.get("unit"), s.get("element")) for s in sla_items
    )
    return Contract(
        id=str(raw["id"]),
        version=version,
        status=str(raw.get("status", "draft")),
        agency=str(custom["agency"]),
        dataset=str(custom["dataset"]),
        title_th=custom["titleTh"],
        title_en=custom["titleEn"],
        topic=str(custom.get("kafkaTopic") or ""),
        compatibility=compatibility,
        schema_name=obj.get("name", custom["dataset"]),
        properties=props,
        owner_agency=dict(custom.get("ownerAgency") or {}),
        pilot_provinces=tuple(custom.get("pilotProvinces") or ()),
        gd_catalog=dict(custom.get("gdCatalog") or {}),
        tags=tuple(raw.get("tags") or ()),
        description=dict(raw.get("description") or {}),
        domain=raw.get("domain"),
        sla=sla,
        path=path,
        raw=raw,
        rules=_rules(path, obj, props, lines),
        seed=seed,
        read_grants=_read_grants(path, raw, lines),
        disclosure_threshold=_threshold(path, custom, items, lines),
    )


def _threshold(path: Path, custom: dict[str, Any], items: list[Any], lines: Lines | None) -> int:
    value = custom.get("disclosureThreshold", 5)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ContractError(
            path,
            f"disclosureThreshold {value!r} must be a whole number of at least 1",
            _custom_line(lines, (), items, "disclosureThreshold"),
        )
    return value


GRANT_ROLE = re.compile(r"^agency\.([a-z][a-z0-9_]*)$")


def _read_grants(path: Path, raw: dict[str, Any], lines: Lines | None) -> tuple[ReadGrant, ...]:
    roles = raw.get("roles") or []
    if not isinstance(roles, list):
        raise ContractError(path, "roles must be a list", _line(lines, "roles"))
    grants: list[ReadGrant] = []
    for i, role in enumerate(roles):
        if not isinstance(role, dict) or not role.get("role"):
            raise ContractError(path, f"roles #{i + 1} has no role", _line(lines, "roles", i))
        match = GRANT_ROLE.match(str(role["role"]))
        if match is None:
            continue  # other ODCS roles (approvers, stewards) grant nothing on the exchange
        access = str(role.get("access", "read")).lower()
        if access != "read":
            raise ContractError(
                path,
                f"role {role['role']!r}: access {access!r} is not granted through contracts (only read; "
                "writing a dataset is its owner agency's alone)",
                _line(lines, "roles", i, "access"),
            )
        custom = _custom(role.get("customProperties"))
        personal = custom.get("personalData", False)
        if not isinstance(personal, bool):
            raise ContractError(
                path, f"role {role['role']!r}: personalData must be true or false", _line(lines, "roles", i)
            )
        grants.append(ReadGrant(match.group(1), personal, str(role.get("description") or "")))
    return tuple(grants)


def load_contract(path: Path | str, data: bytes | None = None) -> Contract:
    """Read and parse one contract file (`data`: its bytes, already read by the caller)."""
    path = Path(path)
    try:
        text = (path.read_bytes() if data is None else data).decode("utf-8")
        if "\r" in text:  # as read_text would: universal newlines
            text = text.replace("\r\n", "\n").replace("\r", "\n")
    except OSError as exc:
        raise ContractError(path, f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ContractError(path, f"not UTF-8 text: {exc.reason}") from exc
    try:
        raw, lines = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        raise ContractError(
            path, f"invalid YAML: {problem}" + (f" ({context})" if context else ""), line
        ) from exc
    return parse_contract(raw, path, lines)


def contract_paths(root: Path | str) -> list[Path]:
    """Current contract files: `<root>/<agency>/<dataset>.yaml`; folders starting with `_` are skipped."""
    root = Path(root)
    return sorted(
        p
        for p in root.glob("*/*.yaml")
        if not any(part.startswith("_") for part in p.relative_to(root).parts)
    )


def contract_rels(root: Path | str) -> set[str]:
    """The files of `contract_paths(root)`, relative to `root` ("pcd/air_quality_hourly.yaml"), by
    string globbing (hidden names included, as pathlib's glob does): fast for a set comparison."""
    import glob

    return {
        rel.replace(os.sep, "/")
        for rel in glob.glob(f"*{os.sep}*.yaml", root_dir=root, include_hidden=True)
        if not any(part.startswith("_") for part in rel.split(os.sep))
    }


def check_unique(items: Iterable[tuple[Path, str, str]]) -> None:
    """Raise `ContractError` on a second contract with the same id or topic ((path, id, topic) in file order)."""
    ids: dict[str, Path] = {}
    topics: dict[str, str] = {}
    for path, contract_id, topic in items:
        if contract_id in ids:
            raise ContractError(path, f"duplicate contract id {contract_id!r} (also {ids[contract_id]})")
        if topic and topic in topics:
            raise ContractError(path, f"topic {topic!r} is already bound to {topics[topic]}")
        ids[contract_id] = path
        if topic:
            topics[topic] = contract_id


def load_all(root: Path | str | None = None) -> dict[str, Contract]:
    """All current contracts by id; duplicate ids or topics are an error."""
    if root is None:
        from gdx.settings import Settings

        root = Settings.from_env().contracts_dir
    contracts = [load_contract(path) for path in contract_paths(root)]
    check_unique((c.path or Path(c.id), c.id, c.topic) for c in contracts)
    return {c.id: c for c in contracts}


def get_contract(contract_id: str, root: Path | str | None = None) -> Contract:
    """The current contract with this id, or a `KeyError` listing the known ids."""
    contracts = load_all(root)
    try:
        return contracts[contract_id]
    except KeyError:
        raise KeyError(f"unknown contract {contract_id!r}; known: {', '.join(sorted(contracts))}") from None
