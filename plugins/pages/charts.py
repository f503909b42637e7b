"""Bar charts of the organiser's dashboard drawn on the server: the geometry of an inline SVG (no chart library,
no script) for a series of `core.services.event_reports`, each bar labelled in the page's language, so the same
figures also fill the chart's data table for screen readers.

Never computes a figure: the counts are the report's; this only places them.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.dates import format_date, format_time

from core.services.event_reports import Bucket, Series
from plugins.pages.i18n import Speaker

WIDTH, HEIGHT = 640, 200   # the SVG's viewBox; it scales to the page's width
GAP = 2                    # between bars


@dataclass(frozen=True)
class Bar:
    """One bucket drawn: its rectangle and what it says (`label`, `count`, `start` in ISO 8601)."""

    x: float
    y: float
    width: float
    height: float
    label: str
    count: int
    start: str


@dataclass(frozen=True)
class Chart:
    """A series' bars, its unit (`hour` or `day`), largest count and total."""

    unit: str
    bars: list[Bar]
    peak: int
    total: int
    width: int = WIDTH
    height: int = HEIGHT


def bucket_label(speaker: Speaker, bucket: Bucket, unit: str) -> str:
    """A bucket's local start as the language writes it: a date, with the hour for an hourly series."""
    day = format_date(bucket.start, format="medium", locale=speaker.language)
    if unit == "day":
        return day
    return speaker.gettext("%(date)s, %(time)s", date=day,
                           time=format_time(bucket.start, format="short", locale=speaker.language))


def bar_chart(speaker: Speaker, series: Series) -> Chart:
    """The bars of `series` side by side across the chart, each as tall as its share of the largest count."""
    count = len(series.buckets)
    slot = WIDTH / count if count else WIDTH
    peak = series.peak
    bars = []
    for index, bucket in enumerate(series.buckets):
        height = HEIGHT * bucket.count / peak if peak else 0
        bars.append(Bar(x=round(index * slot + GAP / 2, 2), y=round(HEIGHT - height, 2),
                        width=round(max(slot - GAP, 1), 2), height=round(height, 2),
                        label=bucket_label(speaker, bucket, series.unit), count=bucket.count,
                        start=bucket.start.isoformat()))
    return Chart(series.unit, bars, peak, series.total)
