"""One person's year in batch: time per claim as the year fills up.

A person's claims are settled in date order with the ledger (ledger.py). The ledger used to
hand every claim the whole year so far, and the duplicate checks scanned all of it: 250
claims of one person took 2.6 s, 2,000 took 186 s. Now each claim reads a sliding window
of what can still match, indexed by generic, so the time per claim stays flat — the report
compares 250 and 2,000 claims of one person with the same 2,000 claims spread over 2,000
persons (no ledger at all), measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.claims import FULL
from policyengine.batch.options import BatchOptions
from policyengine.batch.worker import settle_group
from policyengine.engine import Engine
from tests.support import example_claim

SIZES = (250, 2000) if FULL else (25, 200)
DRUGS = (  # ten generics, a day's supply each: every claim adds ten dispensing records
    "XC08CAA001A001010001001",
    "XC09CAE012A001010001003",
    "XA10BAE054A001010001005",
    "XJ01CAA040A001010001013",
    "XJ01DDT094A001010001014",
    "XJ01XAT055A001010001015",
    "XM01AEB014A001010001016",
    "XB01ACA056A001010001017",
    "XA11GAW043A001010001021",
    "XN06BXC012A001010001024",
)


def year_of_claims(count: int, persons: int) -> list[list[tuple[int, bytes]]]:
    """`count` claims spread evenly over 2024, of `persons` persons: the same work per claim
    whatever the split (a day's supply is never a duplicate the next day)."""
    base = example_claim()
    base.pop("history")
    base["items"] = [
        {
            "line": line,
            "code": code,
            "kind": "drug",
            "quantity": "1",
            "unit_price": "2.00",
            "amount": "2.00",
            "days_supply": 1,
        }
        for line, code in enumerate(DRUGS, start=1)
    ]
    groups: list[list[tuple[int, bytes]]] = [[] for _ in range(persons)]
    for index in range(count):
        claim: dict[str, Any] = json.loads(json.dumps(base))
        claim["id"] = f"C{index}"
        claim["person"]["id"] = f"P{index % persons}"
        claim["visit"]["date"] = (
            dt.date(2024, 1, 1) + dt.timedelta(index * 365 // count)
        ).isoformat()
        groups[index % persons].append((index, json.dumps(claim).encode()))
    return groups


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.mark.parametrize(
    ("count", "persons"),
    [*((size, 1) for size in SIZES), (SIZES[-1], SIZES[-1])],
    ids=[*(f"{size}-claims-one-person" for size in SIZES), f"{SIZES[-1]}-persons"],
)
def test_person_year(benchmark: Any, record: Any, engine: Engine, count: int, persons: int) -> None:
    groups = year_of_claims(count, persons)
    options = BatchOptions(input=Path("claims.jsonl"), output=Path("results.jsonl"))

    def settle_all() -> int:
        return sum(
            settled.result is not None
            for group in groups
            for settled in settle_group(engine, options, group)
        )

    benchmark.group = "person year"
    settled = benchmark.pedantic(settle_all, rounds=3 if FULL else 1)
    assert settled == count
    record(f"person_year/{count}/{persons}", benchmark, per=count)
