"""The fast path of claim validation: frozen slotted objects for claims that are plainly valid.

`fast_claim(data)` accepts a parsed JSON object only when every part is certainly valid
under the contract (claims.py states the rules; the pydantic models there are the
reference), and returns None at the first doubt — the caller then validates with pydantic,
which reports every problem with its path. So the fast path never decides an error, it only
skips the slow path for good claims; tests/test_fastclaim.py checks that whatever it accepts,
pydantic accepts with the same values.

The records are contract/records.py's NamedTuples, re-exported here.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from policyengine.contract.limits import MAX_DIAGNOSES, MAX_HISTORY_ENTRIES, MAX_ITEMS
from policyengine.contract.records import (
    EMPTY_HISTORY,
    Certification,
    Claim,
    Dispensed,
    Doctor,
    History,
    Hospital,
    Item,
    Person,
    Referral,
    SelfBurden,
    ServiceRecord,
    Visit,
    from_model,
)
from policyengine.semantics import vocabulary
from policyengine.semantics.money import fen, to_places

MONEY_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?").fullmatch
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
LIMIT = Decimal(10) ** 10
# The contract's enums as sets, for membership tests (their words: semantics/vocabulary.py).
SCHEMES = frozenset(vocabulary.SCHEMES)
STATUSES = frozenset(vocabulary.STATUSES)
SEXES = frozenset(vocabulary.SEXES)
GROUPS = frozenset(vocabulary.GROUPS)
PROGRAMMES = frozenset(vocabulary.PROGRAMMES)
TITLES = frozenset(vocabulary.TITLES)
VISITS = frozenset(vocabulary.VISITS)
KINDS = frozenset(vocabulary.HOSPITAL_KINDS)
ITEM_KINDS = frozenset(vocabulary.ITEM_KINDS)
PAID = frozenset(vocabulary.PAID_POOLS)
MET = frozenset(vocabulary.DEDUCTIBLE_POOLS)
PLACES = frozenset(vocabulary.PLACES)
LEVEL_RANGE = (min(vocabulary.LEVELS), max(vocabulary.LEVELS))


class _Doubt(Exception):
    """Not certainly valid: let pydantic decide."""


def fast_claim(data: Any) -> Claim | None:
    return _checked(data)[0]


def fast_claim_from_json(text: str | bytes) -> Claim | None:
    """Parse with orjson and take the fast path, or None (then parse exactly and validate).

    orjson turns a fractional JSON number into a float, which the fast path doubts; and the
    `":` in the text must number exactly the keys the fast path saw, so that a repeated key
    (which a parser silently collapses) always takes the slow path, where it is an error."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    claim, keys = _checked(data)
    marker = b'":' if isinstance(text, bytes) else '":'
    if claim is None or text.count(marker) != keys:  # type: ignore[arg-type]
        return None
    return claim


def _checked(data: Any) -> tuple[Claim | None, int]:
    counter = [0]
    _KEYS.counter = counter
    try:
        return _claim(data), counter[0]
    except (_Doubt, KeyError, TypeError, AttributeError, ValueError, InvalidOperation):
        return None, 0


# ------------------------------------------------------------------ scalars


def _text(value: Any, limit: int = 128) -> str:
    if type(value) is not str or not 0 < len(value) <= limit:
        raise _Doubt
    if not value.isascii() and not is_unicode_text(value):
        raise _Doubt
    return value


def is_unicode_text(value: str) -> bool:
    """False for a string holding a lone surrogate (a JSON `\\ud800` escape without its
    pair): it has no UTF-8 form, so no result or record could carry it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def escape_surrogates(text: str) -> str:
    """`text` with any lone surrogate written as its backslash escape: what an error
    message or record quoting the input can always carry."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _optional_text(data: dict[str, Any], key: str, limit: int = 128) -> str | None:
    value = data.get(key)
    return None if value is None else _text(value, limit)


def _choice(value: Any, choices: frozenset[str]) -> str:
    if type(value) is not str or value not in choices:
        raise _Doubt
    return value


def _int(value: Any, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise _Doubt
    return value


_DATES: dict[str, dt.date] = {}  # a claim file repeats few dates: parse each once


def _date(value: Any) -> dt.date:
    day = _DATES.get(value)
    if day is not None:
        return day
    if type(value) is not str or not DATE_TEXT(value):
        raise _Doubt
    day = dt.date.fromisoformat(value)
    if len(_DATES) < 20_000:
        _DATES[value] = day
    return day


def _decimal(value: Any, places: int) -> Decimal:
    kind = type(value)
    if kind is str:
        # the usual case without a regex: ASCII digits, at most 10 before the point and the
        # field's decimals after it (anything else takes the general check below)
        whole, dot, fraction = value.partition(".")
        if (
            0 < len(whole) <= 10
            and value.isascii()
            and whole.isdigit()
            and (not dot or (0 < len(fraction) <= places and fraction.isdigit()))
        ):
            if places != 2 or len(fraction) == 2:
                return Decimal(value)
            return fen(Decimal(value))  # exact: it has one decimal or none
        if not MONEY_TEXT(value):
            raise _Doubt
        number = Decimal(value)
    elif kind is int and value >= 0:
        number = Decimal(value)
    elif kind is Decimal:
        number = value
        if not number.is_finite() or number < 0:
            raise _Doubt
    else:
        raise _Doubt
    if number and number.adjusted() >= 10:
        raise _Doubt
    rounded = to_places(number, places)
    if rounded != number:
        raise _Doubt
    return rounded if places == 2 else number


class _KeyCount(threading.local):
    counter: list[int]


_KEYS = _KeyCount()


def _mapping(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Doubt
    _KEYS.counter[0] += len(value)
    return value


def _diagnoses(value: Any) -> list[Any]:
    if value is None or type(value) is not list or len(value) > MAX_DIAGNOSES:
        raise _Doubt
    return value


def _entries(value: Any) -> list[Any]:
    entries = _sequence(value)
    if len(entries) > MAX_HISTORY_ENTRIES:
        raise _Doubt
    return entries


def _sequence(value: Any) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise _Doubt
    return value


# ------------------------------------------------------------------ parts


def _claim(data: Any) -> Claim:
    data = _mapping(data)
    person = _person(_mapping(data["person"]))
    visit = _visit(_mapping(data["visit"]))
    if person.birth_date > visit.date:
        raise _Doubt
    raw_items = _sequence(data["items"])
    if not 0 < len(raw_items) <= MAX_ITEMS:
        raise _Doubt
    items = tuple(_item(_mapping(raw)) for raw in raw_items)
    if len({item.line for item in items}) != len(items):
        raise _Doubt
    history = data.get("history")
    region = data.get("region")
    return Claim(
        _text(data["id"]),
        None if region is None else _text(region),
        person,
        visit,
        items,
        EMPTY_HISTORY if history is None else _history(_mapping(history)),
    )


def _person(data: dict[str, Any]) -> Person:
    scheme = _choice(data["scheme"], SCHEMES)
    status = data.get("status")
    if status is None:
        if scheme == "employee":
            raise _Doubt
    else:
        _choice(status, STATUSES)
    groups = tuple(_choice(g, GROUPS) for g in _sequence(data.get("groups")))
    certifications = tuple(
        _certification(_mapping(c)) for c in _sequence(data.get("certifications"))
    )
    tier = data.get("tier")
    enrolled = data.get("enrolled_years")
    return Person(
        _text(data["id"]),
        scheme,
        status,
        _date(data["birth_date"]),
        _choice(data["sex"], SEXES),
        groups,
        certifications,
        None if tier is None else _text(tier),
        None if enrolled is None else _int(enrolled, 0, vocabulary.MAX_ENROLLED_YEARS),
    )


def _certification(data: dict[str, Any]) -> Certification:
    title = data.get("doctor_title")
    return Certification(
        _text(data["condition"]),
        _choice(data["programme"], PROGRAMMES),
        _date(data["since"]),
        None if title is None else _choice(title, TITLES),
        _optional_text(data, "hospital_id"),
    )


def _visit(data: dict[str, Any]) -> Visit:
    kind = _choice(data["type"], VISITS)
    date = _date(data["date"])
    admitted_raw = data.get("admitted")
    admitted = None if admitted_raw is None else _date(admitted_raw)
    if kind == "inpatient" and admitted is not None and admitted > date:
        raise _Doubt
    doctor = _mapping(data["doctor"])
    place = data.get("place")
    filed = data.get("filed")
    referral = data.get("referral")
    department = data.get("department")
    return Visit(
        kind,
        date,
        admitted,
        _hospital(_mapping(data["hospital"])),
        Doctor(_text(doctor["id"]), _choice(doctor["title"], TITLES)),
        tuple(_text(d, 32) for d in _diagnoses(data["diagnoses"])),
        "local" if place is None else _choice(place, PLACES),
        True if filed is None else _bool(filed),
        None if referral is None else _referral(_mapping(referral)),
        None if department is None else _text(department),
    )


def _hospital(data: dict[str, Any]) -> Hospital:
    return Hospital(
        _text(data["id"]), _int(data["level"], *LEVEL_RANGE), _choice(data["kind"], KINDS)
    )


def _referral(data: dict[str, Any]) -> Referral:
    return Referral(_hospital(_mapping(data["from"])), _bool(data["within_alliance"]))


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Doubt
    return value


def _item(data: dict[str, Any]) -> Item:
    quantity = _decimal(data["quantity"], 3)
    price = _decimal(data["unit_price"], 4)
    amount = _decimal(data["amount"], 2)
    if not quantity or fen(quantity * price) != amount:
        raise _Doubt
    days = data.get("days_supply")
    name = data.get("name")
    return Item(
        _int(data["line"], 1, 2**63),
        _text(data["code"], 64),
        None if name is None else (name if type(name) is str else _doubt()),
        _choice(data["kind"], ITEM_KINDS),
        quantity,
        price,
        amount,
        None if days is None else _int(days, 0, 3660),
    )


def _doubt() -> str:
    raise _Doubt


def _optional_mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return {} if value is None else _mapping(value)


def _history(data: dict[str, Any]) -> History:
    paid = {_choice(k, PAID): _decimal(v, 2) for k, v in _optional_mapping(data, "paid").items()}
    met = {
        _choice(k, MET): _decimal(v, 2)
        for k, v in _optional_mapping(data, "deductible_met").items()
    }
    burden_raw = _optional_mapping(data, "self_burden").get("inpatient")
    burden = Decimal("0.00") if burden_raw is None else _decimal(burden_raw, 2)
    admissions = data.get("admissions")
    dispensed = tuple(
        Dispensed(_text(d["code"], 64), _date(d["date"]), _int(d["days_supply"], 0, 3660))
        for d in map(_mapping, _entries(data.get("dispensed")))
    )
    services = tuple(
        ServiceRecord(_text(s["code"], 64), _date(s["date"]))
        for s in map(_mapping, _entries(data.get("services")))
    )
    pooled = {
        _choice(k, VISITS): _decimal(v, 2) for k, v in _optional_mapping(data, "pooled").items()
    }
    year_start = data.get("benefit_year_start")
    return History(
        paid,
        met,
        SelfBurden(burden),
        0 if admissions is None else _int(admissions, 0, vocabulary.MAX_ADMISSIONS),
        dispensed,
        services,
        pooled,
        None if year_start is None else _date(year_start),
    )


__all__ = [
    "EMPTY_HISTORY",
    "Certification",
    "Claim",
    "Dispensed",
    "Doctor",
    "History",
    "Hospital",
    "Item",
    "Person",
    "Referral",
    "SelfBurden",
    "ServiceRecord",
    "Visit",
    "escape_surrogates",
    "fast_claim",
    "fast_claim_from_json",
    "from_model",
    "is_unicode_text",
]
