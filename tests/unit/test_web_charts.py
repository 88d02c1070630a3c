"""Line charts as inline SVG: well-formed, scaled into the box, escaped (tables)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from kob.web.charts import svg_line_chart

NS = {"svg": "http://www.w3.org/2000/svg"}
MINUTES = [(60.0 * i, 100.0 * (i % 3) / 2) for i in range(13)]  # 0, 50, 100, 0, ... over 12 minutes


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def polyline(svg: ET.Element) -> list[tuple[float, float]]:
    (line,) = svg.findall("svg:polyline", NS)
    return [tuple(float(n) for n in pair.split(",")) for pair in line.get("points").split()]


def texts(svg: ET.Element, css_class: str) -> list[str]:
    return [t.text for t in svg.findall("svg:text", NS) if t.get("class") == css_class]


@pytest.mark.parametrize("name, points, size", [
    ("two points", [(0, 10.0), (60, 20.0)], {}),
    ("twelve minutes of samples", MINUTES, {}),
    ("a small box", MINUTES, {"width": 200, "height": 60}),
    ("values above the given top are clipped", [(0, 500.0), (10, -20.0), (20, 50.0)], {"y_max": 100}),
    ("all at one time", [(5, 10.0), (5, 90.0)], {}),
])
def test_the_line_has_every_point_inside_the_view_box(name, points, size):
    svg = parse(svg_line_chart(points, **size))
    _, _, width, height = (float(n) for n in svg.get("viewBox").split())
    assert (width, height) == (size.get("width", 600), size.get("height", 160))
    line = polyline(svg)
    assert len(line) == len(points)
    assert all(0 <= x <= width and 0 <= y <= height for x, y in line)


def test_time_runs_left_to_right_whatever_the_input_order():
    xs = [x for x, _ in polyline(parse(svg_line_chart(list(reversed(MINUTES)))))]
    assert xs == sorted(xs) and xs[0] < xs[-1]


@pytest.mark.parametrize("name, points, options, heights, top_tick", [
    ("a 50% point sits at mid-height", [(0, 0.0), (60, 50.0), (120, 100.0)], {}, [0, 0.5, 1], "100%"),
    ("percentages that fit keep 100 on top", [(0, 5.0), (60, 10.0)], {}, [0.05, 0.1], "100%"),
    ("a given top", [(0, 50.0), (60, 100.0)], {"y_max": 200}, [0.25, 0.5], "200%"),
    ("percent of one CPU above 100 rounds up", [(0, 150.0), (60, 300.0)], {}, [0.5, 1], "300%"),
    ("other units round the largest value up", [(0, 150.0), (60, 250.0)], {"unit": "MB"}, [0.5, 250 / 300],
     "300 MB"),
    ("never a top below 1", [(0, 0.2), (60, 0.0)], {"unit": "MB"}, [0.2, 0], "1 MB"),
    ("out of range values stay on the edges", [(0, -5.0), (60, 150.0)], {"y_max": 100}, [0, 1], "100%"),
])
def test_values_scale_between_the_zero_and_the_top_grid_lines(name, points, options, heights, top_tick):
    svg = parse(svg_line_chart(points, **options))
    grid = [float(g.get("y1")) for g in svg.findall("svg:line", NS) if g.get("class") == "grid"]
    zero, top = grid[0], grid[-1]
    assert zero > top  # SVG's y grows downwards
    assert [round((zero - y) / (zero - top), 3) for _, y in polyline(svg)] == [round(h, 3) for h in heights]
    ticks = texts(svg, "tick")
    assert (len(ticks), ticks[0].split()[0].rstrip("%"), ticks[-1]) == (len(grid), "0", top_tick)


@pytest.mark.parametrize("points, span", [
    ([(0, 1.0), (45, 2.0)], "last 45 s"),
    (MINUTES, "last 12 min"),
    ([(0, 1.0), (3 * 3600, 2.0)], "last 3 h"),
    ([(0, 1.0), (3 * 86400, 2.0)], "last 3 d"),
])
def test_the_time_span_is_written_under_the_chart(points, span):
    assert texts(parse(svg_line_chart(points)), "span") == [span]


@pytest.mark.parametrize("points, label, unit, name", [
    ([(0, 10.0), (60, 42.5)], "web CPU", "%", "web CPU: 42.5%"),
    ([(60, 42.5), (0, 10.0)], "web CPU", "%", "web CPU: 42.5%"),
    ([(0, 10.0), (60, 512.0)], "web memory", "MB", "web memory: 512 MB"),
    ([(0, 10.0), (60, 1 / 3)], "", "%", "0.33%"),
    ([], "web CPU", "%", "web CPU: no samples yet"),
])
def test_the_title_names_the_label_and_the_last_value(points, label, unit, name):
    svg = parse(svg_line_chart(points, label=label, unit=unit))
    assert (svg.get("role"), svg.get("aria-label"), svg.find("svg:title", NS).text) == ("img", name, name)


@pytest.mark.parametrize("label, unit", [
    ("<script>alert(1)</script>", "%"),
    ("web", "<script>alert(1)</script>"),
    ('" onload="alert(1)', "%"),
])
def test_label_and_unit_are_escaped(label, unit):
    markup = svg_line_chart([(0, 1.0), (60, 2.0)], label=label, unit=unit)
    svg = parse(markup)
    assert "<script" not in markup and "onload" not in svg.attrib
    assert not svg.findall(".//svg:script", NS)
    assert label in svg.get("aria-label") and unit in svg.find("svg:title", NS).text


@pytest.mark.parametrize("points", [[], [(0, 50.0)]])
def test_fewer_than_two_points_say_no_samples_yet(points):
    svg = parse(svg_line_chart(points))
    assert texts(svg, "empty") == ["no samples yet"]
    assert not svg.findall("svg:polyline", NS)


def test_the_chart_carries_classes_for_the_stylesheet_and_no_script():
    markup = svg_line_chart(MINUTES)
    classes = {e.get("class") for e in parse(markup).iter()} - {None}
    assert classes == {"chart", "grid", "tick", "line", "span", "last"}
    assert "<script" not in markup and "style=" not in markup


@pytest.mark.parametrize("y_max", [0, -1])
def test_a_top_at_or_below_zero_is_refused(y_max):
    with pytest.raises(ValueError, match="y_max must be above 0"):
        svg_line_chart(MINUTES, y_max=y_max)
