"""Rows of the results table: a named figure, its runs, and how it was obtained."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """One line of the table: ``values`` are the runs (seconds, bytes, or a ratio).

    ``how`` says in a few words how the figure was obtained (what was timed,
    what was scaled); ``baseline`` marks the reference the goal compares with.
    """

    section: str
    subject: str
    values: list[float]
    unit: str = "s"
    how: str = ""
    baseline: bool = False
    goal: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def min(self) -> float:
        return min(self.values) if self.values else float("nan")

    @property
    def max(self) -> float:
        return max(self.values) if self.values else float("nan")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(median=self.median, min=self.min, max=self.max, runs=len(self.values))
        return data


def fmt(value: float, unit: str) -> str:
    """A value in its unit, readable: ``1.23 s``, ``45 ms``, ``12.3 MB``, ``1.08x``."""
    if value != value:  # NaN: no run
        return "n/a"
    if unit == "s":
        if abs(value) >= 10:
            return f"{value:.1f} s"
        if abs(value) >= 1:
            return f"{value:.2f} s"
        return f"{value * 1000:.0f} ms" if abs(value) >= 0.01 else f"{value * 1000:.1f} ms"
    if unit == "B":
        mb = value / 1_000_000
        return f"{mb:.1f} MB" if mb >= 1 else f"{value / 1000:.0f} kB"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g} {unit}"
