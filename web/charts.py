"""Line charts as inline SVG for the status page (pure: points in, markup out).

Only numbers formatted here and escaped text reach the markup: every template
below is a ``Markup`` whose ``format`` escapes its arguments. The classes
``chart``, ``grid``, ``tick``, ``line``, ``span``, ``last`` and ``empty`` are
for the stylesheet; the few presentation attributes make the chart readable
without one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

GRID_STEPS = 4  # grid intervals between 0 and the top of the chart
NICE = (1, 2, 3, 4, 5, 6, 8, 10)  # tops of the chart, times a power of ten
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 8, 20  # room around the plot for tick labels and the time span

SVG = Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" width="{w}" '
             'height="{h}" role="img" aria-label="{name}"><title>{name}</title>{body}</svg>')
GRID = Markup('<line class="grid" x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#ccc" stroke-width="1"/>'
              '<text class="tick" x="{tx}" y="{y}" text-anchor="end" dominant-baseline="middle" '
              'font-size="10">{text}</text>')
LINE = Markup('<polyline class="line" points="{points}" fill="none" stroke="currentColor" stroke-width="1.5"/>')
FOOT = Markup('<text class="span" x="{x0}" y="{y}" font-size="10">{span}</text>'
              '<text class="last" x="{x1}" y="{y}" text-anchor="end" font-size="10">{last}</text>')
EMPTY = Markup('<text class="empty" x="{x}" y="{y}" text-anchor="middle" dominant-baseline="middle" '
               'font-size="12">no samples yet</text>')


def svg_line_chart(points: Sequence[tuple[float, float]], *, width: int = 600, height: int = 160,
                   y_max: float | None = None, unit: str = "%", label: str = "") -> Markup:
    """An ``<svg>`` of (unix time, value) points: grid, y ticks, the line and the time span it covers."""
    if y_max is not None and y_max <= 0:
        raise ValueError(f"y_max must be above 0, not {y_max}")
    points = sorted(points)
    if len(points) < 2:
        body = EMPTY.format(x=_number(width / 2), y=_number(height / 2))
        return SVG.format(w=width, h=height, name=_name(label, "no samples yet"), body=body)
    top = y_max if y_max is not None else _default_top([v for _, v in points], unit)
    x0, x1, y0, y1 = LEFT, width - RIGHT, TOP, height - BOTTOM
    start, end = points[0][0], points[-1][0]

    def x(t: float) -> float:
        return x0 + (x1 - x0) * (t - start) / (end - start) if end > start else x1

    def y(v: float) -> float:
        return y1 - (y1 - y0) * min(max(v, 0.0), top) / top

    grid = [GRID.format(x0=x0, x1=x1, y=_number(y(top * i / GRID_STEPS)), tx=x0 - 4,
                        text=_with_unit(top * i / GRID_STEPS, unit)) for i in range(GRID_STEPS + 1)]
    line = LINE.format(points=" ".join(f"{_number(x(t))},{_number(y(v))}" for t, v in points))
    last = _with_unit(points[-1][1], unit)
    foot = FOOT.format(x0=x0, x1=x1, y=height - 4, span=_span(end - start), last=last)
    return SVG.format(w=width, h=height, name=_name(label, last), body=Markup("").join([*grid, line, foot]))


def _default_top(values: list[float], unit: str) -> float:
    """100 for percentages that fit, else the largest value rounded up to a nice number; never below 1."""
    if unit == "%" and max(values) <= 100:
        return 100.0
    return max(_nice_ceiling(max(values)), 1.0)


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 0.0
    scale = 10.0 ** math.floor(math.log10(value))
    return next(n * scale for n in NICE if n * scale >= value)


def _span(seconds: float) -> str:
    for unit, size, below in (("s", 1, 120), ("min", 60, 120 * 60), ("h", 3600, 48 * 3600)):
        if seconds < below:
            return f"last {round(seconds / size)} {unit}"
    return f"last {round(seconds / 86400)} d"


def _name(label: str, value: str) -> str:
    return f"{label}: {value}" if label else value


def _with_unit(value: float, unit: str) -> str:
    return f"{_number(value)}{unit}" if unit in ("%", "") else f"{_number(value)} {unit}"


def _number(value: float) -> str:
    """At most two decimals, without trailing zeros: 62.5, 100, 0.25."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
