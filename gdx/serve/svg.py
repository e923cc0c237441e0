"""Monthly trend charts as inline SVG, drawn on the server: no JavaScript and nothing to fetch.

A series is one point per calendar month, `(label, value or None)`. A month without a value is a
gap in the line, never a straight line bridging it: a dashboard must not invent data.
"""

from __future__ import annotations

from html import escape

Series = list[tuple[str, float | None]]

WIDTH, HEIGHT = 360, 140
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 12, 26


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _axis(value: float) -> str:
    """Short axis label (the gutter is 40 px): 1.1B, 586.4M, 12.5K, 37.5."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e4, "K")):
        if abs(value) >= size:
            return f"{value / size:,.1f}".rstrip("0").rstrip(".") + suffix
    return _fmt(value)


def _runs(series: Series) -> list[list[tuple[int, float]]]:
    """Consecutive months with values, as (index, value) runs."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, (_, value) in enumerate(series):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, value))
    if current:
        runs.append(current)
    return runs


def _scale(series: Series, target: float | None) -> tuple[float, float]:
    values = [v for _, v in series if v is not None] + ([target] if target is not None else [])
    low, high = min(values), max(values)
    if high == low:
        high, low = high + 1, low - 1
    return low, high


def trend_svg(series: Series, target: float | None, title: str, status: str = "none") -> str:
    """An SVG line chart of the monthly series with the target as a dashed line.

    Returns markup; every text it contains is escaped. With no values it says so instead.
    """
    label = escape(title, quote=True)
    if not any(v is not None for _, v in series):
        return (
            f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="axis">–</text></svg>'
        )
    low, high = _scale(series, target)
    margin = (high - low) * 0.08
    top, bottom = high + margin, low - margin
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    css = escape(status, quote=True)

    def x(i: int) -> float:
        return PAD_LEFT + (plot_w * i / (len(series) - 1) if len(series) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return PAD_TOP + plot_h * (1 - (v - bottom) / (top - bottom))

    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">',
        f"<title>{label}</title>",
        f'<line class="grid" x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - PAD_RIGHT}" y2="{PAD_TOP + plot_h}"/>',
        f'<text class="axis" x="{PAD_LEFT - 4}" y="{PAD_TOP + 4}" text-anchor="end">{escape(_axis(high))}</text>',
        f'<text class="axis" x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" text-anchor="end">{escape(_axis(low))}</text>',
    ]
    if target is not None:
        ty = y(target)
        parts.append(
            f'<line class="target" x1="{PAD_LEFT}" y1="{ty:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{ty:.1f}"/>'
        )
    for run in _runs(series):
        if len(run) > 1:
            points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in run)
            parts.append(f'<polyline class="line {css}" points="{points}"/>')
    for i, (period, v) in enumerate(series):
        if v is not None:
            parts.append(
                f'<circle class="dot {css}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5">'
                f"<title>{escape(period)}: {escape(_fmt(v))}</title></circle>"
            )
    parts.append(f'<text class="axis" x="{PAD_LEFT}" y="{HEIGHT - 8}">{escape(series[0][0])}</text>')
    if len(series) > 1:
        parts.append(
            f'<text class="axis" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" text-anchor="end">{escape(series[-1][0])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline_svg(series: Series, target: float | None, title: str, status: str = "none") -> str:
    """A small axis-less trend line for the overview cards (gaps kept)."""
    width, height, pad = 260, 34, 3
    label = escape(title, quote=True)
    if len(series) < 2 or not any(v is not None for _, v in series):
        return f'<svg class="spark" viewBox="0 0 {width} {height}" role="img" aria-label="{label}"></svg>'
    low, high = _scale(series, target)
    css = escape(status, quote=True)

    def y(v: float) -> float:
        return pad + (height - 2 * pad) * (1 - (v - low) / (high - low))

    step = (width - 2 * pad) / (len(series) - 1)
    parts = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" aria-label="{label}">',
        f"<title>{label}</title>",
    ]
    if target is not None:
        parts.append(
            f'<line class="target" x1="{pad}" y1="{y(target):.1f}" x2="{width - pad}" y2="{y(target):.1f}"/>'
        )
    for run in _runs(series):
        points = " ".join(f"{pad + i * step:.1f},{y(v):.1f}" for i, v in run)
        if len(run) == 1:  # a lone month: a short tick so it stays visible
            i, v = run[0]
            points = f"{pad + i * step - 1.5:.1f},{y(v):.1f} {pad + i * step + 1.5:.1f},{y(v):.1f}"
        parts.append(f'<polyline class="line {css}" points="{points}"/>')
    parts.append("</svg>")
    return "".join(parts)
