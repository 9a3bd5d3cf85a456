"""Small helpers shared by the test modules (fixtures live beside their tests)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
EXAMPLES = ROOT / "examples"


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


def over_limit_claim(region: str) -> dict[str, Any]:
    """A capped drug (达格列净, payment standard 4.36) × 0.333 = 1.45188, billed 1.45: over_limit
    is max(0, fen(1.45 − 1.45188)), which rounds to −0.00 and must be written 0.00."""
    return {
        "id": "OVER",
        "region": region,
        "person": {
            "id": "P",
            "scheme": "employee",
            "status": "working",
            "birth_date": "1970-01-01",
            "sex": "male",
        },
        "visit": {
            "type": "outpatient",
            "date": "2024-03-05",
            "hospital": {"id": "H", "level": 3, "kind": "general"},
            "doctor": {"id": "D", "title": "chief"},
            "diagnoses": ["E11.900"],
        },
        "items": [
            {
                "line": 1,
                "code": "XA10BKD104A001010001010",
                "kind": "drug",
                "quantity": "0.333",
                "unit_price": "4.36",
                "amount": "1.45",
            }
        ],
    }
