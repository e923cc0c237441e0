"""The governor dashboard's view of `mart_provincial_kpi`: per province, per KPI, latest value and trend.

The mart has one row per province × KPI × period, for two period grains (`period_type` month and
fiscal_year). The dashboard uses the months: the trend is the monthly series, and the headline
value is the latest *complete* month (`is_period_complete`), because a month in progress compares a
partial count with a full month's target; only when no month is complete yet is the partial one
shown (and flagged).

Disclosure control: a value the mart suppresses (`is_suppressed`, for KPIs derived from personal
data) is shown as "< threshold" (`suppression_threshold` of the row), is a gap in the trend (never
a zero) and gets no status colour (a cell hidden only as the complement of a small one is shown
as "suppressed", since "< threshold" would be untrue for it); the headline may be a suppressed month (showing an older month
instead would misstate the period).

Status colours come from the mart's `status` (on_track / at_risk / off_track; no_target and
no_data are grey); when a row has no status, it is derived from value, target and direction, so a
KPI is never shown green by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gdx.serve.data import Row, as_float, as_list, iso, pick

# The five pilot provinces and their agendas (the mart's agenda text wins when it has one).
PILOTS: tuple[tuple[str, str, str], ...] = (
    ("TH-57", "อากาศสะอาด แก้ปัญหาฝุ่น PM2.5 และการเผาในที่โล่ง", "Clean air: PM2.5 and open burning"),
    ("TH-76", "การจัดการขยะมูลฝอยชุมชน", "Municipal solid-waste management"),
    ("TH-40", "เมืองดิจิทัล บริการภาครัฐออนไลน์", "Digital city: online government services"),
    ("TH-31", "แก้ไขปัญหาหนี้นอกระบบ", "Informal-debt relief"),
    ("TH-34", "เศรษฐกิจการค้าชายแดน", "Border-trade economy"),
)
PILOT_CODES = tuple(code for code, _, _ in PILOTS)

_GOOD = {
    "on_track",
    "on-track",
    "green",
    "good",
    "ok",
    "met",
    "achieved",
    "pass",
    "ผ่าน",
    "ตามเป้า",
    "ตามเป้าหมาย",
}
_WARN = {"at_risk", "at-risk", "amber", "yellow", "warning", "warn", "watch", "near", "เฝ้าระวัง"}
_NONE = {"no_target", "no_data", "suppressed", "unknown", ""}
_BAD = {"off_track", "off-track", "red", "bad", "missed", "critical", "fail", "ไม่ผ่าน", "ไม่ถึงเป้า"}


def status_class(
    status: Any, value: float | None = None, target: float | None = None, direction: Any = None
) -> str:
    """good | warn | bad | none: the colour of a KPI."""
    text = str(status or "").strip().lower()
    if text in _GOOD:
        return "good"
    if text in _WARN:
        return "warn"
    if text in _BAD:
        return "bad"
    if text in _NONE - {""}:
        return "none"
    if value is None or target is None or lower_is_better(direction) is None:
        return "none"
    meets = value <= target if lower_is_better(direction) else value >= target
    return "good" if meets else "bad"


def lower_is_better(direction: Any) -> bool | None:
    text = str(direction or "").strip().lower()
    if text in ("lower_is_better", "lower", "down", "decrease", "min", "minimise", "minimize", "-1", "ต่ำ"):
        return True
    if text in ("higher_is_better", "higher", "up", "increase", "max", "maximise", "maximize", "1", "สูง"):
        return False
    return None


def freshness_class(status: Any) -> str:
    """good | warn | bad | none for the marts' freshness_status (fresh, stale, no_data, no_sla, static)."""
    text = str(status or "").strip().lower()
    if text in ("fresh", "static", "ok", "on_time", "on-time", "pass", "current", "green"):
        return "good"
    if text in ("late", "warn", "warning", "delayed", "amber", "due"):
        return "warn"
    if text in ("stale", "no_data", "error", "missing", "never", "overdue", "red", "fail"):
        return "bad"
    return "none"


@dataclass
class Kpi:
    code: str
    name_th: str
    name_en: str
    unit_th: str
    unit_en: str
    agenda_th: str
    agenda_en: str
    direction: Any
    target: float | None
    value: float | None
    period: str | None
    status: str
    period_label_th: str = ""
    period_label_en: str = ""
    complete: bool = True
    agenda: bool = True
    """A KPI of the province's own pilot agenda (`is_agenda_pilot`); others are shown after them."""
    order: int = 0
    series: list[tuple[str, float | None]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    suppressed: bool = False
    """The headline value is withheld by disclosure control (`value` is None)."""
    threshold: int | None = None
    """The disclosure threshold of the headline row."""
    below_threshold: bool = False
    """Suppressed as a small cell (primary): shown as "< threshold". A cell hidden only so that a
    total cannot reveal a small one (secondary) holds more than that and is shown as "suppressed"."""
    suppressed_periods: list[str] = field(default_factory=list)
    """Months of `series` whose value is withheld (gaps in the chart)."""


def _period(row: Row) -> str:
    return iso(pick(row, "period_start", "period", "period_month", "month", "date")) or ""


def province_of(row: Row) -> str:
    """ISO 3166-2:TH code of a row (the mart's `province_code` is the DOPA code, `province_iso` the key)."""
    return str(pick(row, "province_iso", "iso_3166_2", "province_code", "province", default=""))


def is_monthly(row: Row) -> bool:
    return str(row.get("period_type") or "month") == "month"


def is_suppressed(row: Row) -> bool:
    """The mart withheld this row's value (statistical disclosure control)."""
    return row.get("is_suppressed") is True


def is_small_cell(row: Row) -> bool:
    """Suppressed because it counts fewer records than the threshold (reason 'primary: …')."""
    return is_suppressed(row) and str(row.get("suppression_reason") or "").startswith("primary")


def headline(rows: list[Row]) -> Row:
    """The row whose value the dashboard shows: latest complete month with a value (or a suppressed
    one, shown as "< threshold"), else the latest such month."""
    valued = [r for r in rows if as_float(pick(r, "value", "kpi_value")) is not None or is_suppressed(r)]
    complete = [r for r in valued if r.get("is_period_complete") is not False]
    return (complete or valued or rows)[-1]


def monthly_series(rows: list[Row]) -> list[tuple[str, float | None]]:
    """("YYYY-MM", value) for every calendar month from the first row to the last; None = no value."""
    values: dict[str, float | None] = {}
    for row in rows:
        month = _period(row)[:7]
        if len(month) == 7:
            # a suppressed value is a gap (None), never a zero
            values[month] = None if is_suppressed(row) else as_float(pick(row, "value", "kpi_value"))
    if not values:
        return []
    first, last = min(values), max(values)
    year, month = int(first[:4]), int(first[5:])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        key = f"{year:04d}-{month:02d}"
        out.append((key, values.get(key)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _threshold(row: Row) -> int | None:
    number = as_float(row.get("suppression_threshold"))
    return int(number) if number is not None else None


def province_kpis(rows: list[Row], province: str, months: int = 24) -> list[Kpi]:
    """KPIs of one province, in the order the mart lists them, each with its last `months` values."""
    by_code: dict[str, list[Row]] = {}
    for row in rows:
        if province_of(row) == province and is_monthly(row):
            code = str(pick(row, "kpi_code", "kpi_id", "kpi", default=""))
            by_code.setdefault(code, []).append(row)
    kpis = []
    for code, kpi_rows in by_code.items():
        kpi_rows = sorted(kpi_rows, key=_period)
        latest = headline(kpi_rows)
        suppressed = is_suppressed(latest)
        value = None if suppressed else as_float(pick(latest, "value", "kpi_value"))
        target = as_float(pick(latest, "target", "target_value"))
        direction = pick(latest, "direction", "better")
        series = monthly_series(kpi_rows)[-months:]
        sources: list[str] = []
        for r in kpi_rows:
            for s in as_list(pick(r, "source_datasets", "source_dataset", "sources")):
                if s not in sources:
                    sources.append(s)
        kpis.append(
            Kpi(
                code=code,
                name_th=str(pick(latest, "kpi_name_th", "name_th", "kpi_name", default=code)),
                name_en=str(pick(latest, "kpi_name_en", "name_en", "kpi_name", default=code)),
                unit_th=str(pick(latest, "unit_th", "unit", default="")),  # one `unit` today; Thai/English
                unit_en=str(
                    pick(latest, "unit_en", "unit", default="")
                ),  # columns are used when the mart has them
                agenda_th=str(pick(latest, "agenda_name_th", "agenda_th", "agenda", default="")),
                agenda_en=str(pick(latest, "agenda_name_en", "agenda_en", "agenda", default="")),
                direction=direction,
                target=target,
                value=value,
                period=_period(latest) or None,
                # never a colour computed against a hidden value
                status="none"
                if suppressed
                else status_class(pick(latest, "status", "kpi_status"), value, target, direction),
                period_label_th=str(pick(latest, "period_label_th", default="")),
                period_label_en=str(pick(latest, "period_label_en", default="")),
                complete=latest.get("is_period_complete") is not False,
                agenda=latest.get("is_agenda_pilot") is not False,
                order=int(as_float(pick(latest, "kpi_display_order", "display_order")) or 0),
                series=series,
                sources=sources,
                suppressed=suppressed,
                threshold=_threshold(latest),
                below_threshold=is_small_cell(latest),
                suppressed_periods=[
                    _period(r)[:7]
                    for r in kpi_rows
                    if is_suppressed(r) and _period(r)[:7] in {m for m, _ in series}
                ],
            )
        )
    return sorted(kpis, key=lambda k: (not k.agenda, k.order))
