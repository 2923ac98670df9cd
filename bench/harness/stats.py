"""Medians, ranges and pairwise ratios."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    count: int


def summarize(values: list[float]) -> Summary | None:
    if not values:
        return None
    return Summary(statistics.median(values), min(values), max(values), len(values))


def paired_ratios(numerator: dict[int, float], denominator: dict[int, float]) -> list[float]:
    """numerator[r] / denominator[r] for every round r present in both."""
    return [
        numerator[r] / denominator[r]
        for r in sorted(numerator.keys() & denominator.keys())
        if denominator[r] > 0
    ]
