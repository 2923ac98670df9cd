"""Raw results of a run: one Sample per timed command, one Failure per failed one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cell:
    """One figure of the table: a tool, a database, a scenario and its size."""

    tool: str
    db: str  # "sqlite", "postgresql", or "-" for --help
    kind: str
    size: int


@dataclass(frozen=True)
class Sample:
    cell: Cell
    round: int
    seconds: float
    max_rss_kib: int


@dataclass(frozen=True)
class Failure:
    cell: Cell
    round: int
    message: str


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    not_available: dict[str, dict[str, str]] = field(default_factory=dict)  # tool -> kind

    def samples_of(self, cell: Cell) -> list[Sample]:
        return [sample for sample in self.samples if sample.cell == cell]

    def failures_of(self, cell: Cell) -> list[Failure]:
        return [failure for failure in self.failures if failure.cell == cell]

    def raw(self) -> dict[str, Any]:
        """Every sample and failure as plain JSON values."""

        def flat(item: Sample | Failure) -> dict[str, Any]:
            record = asdict(item)
            return {**record.pop("cell"), **record}

        return {
            "samples": [flat(sample) for sample in self.samples],
            "failures": [flat(failure) for failure in self.failures],
            "not_available": self.not_available,
        }
