"""Charts drawn on the server: the numbers a template needs to write an inline SVG.

No script and no CDN (issue 12): a chart is rectangles whose sizes are computed here and
written as SVG attributes (not ``style``: the CSP allows no inline style).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

DECISIONS = ("CLEARED", "HELD", "NOT_CONCERNED")
COLOURS = {"CLEARED": "#1e7b34", "HELD": "#a14d00", "NOT_CONCERNED": "#8a96a0"}
HEIGHT = 160


@dataclass(frozen=True)
class Segment:
    decision: str
    count: int
    y: float
    height: float
    colour: str


@dataclass(frozen=True)
class DayBar:
    day: date
    x: int
    total: int
    segments: tuple[Segment, ...]


def day_bars(
    per_day: dict[tuple[date, str], int], since: date, today: date, width: int = 36
) -> list[DayBar]:
    """One stacked bar per day from ``since`` to ``today``, scaled to the busiest day."""
    days = [since + timedelta(days=n) for n in range((today - since).days + 1)]
    peak = max((sum(per_day.get((d, k), 0) for k in DECISIONS) for d in days), default=0)
    scale = HEIGHT / peak if peak else 0.0
    bars = []
    for n, day in enumerate(days):
        y = float(HEIGHT)
        segments = []
        for decision in DECISIONS:
            count = per_day.get((day, decision), 0)
            height = count * scale
            y -= height
            segments.append(
                Segment(decision, count, round(y, 1), round(height, 1), COLOURS[decision])
            )
        bars.append(DayBar(day, n * width, sum(s.count for s in segments), tuple(segments)))
    return bars


@dataclass(frozen=True)
class ShareBar:
    label: str
    count: int
    width: float
    y: int


def share_bars(counts: list[tuple[str, int]], width: int = 300) -> list[ShareBar]:
    peak = max((c for _, c in counts), default=0)
    return [
        ShareBar(label, count, round(width * count / peak, 1) if peak else 0.0, n * 24)
        for n, (label, count) in enumerate(counts)
    ]
