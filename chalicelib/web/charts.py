"""Charts as SVG drawn on the server: no script, no CDN. Each chart is an image with a title
and a description for screen readers; its numbers are also in a table next to it (the
templates' job). Colours pass WCAG AA contrast against white (checked in the unit tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from chalicelib.domain.statuses import ResultStatus as R

INK = "#1d1c1d"
MUTED = "#595959"
GRID = "#d0d0d0"
LINE = "#1f5fa8"
COLOURS: dict[str, str] = {
    R.PASSED: "#1e7a3c",
    R.FAILED: "#b3261e",
    R.BLOCKED: "#8a5a00",
    R.SKIPPED: "#595959",
}
SEVERITY = {
    "blocker": "#7a0e0e",
    "critical": "#b3261e",
    "major": "#a84d00",
    "minor": "#1f5fa8",
    "trivial": "#595959",
}
BAR = "#1f5fa8"
EDGE = 2  # what a label keeps clear of the image's edge


def text_width(text: str, size: float) -> float:
    """A text's width, estimated a little generously (no font metrics on the server): what keeps
    labels inside the image, whatever font the reader's browser or PDF uses."""
    em = 0.0
    for ch in text:
        if ch in "il.,:;|!'":
            em += 0.32
        elif ch in "mwMW@%":
            em += 0.95
        elif ch.isupper() or ch.isdigit() or ch == "—":
            em += 0.68
        else:
            em += 0.6
    return em * size


def fit(text: str, size: float, room: float) -> str:
    """The text, cut short with an ellipsis when it would not fit in `room`."""
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def _x_label(x: float, y: float, text: str, width: int, room: float, size: int = 11) -> str:
    """An axis label centred under x, moved inwards so it stays inside the image (the first and
    last ones would otherwise spill over the edges), cut short to `room`."""
    text = fit(text, size, room)
    w = text_width(text, size)
    start = min(max(x - w / 2, EDGE), width - EDGE - w)
    return (
        f'<text class="x-label" x="{start:.1f}" y="{y}" font-size="{size}" '
        f'fill="{MUTED}">{escape(text)}</text>'
    )


def _svg(width: int, height: int, title: str, desc: str, body: str, cls: str) -> str:
    ident = "c" + str(abs(hash((title, desc))) % 10**8)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{ident}t {ident}d">'
        f'<title id="{ident}t">{escape(title)}</title><desc id="{ident}d">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def line_chart(
    points: Sequence[dict[str, object]],
    title: str,
    *,
    unit: str = "",
    y_max: float | None = None,
    width: int = 560,
    height: int = 200,
) -> str:
    """`[{"date", "value"}]` as a line with dots; the axis from 0 to y_max (or the maximum)."""
    right, top, bottom = 12, 12, 28
    values = [float(p["value"]) for p in points if p.get("value") is not None]  # type: ignore[arg-type]
    if not values:
        body = (
            f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle" '
            f'fill="{MUTED}">no data in this period</text>'
        )
        return _svg(width, height, title, "no data in this period", body, "line")
    top_value = y_max if y_max is not None else max(max(values), 1.0)
    y_labels = [f"{_fmt(top_value * frac)}{unit}" for frac in (0, 0.5, 1)]
    left = max(44, int(max(text_width(t, 11) for t in y_labels)) + 6 + EDGE + 1)
    inner_w, inner_h = width - left - right, height - top - bottom
    n = len(points)

    def x(i: int) -> float:
        return left + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)

    def y(v: float) -> float:
        return top + inner_h - inner_h * v / top_value

    parts = [
        _grid_line(left, width - right, y(top_value * frac), text)
        for frac, text in zip((0, 0.5, 1), y_labels, strict=True)
    ]
    coords = [
        (x(i), y(float(p["value"])), p)  # type: ignore[arg-type]
        for i, p in enumerate(points)
        if p.get("value") is not None
    ]
    parts.extend(_line_with_dots(coords, unit))
    ends = sorted({0, n - 1})
    room = (width - 2 * EDGE) / len(ends) - 4 * (len(ends) - 1)  # the two never overlap
    for i in ends:
        parts.append(_x_label(x(i), height - 8, str(points[i]["date"]), width, room))
    desc = f"{len(coords)} points from {points[0]['date']} to {points[-1]['date']}; " + (
        f"last value {_fmt(values[-1])}{unit}"
    )
    return _svg(width, height, title, desc, "".join(parts), "line")


def _grid_line(left: float, right: float, gy: float, text: str) -> str:
    """A horizontal grid line at `gy` with its value on the left."""
    return (
        f'<line x1="{left}" x2="{right}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="{GRID}"/>'
        f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="11" '
        f'fill="{MUTED}">{escape(text)}</text>'
    )


def _line_with_dots(coords: list[tuple[float, float, dict[str, object]]], unit: str) -> list[str]:
    """The line through the points, and a dot per point whose title names its date and value."""
    path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy, _ in coords)
    parts = [f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>']
    for cx, cy, p in coords:
        label = f"{p['date']}: {_fmt(float(p['value']))}{unit}"  # type: ignore[arg-type]
        parts.append(
            f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{LINE}">'
            f"<title>{escape(label)}</title></circle>"
        )
    return parts


def bar_chart(
    values: Mapping[str, float],
    title: str,
    *,
    colours: dict[str, str] | None = None,
    unit: str = "",
    width: int = 360,
    bar_height: int = 22,
) -> str:
    """Horizontal bars, one per label, each with its number written beside it."""
    if not values:
        body = f'<text x="8" y="24" fill="{MUTED}">none</text>'
        return _svg(width, 36, title, "none", body, "bar")
    gap, size = 6, 12
    shown = {label: f"{_fmt(float(value))}{unit}" for label, value in values.items()}
    value_w = max(text_width(t, size) for t in shown.values()) + 4 + EDGE
    # the label column fits the longest label, up to 40% of the image; longer ones are cut
    # short (the bar's title and the table beside the chart keep them whole)
    label_w = min(max(text_width(k, size) for k in values) + 6 + EDGE, width * 0.4)
    label_w = max(label_w, 40.0)
    top_value = max(max(values.values()), 1)
    inner = max(10.0, width - label_w - value_w)
    height = len(values) * (bar_height + gap) + gap
    parts = []
    for i, (label, value) in enumerate(values.items()):
        y = gap + i * (bar_height + gap)
        w = max(1.0, inner * float(value) / top_value) if value else 0
        fill = (colours or {}).get(label, BAR)
        parts.append(
            f'<text x="{label_w - 6:.1f}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" '
            f'font-size="{size}" fill="{INK}">{escape(fit(label, size, label_w - 6 - EDGE))}'
            "</text>"
            f'<rect class="bar" x="{label_w:.1f}" y="{y}" width="{w:.1f}" height="{bar_height}" '
            f'fill="{fill}"><title>{escape(label)}: {escape(shown[label])}'
            "</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="{size}" '
            f'fill="{INK}">{escape(shown[label])}</text>'
        )
    desc = "; ".join(f"{k}: {_fmt(float(v))}{unit}" for k, v in values.items())
    return _svg(width, height, title, desc, "".join(parts), "bar")


def strip(results: Sequence[dict[str, object]], title: str) -> str:
    """A scenario's last results, oldest first: one square each, coloured and lettered by
    status (the letter keeps it readable without colour)."""
    size, gap = 18, 3
    if not results:
        body = f'<text x="4" y="16" fill="{MUTED}">no results yet</text>'
        return _svg(200, 24, title, "no results yet", body, "strip")
    width = len(results) * (size + gap)
    parts = []
    for i, r in enumerate(results):
        status = str(r.get("status"))
        x = i * (size + gap)
        label = f"{r.get('at')}: {status} (run {r.get('runId')})"
        parts.append(
            f'<g class="result {escape(status)}"><rect x="{x}" y="0" width="{size}" '
            f'height="{size}" fill="{COLOURS.get(status, MUTED)}"><title>{escape(label)}</title>'
            f'</rect><text x="{x + size / 2}" y="13" text-anchor="middle" font-size="11" '
            f'fill="#ffffff">{escape(status[:1].upper())}</text></g>'
        )
    counts = {s: sum(1 for r in results if r.get("status") == s) for s in COLOURS}
    desc = f"last {len(results)} results, oldest first: " + ", ".join(
        f"{v} {k}" for k, v in counts.items() if v
    )
    return _svg(width, size + 2, title, desc, "".join(parts), "strip")
