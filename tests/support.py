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
