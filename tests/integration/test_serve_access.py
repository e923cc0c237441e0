"""Who may see what in the catalog: the token matrix against the real server, over HTTP.

Callers: anonymous, the owner (moi), the granted agency (dopa, personalData grant), another
agency (pcd), a revoked token (moi's) and two garbage tokens. Tokens are issued and revoked with
the real `gdx agencies` commands; requests go through the real `ckanapi` client and `requests`.
Every endpoint that exposes data is asked about a restricted dataset (moi.informal_debt_cases,
personal data, ลับ) and a public one (pcd.air_quality_hourly); restricted answers are inspected
for resources, row counts, quality, freshness and time coverage, and the audit log (gdx.audit, in
the lake) for one entry per allowed and per refused restricted read.
"""

from __future__ import annotations

import io
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ckanapi
import pyarrow.csv as pacsv
import pytest
import requests
from typer.testing import CliRunner

from gdx.contracts.model import load_all
from gdx.serve.catalog import stable_id
from gdx.serve.downloads import public_columns
from tests.integration.serve_fixtures import (
    CONTRACTS_DIR,
    ServerThread,
    ServeWarehouse,
    build_serve_warehouse,
    free_port,
)

pytestmark = pytest.mark.integration

RESTRICTED = "moi.informal_debt_cases"
RESTRICTED_NAME = "moi-informal-debt-cases"
PUBLIC = "pcd.air_quality_hourly"
PUBLIC_NAME = "pcd-air-quality-hourly"
DATA_DETAILS = (
    "row_count",
    "rows_quarantined",
    "share_valid",
    "quality_score",
    "temporal_start",
    "temporal_end",
    "last_updated",
    "freshness_status",
    "hours_since_update",
    "first_year_of_data",
    "last_year_of_data",
)
CALLERS = ("anonymous", "moi", "dopa", "pcd", "revoked", "garbage", "malformed")
FULL = {"moi", "dopa"}  # owner and granted agency of RESTRICTED
BAD = {"revoked", "garbage", "malformed"}


@dataclass
class Secured:
    url: str
    lake: Path
    tokens_file: Path
    env: dict[str, str]
    tokens: dict[str, str | None]
    token_ids: dict[str, str]
    warehouse: ServeWarehouse

    def headers(self, caller: str) -> dict[str, str]:
        token = self.tokens[caller]
        return {"Authorization": token} if token else {}

    def ckan(self, caller: str) -> ckanapi.RemoteCKAN:
        return ckanapi.RemoteCKAN(self.url, apikey=self.tokens[caller], user_agent="gdx-tests/1.0")

    def audit(self) -> Any:
        from gdx.audit import AuditLog
        from gdx.settings import Settings

        return AuditLog.from_settings(Settings(lake_root=str(self.lake)))


def gdx_cli(env: dict[str, str], *args: str) -> Any:
    from gdx.cli import app

    result = CliRunner().invoke(app, list(args), env=env)
    return result


def issue(env: dict[str, str], agency: str, label: str = "") -> tuple[str, str]:
    """(token, token id) from `gdx agencies token`: the token alone on stdout, the id on stderr."""
    result = gdx_cli(env, "agencies", "token", agency, "--label", label)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    token_id = re.search(r"token ([0-9a-f]{16}) for", result.stderr).group(1)  # type: ignore[union-attr]
    return token, token_id


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, engine_lake: Any) -> Iterator[Secured]:
    import shutil

    from gdx.serve.config import ServeSettings

    root = tmp_path_factory.mktemp("secured")
    warehouse = build_serve_warehouse(root)
    # real restricted rows, as `gdx ingest` landed them (tests/integration/engine_lake.py), with
    # the ledger files that commit them
    contract = load_all(CONTRACTS_DIR)[RESTRICTED]
    for zone in ("bronze", "quarantine", "ledger"):
        source = engine_lake.first / zone / contract.agency / contract.dataset
        if source.exists():
            shutil.copytree(source, Path(warehouse.lake_root) / zone / contract.agency / contract.dataset)
    state = root / "state"
    tokens_file = state / "auth" / "api_tokens.json"
    env = {
        "GDX_STATE_DIR": str(state),
        "GDX_API_TOKENS_FILE": str(tokens_file),
        "GDX_LAKE_ROOT": str(warehouse.lake_root),
        "GDX_CONTRACTS_DIR": str(CONTRACTS_DIR),
    }
    tokens: dict[str, str | None] = {"anonymous": None}
    ids: dict[str, str] = {}
    for agency in ("moi", "dopa", "pcd"):
        tokens[agency], ids[agency] = issue(env, agency, f"{agency} tests")
    tokens["revoked"], ids["revoked"] = issue(env, "moi", "to be revoked")
    assert gdx_cli(env, "agencies", "revoke", ids["revoked"]).exit_code == 0
    tokens["garbage"] = "gdx_" + secrets.token_urlsafe(32)  # the right shape, never issued
    tokens["malformed"] = "not-a-token"
    settings = ServeSettings(
        port=free_port(),
        warehouse=warehouse.warehouse,
        contracts_dir=CONTRACTS_DIR,
        lake_root=str(warehouse.lake_root),
        state_dir=state,
        api_tokens_file=tokens_file,
    )
    with ServerThread(settings) as server:
        yield Secured(server.url, warehouse.lake_root, tokens_file, env, tokens, ids, warehouse)


def figures(secured: Secured, contract_id: str) -> dict[str, Any]:
    return next(r for r in secured.warehouse.catalog if r["dataset_id"] == contract_id)


def assert_metadata_only(secured: Secured, package: dict[str, Any]) -> None:
    """A restricted package as the public sees it: described, no resources, no data details."""
    contract = load_all(CONTRACTS_DIR)[package["contract_id"]]
    assert package["title"] == contract.title_th and package["organization"]["name"] == contract.agency
    assert package["data_classification"] == contract.gd_catalog["data_classification"]
    assert package["accessible_condition"] == contract.gd_catalog["accessible_condition"]
    assert package["resources"] == [] and package["num_resources"] == 0
    assert package["metadata_only"] is True
    for key in DATA_DETAILS:
        assert key not in package, key
    assert not {e["key"] for e in package["extras"]} & set(DATA_DETAILS)
    text = json.dumps(package, ensure_ascii=False, default=str)
    mart = figures(secured, package["contract_id"])
    assert "/download/" not in text
    assert str(mart["quality_score"]) not in text
    assert str(mart["time_coverage_end"]) not in text and str(mart["time_coverage_start"]) not in text


def assert_full(secured: Secured, package: dict[str, Any]) -> None:
    mart = figures(secured, package["contract_id"])
    assert package["metadata_only"] is False
    assert package["row_count"] == mart["row_count"]
    assert package["quality_score"] == mart["quality_score"]
    assert package["temporal_end"] == str(mart["time_coverage_end"])
    assert {r["format"] for r in package["resources"]} == {"CSV", "Parquet"}


def assert_denied(response: requests.Response, *words: str) -> None:
    assert response.status_code == 403, response.text[:500]
    if response.headers["content-type"].startswith("application/"):
        body = response.json()
        assert body["success"] is False and body["error"]["__type"] == "Authorization Error"
        message = body["error"]["message"]
    else:
        message = response.text
    for word in words:
        assert word in message, (word, message[:500])


# --- package_show ----------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
def test_package_show(secured: Secured, caller: str) -> None:
    client = secured.ckan(caller)
    if caller in BAD:
        for contract_id in (RESTRICTED, PUBLIC):
            with pytest.raises(ckanapi.NotAuthorized):
                client.action.package_show(id=contract_id)
        return
    assert_full(secured, client.action.package_show(id=PUBLIC))
    if caller == "pcd":
        with pytest.raises(ckanapi.NotAuthorized) as info:
            client.action.package_show(id=RESTRICTED)
        assert "pcd is not granted" in str(info.value) and "เฉพาะหน่วยงาน" in str(info.value)
        return
    package = client.action.package_show(id=RESTRICTED)
    if caller in FULL:
        assert_full(secured, package)
    else:
        assert_metadata_only(secured, package)


def test_bad_tokens_are_refused_everywhere_with_a_reason(secured: Secured) -> None:
    """Unknown, malformed or revoked: 403 with CKAN's error on every route that shows data."""
    paths = [
        "/api/3/action/package_list",
        "/api/3/action/status_show",
        f"/api/action/package_show?id={PUBLIC}",
        "/catalog.jsonld",
        f"/dataset/{PUBLIC_NAME}.jsonld",
        f"/download/{PUBLIC_NAME}.csv",
        f"/dataset/{PUBLIC_NAME}",
        "/",
        "/province/TH-57",
        "/catalog",
    ]
    for caller, reason in (("revoked", "revoked"), ("garbage", "not valid"), ("malformed", "not valid")):
        for path in paths:
            assert_denied(
                requests.get(secured.url + path, headers=secured.headers(caller), timeout=30), reason
            )
    assert requests.get(f"{secured.url}/healthz", headers=secured.headers("garbage"), timeout=30).ok


def test_the_older_ckan_header_and_bearer_work_too(secured: Secured) -> None:
    url = f"{secured.url}/api/3/action/package_show"
    for headers in (
        {"X-CKAN-API-Key": secured.tokens["dopa"]},
        {"Authorization": f"Bearer {secured.tokens['dopa']}"},
    ):
        response = requests.get(url, params={"id": RESTRICTED}, headers=headers, timeout=30)
        assert response.status_code == 200
        assert_full(secured, response.json()["result"])
        assert response.headers["cache-control"] == "private, no-store"
        assert "Authorization" in response.headers["vary"]
    anonymous = requests.get(url, params={"id": RESTRICTED}, timeout=30)
    assert "Authorization" in anonymous.headers["vary"]  # shared caches must key on the token


# --- package_search: results, facets, counts, sorts, filters ---------------------------------------

FACETS = ["organization", "res_format", "data_category", "freshness_status", "tags"]


@pytest.mark.parametrize("caller", ["anonymous", "moi", "dopa", "pcd"])
def test_package_search_results_facets_and_counts(secured: Secured, caller: str) -> None:
    client = secured.ckan(caller)
    contracts = load_all(CONTRACTS_DIR)
    result = client.action.package_search(rows=1000, **{"facet.field": FACETS, "facet.limit": -1})
    assert result["count"] == len(contracts)  # the dataset's existence is public
    by_name = {p["name"]: p for p in result["results"]}
    full = caller in FULL
    if full:
        assert_full(secured, by_name[RESTRICTED_NAME])
    else:
        assert_metadata_only(secured, by_name[RESTRICTED_NAME])
    with_resources = sum(1 for p in result["results"] if p["resources"])
    public = sum(1 for c in contracts.values() if c.access_level == "public")
    assert with_resources == public + (1 if full else 0)
    assert result["facets"]["res_format"] == {"CSV": with_resources, "Parquet": with_resources}
    freshness_counted = sum(result["facets"]["freshness_status"].values())
    assert freshness_counted == len(contracts) - (0 if full else 1)
    assert result["facets"]["data_category"]["ข้อมูลส่วนบุคคล"] == 1  # metadata: counted for all

    # Queries on data details never find (or order) a restricted dataset the caller cannot read.
    counted = client.action.package_search(fq="row_count:[1 TO *]", rows=1000)
    assert (RESTRICTED_NAME in {p["name"] for p in counted["results"]}) == full
    quality = client.action.package_search(q="quality_score:*", rows=1000)
    assert (RESTRICTED_NAME in {p["name"] for p in quality["results"]}) == full
    csv = client.action.package_search(fq="res_format:CSV", rows=1000)
    assert (RESTRICTED_NAME in {p["name"] for p in csv["results"]}) == full
    ordered = [p["name"] for p in client.action.package_search(sort="row_count desc", rows=1000)["results"]]
    if not full:  # without figures it sorts with the datasets that have none, never by its row count
        assert ordered.index(RESTRICTED_NAME) >= sum(
            1 for p in result["results"] if p.get("row_count") is not None
        )
    listed = client.action.current_package_list_with_resources(limit=1000)
    shown = next(p for p in listed if p["name"] == RESTRICTED_NAME)
    (assert_full if full else assert_metadata_only)(secured, shown)
    org = client.action.organization_show(id="moi", include_datasets=True)
    (assert_full if full else assert_metadata_only)(
        secured, next(p for p in org["packages"] if p["name"] == RESTRICTED_NAME)
    )


def test_bad_tokens_cannot_search(secured: Secured) -> None:
    for caller in BAD:
        with pytest.raises(ckanapi.NotAuthorized):
            secured.ckan(caller).action.package_search(q="หนี้")


# --- resource_show --------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
def test_resource_show(secured: Secured, caller: str) -> None:
    client = secured.ckan(caller)
    restricted_csv = stable_id("resource", f"{RESTRICTED}.csv")
    public_csv = stable_id("resource", f"{PUBLIC}.csv")
    if caller in BAD:
        with pytest.raises(ckanapi.NotAuthorized):
            client.action.resource_show(id=public_csv)
        return
    assert client.action.resource_show(id=public_csv)["url"].endswith(f"/download/{PUBLIC_NAME}.csv")
    if caller in FULL:
        resource = client.action.resource_show(id=restricted_csv)
        assert resource["url"].endswith(f"/download/{RESTRICTED_NAME}.csv")
    else:
        with pytest.raises(ckanapi.NotAuthorized) as info:
            client.action.resource_show(id=restricted_csv)
        assert RESTRICTED in str(info.value)


# --- DCAT -----------------------------------------------------------------------------------------


def _node(document: dict[str, Any], name: str) -> dict[str, Any]:
    if document.get("@type") == "dcat:Dataset":
        return document
    return next(d for d in document["dcat:dataset"] if d["@id"].endswith(f"/dataset/{name}"))


@pytest.mark.parametrize("caller", CALLERS)
def test_dcat_catalog_and_dataset(secured: Secured, caller: str) -> None:
    headers = secured.headers(caller)
    catalog = requests.get(f"{secured.url}/catalog.jsonld", headers=headers, timeout=30)
    dataset = requests.get(f"{secured.url}/dataset/{RESTRICTED_NAME}.jsonld", headers=headers, timeout=30)
    public = requests.get(f"{secured.url}/dataset/{PUBLIC_NAME}.jsonld", headers=headers, timeout=30)
    if caller in BAD:
        for response in (catalog, dataset, public):
            assert_denied(response)
        return
    assert public.status_code == 200 and len(public.json()["dcat:distribution"]) == 2
    assert catalog.status_code == 200
    in_catalog = _node(catalog.json(), RESTRICTED_NAME)
    mart = figures(secured, RESTRICTED)
    if caller == "pcd":
        assert_denied(dataset, "pcd is not granted")
        documents = [in_catalog]
    else:
        assert dataset.status_code == 200
        documents = [in_catalog, dataset.json()]
    for node in documents:
        assert node["dct:accessRights"]["@id"].endswith("/access-right/NON_PUBLIC")
        if caller in FULL:
            assert len(node["dcat:distribution"]) == 2
            assert node["dct:temporal"]["dcat:endDate"]["@value"] == str(mart["time_coverage_end"])
        else:
            assert "dcat:distribution" not in node and "dct:temporal" not in node
            assert "/download/" not in json.dumps(node)


# --- downloads ------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
def test_downloads(secured: Secured, caller: str) -> None:
    headers = secured.headers(caller)
    restricted = requests.get(f"{secured.url}/download/{RESTRICTED_NAME}.csv", headers=headers, timeout=60)
    public = requests.get(f"{secured.url}/download/{PUBLIC_NAME}.csv", headers=headers, timeout=60)
    if caller in BAD:
        assert_denied(restricted)
        assert_denied(public)
        return
    assert public.status_code == 200
    if caller not in FULL:
        assert_denied(restricted, RESTRICTED, "เฉพาะหน่วยงาน")
        if caller == "pcd":
            assert_denied(restricted, "pcd is not granted")
        return
    assert restricted.status_code == 200
    assert restricted.headers["cache-control"] == "private, no-store"
    contract = load_all(CONTRACTS_DIR)[RESTRICTED]
    table = pacsv.read_csv(io.BytesIO(restricted.content))
    assert table.column_names == public_columns(contract)
    assert "citizen_id" not in table.column_names and "citizen_id_hmac" not in table.column_names
    assert table.num_rows > 0 and table.num_rows == len(set(table.column("case_id").to_pylist()))
    assert not re.search(rb"(?<!\d)\d{13}(?!\d)", restricted.content)  # no citizen id, pseudonymised or not


# --- HTML: dataset page, dashboard, catalog page --------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
def test_dataset_page(secured: Secured, caller: str) -> None:
    response = requests.get(
        f"{secured.url}/dataset/{RESTRICTED_NAME}", headers=secured.headers(caller), timeout=30
    )
    if caller in BAD:
        assert_denied(response)
        return
    mart = figures(secured, RESTRICTED)
    quality = f"{mart['quality_score'] * 100:.1f}%"
    if caller in FULL:
        assert response.status_code == 200
        assert f"/download/{RESTRICTED_NAME}.csv" in response.text and quality in response.text
        assert str(mart["time_coverage_end"]) in response.text
        return
    assert response.status_code == (403 if caller == "pcd" else 200)
    if caller == "pcd":
        assert 'data-denied="true"' in response.text and "pcd is not granted" in response.text
    assert "เฉพาะหน่วยงานที่ได้รับอนุญาต" in response.text  # how to request access
    assert "/download/" not in response.text
    assert quality not in response.text and str(mart["time_coverage_end"]) not in response.text
    assert f"{mart['row_count']:,}" not in response.text


@pytest.mark.parametrize("caller", ["anonymous", "moi", "dopa", "pcd"])
def test_dashboard_shows_restricted_figures_only_to_granted_agencies(secured: Secured, caller: str) -> None:
    province = requests.get(f"{secured.url}/province/TH-31", headers=secured.headers(caller), timeout=30)
    assert province.status_code == 200
    cell = re.search(rf'data-dataset="{RESTRICTED}" data-share-valid="([^"]*)"', province.text)
    assert cell is not None
    mart = next(r for r in secured.warehouse.quality if r["contract_id"] == RESTRICTED)
    if caller in FULL:
        assert float(cell.group(1)) == mart["share_valid"]
    else:
        assert cell.group(1) == ""
        assert f"{mart['share_valid'] * 100:.1f}%" not in province.text
    assert mart["rows_quarantined"] > 0
    assert ("ถูกกักกัน" in province.text) == (caller in FULL)  # the quarantined count of its rows
    overview = requests.get(f"{secured.url}/", headers=secured.headers(caller), timeout=30)
    assert overview.status_code == 200
    page = requests.get(f"{secured.url}/catalog", headers=secured.headers(caller), timeout=30)
    assert page.status_code == 200 and f'data-name="{RESTRICTED_NAME}"' in page.text


# --- audit ----------------------------------------------------------------------------------------


def _new(secured: Secured, before: int) -> list[Any]:
    return [e for e in secured.audit().entries() if e.seq > before]


def _last_seq(secured: Secured) -> int:
    return secured.audit().head()[0]


def test_restricted_reads_and_refusals_are_audited(secured: Secured) -> None:
    before = _last_seq(secured)
    url = secured.url
    requests_made = [
        ("dopa", f"/api/3/action/package_show?id={RESTRICTED}"),
        ("moi", f"/download/{RESTRICTED_NAME}.parquet"),
        ("dopa", f"/dataset/{RESTRICTED_NAME}.jsonld"),
        ("dopa", f"/dataset/{RESTRICTED_NAME}"),
        ("pcd", f"/api/3/action/package_show?id={RESTRICTED}"),
        ("pcd", f"/download/{RESTRICTED_NAME}.csv"),
        ("revoked", f"/api/3/action/package_show?id={RESTRICTED}"),
        ("anonymous", f"/api/3/action/package_show?id={RESTRICTED}"),
        ("anonymous", f"/download/{RESTRICTED_NAME}.csv"),
        ("garbage", f"/download/{RESTRICTED_NAME}.csv"),
        ("dopa", f"/api/3/action/package_show?id={PUBLIC}"),  # public: nothing to record
    ]
    statuses = [
        requests.get(url + path, headers=secured.headers(c), timeout=60).status_code
        for c, path in requests_made
    ]
    assert statuses == [200, 200, 200, 200, 403, 403, 403, 200, 403, 403, 200]
    entries = _new(secured, before)
    seen = [(e.principal, e.action, e.outcome, e.dataset, e.detail["endpoint"]) for e in entries]
    assert seen == [
        ("dopa", "catalog.read", "allowed", RESTRICTED, "/api/3/action/package_show"),
        ("moi", "catalog.read", "allowed", RESTRICTED, f"/download/{RESTRICTED_NAME}.parquet"),
        ("dopa", "catalog.read", "allowed", RESTRICTED, f"/dataset/{RESTRICTED_NAME}.jsonld"),
        ("dopa", "catalog.read", "allowed", RESTRICTED, f"/dataset/{RESTRICTED_NAME}"),
        ("pcd", "catalog.denied", "denied", RESTRICTED, "/api/3/action/package_show"),
        ("pcd", "catalog.denied", "denied", RESTRICTED, f"/download/{RESTRICTED_NAME}.csv"),
        ("moi", "catalog.denied", "denied", None, "/api/3/action/package_show"),
    ]
    callers = ["dopa", "moi", "dopa", "dopa", "pcd", "pcd", "revoked"]
    assert [e.detail["token_id"] for e in entries] == [secured.token_ids[c] for c in callers]
    assert entries[-1].detail["reason"] == "token revoked"
    assert entries[-1].detail["token_id"] == secured.token_ids["revoked"]
    assert secured.audit().verify(ledger=False).ok


def test_search_with_a_granted_token_is_a_restricted_read(secured: Secured) -> None:
    before = _last_seq(secured)
    secured.ckan("dopa").action.package_search(q="หนี้นอกระบบ")
    secured.ckan("pcd").action.package_search(q="หนี้นอกระบบ")  # metadata only: nothing read
    secured.ckan("anonymous").action.package_search(q="หนี้นอกระบบ")
    entries = _new(secured, before)
    assert [(e.principal, e.action, e.dataset) for e in entries] == [("dopa", "catalog.read", RESTRICTED)]


def test_no_token_is_ever_written_down(secured: Secured) -> None:
    """Neither the token store nor the audit log holds a token; the store is private to its owner."""
    stored = secured.tokens_file.read_text()
    audit_bytes = b"".join(p.read_bytes() for p in (secured.lake / "audit").rglob("*") if p.is_file())
    for caller in ("moi", "dopa", "pcd", "revoked"):
        token = secured.tokens[caller]
        assert token and token not in stored and token.encode() not in audit_bytes
    assert secured.tokens_file.stat().st_mode & 0o777 == 0o600
    assert secured.tokens_file.parent.stat().st_mode & 0o777 == 0o700
    issued = secured.audit().entries(action="token.issue")
    assert {(e.principal, e.detail["token_id"]) for e in issued} >= {
        (agency, secured.token_ids[agency]) for agency in ("moi", "dopa", "pcd")
    }
    revoked = secured.audit().entries(action="token.revoke")
    assert [(e.principal, e.detail["token_id"]) for e in revoked] == [("moi", secured.token_ids["revoked"])]


def test_revocation_takes_effect_on_the_next_request(secured: Secured) -> None:
    token, token_id = issue(secured.env, "dopa", "short-lived")
    url = f"{secured.url}/download/{RESTRICTED_NAME}.csv"
    assert requests.get(url, headers={"Authorization": token}, timeout=60).status_code == 200
    result = gdx_cli(secured.env, "agencies", "revoke", token_id)
    assert result.exit_code == 0 and token_id in result.stdout
    assert_denied(requests.get(url, headers={"Authorization": token}, timeout=60), "revoked")
    assert (
        requests.get(url, headers=secured.headers("dopa"), timeout=60).status_code == 200
    )  # others unaffected


def test_no_restricted_data_without_an_audit_record(secured: Secured, tmp_path: Path) -> None:
    """With the audit log unwritable, restricted reads fail closed (503, no data); public ones work."""
    from gdx.serve.config import ServeSettings

    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "audit").write_text("a file where the audit folder should be")
    settings = ServeSettings(
        port=free_port(),
        warehouse=secured.warehouse.warehouse,
        contracts_dir=CONTRACTS_DIR,
        lake_root=str(lake),
        api_tokens_file=secured.tokens_file,
    )
    with ServerThread(settings) as server:
        dopa = secured.headers("dopa")
        show = requests.get(
            f"{server.url}/api/3/action/package_show", params={"id": RESTRICTED}, headers=dopa, timeout=30
        )
        assert show.status_code == 503 and "result" not in show.json()
        download = requests.get(f"{server.url}/download/{RESTRICTED_NAME}.csv", headers=dopa, timeout=30)
        assert download.status_code == 503 and "case_id" not in download.text
        page = requests.get(f"{server.url}/dataset/{RESTRICTED_NAME}", headers=dopa, timeout=30)
        assert page.status_code == 503 and "/download/" not in page.text
        public = requests.get(f"{server.url}/download/{PUBLIC_NAME}.csv", headers=dopa, timeout=30)
        assert public.status_code == 200
        anonymous = requests.get(
            f"{server.url}/api/3/action/package_show", params={"id": RESTRICTED}, timeout=30
        )
        assert anonymous.status_code == 200 and anonymous.json()["result"]["metadata_only"] is True


def test_a_damaged_token_store_authenticates_nobody(secured: Secured, tmp_path: Path) -> None:
    from gdx.serve.config import ServeSettings

    damaged = tmp_path / "api_tokens.json"
    damaged.write_text('{"version": 1, "tokens": [{"id": "oops"}]}')
    settings = ServeSettings(
        port=free_port(),
        warehouse=secured.warehouse.warehouse,
        contracts_dir=CONTRACTS_DIR,
        lake_root=str(secured.lake),
        api_tokens_file=damaged,
    )
    with ServerThread(settings) as server:
        url = f"{server.url}/api/3/action/package_show"
        refused = requests.get(url, params={"id": RESTRICTED}, headers=secured.headers("moi"), timeout=30)
        assert_denied(refused, "token store is unreadable")
        anonymous = requests.get(url, params={"id": RESTRICTED}, timeout=30)
        assert anonymous.status_code == 200 and anonymous.json()["result"]["metadata_only"] is True
