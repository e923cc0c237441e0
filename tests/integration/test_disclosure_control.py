"""Statistical disclosure control end to end, on a lake the engine itself lands.

An agency file of informal-debt cases (the restricted, personal-data dataset moi.informal_debt_cases)
in the Ministry's own format is published by the real producer to a real broker, landed by the real
ingestion (`gdx ingest`: decrypt/pseudonymise, GX gate, Parquet, ledger), built with the repository's
dbt project (`gdx.build.build`) and served by the real HTTP server. Some Buriram months have 1–4
cases. Nothing public — marts, their Parquet exports, the TH-31 province page, `gdx kpi` — may show
a count of 1–4 of them, and no published total may reveal a suppressed cell by subtraction.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from gdx.build import BuildPaths, BuildResult, build
from gdx.settings import Settings
from tests.integration.ingest_fixtures import make_env, read_lake

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
THRESHOLD = 5  # contracts/moi/informal_debt_cases.yaml, disclosureThreshold
DEBT_KPIS = ("debt_debtors_registered", "debt_mediated_or_settled_pct", "debt_reduced_thb")
# which columns of each KPI count records (kpi_definitions.count_columns), written out here on purpose
COUNT_COLUMNS = {
    "debt_debtors_registered": ("value", "numerator", "observation_count"),
    "debt_mediated_or_settled_pct": ("numerator", "denominator", "observation_count"),
    "debt_reduced_thb": ("observation_count",),
}

# cases registered per month; (province, month) → (cases, of which mediated in the same month)
CASES: dict[tuple[str, date], tuple[int, int]] = {
    ("TH-31", date(2023, 10, 1)): (8, 0),
    ("TH-31", date(2023, 11, 1)): (3, 0),  # small → primary
    ("TH-31", date(2023, 12, 1)): (6, 0),  # smallest other month of FY2567 → secondary
    ("TH-31", date(2024, 1, 1)): (9, 0),
    ("TH-31", date(2024, 2, 1)): (12, 5),
    ("TH-31", date(2024, 4, 1)): (7, 0),
    ("TH-31", date(2024, 10, 1)): (7, 0),
    ("TH-31", date(2024, 11, 1)): (1, 0),  # small
    ("TH-31", date(2024, 12, 1)): (4, 0),  # small
    ("TH-31", date(2025, 1, 1)): (3, 0),  # small: the latest complete month, the page's headline
    ("TH-31", date(2025, 2, 1)): (2, 0),  # small, running month (the data's last): `gdx kpi` shows it
    ("TH-32", date(2024, 5, 1)): (2, 0),  # Surin's whole FY2567 is 2 cases
}
SMALL_MONTHS = {k for k, (n, _) in CASES.items() if 0 < n < THRESHOLD}
PROVINCE_RAW = {"TH-31": "บุรีรัมย์", "TH-32": "สุรินทร์"}
HEADER = (
    "เลขที่เรื่อง,เลขประจำตัวประชาชน,จังหวัด,อำเภอ,ประเภทเจ้าหนี้,เงินต้น,สถานะ,"
    "วันที่ลงทะเบียน,วันที่ไกล่เกลี่ย,วันที่ยุติเรื่อง,ยอดหนี้หลังไกล่เกลี่ย,มูลหนี้ที่ลดลง"
).split(",")


def _be(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year + 543}"


def write_agency_file(path: Path) -> int:
    """The Ministry's case register (Thai headers, Buddhist-Era dates, one debtor per case)."""
    from gdx.thai.citizen_id import make_citizen_id

    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for (province, month), (cases, mediated) in sorted(CASES.items()):
            for i in range(cases):
                n += 1
                registered = month + timedelta(days=2 + i)
                principal = 20_000 + 1_000 * n
                row = [
                    f"{'BRM' if province == 'TH-31' else 'SRN'}-{registered.year + 543}-{n:06d}",
                    make_citizen_id(f"3{n:011d}"),
                    PROVINCE_RAW[province],
                    "นางรอง" if i % 2 else "เมืองบุรีรัมย์",
                    "informal_lender",
                    f"{principal:,.2f}",
                    "registered",
                    _be(registered),
                    "",
                    "",
                    "",
                    "",
                ]
                if i < mediated:
                    row[6] = "mediated"
                    row[8] = _be(registered + timedelta(days=5))
                    row[11] = f"{principal * 0.3:,.2f}"
                out.writerow(row)
    return n


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, kafka_cluster: Any) -> dict[str, Any]:
    from gdx.producer.pipeline import produce_file

    env = make_env(tmp_path_factory.mktemp("sdc"), kafka_cluster)
    contract = env.contract("moi.informal_debt_cases")
    source = env.root / "informal_debt_register.csv"
    written = write_agency_file(source)
    produced = produce_file(contract, source, connection=kafka_cluster.owner(contract))
    assert produced.ok and produced.published == written, produced
    done = env.run_cli("ingest", contract.id)
    if done.returncode != 0 and "NOT_COORDINATOR" in done.stderr:
        # a broker started seconds ago may not have elected the group coordinator yet; the run
        # committed nothing, and ingestion is idempotent (reported to the lead: the runner does
        # not retry this transient error itself)
        done = env.run_cli("ingest", contract.id)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    bronze, quarantine = read_lake(env.lake, contract)
    assert len(bronze) == written and not quarantine
    assert "citizen_id" not in next(iter(bronze.values()))  # landed pseudonymised only
    return {"env": env, "written": written}


@pytest.fixture(scope="module")
def built(lake: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("sdc-build")
    settings = dataclasses.replace(
        Settings.from_env(),
        lake_root=str(lake["env"].lake),
        warehouse=root / "wh" / "onedata.duckdb",
        contracts_dir=REPO / "contracts",  # the generated catalog.json (thresholds) the project reads
    )
    paths = BuildPaths.from_settings(settings, target_dir=root / "target")
    result: BuildResult = build(paths=paths)
    assert result.ok, result.output[-6000:]
    kpis = pq.read_table(paths.export_dir / "mart_provincial_kpi.parquet").to_pylist()
    return {"paths": paths, "result": result, "kpis": [r for r in kpis if r["kpi_code"] in DEBT_KPIS]}


def _cell(
    kpis: list[dict[str, Any]], province: str, kpi: str, period_type: str, start: date
) -> dict[str, Any]:
    (row,) = [
        r
        for r in kpis
        if (r["province_iso"], r["kpi_code"], r["period_type"], r["period_start"])
        == (province, kpi, period_type, start)
    ]
    return row


def test_the_build_and_its_disclosure_tests_pass(built: dict[str, Any]) -> None:
    ran = {n.name: n.status for n in built["result"].nodes}
    assert ran["assert_no_small_cells_in_public_marts"] == "pass"
    assert ran["assert_secondary_suppression_protects_totals"] == "pass"
    assert sum(1 for name, status in ran.items() if name.startswith("disclosure_") and status == "pass") >= 3


def test_no_public_value_below_the_threshold(built: dict[str, Any]) -> None:
    kpis = built["kpis"]
    assert kpis, "the debt KPIs were built"
    for row in kpis:
        assert row["suppression_threshold"] == THRESHOLD  # from the contract, through catalog.json
        for column in COUNT_COLUMNS[row["kpi_code"]]:
            n = row[column]
            assert n is None or n == 0 or n >= THRESHOLD, (row["kpi_value_id"], column, n)
        if row["is_suppressed"]:
            assert row["value"] is row["numerator"] is row["denominator"] is row["observation_count"] is None
            assert row["status"] in {"suppressed", "no_target"}
            assert row["suppression_reason"].startswith(("primary: ", "secondary: "))
    # every small month is suppressed as primary, for all three KPIs of its registrations
    for province, month in SMALL_MONTHS:
        for kpi in ("debt_debtors_registered", "debt_mediated_or_settled_pct"):
            row = _cell(kpis, province, kpi, "month", month)
            assert row["is_suppressed"] and row["suppression_reason"] == (
                "primary: น้อยกว่า 5 ราย / fewer than 5 records"
            ), row
    # a month without cases is a published zero; a month of 12 is published as it is
    assert _cell(kpis, "TH-31", "debt_debtors_registered", "month", date(2024, 3, 1))["value"] == 0
    feb = _cell(kpis, "TH-31", "debt_debtors_registered", "month", date(2024, 2, 1))
    assert (feb["value"], feb["is_suppressed"]) == (12, False)
    assert _cell(kpis, "TH-31", "debt_reduced_thb", "month", date(2024, 2, 1))["observation_count"] == 5


def test_no_total_reveals_a_suppressed_cell(built: dict[str, Any]) -> None:
    kpis = built["kpis"]
    # the complement the rule picks: the smallest other month of FY2567 (6 cases in December)
    dec = _cell(kpis, "TH-31", "debt_debtors_registered", "month", date(2023, 12, 1))
    assert dec["is_suppressed"] and dec["suppression_reason"].startswith("secondary: ")
    fy = _cell(kpis, "TH-31", "debt_debtors_registered", "fiscal_year", date(2023, 10, 1))
    assert (fy["value"], fy["is_suppressed"]) == (45, False)
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for row in kpis:
        if row["period_type"] == "month":
            groups.setdefault((row["province_iso"], row["kpi_code"], row["fiscal_year_be"]), []).append(row)
    checked = 0
    for (province, kpi, year), months in groups.items():
        (total,) = [
            r for r in kpis
            if (r["province_iso"], r["kpi_code"], r["period_type"], r["fiscal_year_be"]) == (province, kpi, "fiscal_year", year)
        ]  # fmt: skip
        hidden = [m for m in months if m["is_suppressed"]]
        if total["is_suppressed"] or not hidden:
            continue
        checked += 1
        # total minus the visible months is the sum of at least two hidden cells, never one
        assert len(hidden) >= 2, (province, kpi, year, [m["period_start"] for m in hidden])
        if kpi != "debt_reduced_thb":  # registrations: what each hidden month really holds is known here
            rest = total["observation_count"] - sum(
                m["observation_count"] for m in months if not m["is_suppressed"]
            )
            assert all(rest != true for true in _true_counts(hidden)), (province, kpi, year)
    assert checked >= 2
    # the dataset total (quality and catalog marts) against the fiscal-year cells of all provinces
    quality = {
        r["contract_id"]: r
        for r in pq.read_table(built["paths"].export_dir / "mart_data_quality.parquet").to_pylist()
    }
    current = quality["moi.informal_debt_cases"]["current_rows"]
    assert current == sum(n for n, _ in CASES.values())
    years = [
        r for r in kpis if r["kpi_code"] == "debt_debtors_registered" and r["period_type"] == "fiscal_year"
    ]
    hidden_years = [r for r in years if r["is_suppressed"]]
    assert len(hidden_years) >= 2, [r["kpi_value_id"] for r in years]
    surin = _cell(kpis, "TH-32", "debt_debtors_registered", "fiscal_year", date(2023, 10, 1))
    assert surin["is_suppressed"] and surin["suppression_reason"].startswith("primary: ")


def _true_counts(hidden: list[dict[str, Any]]) -> set[int]:
    """What the hidden months really hold (from the file this test wrote)."""
    return {CASES.get((m["province_iso"], m["period_start"]), (0, 0))[0] for m in hidden}


def test_person_level_rows_are_never_exported(built: dict[str, Any]) -> None:
    export_dir = built["paths"].export_dir
    assert not (export_dir / "fct_informal_debt_cases.parquet").exists()
    for export in export_dir.glob("*.parquet"):
        names = set(pq.read_schema(export).names)
        assert not names & {"debtor_key", "citizen_id", "citizen_id_hmac", "case_id"}, export.name


class _Page(HTMLParser):
    """The KPI figures and the chart points of a dashboard page."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, dict[str, str]] = {}
        self.points: dict[str, list[str]] = {}
        self._card: str | None = None
        self._in_circle = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "article" and a.get("id", "").startswith("kpi-"):
            self._card = a["id"][4:]
        if "data-kpi" in a:
            self.figures[a["data-kpi"]] = a
        if tag == "circle":  # a chart point: <circle><title>YYYY-MM: value</title></circle>
            self._in_circle = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._card = None
        if tag == "circle":
            self._in_circle = False

    def handle_data(self, data: str) -> None:
        if self._in_circle and self._card:
            self.points.setdefault(self._card, []).append(data)


def test_the_province_page_shows_below_five_never_the_number(built: dict[str, Any]) -> None:
    import requests

    from gdx.serve.config import ServeSettings
    from tests.integration.serve_fixtures import ServerThread, free_port

    paths = built["paths"]
    settings = ServeSettings(
        port=free_port(),
        warehouse=paths.warehouse,
        export_dir=paths.export_dir,
        contracts_dir=REPO / "contracts",
        lake_root=paths.lake_root,
    )
    with ServerThread(settings) as server:
        pages = {
            lang: requests.get(f"{server.url}/province/TH-31{q}", timeout=60)
            for lang, q in (("th", ""), ("en", "?lang=en"))
        }
        overview = requests.get(f"{server.url}/", timeout=60).text
    for lang, response in pages.items():
        assert response.status_code == 200
        page = _Page()
        page.feed(response.text)
        debtors = page.figures["debt_debtors_registered"]
        # the headline is January 2025 (3 cases): "< 5", no number, no status colour, a bilingual note
        assert debtors["data-suppressed"] == "true" and debtors["data-value"] == ""
        assert debtors["data-threshold"] == "5" and debtors["data-status"] == "none"
        assert debtors["data-suppression"] == "primary"
        assert debtors["title"] == "ปกปิดเพื่อคุ้มครองข้อมูลส่วนบุคคล / suppressed to protect personal data"
        card = re.search(r'<article[^>]*id="kpi-debt_debtors_registered".*?</article>', response.text, re.S)
        assert card is not None
        assert re.search(r">&lt; 5</span>", card.group(0))
        assert (
            "ปกปิดเพื่อคุ้มครองข้อมูลส่วนบุคคล" if lang == "th" else "suppressed to protect personal data"
        ) in card.group(0)
        # charts: a point for every visible month, a gap for each suppressed one, never a 1–4
        for kpi in DEBT_KPIS:
            shown = dict(point.split(": ", 1) for point in page.points.get(kpi, []))
            months = [
                r
                for r in built["kpis"]
                if (r["province_iso"], r["kpi_code"], r["period_type"]) == ("TH-31", kpi, "month")
            ]
            visible = {r["period_start"].isoformat()[:7] for r in months if r["value"] is not None}
            assert set(shown) == visible, kpi  # exactly the published months have a point
            if kpi != "debt_reduced_thb":  # registrations: the small months and their complement are gaps
                for province, month in SMALL_MONTHS | {("TH-31", date(2023, 12, 1))}:
                    if province == "TH-31":
                        assert month.isoformat()[:7] not in shown, (kpi, month)
            if kpi == "debt_debtors_registered":
                assert shown["2024-02"] == "12" and shown["2024-03"] == "0"
                assert all(
                    float(v.replace(",", "")) == 0 or float(v.replace(",", "")) >= THRESHOLD
                    for v in shown.values()
                )
    overview_page = _Page()
    overview_page.feed(overview)
    assert overview_page.figures["debt_debtors_registered"]["data-suppressed"] == "true"


def test_gdx_kpi_prints_below_five(built: dict[str, Any], lake: dict[str, Any]) -> None:
    paths = built["paths"]
    done = lake["env"].run_cli(
        "kpi", "--province", "TH-31", extra_env={"GDX_WAREHOUSE": str(paths.warehouse)}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if "ลูกหนี้นอกระบบที่ลงทะเบียน" in line)
    assert "Feb 2025" in line and "< 5" in line and "records" in line and "suppressed" in line, line
    assert not re.search(r"│\s*[1-4]\s*│", line)
    assert "ปกปิดเพื่อคุ้มครองข้อมูลส่วนบุคคล / suppressed to protect personal data" in done.stdout
    # FY2568 of Buriram (17 cases) is hidden as the complement of Surin's 2: "suppressed", not "< 5"
    done = lake["env"].run_cli(
        "kpi",
        "--province",
        "TH-31",
        "--period",
        "fiscal_year",
        extra_env={"GDX_WAREHOUSE": str(paths.warehouse)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if "ลูกหนี้นอกระบบที่ลงทะเบียน" in line)
    assert "FY2568" in line and re.search(r"│\s*suppressed\s*│", line), line
    assert "< 5" not in line and "17" not in line


def test_the_threshold_comes_from_the_contract(lake: dict[str, Any], tmp_path: Path) -> None:
    """The same lake under a contract that sets disclosureThreshold: 10 hides the months of 6–9
    cases too, and says so — the threshold is read from the contract, not from the SQL."""
    import shutil

    from gdx.contracts.exporters import EXPORTERS
    from gdx.contracts.model import load_all

    contracts = tmp_path / "contracts"
    shutil.copytree(REPO / "contracts", contracts, ignore=shutil.ignore_patterns("_generated"))
    path = contracts / "moi" / "informal_debt_cases.yaml"
    text = path.read_text(encoding="utf-8")
    assert "property: disclosureThreshold\n    value: 5\n" in text
    path.write_text(
        text.replace("disclosureThreshold\n    value: 5\n", "disclosureThreshold\n    value: 10\n"), "utf-8"
    )
    catalog = EXPORTERS["catalog"]  # what `gdx contracts generate` writes, into the copy only
    for contract in load_all(contracts).values():
        out = tmp_path / catalog.path(contract)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(catalog.render(catalog.func(contract)), encoding="utf-8")
    settings = dataclasses.replace(
        Settings.from_env(),
        lake_root=str(lake["env"].lake),
        warehouse=tmp_path / "wh" / "onedata.duckdb",
        contracts_dir=contracts,
    )
    paths = BuildPaths.from_settings(settings, target_dir=tmp_path / "target")
    result = build(paths=paths)
    assert result.ok, result.output[-6000:]
    kpis = [
        r
        for r in pq.read_table(paths.export_dir / "mart_provincial_kpi.parquet").to_pylist()
        if r["kpi_code"] == "debt_debtors_registered" and r["period_type"] == "month"
    ]
    assert {r["suppression_threshold"] for r in kpis} == {10}
    for (province, month), (cases, _) in CASES.items():
        row = _cell(kpis, province, "debt_debtors_registered", "month", month)
        # February 2024: 12 cases, of which 7 not mediated — below 10, so the share (and with it its
        # disclosure group) is hidden as a small cell too
        if 0 < cases < 10 or (province, month) == ("TH-31", date(2024, 2, 1)):
            assert row["is_suppressed"] and row["value"] is None, (province, month)
            assert row["suppression_reason"] == "primary: น้อยกว่า 10 ราย / fewer than 10 records"
        else:
            assert row["value"] == cases or row["suppression_reason"].startswith("secondary: ")
    assert all(r["value"] is None or r["value"] == 0 or r["value"] >= 10 for r in kpis)
