"""Bar charts as plain SVG geometry, drawn by the template (no chart library, no script): one bar per
day, each with its value as a tooltip and an accessible table beside the picture."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 560, 160, 34, 22, 10


@dataclass(frozen=True)
class Bar:
    day: date
    value: int
    x: float
    y: float
    width: float
    height: float
    label: bool  # whether the day is written under the bar (every few days, to stay legible)


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - PAD_BOTTOM
    left: float = PAD_LEFT
    capped: bool = False  # the counts hit the listing limit: the true values may be higher

    @property
    def total(self) -> int:
        return sum(b.value for b in self.bars)


def bar_chart(days: list[date], values: list[int], *, capped: bool = False) -> Chart:
    """Bars for ``values`` (one per day in ``days``), scaled so the largest reaches the top."""
    peak = max(values, default=0)
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT) / max(len(days), 1)
    step = max(1, len(days) // 7)
    bars = []
    for i, (day, value) in enumerate(zip(days, values)):
        h = plot_h * value / peak if peak else 0.0
        bars.append(
            Bar(
                day=day,
                value=value,
                x=round(PAD_LEFT + i * slot + slot * 0.15, 1),
                y=round(HEIGHT - PAD_BOTTOM - h, 1),
                width=round(slot * 0.7, 1),
                height=round(h, 1),
                label=(len(days) - 1 - i) % step == 0,
            )
        )
    return Chart(bars=bars, peak=peak, capped=capped)
