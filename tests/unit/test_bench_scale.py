"""Stage `scale`: the growth / exponent / budget logic and the table it prints (no worlds, no servers)."""

from __future__ import annotations

import math
import sys
import types

import pytest

from bench import stage_scale
from bench.__main__ import parse_args


def _figures() -> dict[tuple[str, str], dict[int, dict]]:
    return {
        # linear: 10x the contracts, 10x the time; 8,000 within its budget
        ("contracts", "lint_cold"): {
            100: {"metric": "lint_cold", "value": 1.5, "unit": "s", "budget": 120.0, "note": "100 contracts"},
            1000: {"metric": "lint_cold", "value": 15.0, "unit": "s", "budget": 120.0, "note": ""},
            8000: {"metric": "lint_cold", "value": 120.0, "unit": "s", "budget": 120.0, "note": ""},
        },
        # quadratic and over budget at 8,000
        ("dbt", "parse"): {
            100: {"metric": "parse", "value": 0.1, "unit": "s", "budget": 60.0, "note": ""},
            8000: {"metric": "parse", "value": 640.0, "unit": "s", "budget": 60.0, "note": ""},
        },
        # no budget; flat
        ("catalog", "p95"): {
            100: {"metric": "p95", "value": 20.0, "unit": "ms", "budget": None, "note": ""},
            1000: {"metric": "p95", "value": 20.0, "unit": "ms", "budget": None, "note": ""},
        },
    }


def test_growth_exponent_and_budget_verdicts() -> None:
    rows = {(r["area"], r["metric"]): r for r in stage_scale.growth_rows(_figures(), [100, 1000, 8000])}
    lint = rows[("contracts", "lint_cold")]
    assert lint["growth"] == pytest.approx(80.0)
    assert lint["growth_span"] == [100, 8000]
    assert lint["exponent"] == pytest.approx(1.0)
    assert lint["within_budget"] is True  # equal to the budget counts as within

    parse = rows[("dbt", "parse")]
    assert parse["values"] == {100: 0.1, 1000: None, 8000: 640.0}
    assert parse["exponent"] == pytest.approx(2.0)
    assert parse["within_budget"] is False

    p95 = rows[("catalog", "p95")]
    assert p95["exponent"] == pytest.approx(0.0)
    assert p95["growth"] == pytest.approx(1.0)
    assert p95["within_budget"] is None  # no budget, and not measured at 8,000


def test_exponent_undefined_cases() -> None:
    assert stage_scale.exponent(100, 0.0, 1000, 5.0) is None
    assert stage_scale.exponent(100, None, 1000, 5.0) is None
    assert stage_scale.exponent(100, 1.0, 100, 5.0) is None
    assert stage_scale.exponent(100, 1.0, 1000, 10**1.5) == pytest.approx(1.5)
    assert math.isclose(stage_scale.exponent(1000, 4.0, 8000, 4.0), 0.0)


def test_table_lines_show_values_growth_budget_and_not_measured() -> None:
    rows = stage_scale.growth_rows(_figures(), [100, 1000, 8000])
    lines = stage_scale.table_lines(rows, [100, 1000, 8000], {"airflow": "no bench/scale_airflow.py"})
    assert lines[0] == [
        "area", "metric", "N=100", "N=1,000", "N=8,000", "growth", "exponent", "budget @ 8,000", "",
    ]  # fmt: skip
    by_metric = {line[1]: line for line in lines[1:]}
    assert by_metric["lint_cold"] == [
        "contracts", "lint_cold", "1.50 s", "15.00 s", "120 s", "×80.0 (100→8,000)", "1.00", "≤ 120 s", "✓",
    ]  # fmt: skip
    assert by_metric["parse"][4:] == ["640 s", "×6400.0 (100→8,000)", "2.00", "≤ 60.00 s", "✗"]
    assert by_metric["parse"][3] == "–"
    assert by_metric["p95"][2:5] == ["20.0 ms", "20.0 ms", "–"]
    assert by_metric["p95"][-1] == "–"
    assert by_metric["not measured: no bench/scale_airflow.py"][0] == "airflow"


def test_missing_or_broken_area_module_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    module, why = stage_scale.load_area("no_such_area_xyz")
    assert module is None and why == "no bench/scale_no_such_area_xyz.py"

    broken = types.ModuleType("bench.scale_broken_xyz")  # imports, but offers no measure()
    monkeypatch.setitem(sys.modules, "bench.scale_broken_xyz", broken)
    module, why = stage_scale.load_area("broken_xyz")
    assert module is None and "has no measure" in (why or "")

    module, why = stage_scale.load_area("contracts")
    assert why is None and callable(module.measure)


def test_known_areas_always_listed() -> None:
    assert stage_scale.areas()[:4] == ["contracts", "airflow", "dbt", "catalog"]


def test_scale_n_option() -> None:
    assert parse_args(["--stages", "scale"]).scale_n == (100, 1000, 8000)
    assert parse_args(["--stages", "scale", "--quick"]).scale_n == (100, 1000)
    assert parse_args(["--stages", "scale", "--scale-n", "8000,208"]).scale_n == (208, 8000)
    with pytest.raises(SystemExit):
        parse_args(["--stages", "scale", "--scale-n", "lots"])
