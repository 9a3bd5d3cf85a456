"""Small helpers shared by the test modules (fixtures live beside their tests)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
EXAMPLES = ROOT / "examples"

# The property and differential tests: examples per test from POLICYENGINE_FUZZ_EXAMPLES.
FUZZ = settings(
    max_examples=int(os.environ.get("POLICYENGINE_FUZZ_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def example_claim() -> dict[str, Any]:
    """The spec's example claim (../shared/spec/claims.md §1, with its second line)."""
    return json.loads((EXAMPLES / "claim.json").read_text(encoding="utf-8"))


def claim(**changes: Any) -> dict[str, Any]:
    """A small valid Tianjin outpatient claim; keyword arguments replace top-level parts."""
    base = example_claim()
    base.pop("history")
    base["items"] = [
        {
            "line": 1,
            "code": "001101000010000",
            "kind": "service",
            "quantity": "1",
            "unit_price": "1000.00",
            "amount": "1000.00",
        },
    ]
    for key, value in changes.items():
        base[key] = copy.deepcopy(value)
    return base


EMPLOYEE = {
    "id": "P",
    "scheme": "employee",
    "status": "working",
    "birth_date": "1970-01-01",
    "sex": "male",
}


def outpatient_claim(
    claim_id: str,
    region: str,
    items: list[dict[str, Any]],
    *,
    level: int = 3,
    diagnoses: tuple[str, ...] = ("E11.900",),
    person: dict[str, Any] = EMPLOYEE,
    title: str = "chief",
) -> dict[str, Any]:
    """An outpatient claim on 2024-03-05 (a working employee by default) with these lines."""
    return {
        "id": claim_id,
        "region": region,
        "person": copy.deepcopy(person),
        "visit": {
            "type": "outpatient",
            "date": "2024-03-05",
            "hospital": {"id": "H", "level": level, "kind": "general"},
            "doctor": {"id": "D", "title": title},
            "diagnoses": list(diagnoses),
        },
        "items": items,
    }


def priced_lines(
    codes: list[tuple[str, str]], unit_price: str, amount: str
) -> list[dict[str, Any]]:
    """One line of quantity 1 per (code, kind), numbered from 1."""
    return [
        {
            "line": n,
            "code": code,
            "kind": kind,
            "quantity": "1",
            "unit_price": unit_price,
            "amount": amount,
        }
        for n, (code, kind) in enumerate(codes, start=1)
    ]


def over_limit_claim(region: str) -> dict[str, Any]:
    """A capped drug (达格列净, payment standard 4.36) × 0.333 = 1.45188, billed 1.45: over_limit
    is max(0, fen(1.45 − 1.45188)), which rounds to −0.00 and must be written 0.00."""
    line = {
        "line": 1,
        "code": "XA10BKD104A001010001010",
        "kind": "drug",
        "quantity": "0.333",
        "unit_price": "4.36",
        "amount": "1.45",
    }
    return outpatient_claim("OVER", region, [line])


def first_difference(a: Any, b: Any, path: str) -> str:
    """The path of the first difference and the two values (interpreter first)."""
    if type(a) is not type(b):
        return f"{path}: {a!r} ≠ {b!r}"
    if isinstance(a, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if a.get(key) != b.get(key):
                return first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list):
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return first_difference(x, y, f"{path}[{index}]")
        if len(a) != len(b):
            return f"{path}: {len(a)} items ≠ {len(b)} items"
    return f"{path}: {a!r} ≠ {b!r}"


def city_directory(root: Path, header: str, rules: str, document: str) -> Path:
    """A small policy `city` under `root` beside the bundled national layer: its header,
    `rules` as city/rules.policy and `document` as its one held source (sources/doc.md);
    the directory, to check."""
    import shutil

    shutil.copytree(POLICIES / "national", root / "national", dirs_exist_ok=True)
    directory = root / "city"
    (directory / "sources").mkdir(parents=True, exist_ok=True)
    (directory / "sources" / "doc.md").write_text(document, encoding="utf-8")
    (directory / "policy.policy").write_text(header, encoding="utf-8")
    (directory / "rules.policy").write_text(rules, encoding="utf-8")
    return directory
