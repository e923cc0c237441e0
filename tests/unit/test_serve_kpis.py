"""Dashboard logic: which KPI value is the headline, status colours, charts, number formatting."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gdx.serve.data import as_list
from gdx.serve.i18n import format_number
from gdx.serve.kpis import freshness_class, headline, monthly_series, province_kpis, status_class
from gdx.serve.svg import sparkline_svg, trend_svg


def _row(month: int, value: float | None, complete: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "province_iso": "TH-57",
        "province_code": "57",
        "kpi_code": "pm25_days",
        "kpi_name_th": "วันที่ฝุ่นเกินมาตรฐาน",
        "kpi_name_en": "Days above standard",
        "period_type": "month",
        "period_start": date(2025, month, 1),
        "is_period_complete": complete,
        "value": value,
        "target": 5.0,
        "direction": "lower_is_better",
        "status": "on_track" if value is not None and value <= 5 else "off_track",
        "source_datasets": "pcd.air_quality_hourly, gistda.fire_hotspots",
        **extra,
    }


def test_headline_is_latest_complete_month_with_a_value() -> None:
    rows = [_row(1, 9.0), _row(2, 4.0), _row(3, None), _row(4, 1.0, complete=False)]
    assert headline(rows)["value"] == 4.0
    assert headline([_row(4, 1.0, complete=False)])["value"] == 1.0  # nothing complete yet: the partial one


def test_province_kpis_reads_monthly_rows_of_the_province_by_iso_code() -> None:
    rows = [
        _row(1, 9.0),
        _row(2, 4.0),
        _row(3, 2.0, complete=False),
        _row(3, 999.0, period_type="fiscal_year"),  # the other grain: ignored
        _row(2, 7.0, province_iso="TH-10", province_code="10"),  # another province: ignored
    ]
    (kpi,) = province_kpis(rows, "TH-57")
    assert kpi.value == 4.0
    assert kpi.period == "2025-02-01"
    assert kpi.status == "good"
    assert kpi.series == [("2025-01", 9.0), ("2025-02", 4.0), ("2025-03", 2.0)]
    assert kpi.sources == ["pcd.air_quality_hourly", "gistda.fire_hotspots"]
    assert province_kpis(rows, "57") == []  # the DOPA code is not the key


@pytest.mark.parametrize(
    ("status", "value", "target", "direction", "expected"),
    [
        ("on_track", None, None, None, "good"),
        ("at_risk", None, None, None, "warn"),
        ("off_track", None, None, None, "bad"),
        ("no_target", 3.0, None, "lower_is_better", "none"),
        ("no_data", None, 5.0, "lower_is_better", "none"),
        (None, 3.0, 5.0, "lower_is_better", "good"),
        (None, 7.0, 5.0, "lower_is_better", "bad"),
        (None, 7.0, 5.0, "higher_is_better", "good"),
        (None, 7.0, 5.0, None, "none"),
    ],
)
def test_status_class(status: Any, value: Any, target: Any, direction: Any, expected: str) -> None:
    assert status_class(status, value, target, direction) == expected


def test_freshness_class() -> None:
    assert [freshness_class(s) for s in ("fresh", "static", "stale", "no_data", "no_sla", None)] == [
        "good",
        "good",
        "bad",
        "bad",
        "none",
        "none",
    ]


def test_as_list_accepts_lists_and_comma_text() -> None:
    assert as_list(["a", " b ", None, ""]) == ["a", "b"]
    assert as_list("a, b;c") == ["a", "b", "c"]
    assert as_list('["x", "y"]') == ["x", "y"]
    assert as_list(None) == []


def test_monthly_series_keeps_gaps() -> None:
    rows = [_row(1, 9.0), _row(4, 4.0), _row(3, None)]
    assert monthly_series(rows) == [("2025-01", 9.0), ("2025-02", None), ("2025-03", None), ("2025-04", 4.0)]


def test_trend_svg_breaks_the_line_at_gaps() -> None:
    svg = trend_svg(
        [("2025-01", 1.0), ("2025-02", 2.0), ("2025-03", None), ("2025-04", 3.0), ("2025-05", 4.0)], None, "t"
    )
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 4
    assert sparkline_svg([("a", 1.0), ("b", None), ("c", 2.0)], None, "s").count("<polyline") == 2
    assert "<polyline" not in trend_svg([("a", None)], None, "t")


def test_trend_svg_escapes_text_and_draws_every_point() -> None:
    svg = trend_svg([("2025-01", 1.0), ("2025-02", 3.5), ("<b>", 2.0)], 2.5, 'PM2.5 "<script>"', "good")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<circle") == 3
    assert 'class="target"' in svg
    assert "&lt;b&gt;" in svg
    assert "<text" in trend_svg([], None, "empty")
    assert "<polyline" in sparkline_svg([("a", 1.0), ("b", 2.0)], None, "x")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (3.0, "3"),
        (3.25, "3.25"),
        (3.5, "3.5"),
        (1234.6, "1,235"),
        (155400.0, "155,400"),
        (0.004, "0"),
    ],
)
def test_format_number(value: Any, text: str) -> None:
    assert format_number(value) == text


def test_axis_labels_stay_short() -> None:
    svg = trend_svg([("2025-01", 586_356_354.0), ("2025-02", 600_000_000.0)], 1_083_333_333.0, "THB")
    assert ">1.1B<" in svg and ">586.4M<" in svg


def test_a_suppressed_value_is_shown_as_below_the_threshold_never_as_a_number() -> None:
    """Disclosure control: the mart nulls the value and says why; the dashboard keeps it hidden."""
    hidden = {
        "is_suppressed": True,
        "suppression_threshold": 5,
        "status": "suppressed",
        "suppression_reason": "primary: น้อยกว่า 5 ราย / fewer than 5 records",
    }
    rows = [_row(1, 9.0), _row(2, None, **hidden), _row(3, 12.0), _row(4, None, **hidden)]
    (kpi,) = province_kpis(rows, "TH-57")
    assert kpi.suppressed and kpi.value is None and kpi.threshold == 5 and kpi.below_threshold
    assert kpi.period == "2025-04-01"  # the latest month, not an older visible one
    assert kpi.status == "none"  # no colour computed against a hidden value
    assert kpi.series == [("2025-01", 9.0), ("2025-02", None), ("2025-03", 12.0), ("2025-04", None)]
    assert kpi.suppressed_periods == ["2025-02", "2025-04"]
    svg = trend_svg(kpi.series, kpi.target, "t")
    assert svg.count("<circle") == 2 and "2025-02:" not in svg  # a gap: no point, never a zero
    # a row whose value leaked into the export despite the flag is still not shown
    (leaky,) = province_kpis([_row(1, 3.0, **hidden)], "TH-57")
    assert leaky.value is None and leaky.series == [("2025-01", None)]
    assert status_class("suppressed") == "none"


def test_a_complement_is_suppressed_but_not_said_to_be_below_the_threshold() -> None:
    hidden = {"is_suppressed": True, "suppression_threshold": 5, "suppression_reason": "secondary: …"}
    (kpi,) = province_kpis([_row(1, 9.0), _row(2, None, **hidden)], "TH-57")
    assert kpi.suppressed and not kpi.below_threshold and kpi.value is None
