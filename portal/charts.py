"""Server-side SVG charts (no JavaScript, nothing loaded from the internet). Pure: values in, markup out.

Coordinates are whole pixels computed with integer arithmetic (no floats, as everywhere else).
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 960, 240
LEFT, RIGHT, TOP, BOTTOM = 70, 16, 16, 34


def _nice_max(value: int) -> int:
    """The smallest of 4, 8, 20, 40, 80, 200, 400 … at or above ``value``: divisible by the four grid
    lines, so that every tick label is exact."""
    step = 1
    while True:
        for m in (4, 8, 20):
            if m * step >= value:
                return m * step
        step *= 10


def _frame(title: str, y_labels: Sequence[tuple[int, str]], x_labels: Sequence[tuple[int, str]], body: str) -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" class="axis"/>',
    ]
    for y, label in y_labels:
        parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end" class="tick">{escape(label)}</text>')
    for x, label in x_labels:
        parts.append(
            f'<text x="{x}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="tick">{escape(label)}</text>'
        )
    parts.append(body)
    parts.append("</svg>")
    return "".join(parts)


def _x_labels(days: Sequence[date], x_of) -> list[tuple[int, str]]:
    return [(x_of(i), f"{d.month}-{d.day:02d}") for i, d in enumerate(days) if d.day == 1 or i == 0]


def bar_chart(points: Sequence[tuple[date, int]], *, title: str) -> str:
    """Daily values as bars (e.g. units sent per day), one bar per day in order."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((v for _, v in points), default=0))
    n = max(len(points), 1)
    bar_w = max(plot_w // n - 1, 1)

    def x_of(i: int) -> int:
        return LEFT + i * plot_w // n

    bars = []
    for i, (day, value) in enumerate(points):
        h = value * plot_h // top
        bars.append(
            f'<rect x="{x_of(i)}" y="{HEIGHT - BOTTOM - h}" width="{bar_w}" height="{h}" class="bar">'
            f"<title>{day.isoformat()}：{value:,}</title></rect>"
        )
    y_labels = [(HEIGHT - BOTTOM - k * plot_h // 4, f"{top * k // 4:,}") for k in range(1, 5)]
    return _frame(title, y_labels, _x_labels([d for d, _ in points], x_of), "".join(bars))


def percent_floor(values: Sequence[Decimal | None]) -> int:
    """The bottom of a percentage axis: 90 when every value is at least 90, 50 when at least 50, else 0,
    so that a delivery rate near 100% does not look flat."""
    present = [v for v in values if v is not None]
    low = min(present, default=Decimal(0))
    return 90 if low >= 90 else 50 if low >= 50 else 0


def line_chart(
    points: Sequence[tuple[date, Decimal | None]], *, title: str, y_max: int = 100, y_min: int | None = None
) -> str:
    """Daily percentages as a line; days without a value break the line. The axis starts at ``y_min``
    (default: `percent_floor` of the values)."""
    if y_min is None:
        y_min = percent_floor([v for _, v in points])
    span = y_max - y_min
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(points), 1)

    def x_of(i: int) -> int:
        return LEFT + i * plot_w // n + max(plot_w // n // 2, 0)

    def y_of(value: Decimal) -> int:
        clamped = min(max(value, Decimal(y_min)), Decimal(y_max))
        return HEIGHT - BOTTOM - int((clamped - y_min) * plot_h // span)

    runs: list[list[str]] = [[]]
    dots = []
    for i, (day, value) in enumerate(points):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{x_of(i)},{y_of(value)}")
        dots.append(
            f'<circle cx="{x_of(i)}" cy="{y_of(value)}" r="2" class="dot">'
            f"<title>{day.isoformat()}：{value}%</title></circle>"
        )
    lines = "".join(f'<polyline points="{" ".join(run)}" class="line"/>' for run in runs if len(run) > 1)
    ticks = [y_min + span * k // 4 for k in range(0, 5)]
    y_labels = [(y_of(Decimal(t)), f"{t}%") for t in ticks]
    return _frame(title, y_labels, _x_labels([d for d, _ in points], x_of), lines + "".join(dots))
