"""The fast validation path agrees with the pydantic contract: whatever it accepts, pydantic
accepts with equal values; whatever pydantic rejects, it doubts (and pydantic then reports)."""

from __future__ import annotations

import copy
import json
import os
import random
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from policyengine.contract import fastclaim
from policyengine.contract.claims import Claim, ClaimRejected, load_claim, parse_json
from policyengine.tools.generate import generate

MUTATIONS = int(os.environ.get("POLICYENGINE_FUZZ_EXAMPLES", "1500"))
ODD_VALUES: list[Any] = [
    None,
    "",
    " ",
    "1e3",
    "+1",
    "-1",
    "1_000",
    ".5",
    "5.",
    "１２",
    "NaN",
    "1.005",
    "12345678901.00",
    0,
    -1,
    1,
    2.5,
    True,
    False,
    [],
    {},
    [1],
    {"a": 1},
    "2024-02-30",
    "2024-2-3",
    "2024-02-03T00:00:00",
    "x" * 200,
    Decimal("1.5E+2"),
    Decimal("-0"),
    Decimal("NaN"),
    10**12,
    "employee",
    "outpatient",
]


def as_plain(value: Any) -> Any:
    """Both kinds of claim as plain data, for comparison."""
    if hasattr(value, "model_dump"):
        return as_plain(value.model_dump())
    if hasattr(value, "_asdict"):
        return {k: as_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: as_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_plain(v) for v in value]
    return value


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += paths(value, (*prefix, index))
    return out


def mutate(claim: dict[str, Any], rand: random.Random) -> dict[str, Any]:
    claim = copy.deepcopy(claim)
    for _ in range(rand.randint(1, 3)):
        path = rand.choice(paths(claim))
        parent = claim
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        action = rand.random()
        if action < 0.15 and isinstance(parent, dict):
            del parent[key]
        elif action < 0.25 and isinstance(parent, dict):
            parent[key + "_extra" if isinstance(key, str) else key] = rand.choice(ODD_VALUES)
        else:
            parent[key] = rand.choice(ODD_VALUES)
    return claim


def pydantic_outcome(data: Any) -> Any:
    try:
        return load_claim_slow(data)
    except (ClaimRejected, ValidationError):
        return None


def load_claim_slow(data: Any) -> Claim:
    """The pydantic path alone (what load_claim does when the fast path doubts)."""
    from policyengine.contract import claims

    original = fastclaim.fast_claim
    claims.fastclaim.fast_claim = lambda _data: None  # type: ignore[assignment]
    try:
        return load_claim(data)
    finally:
        claims.fastclaim.fast_claim = original


@pytest.fixture(scope="module")
def valid() -> list[dict[str, Any]]:
    claims = list(generate("tianjin", 30, seed=4)) + list(generate("quanzhou", 30, seed=4))
    for index, claim in enumerate(claims):
        if index % 3 == 0:
            claim["history"] = {
                "paid": {"outpatient": "12.50"},
                "deductible_met": {"outpatient": 3},
                "self_burden": {"inpatient": "100"},
                "admissions": 1,
                "dispensed": [{"code": "X", "date": "2024-01-01", "days_supply": 3}],
                "services": [{"code": "S", "date": "2024-01-01"}],
            }
    return claims


def test_valid_claims_take_the_fast_path_with_pydantics_values(valid: list[dict[str, Any]]) -> None:
    for claim in valid:
        fast = fastclaim.fast_claim(claim)
        assert fast is not None, claim["id"]
        assert as_plain(fast) == as_plain(load_claim_slow(claim))
        text = json.dumps(claim, ensure_ascii=False)
        assert as_plain(fastclaim.fast_claim_from_json(text)) == as_plain(fast)


def test_mutated_claims_agree_with_pydantic(valid: list[dict[str, Any]]) -> None:
    rand = random.Random(20241122)
    accepted = rejected = 0
    for _ in range(MUTATIONS):
        data = mutate(rand.choice(valid), rand)
        fast = fastclaim.fast_claim(data)
        slow = pydantic_outcome(data)
        if fast is not None:
            assert slow is not None, data
            assert as_plain(fast) == as_plain(slow), data
            accepted += 1
        rejected += slow is None
    assert accepted and rejected  # the mutations exercised both sides


def test_json_numbers_and_duplicate_keys_leave_the_fast_path(valid: list[dict[str, Any]]) -> None:
    text = json.dumps(valid[0], ensure_ascii=False)
    item = valid[0]["items"][0]
    as_number = text.replace(f'"amount": "{item["amount"]}"', f'"amount": {item["amount"]}', 1)
    assert (
        fastclaim.fast_claim_from_json(as_number) is None
    )  # a float in orjson: parse exactly instead
    assert load_claim(as_number).items[0].amount == Decimal(item["amount"])
    duplicated = text.replace('"id": ', '"id": "first", "id": ', 1)
    assert fastclaim.fast_claim_from_json(duplicated) is None
    with pytest.raises(ClaimRejected, match="contract error"):
        load_claim(duplicated)
    assert parse_json(text) == json.loads(text, parse_float=Decimal)
