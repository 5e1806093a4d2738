"""SVG chart geometry (pure): coordinates, tick marks and point lists for the
templates under templates/feedback/charts/, which draw the SVG. No HTML or SVG
markup is built here; every chart also gets a data table in its template.

Readable without colour: lines differ by width and dash pattern, bar segments
by hatch pattern, and every series is labelled in text (docs/analytics.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH, HEIGHT = 320, 160
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 36, 12, 10, 24


@dataclass
class Plot:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_LEFT
    right: int = PAD_RIGHT
    top: int = PAD_TOP
    bottom: int = PAD_BOTTOM

    @property
    def inner_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def inner_h(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:  # bottom of the plot area
        return self.height - self.bottom

    @property
    def y1(self) -> float:
        return self.top


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def scale(value: float, lo: float, hi: float, a: float, b: float) -> float:
    """Map value in [lo, hi] linearly to [a, b] (the midpoint when lo == hi)."""
    if hi == lo:
        return (a + b) / 2
    return a + (value - lo) * (b - a) / (hi - lo)


def nice_max(value: float) -> float:
    """A round upper bound >= value: 1, 2, 2.5, 5 or 10 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value - 1e-12:
            return float(step * power)
    return float(10 * power)


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class Line:
    points: str  # "x,y x,y ..." for <polyline points>
    label: str
    style: str  # css class: faint | median | series-a | series-b | target
    end_x: float = 0.0
    end_y: float = 0.0
    dots: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class LineChart:
    plot: Plot
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    target_y: float | None = None
    target_label: str = ""
    empty: bool = False
    faint_path: str = ""  # every "faint" series as one <path d> (hundreds of trainees stay one element)
    faint_count: int = 0


def line_chart(*, series: list[tuple[str, list[float | None], str]], y_min: float = 0.0, y_max: float | None = None,
               x_labels: list[str] | None = None, y_format: str = "percent", target: float | None = None,
               target_label: str = "target", plot: Plot | None = None, dots_for: tuple[str, ...] = ("median",)) -> LineChart:
    """(label, values by x index, style) series on a shared x axis; None values break a line.
    y_format: "percent" (0..1 shown as %), "number"."""
    plot = plot or Plot()
    length = max((len(v) for _, v, _ in series), default=0)
    known = [v for _, vals, _ in series for v in vals if v is not None]
    if target is not None:
        known.append(target)
    if y_max is None:
        y_max = nice_max(max(known)) if known else 1.0
    lines = []
    faint: list[str] = []
    # Inline linear maps (hundreds of series x tens of points per chart).
    x_span = plot.x1 - plot.x0
    x_of = (lambda i: plot.x0 + i * x_span / (length - 1)) if length > 1 else (lambda i: (plot.x0 + plot.x1) / 2)
    y_k = (plot.y1 - plot.y0) / (y_max - y_min) if y_max != y_min else 0.0
    y0 = plot.y0
    xs = [x_of(i) for i in range(length)]
    for label, values, style in series:
        if style == "faint":  # formatted straight to the path (hundreds of lines per chart)
            coords = [f"{xs[i]:.1f},{y0 + ((y_min if v < y_min else y_max if v > y_max else v) - y_min) * y_k:.1f}"
                      for i, v in enumerate(values) if v is not None]
            if coords:
                faint.append("M" + " L".join(coords))
            continue
        pts = [(round(xs[i], 1), round(y0 + ((y_min if v < y_min else y_max if v > y_max else v) - y_min) * y_k, 1))
               for i, v in enumerate(values) if v is not None]
        if not pts:
            continue
        lines.append(Line(points=" ".join(f"{x},{y}" for x, y in pts), label=label, style=style,
                          end_x=pts[-1][0], end_y=pts[-1][1], dots=pts if style in dots_for else []))
    labels = x_labels or [str(i + 1) for i in range(length)]
    step = max(1, (length + 9) // 10)
    x_ticks = [Tick(pos=round(scale(i, 0, max(length - 1, 1), plot.x0, plot.x1) if length > 1 else (plot.x0 + plot.x1) / 2, 1),
                    label=labels[i]) for i in range(0, length, step)]
    y_ticks = []
    for k in range(5):
        v = y_min + (y_max - y_min) * k / 4
        text = f"{round(v * 100)}%" if y_format == "percent" else _fmt(v)
        y_ticks.append(Tick(pos=round(scale(v, y_min, y_max, plot.y0, plot.y1), 1), label=text))
    target_y = round(scale(min(max(target, y_min), y_max), y_min, y_max, plot.y0, plot.y1), 1) if target is not None else None
    return LineChart(plot=plot, lines=lines, x_ticks=x_ticks, y_ticks=y_ticks, target_y=target_y, target_label=target_label,
                     empty=not lines and not faint, faint_path=" ".join(faint), faint_count=len(faint))


@dataclass
class Segment:
    x: float
    y: float
    w: float
    h: float
    style: str
    label: str
    value: float


@dataclass
class Bar:
    label: str
    segments: list[Segment]
    total: float
    label_x: float
    label_y: float


@dataclass
class BarChart:
    plot: Plot
    bars: list[Bar]
    y_ticks: list[Tick]
    legend: list[tuple[str, str]]  # (style, label)
    empty: bool = False


def stacked_bars(*, categories: list[str], stacks: list[tuple[str, str, list[float]]], plot: Plot | None = None,
                 y_format: str = "number", label_every: int | None = None) -> BarChart:
    """Vertical bars, one per category, stacked from (label, style, values per category)."""
    plot = plot or Plot()
    n = len(categories)
    totals = [sum(s[2][i] for s in stacks) for i in range(n)]
    y_max = nice_max(max(totals)) if totals and max(totals) > 0 else 1.0
    slot = plot.inner_w / n if n else plot.inner_w
    width = max(1.0, slot * 0.7)
    every = label_every or max(1, (n + 7) // 8)
    bars = []
    for i, category in enumerate(categories):
        x = plot.x0 + i * slot + (slot - width) / 2
        base = plot.y0
        segments = []
        for label, style, values in stacks:
            value = values[i]
            h = (value / y_max) * plot.inner_h if y_max else 0
            if h > 0:
                segments.append(Segment(x=round(x, 1), y=round(base - h, 1), w=round(width, 1), h=round(h, 1), style=style,
                                        label=label, value=value))
            base -= h
        bars.append(Bar(label=category if i % every == 0 else "", segments=segments, total=totals[i],
                        label_x=round(x + width / 2, 1), label_y=round(base - 2, 1)))
    y_ticks = []
    for k in range(5):
        v = y_max * k / 4
        y_ticks.append(Tick(pos=round(scale(v, 0, y_max, plot.y0, plot.y1), 1),
                            label=f"{round(v * 100)}%" if y_format == "percent" else _fmt(v)))
    return BarChart(plot=plot, bars=bars, y_ticks=y_ticks, legend=[(s[1], s[0]) for s in stacks], empty=not any(totals))


@dataclass
class HBarRow:
    label: str
    segments: list[Segment]
    total: int


def distribution_bars(*, rows: list[tuple[str, dict[str, int]]], labels: list[str], width: int = 320, row_h: int = 18) -> list[HBarRow]:
    """Horizontal 100 % bars (one per row) split by rating; each segment keeps its count for the text label."""
    styles = [f"pattern-{i % 4}" for i in range(len(labels))]
    out = []
    for name, counts in rows:
        total = sum(counts.get(label, 0) for label in labels) + sum(v for k, v in counts.items() if k not in labels)
        x = 0.0
        segments = []
        for label, style in zip(labels + sorted(k for k in counts if k not in labels),
                                styles + ["pattern-3"] * len(counts), strict=False):
            n = counts.get(label, 0)
            if not n or not total:
                continue
            w = width * n / total
            segments.append(Segment(x=round(x, 1), y=0, w=round(w, 1), h=row_h, style=style, label=label, value=n))
            x += w
        out.append(HBarRow(label=name, segments=segments, total=total))
    return out
