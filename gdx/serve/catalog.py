"""The catalog: one CKAN package dict per contract, enriched with the marts' live figures.

Metadata comes from the contracts (`to_catalog`, the same function `gdx contracts generate` writes
`catalog.json` with); row counts, time coverage, freshness and quality come from
`mart_open_data_catalog` and `mart_data_quality`. Packages are shaped like CKAN 2.10 `package_show`
results from data.go.th: the GD-Catalog fields are top-level keys (ckanext-scheming style) and are
repeated in the classic `extras` list for clients that only read extras.

Access: every package is built twice, in full (mart figures, resources) and metadata-only (from the
contract alone); `Catalog.view` gives each caller the full form of the public datasets and of the
restricted ones it may read, and the metadata-only form of the others (gdx/serve/access.py decides).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gdx.contracts.exporters.catalog import to_catalog
from gdx.contracts.model import Contract
from gdx.serve.access import metadata_only
from gdx.serve.contract_source import ContractSource
from gdx.serve.data import CATALOG_MART, KPI_MART, QUALITY_MART, MartStore, Row, as_float, as_list, iso, pick
from gdx.serve.views import CatalogView, PackageJson

log = logging.getLogger(__name__)

_NS = uuid.UUID("6f1c1f5e-3c1a-5b7e-9d55-0a4e1f0d6a10")  # namespace of the stable ids below

# CKAN core keys and the GDX bookkeeping keys: everything else to_catalog emits is a GD-Catalog
# field and goes to `extras` as well.
_NOT_EXTRAS = {
    "name",
    "title",
    "title_en",
    "notes",
    "owner_org",
    "maintainer",
    "maintainer_email",
    "tags",
    "columns",
    "owner_org_title",
    "owner_org_title_en",
    "license_id",
}

LICENSES: dict[str, tuple[str, str | None]] = {
    # license_id → (title, url); data.go.th's own ids first. URLs only where the licence has one.
    "Open Data Common": ("Open Data Common", None),
    "License not specified": ("License not specified", None),
    "cc-by": ("Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by"),
    "cc-by-4.0": ("Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "cc-zero": ("Creative Commons CCZero", "http://www.opendefinition.org/licenses/cc-zero"),
}
OPEN_LICENSES = {"Open Data Common", "cc-by", "cc-by-4.0", "cc-zero"}

DOWNLOAD_FORMATS: tuple[tuple[str, str, str], ...] = (
    # (extension, CKAN format, media type)
    ("csv", "CSV", "text/csv"),
    ("parquet", "Parquet", "application/vnd.apache.parquet"),
)


def stable_id(kind: str, key: str) -> str:
    """A UUID that stays the same across restarts (CKAN ids are UUIDs; clients store them)."""
    return str(uuid.uuid5(_NS, f"{kind}:{key}"))


def ckan_time(value: Any) -> str | None:
    """CKAN's timestamp form: naive UTC ISO 8601 with microseconds; dates become midnight."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    return f"{iso(value)}T00:00:00.000000"


def mart_contract_id(row: Row, contracts: dict[str, Contract]) -> str | None:
    """Which contract a mart row is about, whichever way the mart names the dataset."""
    for key in ("contract_id", "dataset_id", "dataset"):
        value = row.get(key)
        if isinstance(value, str) and value in contracts:
            return value
    agency, dataset = row.get("agency"), row.get("dataset")
    if agency and dataset and f"{agency}.{dataset}" in contracts:
        return f"{agency}.{dataset}"
    for key in ("name", "package_name", "dataset_name", "slug"):
        value = row.get(key)
        if isinstance(value, str):
            for contract in contracts.values():
                if value in (to_catalog(contract)["name"], contract.slug):
                    return contract.id
    return None


@dataclass
class DatasetStats:
    """What the marts say about one dataset (all optional: a dataset may not have landed yet)."""

    row_count: int | None = None
    rows_quarantined: int | None = None
    share_valid: float | None = None
    quality_score: float | None = None
    temporal_start: str | None = None
    temporal_end: str | None = None
    last_updated: str | None = None
    freshness_status: str | None = None
    hours_since_update: float | None = None
    kpis: list[str] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)


def _stats(catalog_row: Row, quality_row: Row) -> DatasetStats:
    both = {**quality_row, **{k: v for k, v in catalog_row.items() if v is not None}}
    # A count the marts withheld (disclosure control) stays unknown: falling back to another
    # column would publish the very figure that was suppressed.
    withheld = bool(catalog_row.get("is_suppressed") or quality_row.get("is_suppressed"))
    rows = None if withheld else pick(both, "row_count", "current_rows", "rows_landed", "rows")
    quarantined = None if withheld else pick(quality_row, "rows_quarantined", "quarantined")
    share = None if withheld else as_float(pick(quality_row, "share_valid", "valid_share", "pct_valid"))
    score = None if withheld else as_float(pick(both, "quality_score", "share_valid"))
    return DatasetStats(
        row_count=int(rows) if as_float(rows) is not None else None,
        rows_quarantined=int(quarantined) if as_float(quarantined) is not None else None,
        share_valid=share,
        quality_score=score,
        temporal_start=iso(pick(both, "time_coverage_start", "data_start_date", "temporal_start")),
        temporal_end=iso(pick(both, "time_coverage_end", "data_end_date", "temporal_end")),
        last_updated=iso(
            pick(both, "last_updated_at", "last_updated", "newest_ingested_at", "last_landed_at")
        ),
        freshness_status=pick(both, "freshness_status", "freshness"),
        hours_since_update=as_float(
            pick(both, "hours_since_last_ingest", "hours_since_last_landed", "hours_since_update")
        ),
        kpis=as_list(pick(catalog_row, "kpi_codes", "kpis")),
        provinces=as_list(pick(catalog_row, "pilot_provinces", "provinces")),
    )


def organization(contract: Contract, agencies: dict[str, Row]) -> dict[str, Any]:
    owner = contract.owner_agency
    code = str(owner.get("code") or contract.agency)
    ref = agencies.get(code, {})
    ministry = ref.get("ministry_th") or ""
    return {
        "id": stable_id("organization", code),
        "name": code,
        "title": str(owner.get("name_th") or ref.get("name_th") or code),
        "title_en": str(owner.get("name_en") or ref.get("name_en") or code),
        "display_name": str(owner.get("name_th") or ref.get("name_th") or code),
        "type": "organization",
        "description": " / ".join(
            x for x in (ministry, str(owner.get("ministry_en") or ref.get("ministry_en") or "")) if x
        ),
        "image_url": "",
        "email": str(owner.get("email") or ref.get("email") or ""),
        "website": str(ref.get("website") or ""),
        "created": None,
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }


def _extra_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def build_package(
    contract: Contract, stats: DatasetStats, org: dict[str, Any], base_url: str, modified_fallback: str
) -> dict[str, Any]:
    """The CKAN package dict of one dataset (pure; `base_url` makes resource URLs absolute)."""
    entry = to_catalog(contract)
    name = entry["name"]
    package_id = stable_id("package", contract.id)
    license_id = str(contract.gd_catalog.get("license_id") or "License not specified")
    license_title, license_url = LICENSES.get(license_id, (license_id, None))
    modified = ckan_time(stats.last_updated) or modified_fallback
    public = contract.access_level == "public"
    # Restricted datasets have resources too: the full view of an agency the contract grants
    # access; their download URLs answer only that agency's token (gdx/serve/access.py).
    scope = "all landed rows" if public else "all landed rows, non-personal columns; API token required"
    resources = []
    for position, (ext, fmt, mimetype) in enumerate(DOWNLOAD_FORMATS):
        resources.append(
            {
                "id": stable_id("resource", f"{contract.id}.{ext}"),
                "package_id": package_id,
                "name": f"{entry['title']} ({fmt})",
                "description": f"{contract.title_en}: {scope}, {fmt}",
                "format": fmt,
                "mimetype": mimetype,
                "url": f"{base_url}/download/{name}.{ext}",
                "url_type": None,
                "position": position,
                "state": "active",
                "created": modified,
                "last_modified": modified,
                "datastore_active": False,
            }
        )
    tags = [
        {
            "id": stable_id("tag", t["name"]),
            "name": t["name"],
            "display_name": t["name"],
            "state": "active",
            "vocabulary_id": None,
        }
        for t in entry.get("tags", [])
    ]
    package: dict[str, Any] = {
        "id": package_id,
        "name": name,
        "title": entry["title"],
        "title_en": entry.get("title_en"),
        "notes": entry.get("notes") or "",
        "type": "dataset",
        "state": "active",
        "private": False,
        "url": f"{base_url}/dataset/{name}",
        "version": contract.version,
        "author": org["title"],
        "author_email": org["email"],
        "maintainer": entry.get("maintainer"),
        "maintainer_email": entry.get("maintainer_email"),
        "license_id": license_id,
        "license_title": license_title,
        "license_url": license_url,
        "isopen": license_id in OPEN_LICENSES and public,
        "owner_org": org["id"],
        "organization": org,
        "groups": [],
        "tags": tags,
        "num_tags": len(tags),
        "resources": resources,
        "num_resources": len(resources),
        "metadata_created": modified,
        "metadata_modified": modified,
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }
    gd_fields: dict[str, Any] = {k: v for k, v in entry.items() if k not in _NOT_EXTRAS and k not in package}
    if stats.temporal_end and "last_year_of_data" not in gd_fields:
        gd_fields["last_year_of_data"] = int(stats.temporal_end[:4]) + 543  # GD-Catalog years are BE
    gd_fields.update(
        {
            "row_count": stats.row_count,
            "rows_quarantined": stats.rows_quarantined,
            "share_valid": stats.share_valid,
            "quality_score": stats.quality_score,
            "temporal_start": stats.temporal_start,
            "temporal_end": stats.temporal_end,
            "last_updated": stats.last_updated,
            "freshness_status": stats.freshness_status or "unknown",
            "hours_since_update": stats.hours_since_update,
            "kpis": stats.kpis,
            "coverage_provinces": stats.provinces or list(contract.pilot_provinces),
        }
    )
    package.update(gd_fields)
    package["extras"] = [{"key": k, "value": _extra_value(v)} for k, v in gd_fields.items() if v is not None]
    package["columns"] = entry.get("columns", [])
    package["metadata_only"] = False
    return package


def build_metadata_package(
    contract: Contract, stats: DatasetStats, org: dict[str, Any], base_url: str, modified_fallback: str
) -> dict[str, Any]:
    """The metadata-only package: built without the marts' figures (only which KPIs use the dataset
    and where it is about), then stripped of resources and data details (`access.metadata_only`)."""
    figures_free = DatasetStats(kpis=list(stats.kpis), provinces=list(stats.provinces))
    return metadata_only(build_package(contract, figures_free, org, base_url, modified_fallback))


def _read_agencies(contracts: dict[str, Contract], root: Path) -> dict[str, Row]:
    """The reference agencies seed (website, ministry in Thai), when the repository has it."""
    import csv

    ref = contracts.get("ref.agencies")
    if ref is None:
        return {}
    path = root / ref.seed_path  # repo-relative; the repository is the contracts folder's parent
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return {row["code"]: row for row in csv.DictReader(handle) if row.get("code")}
    except (OSError, KeyError):
        return {}


CONTRACTS_RECHECK_SECONDS = 1.0
"""How often the contract files (in a background thread) and the marts are checked for changes:
at 8,000 contracts a check costs tens of milliseconds, too much for every request."""

_VIEWS_PER_BUILD = 64  # caller classes (distinct `readable` sets) kept per build


@dataclass
class _Build:
    """The packages of one (contracts, marts, base URL) state and the caller views derived from it."""

    signature: Any
    packages: list[dict[str, Any]]
    metadata: dict[str, dict[str, Any]]
    views: dict[frozenset[str], CatalogView] = field(default_factory=dict)
    documents: dict[int, Any] = field(default_factory=dict)
    full: CatalogView | None = None
    json: PackageJson = field(default_factory=PackageJson)

    def __post_init__(self) -> None:
        self.json.add(self.packages)
        self.json.add(list(self.metadata.values()))


class Catalog:
    """Contracts + marts → packages, rebuilt when a contract file or a mart changes."""

    def __init__(
        self, contracts_dir: Path, marts: MartStore, recheck_seconds: float = CONTRACTS_RECHECK_SECONDS
    ) -> None:
        self.contracts_dir = Path(contracts_dir)
        self._source = ContractSource(self.contracts_dir)
        self.marts = marts
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        # The file signatures are tuples of 8,000 entries: comparing two of them costs ~2 ms, so
        # requests compare generation numbers instead, and only the watcher compares signatures.
        self._contracts_sig: Any = None
        self._contracts_gen = 0  # generation of the loaded contracts (0 = not loaded yet)
        self._seen_sig: Any = None  # the latest signature the watcher thread saw
        self._seen_gen = 0  # bumped by the watcher when `_seen_sig` changed
        self._loaded_seen_gen = 0  # the `_seen_gen` the loaded contracts reflect
        self._watcher: threading.Thread | None = None
        self.contracts: dict[str, Contract] = {}
        self._agencies: dict[str, Row] = {}
        self._agency_codes: frozenset[str] = frozenset()
        self._readable: dict[str | None, frozenset[str]] = {}
        self._built: dict[str, _Build] = {}
        self._previous: dict[str, _Build] = {}  # the last build per base URL, until rebuilt
        # contract id → (contract, stats, org, base URL, fallback, package, metadata-only form):
        # a package is rebuilt only when one of its inputs changed (an edited contract, new figures)
        self._packages: dict[str, tuple[Any, ...]] = {}
        self._state: tuple[Any, float] | None = None

    def _contracts_signature(self) -> tuple[Any, ...]:
        return self._source.signatures()

    def _refresh_contracts(self) -> int:
        """Load the contracts the first time, and again after the watcher saw a file change;
        the generation of the contracts now loaded."""
        if self._contracts_gen == 0:
            sig = self._contracts_signature()
            seen_gen = self._seen_gen
        else:
            self._start_watcher()
            seen_gen = self._seen_gen
            if seen_gen == self._loaded_seen_gen:
                return self._contracts_gen
            sig = self._seen_sig
        if self._contracts_gen == 0 or sig != self._contracts_sig:
            self.contracts = self._source.load(sig)
            self._agencies = _read_agencies(self.contracts, self.contracts_dir.parent)
            self._agency_codes = frozenset(self._agencies)
            self._readable = {}
            self._contracts_sig = sig
            self._contracts_gen += 1
            self._previous.update(self._built)  # what the next build may reuse, package by package
            self._built.clear()
        self._loaded_seen_gen = seen_gen
        return self._contracts_gen

    def after_fork(self) -> None:
        """In a worker forked from the process that built the catalog: the watcher thread did not
        survive the fork, so the next refresh starts this process's own (each worker notices an
        edited contract by itself), and no lock is left held by a thread that is not there."""
        self._watcher = None
        self._lock = threading.Lock()

    def _start_watcher(self) -> None:
        """Stat the contract files every `recheck_seconds` in a background thread: at 8,000 files a
        check takes long enough that no request (nor the lock requests share) should wait for it."""
        if self._watcher is not None:
            return

        def watch() -> None:
            pause = self.recheck_seconds
            while True:
                time.sleep(pause)
                try:
                    started = time.monotonic()
                    sig = self._contracts_signature()
                    if sig != (self._seen_sig if self._seen_sig is not None else self._contracts_sig):
                        self._seen_sig = sig
                        self._seen_gen += 1
                    # never more than ~5% of a core on watching, however many contracts there are
                    pause = max(self.recheck_seconds, 20 * (time.monotonic() - started))
                except OSError as exc:  # the folder is being replaced: look again next time
                    log.warning("cannot list the contracts: %s", exc)

        self._watcher = threading.Thread(target=watch, name="gdx-contracts-watcher", daemon=True)
        self._watcher.start()

    def _signature(self) -> Any:
        """Contracts and marts state, checked at most every `recheck_seconds` (a few stat calls
        per mart, thousands for the contracts: not for every lookup of every request)."""
        now = time.monotonic()
        if self._state is not None and now - self._state[1] < self.recheck_seconds:
            return self._state[0]
        state = (self._refresh_contracts(), self.marts.signature())
        self._state = (state, now)
        return state

    def _current(self, base_url: str) -> _Build:
        with self._lock:
            sig = self._signature()
            cached = self._built.get(base_url)
            if cached is not None and cached.signature == sig:
                return cached
            if cached is None:
                cached = self._previous.get(base_url)
            packages, metadata = self._build(base_url)
            if len(self._built) >= 8:  # one entry per Host a client sent: keep the cache bounded
                self._built.clear()
            built = _Build(sig, packages, metadata)
            if cached is not None:  # unchanged packages keep their search documents and JSON text
                built.documents.update(
                    (k, d) for k, d in cached.documents.items() if built.json.holds(d.package)
                )
                built.json.inherit(cached.json)
            self._previous.pop(base_url, None)
            self._built[base_url] = built
            return built

    def is_current(self, base_url: str) -> bool:
        """True when the build for `base_url` is up to date and checked recently: work on it is a
        few in-memory lookups that need not leave the event loop (no lock, no file access here)."""
        state = self._state
        if state is None or time.monotonic() - state[1] >= self.recheck_seconds:
            return False
        if self._seen_gen != self._loaded_seen_gen:
            return False
        built = self._built.get(base_url)
        return built is not None and built.signature == state[0]

    def packages(self, base_url: str) -> list[dict[str, Any]]:
        """All packages in full, sorted by name: internal use only, callers see `view()`.
        Callers must not mutate them."""
        return self._current(base_url).packages

    def view(self, base_url: str, readable: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """The packages as a caller sees them: public ones and the restricted ones in `readable`
        (contract ids) in full, every other restricted one metadata-only. Sorted by name."""
        return self.caller_view(base_url, readable).packages

    def caller_view(self, base_url: str, readable: frozenset[str] = frozenset()) -> CatalogView:
        """`view()` with its indexes; shared by every caller with the same `readable` set."""
        built = self._current(base_url)
        found = built.views.get(readable)
        if found is None:
            packages, metadata = built.packages, built.metadata
            listed = [
                metadata.get(p["contract_id"], p) if p["contract_id"] not in readable else p for p in packages
            ]
            with self._lock:
                found = built.views.get(readable)
                if found is None:
                    if len(built.views) >= _VIEWS_PER_BUILD:
                        built.views.clear()
                    found = built.views[readable] = CatalogView(listed, built.documents)
        return found

    def warm(self, base_url: str, agencies: Iterable[str] = ()) -> None:
        """Build the packages, the views of anonymous callers and of `agencies` (those with API
        tokens) with their indexes before the first request, and start watching the contracts."""
        views = [self.caller_view(base_url)]
        views += [self.caller_view(base_url, self.readable_for(a)) for a in agencies]
        for view in views:
            view.warm()
        self.full_view(base_url).find("")
        with self._lock:
            self._start_watcher()

    def package_json(self, base_url: str) -> PackageJson:
        """The JSON text cache of the current build's packages (for the API's responses)."""
        return self._current(base_url).json

    def full_view(self, base_url: str) -> CatalogView:
        """Every package in full (internal lookups only, never answered to a caller as such)."""
        built = self._current(base_url)
        if built.full is None:
            built.full = CatalogView(built.packages, built.documents)
        return built.full

    def readable_for(self, agency: str | None) -> frozenset[str]:
        """Ids of the restricted contracts `agency` (None = anonymous) sees in full, cached per build
        of the contracts (the decision itself is `access.readable_restricted`)."""
        from gdx.serve.access import Caller, readable_restricted

        with self._lock:
            self._refresh_contracts()
            found = self._readable.get(agency)
            if found is None:
                found = readable_restricted(Caller(agency), self.contracts.values())
                if len(self._readable) >= 4096:
                    self._readable = {}
                self._readable[agency] = found
            return found

    def current_contracts(self) -> dict[str, Contract]:
        """The contracts as of now (re-read when a contract file changed)."""
        with self._lock:
            self._refresh_contracts()
            return self.contracts

    def agency_codes(self) -> frozenset[str]:
        """Codes of the agencies in the registry (the `ref.agencies` seed)."""
        if self._contracts_gen and self._seen_gen == self._loaded_seen_gen:
            return self._agency_codes  # loaded and unchanged since: no need for the lock
        with self._lock:
            self._refresh_contracts()
            return self._agency_codes

    def stats(self) -> dict[str, DatasetStats]:
        """Mart figures per contract id."""
        catalog_rows: dict[str, Row] = {}
        for row in self.marts.rows(CATALOG_MART):
            cid = mart_contract_id(row, self.contracts)
            if cid:
                catalog_rows[cid] = row
        quality_rows: dict[str, Row] = {}
        for row in self.marts.rows(QUALITY_MART):
            cid = mart_contract_id(row, self.contracts)
            if cid:
                quality_rows[cid] = row
        kpis_by_dataset: dict[str, set[str]] = {}
        for row in self.marts.rows(KPI_MART):
            code = pick(row, "kpi_code", "kpi_id", "kpi")
            for source in as_list(pick(row, "source_datasets", "source_dataset", "sources")):
                kpis_by_dataset.setdefault(source, set()).add(str(code))
        out = {}
        for cid in self.contracts:
            stats = _stats(catalog_rows.get(cid, {}), quality_rows.get(cid, {}))
            if not stats.kpis and kpis_by_dataset:
                name = to_catalog(self.contracts[cid])["name"]
                found = kpis_by_dataset.get(cid, set()) | kpis_by_dataset.get(name, set())
                stats.kpis = sorted(found)
            out[cid] = stats
        return out

    def _build(self, base_url: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """Full packages sorted by name, and the metadata-only form of each restricted one; a
        package whose inputs are those of the last build is that build's package (same object)."""
        stats = self.stats()
        packages = []
        metadata = {}
        previous = self._packages
        current: dict[str, tuple[Any, ...]] = {}
        for cid, contract in self.contracts.items():
            try:
                mtime = contract.path.stat().st_mtime if contract.path else 0.0
            except OSError:
                mtime = 0.0
            fallback = ckan_time(datetime.fromtimestamp(mtime, UTC)) or ""
            org = organization(contract, self._agencies)
            known = previous.get(cid)
            if (
                known is not None
                and known[0] is contract
                and known[1:5] == (stats[cid], org, base_url, fallback)
            ):
                package, meta = known[5], known[6]
            else:
                package = build_package(contract, stats[cid], org, base_url, fallback)
                meta = None
                if contract.access_level != "public":
                    meta = build_metadata_package(contract, stats[cid], org, base_url, fallback)
            current[cid] = (contract, stats[cid], org, base_url, fallback, package, meta)
            packages.append(package)
            if meta is not None:
                metadata[cid] = meta
        if len({v[3] for v in current.values()}) <= 1:
            self._packages = current  # one base URL at a time is the common case worth keeping
        return sorted(packages, key=lambda p: p["name"]), metadata

    def find(self, base_url: str, key: str) -> dict[str, Any] | None:
        """A package in full by CKAN name, id, or contract id (internal: callers use RequestAccess)."""
        return self.full_view(base_url).find(key)

    def contract_for(self, package: dict[str, Any]) -> Contract:
        return self.contracts[package["contract_id"]]
