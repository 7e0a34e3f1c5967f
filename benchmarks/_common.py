"""Shared bits of the benchmark scripts: import paths, statistics, a plain-text table, log waits.

Importing this module puts the repository root, `tests/` (for the fixtures' helpers) and the two
plugin/backend folders on `sys.path`, exactly as pytest.ini's `pythonpath` does.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "tests", ROOT / "plugins" / "salesforce", ROOT / "backends" / "rocketchat"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


def per_room(records: list[dict], field: str) -> dict[str, int]:
    """How many RECORDS each room has, by the room id that ends their FIELD (`… [ROOM_ID]`): the transcript
    Task's Subject and the long transcript note's Title both end that way."""
    counts: dict[str, int] = {}
    for record in records:
        text = record.get(field) or ""
        if text.endswith("]") and "[" in text:
            rid = text.rsplit("[", 1)[1][:-1]
            counts[rid] = counts.get(rid, 0) + 1
    return counts


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def summary(values: list[float]) -> tuple[float, float, float]:
    """(min, median, max)."""
    return min(values), statistics.median(values), max(values)


def table(headers: list[str], rows: list[list], title: str | None = None) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_is_number(r[i]) for r in cells[1:]) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric, strict=True)
        ).rstrip()

    out = [title, ""] if title else []
    out += [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def calls_text(calls: dict[str, int]) -> str:
    """`{"GET query": 2, "POST oauth2/token": 1}` -> `2 GET query, 1 POST oauth2/token` (sorted by route)."""
    return ", ".join(f"{n} {route}" for route, n in sorted(calls.items()) if n) or "-"


def new_line(proc, text: str, start: int, timeout: float = 30.0) -> str:
    """The first log line of PROC at index >= START containing TEXT (ChildProcess.wait_for_line
    scans its lines in order from the first, so a counter gives each line's index)."""
    counter = itertools.count()
    return proc.wait_for_line(lambda line: next(counter) >= start and text in line, timeout)


def wait_until(predicate, timeout: float, interval: float = 0.01) -> float:
    """Poll PREDICATE until true; the monotonic time it first was. TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)
