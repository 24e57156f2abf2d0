"""Series drawn for people: a one-line sparkline for the terminal, a PNG chart with one panel per family.

A missing point is drawn as a gap (a space in the sparkline, a break in the line), never as zero: CloudWatch
records nothing when nothing happened, and a zero would claim a measurement. matplotlib is imported only
when a PNG is written (it costs about half a second and tens of MB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

BARS = "▁▂▃▄▅▆▇█"
GAP = " "


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, scaled between the series' own min and max; a flat series sits at the bottom."""
    present = [value for value in values if value is not None]
    if not present:
        return GAP * len(values)
    low, high = min(present), max(present)
    span = high - low
    marks = []
    for value in values:
        if value is None:
            marks.append(GAP)
        elif span == 0:
            marks.append(BARS[0] if high == 0 else BARS[len(BARS) // 2])
        else:
            marks.append(BARS[min(int((value - low) / span * len(BARS)), len(BARS) - 1)])
    return "".join(marks)


def resample(values: Sequence[float | None], width: int) -> list[float | None]:
    """At most `width` values: consecutive values merged by their maximum (peaks must stay visible)."""
    if len(values) <= width:
        return list(values)
    merged: list[float | None] = []
    for index in range(width):
        part = [v for v in values[index * len(values) // width : (index + 1) * len(values) // width] if v is not None]
        merged.append(max(part) if part else None)
    return merged


@dataclass(frozen=True)
class Line:
    """One line of a panel."""

    label: str
    times: Sequence[datetime]
    values: Sequence[float | None]


@dataclass(frozen=True)
class Panel:
    """One family of metrics sharing a unit."""

    title: str
    unit: str
    lines: Sequence[Line]


def write_png(path: Path, title: str, panels: Sequence[Panel]) -> Path:
    """A chart of `panels` stacked, time on the shared x axis, each y axis labelled with its unit."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(panels), 1, figsize=(10, 2.4 * len(panels) + 0.8), sharex=True, squeeze=False)
    try:
        for axis, panel in zip(axes[:, 0], panels, strict=True):
            for line in panel.lines:
                if all(value is None for value in line.values):  # matplotlib would stretch the time axis for it
                    axis.plot([], [], label=f"{line.label}: no data")
                    continue
                values = [float("nan") if value is None else value for value in line.values]
                axis.plot(list(line.times), values, marker=".", linewidth=1.2, label=line.label)
            axis.set_title(panel.title, loc="left", fontsize=10)
            axis.set_ylabel(panel.unit)
            axis.grid(True, alpha=0.3)
            if panel.lines:
                axis.legend(fontsize=7, loc="upper left")
        times = [time for panel in panels for line in panel.lines for time in line.times]
        if times:
            margin = (max(times) - min(times)) / 40  # the latest point off the frame
            axes[-1, 0].set_xlim(min(times) - margin, max(times) + margin)
        axes[-1, 0].set_xlabel("time (UTC)")
        locator = mdates.AutoDateLocator()
        axes[-1, 0].xaxis.set_major_locator(locator)
        axes[-1, 0].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        figure.suptitle(title)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
    return path
