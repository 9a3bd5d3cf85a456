"""The benchmark claims: generated with `policyengine generate`, resized to 1, 10 and 100
items, and given histories (paid, deductibles met, self-burden, admissions, dispensing
and service history) so that every step of settlement does its work."""

from __future__ import annotations

import functools
import json
import os
import random
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from policyengine.contract.claims import Claim, load_claim
from policyengine.tools.generate import generate

FULL = os.environ.get("POLICYENGINE_BENCH") == "full"
SIZES = (1, 10, 100)
COUNT = 200 if FULL else 12  # claims per set
ITEMS = (
    ("001101000010000", "service", "10.00", None),
    ("002501010150000", "service", "25.00", None),
    ("002503040250000", "service", "60.00", None),
    ("002102000010000", "service", "300.00", None),
    ("XJ01CAA040A001010001013", "drug", "12.50", 5),
    ("XM01AEB014A001010001016", "drug", "18.00", 5),
    ("XA11GAW043A001010001021", "drug", "3.20", 6),
    ("XB01ACA056A001010001017", "drug", "14.00", 7),
    ("XJ01DDT094A001010001014", "drug", "30.00", 5),
    ("XC08CAA001A001010001001", "drug", "0.20", 7),
    ("XA10BAE054A001010001005", "drug", "0.12", 7),
    ("XC09CAE012A001010001003", "drug", "1.10", 7),
    ("C0310101001000", "material", "5.00", None),
    ("001103000010000", "bed", "70.00", None),
    ("XJ01XAT055A001010001015", "drug", "150.00", None),
    ("XN06BXC012A001010001024", "drug", "2.50", 7),
)


def _resize(claim: dict[str, Any], size: int, rand: random.Random) -> dict[str, Any]:
    items = []
    # distinct items where the claim is small enough, as a real visit bills each item once;
    # a 100-item claim repeats items (and its repeated drugs are found as duplicates)
    picks = (
        rand.sample(ITEMS, size)
        if size <= len(ITEMS)
        else [rand.choice(ITEMS) for _ in range(size)]
    )
    for line, (code, kind, price, days) in enumerate(picks, start=1):
        quantity = rand.randint(1, 4)
        amount = (Decimal(price) * quantity).quantize(Decimal("0.01"), ROUND_HALF_UP)
        item = {
            "line": line,
            "code": code,
            "kind": kind,
            "quantity": str(quantity),
            "unit_price": price,
            "amount": str(amount),
        }
        if days and claim["visit"]["type"] != "inpatient":
            item["days_supply"] = days
        items.append(item)
    claim["items"] = items
    return claim


def _history(claim: dict[str, Any], rand: random.Random) -> dict[str, Any]:
    date = claim["visit"]["date"]
    return {
        "paid": {
            "outpatient": f"{rand.randint(0, 3000)}.00",
            "inpatient": f"{rand.randint(0, 50000)}.00",
        },
        "deductible_met": {"outpatient": f"{rand.choice((0, 200, 800))}.00"},
        "self_burden": {"inpatient": f"{rand.choice((0, 15000, 60000))}.00"},
        "admissions": rand.choice((0, 0, 1, 2)),
        "dispensed": [
            {"code": rand.choice(ITEMS[4:12])[0], "date": date, "days_supply": 1} for _ in range(3)
        ],
        "services": [{"code": "002501010150000", "date": "2024-01-02"}],
    }


@functools.cache
def claim_dicts(region: str, size: int, visits: tuple[str, ...]) -> tuple[str, ...]:
    """JSON texts of COUNT claims of `size` items whose visit type is in `visits`."""
    rand = random.Random(f"{region}-{size}-{visits}")
    out: list[str] = []
    for claim in generate(region, 4000, seed=11, year=2024):
        if claim["visit"]["type"] not in visits or (
            region == "tianjin" and claim["visit"]["type"] == "two_disease"
        ):
            continue
        resized = _resize(claim, size, rand)
        resized["history"] = _history(resized, rand)
        out.append(json.dumps(resized, ensure_ascii=False))
        if len(out) == COUNT:
            break
    return tuple(out)


@functools.cache
def claims(region: str, size: int, visits: tuple[str, ...]) -> tuple[Claim, ...]:
    return tuple(load_claim(text) for text in claim_dicts(region, size, visits))


BASELINE_VISITS = ("outpatient", "inpatient")
ALL_VISITS = ("outpatient", "special_outpatient", "two_disease", "inpatient")


# ------------------------------------------------------------------ the boundary's claim sets
# (issue 19): each benchmarked against the floor, an orjson round trip of the same texts

_NUMBER_KEYS = "quantity|unit_price|amount|inpatient|outpatient|special_outpatient|two_disease"


def _money_as_numbers(text: str) -> str:
    """`text` with its money, quantities and prices as JSON numbers (the contract allows both)."""
    return re.sub(rf'"({_NUMBER_KEYS})": "([0-9]+(?:\.[0-9]+)?)"', r'"\1": \2', text)


@functools.cache
def boundary_set(name: str) -> tuple[str, ...]:
    """`outpatient`: 10-item outpatient claims with history; `year`: claims of a generated
    year of both cities, as `policyengine generate` writes them; `mixed`: every visit type of
    both cities with history, half of them with money as JSON numbers."""
    if name == "outpatient":
        return claim_dicts("tianjin", 10, ("outpatient",))
    if name == "year":
        count = COUNT * 4
        cities = [generate(region, count, seed=5, year=2024) for region in ("tianjin", "quanzhou")]
        return tuple(
            json.dumps(claim, ensure_ascii=False)
            for pair in zip(*cities, strict=False)
            for claim in pair
        )[:count]
    texts = [t for region in ("tianjin", "quanzhou") for t in claim_dicts(region, 10, ALL_VISITS)]
    return tuple(_money_as_numbers(t) if i % 2 else t for i, t in enumerate(texts))


BOUNDARY_SETS = ("outpatient", "year", "mixed")
