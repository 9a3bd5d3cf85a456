"""The fast path of claim validation: msgspec structs derived from the contract's models.

msgspec decodes a claim's JSON text (or converts a parsed object) into structs that carry
the pydantic models' field names, enums, string lengths, integer bounds, list lengths and
dates (`derive` reads them from contract/models.py: the contract is declared once). What the
structs cannot state is checked here, as the models' validators do: exact money (a JSON
string of ASCII digits or a JSON number, never a binary float), `amount = quantity ×
unit_price`, a quantity above 0, a status for employees, admission before discharge, the
birth date before the visit, at least one item and distinct line numbers, no duplicate key.

The fast path never decides an error: at the first doubt it returns None and the caller
validates with pydantic, which reports every problem with its JSON path. So whatever it
accepts, pydantic accepts with the same values — tests/test_fastclaim.py checks that on
mutated claims, as JSON text and as parsed objects.

The records are contract/records.py's NamedTuples, re-exported here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Final

import msgspec
from msgspec import UNSET

from policyengine.contract import models
from policyengine.contract.derive import derive, places_of, required_count
from policyengine.contract.records import (
    EMPTY_HISTORY,
    ONE,
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
from policyengine.semantics.money import ZERO, fen, to_places


class _Number(str):
    """A JSON number with a fraction or an exponent, as written (msgspec's float hook): read
    exactly by `_decimal`, through the same cache as money written as a string."""

    __slots__ = ()


CLAIM_STRUCT: Final = derive(models.Claim)
_DECODER: Final = msgspec.json.Decoder(CLAIM_STRUCT, float_hook=_Number)
QUANTITY_PLACES: Final = places_of(models.Item, "quantity")
PRICE_PLACES: Final = places_of(models.Item, "unit_price")
MONEY_PLACES: Final = places_of(models.Item, "amount")
MAX_DIGITS: Final = models.MAX_DIGITS_BEFORE_POINT
# how many keys each object has when its optional fields are absent (the key count below)
_REQUIRED: Final = {model.__name__: required_count(model) for model in models.CONTRACT_MODELS}
_ITEM_KEYS: Final = _REQUIRED["Item"]


class _Doubt(Exception):
    """Not certainly valid: let pydantic decide."""


# (TypeError: an unhashable value looked up among the known money texts)
_FAILED = (_Doubt, msgspec.ValidationError, msgspec.DecodeError, InvalidOperation, TypeError)


def fast_claim_from_json(text: str | bytes) -> Claim | None:
    """The claim in `text` if it is plainly valid, else None (then parse exactly and validate).

    A parser keeps one value of a repeated key, so the keys are counted: the `":` in the text
    must number exactly the keys the structs were given (an unknown key, a `":` inside a
    string or a repeated key all leave the fast path, where a repeat is an error)."""
    keys = [0]
    try:
        claim = _claim(_DECODER.decode(text), keys)
    except _FAILED:
        return None
    marker = b'":' if isinstance(text, bytes) else '":'
    if text.count(marker) != keys[0]:  # type: ignore[arg-type]
        return None
    return claim


def fast_claim(data: Any) -> Claim | None:
    """The claim in `data`, a parsed JSON object, if it is plainly valid, else None."""
    try:
        claim = _claim(msgspec.convert(data, CLAIM_STRUCT, strict=True), [0])
    except _FAILED:
        return None
    # a Python string may hold a lone surrogate, which JSON text cannot (msgspec refuses it)
    return claim if all(map(is_unicode_text, _texts(claim))) else None


# ------------------------------------------------------------------ texts


def is_unicode_text(value: str) -> bool:
    """False for a string holding a lone surrogate (a JSON `\\ud800` escape without its
    pair): it has no UTF-8 form, so no result or record could carry it."""
    if value.isascii():
        return True
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


def _texts(claim: Claim) -> list[str]:
    """Every string of a claim that is not one of the contract's words."""
    person, visit, history = claim.person, claim.visit, claim.history
    texts = [claim.id, person.id, visit.hospital.id, visit.doctor.id, *visit.diagnoses]
    texts += (c.condition for c in person.certifications)
    texts += (c.hospital_id for c in person.certifications if c.hospital_id is not None)
    texts += (t for t in (claim.region, person.tier, visit.department) if t is not None)
    if visit.referral is not None:
        texts.append(visit.referral.from_.id)
    for item in claim.items:
        texts.append(item.code)
        if item.name is not None:
            texts.append(item.name)
    texts += (d.code for d in history.dispensed)
    texts += (s.code for s in history.services)
    return texts


# ------------------------------------------------------------------ money


# A claim file repeats few prices, quantities and amounts: each text is checked once.
_KNOWN: Final[dict[int, dict[str, Decimal]]] = {
    QUANTITY_PLACES: {},
    PRICE_PLACES: {},
    MONEY_PLACES: {},
}
# Whole numbers written as JSON numbers, by value (apart: a bool is an int equal to 0 or 1,
# so these are only read once the type is known to be int)
_KNOWN_WHOLE: Final[dict[int, dict[int, Decimal]]] = {places: {} for places in _KNOWN}
_KNOWN_LIMIT: Final = 20_000
_QUANTITIES, _PRICES, _AMOUNTS = (_KNOWN[p] for p in (QUANTITY_PLACES, PRICE_PLACES, MONEY_PLACES))
_new = tuple.__new__


def _decimal(value: Any, places: int) -> Decimal:
    """Money, a quantity or a price, exactly as models.exact_decimal reads it, or _Doubt.

    A JSON number written as a plain decimal (12.50) has the value of the same text as a
    string, so both share one cache; any other number (1e2) is read without it, since the
    same text as a string is refused."""
    kind = type(value)
    if kind is str or kind is _Number:
        known = _KNOWN[places]
        number = known.get(value)
        if number is None:
            if kind is _Number and not _plain(value):
                return _exact(Decimal(value), places)  # a sign or an exponent: _Doubt or exact
            number = _from_text(value, places)
            if len(known) < _KNOWN_LIMIT:
                known[str(value)] = number
        return number
    if kind is int and value >= 0:
        whole = _KNOWN_WHOLE[places]
        number = whole.get(value)
        if number is None:
            number = _exact(Decimal(value), places)
            if len(whole) < _KNOWN_LIMIT:
                whole[value] = number
        return number
    if kind is Decimal and value.is_finite() and not value.is_signed():
        return _exact(value, places)
    raise _Doubt  # a float, a bool, a sign, anything else


def _plain(text: str) -> bool:
    """Digits with at most one point between digits: 12.34, not 1e2, -1 or .5."""
    whole, dot, fraction = text.partition(".")
    return (
        len(whole) > 0
        and text.isascii()
        and whole.isdigit()
        and (not dot or (len(fraction) > 0 and fraction.isdigit()))
    )


def _from_text(value: str, places: int) -> Decimal:
    if not _plain(value):
        raise _Doubt  # not a plain decimal such as 12.34
    return _exact(Decimal(value), places)


def _exact(number: Decimal, places: int) -> Decimal:
    if number and number.adjusted() >= MAX_DIGITS:
        raise _Doubt
    rounded = to_places(number, places)
    if rounded != number:
        raise _Doubt
    # money is kept at exactly two places (the evaluators rely on it); a quantity or a price
    # keeps the digits it was written with
    return rounded if places == MONEY_PLACES else number


def _money_map(value: Any, keys: list[int]) -> dict[str, Decimal]:
    if value is UNSET or value is None:
        return {}
    keys[0] += len(value)
    return {key: _decimal(amount, MONEY_PLACES) for key, amount in value.items()}


# ------------------------------------------------------------------ records


def _given(value: Any, default: Any = None) -> Any:
    return default if value is UNSET or value is None else value


def _present(raw: Any, fields: tuple[str, ...]) -> int:
    return sum(getattr(raw, name) is not UNSET for name in fields)


_HISTORY_FIELDS: Final = tuple(models.History.model_fields)


def _claim(raw: Any, keys: list[int]) -> Claim:
    person = _person(raw.person, keys)
    visit = _visit(raw.visit, keys)
    if person.birth_date > visit.date:
        raise _Doubt
    items = tuple([_item(item, keys) for item in raw.items])
    if not items or len({item.line for item in items}) != len(items):
        raise _Doubt
    history = raw.history
    keys[0] += _REQUIRED["Claim"] + (raw.region is not UNSET) + (history is not UNSET)
    return Claim(
        raw.id,
        _given(raw.region),
        person,
        visit,
        items,
        EMPTY_HISTORY if history is UNSET or history is None else _history(history, keys),
    )


def _person(raw: Any, keys: list[int]) -> Person:
    status = _given(raw.status)
    if status is None and raw.scheme == "employee":
        raise _Doubt
    certifications = _given(raw.certifications, ())
    keys[0] += (
        _REQUIRED["Person"]
        + _REQUIRED["Certification"] * len(certifications)
        + (raw.status is not UNSET)
        + (raw.groups is not UNSET)
        + (raw.certifications is not UNSET)
        + (raw.tier is not UNSET)
        + (raw.enrolled_years is not UNSET)
    )
    return Person(
        raw.id,
        raw.scheme,
        status,
        raw.birth_date,
        raw.sex,
        _given(raw.groups, ()),
        tuple([_certification(c, keys) for c in certifications]),
        _given(raw.tier),
        _given(raw.enrolled_years),
    )


def _certification(raw: Any, keys: list[int]) -> Certification:
    keys[0] += (raw.doctor_title is not UNSET) + (raw.hospital_id is not UNSET)
    return Certification(
        raw.condition, raw.programme, raw.since, _given(raw.doctor_title), _given(raw.hospital_id)
    )


def _visit(raw: Any, keys: list[int]) -> Visit:
    admitted = _given(raw.admitted)
    if raw.type == "inpatient" and admitted is not None and admitted > raw.date:
        raise _Doubt
    hospital, doctor, referral = raw.hospital, raw.doctor, _given(raw.referral)
    keys[0] += (
        _REQUIRED["Visit"]
        + _REQUIRED["Hospital"]
        + _REQUIRED["Doctor"]
        + (raw.admitted is not UNSET)
        + (raw.place is not UNSET)
        + (raw.filed is not UNSET)
        + (raw.referral is not UNSET)
        + (raw.department is not UNSET)
    )
    if referral is not None:
        keys[0] += _REQUIRED["Referral"] + _REQUIRED["ReferringHospital"]
        sender = referral.from_
        hospital_from = Hospital(sender.id, sender.level, sender.kind)
        referral = Referral(hospital_from, referral.within_alliance)
    return Visit(
        raw.type,
        raw.date,
        admitted,
        Hospital(hospital.id, hospital.level, hospital.kind),
        Doctor(doctor.id, doctor.title),
        raw.diagnoses,
        _given(raw.place, "local"),
        _given(raw.filed, True),
        referral,
        _given(raw.department),
    )


def _item(raw: Any, keys: list[int]) -> Item:
    # the hot loop of validation: cached texts first, a record built by tuple.__new__
    quantity = _QUANTITIES.get(raw.quantity) or _decimal(raw.quantity, QUANTITY_PLACES)
    price = _PRICES.get(raw.unit_price) or _decimal(raw.unit_price, PRICE_PLACES)
    amount = _AMOUNTS.get(raw.amount) or _decimal(raw.amount, MONEY_PLACES)
    if not quantity or fen(quantity * price) != amount:
        raise _Doubt
    name, days = raw.name, raw.days_supply
    keys[0] += _ITEM_KEYS + (name is not UNSET) + (days is not UNSET)
    return _new(
        Item,
        (
            raw.line,
            raw.code,
            None if name is UNSET else name,
            raw.kind,
            quantity,
            price,
            amount,
            None if days is UNSET else days,
        ),
    )


def _count(raw: Any) -> Decimal:
    """A history record's quantity (engine-added; absent: one), above 0."""
    if raw is UNSET or raw is None:
        return ONE
    quantity = _decimal(raw, QUANTITY_PLACES)
    if not quantity:
        raise _Doubt
    return quantity


def _history(raw: Any, keys: list[int]) -> History:
    burden_raw = _given(raw.self_burden)
    burden = ZERO
    if burden_raw is not None:
        keys[0] += burden_raw.inpatient is not UNSET
        burden = _decimal(_given(burden_raw.inpatient, ZERO), MONEY_PLACES)
    dispensed = _given(raw.dispensed, ())
    services = _given(raw.services, ())
    keys[0] += (
        _REQUIRED["Dispensed"] * len(dispensed)
        + _REQUIRED["ServiceRecord"] * len(services)
        + _present(raw, _HISTORY_FIELDS)
        + sum([r.quantity is not UNSET for r in (*dispensed, *services)])
    )
    return History(
        _money_map(raw.paid, keys),
        _money_map(raw.deductible_met, keys),
        SelfBurden(burden),
        _given(raw.admissions, 0),
        tuple([Dispensed(d.code, d.date, d.days_supply, _count(d.quantity)) for d in dispensed]),
        tuple([ServiceRecord(s.code, s.date, _count(s.quantity)) for s in services]),
        _money_map(raw.pooled, keys),
        _given(raw.benefit_year_start),
        _money_map(raw.paid_today, keys),
    )


__all__ = [
    "CLAIM_STRUCT",
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
