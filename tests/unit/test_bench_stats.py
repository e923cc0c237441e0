"""The pure helpers of the benchmark harness: medians, ratios, targets, formatting, the report."""

from __future__ import annotations

import math

import pytest

from bench import stats
from bench.model import FAILED, Measurement, Run, not_run
from bench.report import evaluate_targets, target_value
from bench.stats import RATE, SECONDS, Target


def test_median_odd_even_and_empty() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert stats.median([]) is None


def test_median_ignores_missing_and_non_finite_samples() -> None:
    assert stats.median([1.0, None, math.nan, 3.0, math.inf]) == 2.0  # type: ignore[list-item]
    assert stats.median([None, math.nan]) is None  # type: ignore[list-item]


def test_median_resists_one_noisy_repeat() -> None:
    # a shared machine: one repeat stalls; the median does not move, the mean would
    assert stats.median([300_000, 310_000, 20_000]) == 300_000


def test_spread() -> None:
    assert stats.spread([2.0, 5.0, 3.0]) == (2.0, 5.0)
    assert stats.spread([]) is None


def test_rate() -> None:
    assert stats.rate(1_000_000, 4.0) == 250_000
    assert stats.rate(10, 0.0) == 0.0
    assert stats.rate(0, 3.0) == 0.0


def test_speed_ratio_is_above_one_when_ours_is_faster_whatever_the_unit() -> None:
    assert stats.speed_ratio(500_000, 100_000, RATE) == 5.0  # rates: ours / baseline
    assert stats.speed_ratio(10.0, 40.0, SECONDS) == 4.0  # durations: baseline / ours
    assert stats.speed_ratio(40.0, 10.0, SECONDS) == 0.25
    assert stats.speed_ratio(2.0, 1.0, stats.BYTES) == 0.5


def test_speed_ratio_undefined_cases() -> None:
    assert stats.speed_ratio(None, 1.0, RATE) is None
    assert stats.speed_ratio(1.0, None, RATE) is None
    assert stats.speed_ratio(1.0, 0.0, RATE) is None
    assert stats.speed_ratio(0.0, 1.0, SECONDS) is None
    with pytest.raises(ValueError):
        stats.speed_ratio(1.0, 1.0, "furlongs")


def test_paired_ratios_pair_repeat_by_repeat() -> None:
    assert stats.paired_ratios([200.0, 300.0], [100.0, 100.0], RATE) == [2.0, 3.0]
    assert stats.paired_ratios([1.0, 2.0, 3.0], [2.0], SECONDS) == [2.0]


@pytest.mark.parametrize(
    ("op", "threshold", "value", "expected"),
    [
        (">=", 250_000, 250_000, True),
        (">=", 250_000, 249_999, False),
        ("<=", 60, 59.9, True),
        ("<=", 60, 60.1, False),
        (">", 1, 1, False),
        ("<", 1, 0.5, True),
        (">=", 1, None, None),
        (">=", 1, math.nan, None),
    ],
)
def test_target_evaluate(op: str, threshold: float, value: float | None, expected: bool | None) -> None:
    assert Target("t", "t", op, threshold).evaluate(value) is expected


def test_target_unknown_operator() -> None:
    with pytest.raises(ValueError):
        Target("t", "t", "~", 1).evaluate(1.0)


def test_mark() -> None:
    assert (stats.mark(True), stats.mark(False), stats.mark(None)) == ("✓", "✗", "–")


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (312_456, RATE, "312k rec/s"),
        (1_500_000, RATE, "1.50M rec/s"),
        (41.23, SECONDS, "41.2 s"),
        (0.0395, SECONDS, "39.5 ms"),
        (250.0, SECONDS, "250 s"),
        (1.5 * 1024**3, stats.BYTES, "1.5 GB"),
        (812 * 1024**2, stats.BYTES, "812 MB"),
        (None, RATE, "–"),
        (2.0, "×", "2.00×"),
    ],
)
def test_format_value(value: float | None, unit: str, text: str) -> None:
    assert stats.format_value(value, unit) == text


def test_format_range_shares_the_unit() -> None:
    assert stats.format_range((301_000, 322_000), RATE) == "301k–322k rec/s"
    assert stats.format_range(None, RATE) == "–"


def test_format_ratio() -> None:
    assert stats.format_ratio(12.345) == "12.3×"
    assert stats.format_ratio(1.234) == "1.23×"
    assert stats.format_ratio(0.0512) == "0.051×"
    assert stats.format_ratio(250) == "250×"
    assert stats.format_ratio(None) == "–"


def test_summarize() -> None:
    assert stats.summarize([3.0, 1.0, 2.0]) == {
        "median": 2.0,
        "min": 1.0,
        "max": 3.0,
        "n": 3,
        "samples": [3.0, 1.0, 2.0],
    }


def _run() -> Run:
    run = Run()
    run.add(
        Measurement(
            "ingest.gdx",
            "ingest",
            "ours",
            RATE,
            samples=[300_000, 280_000, 320_000],
            compare=["ingest.naive"],
        )
    )
    run.add(
        Measurement("ingest.naive", "ingest", "naive", RATE, "baseline", samples=[20_000, 25_000, 30_000])
    )
    run.add(Measurement("ingest.ceiling", "ingest", "ceiling", RATE, "reference", samples=[500_000]))
    run.add(Measurement("dbt.build_10M", "dbt", "dbt", SECONDS, samples=[70.0, 65.0, 90.0]))
    run.add(Measurement("ingest.peak_rss", "ingest", "rss", stats.BYTES, samples=[1.0e9, 1.2e9]))
    return run


def test_run_ratio_uses_the_medians() -> None:
    run = _run()
    assert run.ratio("ingest.gdx", "ingest.naive") == pytest.approx(300_000 / 25_000)
    assert run.paired("ingest.gdx", "ingest.naive") == pytest.approx([15.0, 11.2, 320_000 / 30_000])
    assert run.ratio("ingest.gdx", "missing") is None


def test_run_ratio_refuses_mixed_units() -> None:
    with pytest.raises(ValueError):
        _run().ratio("ingest.gdx", "dbt.build_10M")


def test_not_run_measurements_have_no_ratio_or_target_value() -> None:
    run = _run()
    run.get("ingest.naive").status = not_run("no broker")  # type: ignore[union-attr]
    assert run.ratio("ingest.gdx", "ingest.naive") is None
    assert target_value(run, "ratio:ingest.gdx:ingest.naive") is None


def test_targets_are_evaluated_from_the_run() -> None:
    run = _run()
    run.get("ingest.gdx").repeats = [{"verify": {"ok": True}}, {"verify": {"ok": False}}]  # type: ignore[union-attr]
    by_id = {t["id"]: t for t in evaluate_targets(run)}
    assert by_id["ingest_rate"]["value"] == 300_000 and by_id["ingest_rate"]["met"] is True
    assert by_id["ingest_vs_naive"]["met"] is True
    assert (
        by_id["ingest_vs_ceiling"]["value"] == pytest.approx(0.6)
        and by_id["ingest_vs_ceiling"]["met"] is True
    )
    assert by_id["ingest_exact"]["value"] == 1 and by_id["ingest_exact"]["met"] is False
    assert by_id["ingest_peak_rss"]["value"] == 1.2e9 and by_id["ingest_peak_rss"]["met"] is True
    assert by_id["dbt_10m"]["value"] == 70.0 and by_id["dbt_10m"]["met"] is False
    assert by_id["publish_rate"]["met"] is None and by_id["latency"]["value"] is None


def test_measurement_fail_keeps_the_note() -> None:
    m = Measurement("k", "s", "l", RATE, note="first")
    m.fail("wrong rejects")
    assert m.status == FAILED and m.note == "wrong rejects; first" and m.ran
    assert not Measurement("k", "s", "l", RATE, status=not_run("x")).ran
