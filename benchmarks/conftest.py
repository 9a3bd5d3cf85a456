"""Collects each benchmark's median and prints the ratios the targets are stated in.

Machines here are noisy, so the report compares measurements taken in the same run:
compiled vs the hand-written baseline and vs the reference interpreter, trace on vs off.
Nothing is asserted about time: the numbers are reported, not tested.
"""

from __future__ import annotations

from typing import Any

import pytest

MEDIANS: dict[str, float] = {}
# the fastest round: what the JSON boundary's ratios compare, as the least disturbed by other
# load on a shared machine (a median moves with whatever else runs during one benchmark)
MINIMA: dict[str, float] = {}
FIGURES: dict[str, str] = {}


@pytest.fixture
def record() -> Any:
    def store(name: str, benchmark: Any, per: int = 1) -> None:
        stats = getattr(benchmark, "stats", None)
        if stats is not None and getattr(stats, "stats", None) is not None:
            MEDIANS[name] = stats.stats.median / per
            MINIMA[name] = stats.stats.min / per

    return store


def figure(name: str, text: str) -> None:
    FIGURES[name] = text


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not MEDIANS and not FIGURES:
        return
    write = terminalreporter.write_line
    write("")
    write("policyengine benchmark ratios (same run)")
    for size in (1, 10, 100):
        base, comp = MEDIANS.get(f"baseline/{size}"), MEDIANS.get(f"compiled/{size}")
        interp, traced = MEDIANS.get(f"interpreter/{size}"), MEDIANS.get(f"compiled_trace/{size}")
        if base and comp:
            line = (
                f"  {size:>3} items: compiled {comp * 1e6:8.1f} µs/claim"
                f" = {comp / base:4.2f}× baseline"
            )
            if interp:
                line += f"; interpreter {interp / comp:5.1f}× slower"
            if traced:
                line += f"; trace on {traced / comp:4.2f}×"
            write(line)
    for name in sorted(MEDIANS):
        if name.startswith("e2e/"):
            write(f"  end to end {name[4:]}: {1 / MEDIANS[name]:,.0f} claims/s per core")
    person_year(write)
    boundary(write)
    for name, text in sorted(FIGURES.items()):
        write(f"  {name}: {text}")


def person_year(write: Any) -> None:
    """Time per claim of one person's year at two sizes, and of the same claims spread over
    as many persons (benchmarks/test_person_year.py): flat when the ledger is linear."""
    runs = sorted(
        (int(count), int(persons), median)
        for name, median in MEDIANS.items()
        if name.startswith("person_year/")
        for count, persons in [name.split("/")[1:]]
    )
    one = [(count, median) for count, persons, median in runs if persons == 1]
    spread = [median for count, persons, median in runs if persons == count]
    if len(one) < 2:
        return
    (small, first), (large, last) = one[0], one[-1]
    line = (
        f"  one person's year: {small:,} claims {first * 1e6:.0f} µs/claim, {large:,} claims "
        f"{last * 1e6:.0f} µs/claim ({last / first:.2f}×)"
    )
    if spread:
        line += f"; {large:,} claims of {large:,} persons {spread[0] * 1e6:.0f} µs/claim"
    write(line)


def boundary(write: Any) -> None:
    """The JSON boundary against the floor (benchmarks/test_boundary.py), per claim set."""
    sets = sorted({name.split("/")[1] for name in MINIMA if name.startswith("boundary/")})
    for claims in sets:
        stage = {
            name.split("/")[2]: median
            for name, median in MINIMA.items()
            if name.startswith(f"boundary/{claims}/")
        }
        if not {"floor", "loads", "validate", "adjudicate_json", "adjudicate"} <= set(stage):
            continue
        floor, json_out = stage["floor"], stage["adjudicate_json"]
        write(
            f"  boundary {claims} (fastest rounds): floor {floor * 1e6:.1f} µs/claim; "
            "adjudicate_json "
            f"{json_out / floor:.2f}× floor ({1 / json_out:,.0f} claims/s); adjudicate "
            f"{stage['adjudicate'] / json_out:.3f}× adjudicate_json; parse + validation "
            f"{stage['validate'] / stage['loads']:.2f}× orjson.loads"
        )
    one, batch_floor, core = (MEDIANS.get(f"batch/{name}") for name in ("1", "floor", "core"))
    if one and batch_floor:
        from benchmarks.claims import FULL

        short = "" if FULL else " (short mode: the start-up spread over 600 claims)"
        line = f"  batch --jobs 1: {one / batch_floor:.2f}× floor per claim{short}"
        if core:
            line += (
                f"; of it adjudicate_json of each claim once {core / batch_floor:.2f}× floor, "
                f"what the batch adds (ledger, index, files, start-up) "
                f"{(one - core) * 1e6:.1f} µs/claim"
            )
        write(line)
