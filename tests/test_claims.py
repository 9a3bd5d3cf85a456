"""The claim contract: exact money, every problem reported at once with its JSON path."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from policyengine.contract.claims import ClaimRejected, exact_decimal, load_claim, parse_json
from tests.support import claim, example_claim


def errors_of(data: object) -> dict[str, str]:
    with pytest.raises(ClaimRejected) as raised:
        load_claim(data)
    return {e.path: e.message for e in raised.value.errors}


def test_the_spec_example_is_valid() -> None:
    parsed = load_claim(example_claim())
    assert parsed.items[0].amount == Decimal("1.68")
    assert parsed.history.paid == {"outpatient": Decimal("1200.00")}


def test_json_numbers_are_parsed_exactly_not_through_float() -> None:
    data = example_claim()
    text = (
        json.dumps(data)
        .replace('"unit_price": "0.12"', '"unit_price": 0.12')
        .replace('"amount": "1.68"', '"amount": 1.68')
    )
    parsed = load_claim(text)
    assert parsed.items[0].unit_price == Decimal("0.12")
    assert type(parsed.items[0].amount) is Decimal and str(parsed.items[0].amount) == "1.68"


def test_floats_from_python_are_refused() -> None:
    data = example_claim()
    data["items"][0]["amount"] = 1.68
    assert "binary floating point" in errors_of(data)["items[0].amount"]


def test_every_problem_is_reported_with_its_path() -> None:
    data = example_claim()
    data["items"][0]["amount"] = "1.69"
    data["items"].append(dict(data["items"][1]))
    data["person"]["status"] = None
    data["visit"]["date"] = "2024-02-30"
    data["visit"]["hospital"]["level"] = "3"
    del data["person"]["sex"]
    errors = errors_of(data)
    assert errors == {
        "person.status": "required for employees (working or retired)",
        "person.sex": "Field required",
        "visit.date": "'2024-02-30' is not a date that exists",
        "visit.hospital.level": "Input should be a valid integer",
        "items[0].amount": "1.69 is not quantity × unit_price = 14 × 0.12 = 1.68",
        "items[2].line": "line 2 repeats items[1].line",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1.00", "'-1.00' is not a plain decimal number such as 12.34"),
        ("1e3", "'1e3' is not a plain decimal number such as 12.34"),
        ("1.005", "has more than 2 decimal places"),
        (Decimal("1E+400"), "is too large (at most 10 digits before the point)"),
        (True, "expected a decimal number"),
        ("12,50", "'12,50' is not a plain decimal number such as 12.34"),
    ],
)
def test_bad_money(value: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        exact_decimal(value, 2)


def test_exponent_notation_of_a_json_number_keeps_its_exact_value() -> None:
    assert exact_decimal(Decimal("1.5E+2"), 2) == Decimal(150)


def test_nan_and_infinity_are_reported_by_path() -> None:
    text = json.dumps(claim()).replace('"amount": "1000.00"', '"amount": NaN')
    assert errors_of(text) == {"items[0].amount": "NaN is not a number"}


def test_null_counts_as_absent_and_unknown_keys_are_ignored() -> None:
    data = claim(history=None)
    data["person"]["groups"] = None
    data["surprise"] = {"nested": [1, 2, 3]}
    parsed = load_claim(data)
    assert parsed.person.groups == ()
    assert parsed.history.admissions == 0


def test_empty_items_and_a_birth_after_the_visit() -> None:
    assert errors_of(claim(items=[])) == {"items": "a claim has at least one item"}
    data = claim()
    data["person"]["birth_date"] = "2030-01-01"
    assert errors_of(data) == {"person.birth_date": "2030-01-01 is after the visit date 2024-03-05"}


def test_malformed_json_and_duplicate_keys() -> None:
    with pytest.raises(ClaimRejected) as raised:
        parse_json('{"id": "x", "id": "y"}')
    assert raised.value.errors[0].message == "key 'id' appears twice in one object"
    with pytest.raises(ClaimRejected) as raised:
        parse_json("[" * 100_000 + "]" * 100_000)
    assert raised.value.errors[0].message == "JSON nested too deeply"


def test_residents_need_no_status() -> None:
    data = claim()
    data["person"] = {**data["person"], "scheme": "resident"}
    del data["person"]["status"]
    assert load_claim(data).person.status is None
