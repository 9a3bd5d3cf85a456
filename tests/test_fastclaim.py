"""The fast validation path agrees with the pydantic contract: whatever it accepts, pydantic
accepts with equal values; whatever pydantic rejects, it doubts (and pydantic then reports)."""

from __future__ import annotations

import copy
import json
import os
import random
import re
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


def odd_value(rand: random.Random) -> Any:
    """One of ODD_VALUES, a copy: a later mutation may reach inside a list or dict it put in a
    claim, and a shared one would then change ODD_VALUES itself (at 30,000 mutations, a
    list that came to hold itself ended the test in a RecursionError)."""
    return copy.deepcopy(rand.choice(ODD_VALUES))


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
            parent[key + "_extra" if isinstance(key, str) else key] = odd_value(rand)
        else:
            parent[key] = odd_value(rand)
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


def as_json_text(data: Any) -> str:
    """A mutated claim as JSON text: decimals as JSON numbers (`NaN` as the bare word, which
    the exact parser reads and the contract refuses), everything else as json.dumps writes it."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"\x00{value}\x00"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(data), ensure_ascii=False)
    return re.sub(r'"\\u0000([^"]*)\\u0000"', r"\1", text)


def test_mutated_json_texts_agree_with_pydantic(valid: list[dict[str, Any]]) -> None:
    """The same on JSON text: msgspec decodes it (numbers exact, through its float hook)."""
    rand = random.Random(20250607)
    accepted = rejected = 0
    for _ in range(MUTATIONS):
        text = as_json_text(mutate(rand.choice(valid), rand))
        fast = fastclaim.fast_claim_from_json(text)
        try:
            slow = pydantic_outcome(parse_json(text))
        except ClaimRejected:
            slow = None
        if fast is not None:
            assert slow is not None, text
            assert as_plain(fast) == as_plain(slow), text
            accepted += 1
        rejected += slow is None
    assert accepted and rejected


def number_text(text: str, key: str, value: str) -> str:
    return re.sub(rf'"{key}": "[^"]*"', f'"{key}": {value}', text, count=1)


@pytest.mark.parametrize(
    ("key", "written", "read"),
    [
        ("amount", None, None),  # the claim's own amount, as a number
        ("quantity", "1.50", "1.50"),
        ("quantity", "1.5E+0", "1.5"),
        ("unit_price", "0.1000", "0.1000"),
    ],
)
def test_json_numbers_take_the_fast_path_exactly(
    valid: list[dict[str, Any]], key: str, written: str | None, read: str | None
) -> None:
    claim = copy.deepcopy(valid[0])
    item = claim["items"][0]
    if written is not None:  # keep amount = quantity × unit_price
        item[key] = read
        item["amount"] = str(
            (Decimal(item["quantity"]) * Decimal(item["unit_price"])).quantize(Decimal("0.01"))
        )
    text = json.dumps(claim, ensure_ascii=False)
    as_number = number_text(text, key, written or item[key])
    fast = fastclaim.fast_claim_from_json(as_number)
    assert fast is not None, "a JSON number is read exactly on the fast path"
    assert as_plain(fast) == as_plain(load_claim_slow(parse_json(as_number)))
    assert getattr(fast.items[0], key) == Decimal(read or item[key])


@pytest.mark.parametrize(
    "number",
    ["0.1000000000000000055511151231257827", "12.345", "1e400", "-1", "1.5e-7"],
)
def test_json_numbers_the_contract_refuses_leave_the_fast_path(
    valid: list[dict[str, Any]], number: str
) -> None:
    as_number = number_text(json.dumps(valid[0], ensure_ascii=False), "amount", number)
    assert fastclaim.fast_claim_from_json(as_number) is None
    with pytest.raises(ClaimRejected) as refused:
        load_claim(as_number)
    assert [e.path for e in refused.value.errors] == ["items[0].amount"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"id": ', '"id": "first", "id": '),  # the claim's own key
        ('"code": ', '"code": "X", "code": '),  # an item's
        ('"outpatient": ', '"outpatient": "1.00", "outpatient": '),  # a history map's
    ],
)
def test_duplicate_keys_are_refused(valid: list[dict[str, Any]], old: str, new: str) -> None:
    text = json.dumps(valid[0], ensure_ascii=False)
    assert old in text
    duplicated = text.replace(old, new, 1)
    assert fastclaim.fast_claim_from_json(duplicated) is None
    with pytest.raises(ClaimRejected, match="contract error") as refused:
        load_claim(duplicated)
    assert "appears twice" in refused.value.errors[0].message


def test_unknown_keys_are_ignored_off_the_json_fast_path(valid: list[dict[str, Any]]) -> None:
    """An unknown key is not counted, so the text leaves the JSON fast path (a repeat might
    hide behind it); the parsed object then takes the fast path for objects."""
    claim = copy.deepcopy(valid[0])
    claim["visit"]["note"] = {"any": ["thing"]}
    text = json.dumps(claim, ensure_ascii=False)
    assert fastclaim.fast_claim_from_json(text) is None
    assert fastclaim.fast_claim(parse_json(text)) == load_claim(text)
    assert parse_json(text) == json.loads(text, parse_float=Decimal)


def test_a_lone_surrogate_in_an_object_leaves_the_fast_path(valid: list[dict[str, Any]]) -> None:
    claim = copy.deepcopy(valid[0])
    claim["items"][0]["code"] = "A\udc00"
    assert fastclaim.fast_claim(claim) is None
    assert fastclaim.fast_claim_from_json(json.dumps(claim)) is None
    with pytest.raises(ClaimRejected) as refused:
        load_claim(claim)
    assert [e.path for e in refused.value.errors] == ["items[0].code"]


def test_a_number_and_a_string_share_the_cache_only_where_they_agree(
    valid: list[dict[str, Any]],
) -> None:
    """Money as a JSON number and as a string are read through one cache of texts (issue 19:
    numbers took twice as long): a plain number (2.50) has the value of the string "2.50",
    while a number with an exponent is read without the cache, and its text as a string is
    still refused — whichever comes first."""
    claim = copy.deepcopy(valid[0])
    item = claim["items"][0]
    item["quantity"], item["unit_price"] = "2", "1.25"
    item["amount"] = "2.50"
    text = json.dumps(claim, ensure_ascii=False)
    for key, number in (("quantity", "2E+0"), ("amount", "2.50"), ("amount", "25E-1")):
        as_number = number_text(text, key, number)
        as_string = text.replace(f'"{key}": "{item[key]}"', f'"{key}": "{number}"', 1)
        for _ in range(2):  # the second time from the cache
            fast = fastclaim.fast_claim_from_json(as_number)
            assert fast is not None
            assert as_plain(fast) == as_plain(load_claim_slow(parse_json(as_number)))
            refused = "E" in number
            assert (fastclaim.fast_claim_from_json(as_string) is None) == refused


def test_an_items_cached_figures_are_found_only_by_values_of_their_types(
    valid: list[dict[str, Any]],
) -> None:
    """An item's quantity, unit price and amount are kept, once checked, by their values as
    written (issue 19); `true` and Decimal("1.0") equal the whole number 1 in Python, so an
    entry holding a whole number is found only by values of the same types."""
    claim = copy.deepcopy(valid[0])
    item = claim["items"][0]
    item["quantity"], item["unit_price"], item["amount"] = 1, "3.00", "3.00"
    assert fastclaim.fast_claim(claim) is not None  # kept with the whole number 1
    assert fastclaim.fast_claim_from_json(json.dumps(claim)) is not None
    item["quantity"] = True
    assert fastclaim.fast_claim(claim) is None
    assert fastclaim.fast_claim_from_json(json.dumps(claim)) is None
    assert pydantic_outcome(claim) is None
    item["quantity"] = Decimal("1.0")
    fast = fastclaim.fast_claim(claim)
    assert fast is not None
    assert str(fast.items[0].quantity) == "1.0"  # the digits as written, as pydantic keeps them
    assert as_plain(fast) == as_plain(load_claim_slow(claim))


def test_an_items_figures_given_as_decimals_keep_their_digits(
    valid: list[dict[str, Any]],
) -> None:
    """A parsed object's money may be Decimals, and equal Decimals may be written with other
    digits (1.5, 1.50): the record keeps each as given, as pydantic does, so they are never
    found among the figures kept from an earlier item."""
    claim = copy.deepcopy(valid[0])
    item = claim["items"][0]
    item["quantity"], item["amount"] = 2, "3.00"
    for price in (Decimal("1.5"), Decimal("1.50"), Decimal("1.500")):
        item["unit_price"] = price
        fast = fastclaim.fast_claim(claim)
        assert fast is not None
        assert str(fast.items[0].unit_price) == str(price)
        assert as_plain(fast) == as_plain(load_claim_slow(claim))
