"""Geometry of the admin dashboard's bar charts, in SVG user units; ``admin_dashboard.html`` draws them."""

from __future__ import annotations

from dataclasses import dataclass

CHART_WIDTH = 640
CHART_HEIGHT = 200
CHART_PADDING = 28
LABEL_BASELINE = CHART_HEIGHT - 8
MIN_VALUE_BASELINE = 10


@dataclass(frozen=True)
class ChartBar:
    """One bar: its box, the x of its centre (for the labels) and the baseline of the value above it."""

    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    center: float
    value_y: float

    @property
    def short_label(self) -> str:
        """The day without its year (``2026-11-23`` -> ``11-23``), shown under the bar."""
        return self.label[5:]


@dataclass(frozen=True)
class BarChart:
    """A titled bar chart; ``title`` is a catalog key of the page's locale."""

    title: str
    color: str
    bars: tuple[ChartBar, ...]
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    label_y: int = LABEL_BASELINE


def bar_chart(title: str, points: list[tuple[str, int]], color: str = "#2f5bea") -> BarChart:
    """Bars for ``(label, value)`` points, scaled so the largest value fills the plot height."""
    top = max([value for _, value in points] + [1])
    slot = (CHART_WIDTH - 2 * CHART_PADDING) / max(len(points), 1)
    plot_height = CHART_HEIGHT - 2 * CHART_PADDING
    bars = []
    for index, (label, value) in enumerate(points):
        height = plot_height * value / top
        x = CHART_PADDING + index * slot
        y = CHART_HEIGHT - CHART_PADDING - height
        bars.append(
            ChartBar(
                label=label,
                value=value,
                x=x + 2,
                y=y,
                width=max(slot - 4, 1),
                height=height,
                center=x + slot / 2,
                value_y=max(y - 4, MIN_VALUE_BASELINE),
            )
        )
    return BarChart(title=title, color=color, bars=tuple(bars))
