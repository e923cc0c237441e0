"""Lint contracts: datacontract-cli's ODCS validation plus GDX's own rules.

`lint(paths)` returns a `Finding` (file, line, rule id, message, severity) per problem, in file
order. Rule ids:

- `odcs`: not valid against the ODCS JSON Schema (datacontract-cli, offline, via its Python API;
  the `datacontract` CLI is the fallback if the API cannot be imported).
- `model`: cannot be read as a GDX contract (`gdx.contracts.model`: YAML, keys, types, rules).
- `id-path`: id must be `<agency>.<dataset>` and the file `contracts/<agency>/<dataset>.yaml`.
- `topic`: topic must be `gdx.<agency>.<dataset>.v<major>` (seeds: no topic).
- `snake-case`: property names (and agency, dataset) are snake_case.
- `pii`: a `thai_citizen_id` property declares `pii`.
- `gd-catalog`: the required GD-Catalog fields are present; `first_year_of_data` is a plausible
  Buddhist Era year.
- `primary-key`: a primary key exists, its properties are required, positions are distinct.
- `sla-freshness`: non-seed contracts declare a freshness SLA with a duration.
- `enum`: enums are non-empty, distinct and of the property's type.
- `range`: minimum ≤ maximum, minLength ≤ maxLength.
- `access`: read grants (`roles: [{role: agency.<code>, access: read}]`) name registered agencies
  other than the owner; a contract with personal data is granted only with `personalData: true`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from gdx.contracts.model import (
    Contract,
    ContractError,
    Lines,
    _line,
    _node_lines,
    compose_yaml,
    construct_yaml,
    parse_contract,
)

GD_CATALOG_REQUIRED = (
    "data_type",
    "objective",
    "update_frequency_unit",
    "update_frequency_interval",
    "geo_coverage",
    "data_category",
    "data_classification",
    "license_id",
    "accessible_condition",
    "first_year_of_data",
)
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
FIRST_BE_YEAR = 2400  # 1857 CE: older than any digital government dataset


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    rule: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: [{self.rule}] {self.message}"


# --- datacontract-cli ---------------------------------------------------------------------------


def _odcs_line(raw: Any, lines: Lines, dotted: str) -> int | None:
    """Line of a datacontract-cli error path like `data.schema.t.properties.a.logicalType`."""
    segments = dotted.split(".")
    if segments and segments[0] == "data":
        segments = segments[1:]
    path: list[str | int] = []
    node = raw
    for seg in segments:
        if isinstance(node, list):
            index = next(
                (i for i, item in enumerate(node) if isinstance(item, dict) and str(item.get("name")) == seg),
                None,
            )
            if index is None and seg.isdigit() and int(seg) < len(node):
                index = int(seg)
            if index is None:
                break
            path.append(index)
            node = node[index]
        elif isinstance(node, dict) and seg in node:
            path.append(seg)
            node = node[seg]
        else:
            break
    return _line(lines, *path) if path else None


def _datacontract_api(path: Path) -> list[tuple[str, str]]:
    """(result, reason) of every non-passed datacontract-cli lint check."""
    from datacontract.data_contract import DataContract

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        run = DataContract(data_contract_file=str(path), all_errors=True).lint()
    out = []
    for check in run.checks:
        result = getattr(check.result, "value", str(check.result))
        if result != "passed":
            out.append((result, check.reason or check.name or "invalid"))
    return out


def _datacontract_cli(path: Path) -> list[tuple[str, str]]:
    exe = shutil.which("datacontract", path=str(Path(sys.executable).parent)) or shutil.which("datacontract")
    if exe is None:
        return [("error", "datacontract-cli is not installed (neither its Python API nor its CLI)")]
    proc = subprocess.run([exe, "lint", str(path)], capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return []
    text = " ".join((proc.stdout + proc.stderr).split())
    return [("failed", text[-500:] or f"datacontract lint exited with {proc.returncode}")]


def odcs_findings(path: Path, raw: Any = None, lines: Lines | None = None) -> list[Finding]:
    """datacontract-cli's ODCS validation of one file, as findings."""
    try:
        problems = _datacontract_api(path)
    except ImportError:
        problems = _datacontract_cli(path)
    findings = []
    for result, reason in problems:
        match = re.match(r"^(data(?:\.[^\s:]+)*):\s*(.*)$", reason)
        line = _odcs_line(raw, lines or {}, match.group(1)) if match and raw is not None else None
        severity = "warning" if result == "warning" else "error"
        findings.append(Finding(str(path), line, "odcs", reason, severity))
    return findings


# --- GDX rules ----------------------------------------------------------------------------------


def _prop_line(lines: Lines, contract: Contract, name: str, key: str | None = None) -> int | None:
    for i, prop in enumerate(contract.properties):
        if prop.name == name:
            return _line(lines, "schema", 0, "properties", i, *((key,) if key else ()))
    return None


def _custom_line(lines: Lines, contract: Contract, key: str) -> int | None:
    for i, item in enumerate(contract.raw.get("customProperties") or []):
        if isinstance(item, dict) and item.get("property") == key:
            return _line(lines, "customProperties", i)
    return _line(lines, "customProperties")


def _value_matches(logical_type: str, value: Any) -> bool:
    if logical_type in {"string", "date", "timestamp"}:
        return isinstance(value, str)
    if logical_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if logical_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if logical_type == "boolean":
        return isinstance(value, bool)
    return True


def _comparable_bound(value: Any) -> Any:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if value is not None else None


def gdx_findings(
    contract: Contract,
    path: Path,
    lines: Lines,
    contracts_root: Path | None = None,
    inputs: LintInputs | None = None,
) -> list[Finding]:
    """GDX's own rules on a parsed contract (`inputs`: the registry the access rule reads)."""
    if inputs is None and contracts_root is not None:
        inputs = LintInputs(contracts_root)
    f: list[Finding] = []
    file = str(path)

    def add(rule: str, message: str, line: int | None, severity: str = "error") -> None:
        f.append(Finding(file, line, rule, message, severity))

    # identity and location
    expected_id = f"{contract.agency}.{contract.dataset}"
    if contract.id != expected_id:
        add("id-path", f"id {contract.id!r} must be {expected_id!r} (<agency>.<dataset>)", _line(lines, "id"))
    for what, value in (("agency", contract.agency), ("dataset", contract.dataset)):
        if not SNAKE_CASE.match(value):
            add("snake-case", f"{what} {value!r} is not snake_case", _custom_line(lines, contract, what))
    if path.stem != contract.dataset or path.parent.name != contract.agency:
        add(
            "id-path",
            f"file must be contracts/{contract.agency}/{contract.dataset}.yaml (is …/{path.parent.name}/{path.name})",
            1,
        )
    elif contracts_root is not None and path.resolve().parent.parent != contracts_root.resolve():
        add("id-path", f"file must sit directly under {contracts_root}/{contract.agency}/", 1)

    # topic
    expected_topic = f"gdx.{contract.agency}.{contract.dataset}.v{contract.major}"
    if contract.is_seed:
        if contract.topic:
            add(
                "topic",
                "a seed (reference data) has no Kafka topic; remove kafkaTopic",
                _custom_line(lines, contract, "kafkaTopic"),
            )
    elif contract.topic != expected_topic:
        add(
            "topic",
            f"topic {contract.topic!r} must be {expected_topic!r} (gdx.<agency>.<dataset>.v<major>)",
            _custom_line(lines, contract, "kafkaTopic"),
        )

    # properties
    for prop in contract.properties:
        if not SNAKE_CASE.match(prop.name):
            add(
                "snake-case",
                f"property {prop.name!r} is not snake_case",
                _prop_line(lines, contract, prop.name, "name"),
            )
        if prop.semantic_type == "thai_citizen_id" and not prop.pii:
            add(
                "pii",
                f"property {prop.name!r} holds Thai citizen ids (semanticType thai_citizen_id) but declares no pii handling (pii: pseudonymise)",
                _prop_line(lines, contract, prop.name),
            )
        if prop.enum is not None:
            line = _prop_line(lines, contract, prop.name, "customProperties")
            if not prop.enum:
                add("enum", f"property {prop.name!r}: enum is empty", line)
            if len(set(map(repr, prop.enum))) != len(prop.enum):
                add("enum", f"property {prop.name!r}: enum has duplicate values", line)
            wrong = [v for v in prop.enum if not _value_matches(prop.logical_type, v)]
            if wrong:
                add("enum", f"property {prop.name!r}: enum values {wrong} are not {prop.logical_type}", line)
        lo, hi = _comparable_bound(prop.minimum), _comparable_bound(prop.maximum)
        if lo is not None and hi is not None and type(lo) is type(hi) and lo > hi:
            add(
                "range",
                f"property {prop.name!r}: minimum {prop.minimum} > maximum {prop.maximum}",
                _prop_line(lines, contract, prop.name, "logicalTypeOptions"),
            )
        elif lo is not None and hi is not None and isinstance(lo, int | float) != isinstance(hi, int | float):
            add(
                "range",
                f"property {prop.name!r}: minimum and maximum are of different types",
                _prop_line(lines, contract, prop.name, "logicalTypeOptions"),
            )
        if prop.min_length is not None and prop.max_length is not None and prop.min_length > prop.max_length:
            add(
                "range",
                f"property {prop.name!r}: minLength {prop.min_length} > maxLength {prop.max_length}",
                _prop_line(lines, contract, prop.name, "logicalTypeOptions"),
            )

    # primary key
    keys = [p for p in contract.properties if p.primary_key]
    if not keys:
        add("primary-key", "no property is marked primaryKey: true", _line(lines, "schema", 0, "properties"))
    for prop in keys:
        if not prop.required:
            add(
                "primary-key",
                f"primary-key property {prop.name!r} must be required",
                _prop_line(lines, contract, prop.name),
            )
    positions = [p.primary_key_position for p in keys]
    if len(keys) > 1 and len(set(positions)) != len(positions):
        add(
            "primary-key",
            f"primaryKeyPosition values {positions} must be distinct",
            _prop_line(lines, contract, keys[0].name),
        )

    # SLA
    if not contract.is_seed:
        freshness = [s for s in contract.sla if s.property == "freshness"]
        if not freshness:
            add(
                "sla-freshness",
                "no freshness SLA (slaProperties: property: freshness, value, unit)",
                _line(lines, "slaProperties") or 1,
            )
        elif contract.freshness is None:
            add(
                "sla-freshness",
                f"freshness SLA has no usable duration (value {freshness[0].value!r}, unit {freshness[0].unit!r}; units: s, min, h, d)",
                _line(lines, "slaProperties"),
            )

    # access grants
    f += _access_findings(contract, file, lines, inputs)

    # GD-Catalog
    gd_line = _custom_line(lines, contract, "gdCatalog")
    for key in GD_CATALOG_REQUIRED:
        value = contract.gd_catalog.get(key)
        if value is None or (isinstance(value, str | list) and not value):
            add(
                "gd-catalog",
                f"GD-Catalog field {key!r} is missing",
                _line(lines, "customProperties", _index(contract, "gdCatalog"), "value", key) or gd_line,
            )
    year = contract.gd_catalog.get("first_year_of_data")
    if year is not None:
        year_line = (
            _line(lines, "customProperties", _index(contract, "gdCatalog"), "value", "first_year_of_data")
            or gd_line
        )
        this_be = date.today().year + 543
        try:
            y = int(str(year))
        except ValueError:
            add("gd-catalog", f"first_year_of_data {year!r} is not a year", year_line)
        else:
            if 1900 <= y <= date.today().year:
                add(
                    "gd-catalog",
                    f"first_year_of_data {y} looks like a CE year; use the Buddhist Era year {y + 543}",
                    year_line,
                )
            elif not FIRST_BE_YEAR <= y <= this_be:
                add(
                    "gd-catalog",
                    f"first_year_of_data {y} is not a plausible Buddhist Era year ({FIRST_BE_YEAR}–{this_be})",
                    year_line,
                )
    return f


def _access_findings(
    contract: Contract, file: str, lines: Lines, inputs: LintInputs | Path | None
) -> list[Finding]:
    """`inputs`: the run's registry (or a contracts folder to read it from; None: not checked)."""
    if not contract.read_grants:
        return []
    if isinstance(inputs, Path):
        inputs = LintInputs(inputs)
    out: list[Finding] = []
    known = inputs.known_agencies() if inputs is not None else None
    for i, grant in enumerate(contract.read_grants):
        line = _line(lines, "roles", i) or _line(lines, "roles")
        if grant.agency == contract.agency:
            out.append(
                Finding(
                    file, line, "access", f"agency.{grant.agency} owns the dataset: a read grant adds nothing"
                )
            )
        elif known is not None and grant.agency not in known:
            out.append(
                Finding(
                    file,
                    line,
                    "access",
                    f"agency.{grant.agency} is not in the agencies registry (ref.agencies)",
                )
            )
        if contract.pii_properties and not grant.personal_data:
            out.append(
                Finding(
                    file,
                    line,
                    "access",
                    f"agency.{grant.agency}: this dataset holds personal data; a grant must say "
                    "personalData: true explicitly (or be removed)",
                )  # fmt: skip
            )
    return out


def _index(contract: Contract, key: str) -> int:
    for i, item in enumerate(contract.raw.get("customProperties") or []):
        if isinstance(item, dict) and item.get("property") == key:
            return i
    return -1


class LintInputs:
    """What rules read beyond the contract file, loaded once per run: the agencies registry.

    `agencies_digest()` is recorded in a cached result that used the registry, so editing the
    seed (or where `ref.agencies` points) re-lints exactly the contracts with read grants.
    """

    def __init__(self, contracts_root: Path | None) -> None:
        self.contracts_root = contracts_root
        self._known: set[str] | None = None
        self._loaded = False
        self._digest: str | None = None

    def known_agencies(self) -> set[str] | None:
        if not self._loaded:
            from gdx.agencies import AgencyRegistryError, load_agencies

            self._loaded = True
            try:
                self._known = set(load_agencies(self.contracts_root)) if self.contracts_root else None
            except (AgencyRegistryError, ContractError, KeyError):
                self._known = None
        return self._known

    def agencies_digest(self) -> str:
        if self._digest is None:
            from gdx.agencies import agencies_seed_path
            from gdx.contracts.cache import digest

            if self.contracts_root is None:
                self._digest = "no registry"
            else:
                try:
                    seed = agencies_seed_path(self.contracts_root)
                    self._digest = digest(str(seed), seed.read_bytes())
                except (OSError, ContractError, KeyError) as exc:
                    self._digest = f"unreadable: {exc}"
        return self._digest


def _read_error(path: Path, exc: Exception) -> Finding:
    return Finding(str(path), None, "model", f"cannot read: {getattr(exc, 'strerror', None) or exc}")


def _lint_content(
    path: Path, data: bytes, contracts_root: Path | None, odcs: bool, inputs: LintInputs
) -> dict[str, Any]:
    """The lint result of one file's bytes, as a cacheable entry: `odcs` findings, the `rest`,
    and the outside inputs (`deps`) the rules read."""

    def entry(
        odcs_found: list[Finding], rest: list[Finding], deps: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return {
            "odcs": [asdict(f) for f in odcs_found],
            "rest": [asdict(f) for f in rest],
            "deps": deps or {},
        }

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return entry([], [_read_error(path, exc)])
    try:
        node = compose_yaml(text)
        raw = construct_yaml(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or exc
        return entry(
            [], [Finding(str(path), mark.line + 1 if mark else None, "model", f"invalid YAML: {problem}")]
        )
    lines = _node_lines(node)
    found: list[Finding] = []
    if odcs:
        from gdx.contracts import odcs as fast_odcs

        if not fast_odcs.clean(text, fast_odcs.document(node)):
            found = odcs_findings(path, raw, lines)
    try:
        contract = parse_contract(raw, path, lines)
    except ContractError as exc:
        return entry(found, [Finding(str(path), exc.line, "model", exc.reason)])
    root_inputs = inputs if contracts_root is not None else None
    deps = {"agencies": inputs.agencies_digest()} if root_inputs is not None and contract.read_grants else {}
    return entry(
        found, gdx_findings(contract, path, lines, contracts_root, root_inputs or LintInputs(None)), deps
    )


def _findings(entry: dict[str, Any]) -> list[Finding]:
    return [Finding(**f) for f in entry["odcs"]] + [Finding(**f) for f in entry["rest"]]


def lint_file(path: Path | str, contracts_root: Path | str | None = None, odcs: bool = True) -> list[Finding]:
    """All findings for one contract file (no cache)."""
    path = Path(path)
    root = Path(contracts_root) if contracts_root is not None else None
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [_read_error(path, exc)]
    return _findings(_lint_content(path, data, root, odcs, LintInputs(root)))


LINT_MODULES = ("lint.py", "model.py", "odcs.py", "cache.py")
LINT_DISTRIBUTIONS = (
    "datacontract-cli",
    "open-data-contract-standard",
    "jsonschema",
    "fastjsonschema",
    "pydantic",
    "PyYAML",
)


def lint_version(odcs: bool) -> str:
    """Digest of everything a cached lint result depends on besides the file and the registry."""
    from gdx.contracts.cache import code_digest

    here = Path(__file__).parent
    files = [here / name for name in LINT_MODULES] + [here.parent / "agencies.py"]
    # first_year_of_data is judged against this year; a new year re-lints
    return code_digest(files, LINT_DISTRIBUTIONS, [f"odcs={odcs}", f"year={date.today().year}"])


def _worker(args: tuple[Path, bytes, Path | None, bool]) -> dict[str, Any]:
    path, data, root, odcs = args
    return _lint_content(path, data, root, odcs, _WORKER_INPUTS[root])


_WORKER_INPUTS: dict[Path | None, LintInputs] = {}
PARALLEL_FROM = 64
"""Below this many files to lint, worker processes cost more than they save."""


def _compute(
    jobs: list[tuple[Path, bytes, Path | None, bool]], inputs: dict[Path | None, LintInputs], workers: int
) -> list[dict[str, Any]]:
    if workers <= 1 or len(jobs) < PARALLEL_FROM:
        return [_lint_content(p, d, r, o, inputs[r]) for p, d, r, o in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from gdx.contracts import odcs as fast_odcs

    # load once here, share with the forked workers: registry, datacontract-cli, compiled schema
    for item in inputs.values():
        item.known_agencies()
        item.agencies_digest()
    if any(o for *_, o in jobs):
        with contextlib.suppress(Exception):
            fast_odcs.warm_up()
    _WORKER_INPUTS.clear()
    _WORKER_INPUTS.update(inputs)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_worker, jobs, chunksize=max(1, min(64, len(jobs) // (workers * 8)))))


def _files(paths: Iterable[Path | str] | None, root: Path) -> list[Path]:
    from gdx.contracts.model import contract_paths

    files: list[Path] = []
    for p in [root] if paths is None else [Path(x) for x in paths]:
        if p.is_dir():
            files += (
                contract_paths(p)
                if p.resolve() == root.resolve()
                else sorted(
                    f
                    for f in p.rglob("*.yaml")
                    if not any(part.startswith("_") for part in f.relative_to(p).parts)
                )
            )
        else:
            files.append(p)
    return files


def lint(
    paths: Iterable[Path | str] | None = None,
    odcs: bool = True,
    cache: bool = True,
    workers: int | None = None,
) -> list[Finding]:
    """Lint contract files (and directories, recursively, skipping `_*` folders); default: all contracts.

    Results are cached by content (`gdx.contracts.cache`): only files whose bytes, path, linter
    version or registry inputs changed are linted again; `cache=False` lints everything. Cold
    runs over many files use `workers` processes (default: the machine's cores, at most 4).
    """
    from gdx.contracts.cache import ContractCache, digest
    from gdx.settings import Settings

    root = Settings.from_env().contracts_dir
    resolved_root = root.resolve()
    store = ContractCache("lint", enabled=cache)
    version = lint_version(odcs)
    inputs: dict[Path | None, LintInputs] = {root: LintInputs(root), None: LintInputs(None)}
    results: dict[int, list[Finding]] = {}
    jobs: list[tuple[Path, bytes, Path | None, bool]] = []
    keys: list[tuple[int, str]] = []
    for i, file in enumerate(_files(paths, root)):
        contracts_root = root if resolved_root in file.resolve().parents else None
        try:
            data = file.read_bytes()
        except OSError as exc:
            results[i] = [_read_error(file, exc)]
            continue
        key = digest(version, str(file), str(resolved_root) if contracts_root else "", data)
        entry = store.get(key)
        if entry is not None:
            try:
                deps_ok = all(
                    name == "agencies" and value == inputs[contracts_root].agencies_digest()
                    for name, value in entry["deps"].items()
                )
                if deps_ok:
                    results[i] = _findings(entry)
                    continue
            except (KeyError, TypeError, AttributeError):
                pass  # a malformed entry is a miss
        jobs.append((file, data, contracts_root, odcs))
        keys.append((i, key))
    n_workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    for (i, key), entry in zip(keys, _compute(jobs, inputs, n_workers), strict=True):
        store.put(key, entry)
        results[i] = _findings(entry)
    if paths is None:  # every current contract was looked up: entries none of them hit can go
        store.prune(f"lint {resolved_root} odcs={odcs}")
    return [f for i in sorted(results) for f in results[i]]
