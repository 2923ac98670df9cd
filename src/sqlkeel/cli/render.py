"""Human and JSON renderings of results. Colour only when writing to a terminal."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # see sqlkeel.cli.app
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime
    from typing import Any, TextIO

_COLOURS = {"green": "32", "yellow": "33", "red": "31", "dim": "2", "bold": "1", "cyan": "36"}

STATE_COLOURS = {
    "applied": "green",
    "pending": "cyan",
    "failed": "red",
    "rollback-failed": "red",
    "missing": "red",
    "invalid": "red",
    "mismatched": "red",
    "below-head": "red",
    "success": "green",
}


def echo(message: str = "", *, err: bool = False) -> None:
    """One line on stdout (or stderr), flushed at once so progress shows while keel runs."""
    stream = sys.stderr if err else sys.stdout
    stream.write(message + "\n")
    stream.flush()


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def paint(text: str, colour: str | None, enabled: bool) -> str:
    if not enabled or not colour:
        return text
    return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"


_last_when: list[Any] = [None, ""]  # the last second shown and its text


def when(value: datetime | None) -> str:
    if not value:
        return ""
    # Rows applied in one run share their second: status shows 10 000 of them twice
    # (widths, then lines), and strftime is most of that.
    second = value.replace(microsecond=0)
    key = (second, value.tzinfo)  # one instant in two time zones reads differently
    if key != _last_when[0]:
        _last_when[:] = [key, second.strftime("%Y-%m-%d %H:%M:%S")]
    return str(_last_when[1])


def duration(ms: int | None) -> str:
    if ms is None:
        return ""
    if ms == 0:
        return "<1 ms"
    return f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    colours: Sequence[str | None] | None = None,
    colour_column: int | None = None,
    enabled: bool = False,
) -> str:
    """An aligned plain-text table; ``colours[i]`` paints cell ``colour_column`` of row i."""
    widths = column_widths(headers, rows)
    lines = [paint(table_line(headers, widths), "bold", enabled)]
    for index, row in enumerate(rows):
        colour = colours[index] if colours else None
        lines.append(table_line(row, widths, colour, colour_column, enabled))
    return "\n".join(lines)


def column_widths(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[int]:
    """The width of each column of a table: its widest cell or header."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    return widths


def table_line(
    cells: Sequence[str],
    widths: Sequence[int],
    colour: str | None = None,
    colour_column: int | None = None,
    enabled: bool = False,
) -> str:
    """One line of a table whose columns are ``widths`` wide (the last one unpadded)."""
    last = len(widths) - 1
    out = []
    for i, cell in enumerate(cells):
        padded = cell if i == last else cell.ljust(widths[i])
        if i == colour_column and colour:
            padded = paint(padded, colour, enabled)
        out.append(padded)
    return "  ".join(out).rstrip()


def emit_json(data: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout, nothing else."""
    import json

    stream = stream or sys.stdout
    json.dump(data, stream, indent=2)
    stream.write("\n")
