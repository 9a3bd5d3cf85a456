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
    build,
    by_line,
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
_PERSON_FIELDS: Final = len(models.Person.model_fields)
_VISIT_FIELDS: Final = len(models.Visit.model_fields)


class _Doubt(Exception):
    """Not certainly valid: let pydantic decide."""


# (TypeError: an unhashable value looked up among the known money texts)
_FAILED = (_Doubt, msgspec.ValidationError, msgspec.DecodeError, InvalidOperation, TypeError)


def fast_claim_from_json(text: str | bytes) -> Claim | None:
    """The claim in `text` if it is plainly valid, else None (then parse exactly and validate).

    A parser keeps one value of a repeated key, so the keys are counted: every key is
    followed by a colon, so the colons in the text must number exactly the keys the structs
    were given (an unknown key, a colon inside a string or a repeated key all leave the fast
    path, where a repeat is an error). A one-character count is the fastest scan of the
    text there is (bytes: 2.7× faster than counting `":`)."""
    keys = [0]
    try:
        claim = _claim(_DECODER.decode(text), keys)
    except _FAILED:
        return None
    if text.count(b":" if isinstance(text, bytes) else ":") != keys[0]:  # type: ignore[arg-type]
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
    out = {}
    for key, amount in value.items():  # a loop: a comprehension makes a function each call
        out[key] = _AMOUNTS.get(amount) or _decimal(amount, MONEY_PLACES)
    return out


# ------------------------------------------------------------------ records
# Records are built with tuple.__new__ (a NamedTuple's own __new__ is a Python function) and
# absent fields read inline: this is the hot path of every claim.

_HISTORY_FIELDS: Final = len(models.History.model_fields)
_SELF_BURDEN_FIELDS: Final = len(models.SelfBurden.model_fields)
_astuple: Final = msgspec.structs.astuple


def _present(raw: Any, fields: int) -> int:
    """How many of a struct's `fields` the JSON object gave (a null counts: it was given)."""
    return fields - _astuple(raw).count(UNSET)


def _claim(raw: Any, keys: list[int]) -> Claim:
    person = _person(raw.person, keys)
    visit = _visit(raw.visit, keys)
    if person.birth_date > visit.date:
        raise _Doubt
    items = _items(raw.items, keys)
    if not items or len(set(map(by_line, items))) != len(items):
        raise _Doubt
    history, region = raw.history, raw.region
    keys[0] += _REQUIRED["Claim"] + (region is not UNSET) + (history is not UNSET)
    return build(
        Claim,
        (
            raw.id,
            None if region is UNSET else region,
            person,
            visit,
            items,
            EMPTY_HISTORY if history is UNSET or history is None else _history(history, keys),
        ),
    )


def _person(raw: Any, keys: list[int]) -> Person:
    status, groups, certifications = raw.status, raw.groups, raw.certifications
    if status is UNSET:
        status = None
    if status is None and raw.scheme == "employee":
        raise _Doubt
    if certifications is UNSET or certifications is None:
        certifications = ()
    keys[0] += _present(raw, _PERSON_FIELDS) + _REQUIRED["Certification"] * len(certifications)
    tier, years = raw.tier, raw.enrolled_years
    return build(
        Person,
        (
            raw.id,
            raw.scheme,
            status,
            raw.birth_date,
            raw.sex,
            () if groups is UNSET or groups is None else groups,
            tuple([_certification(c, keys) for c in certifications]) if certifications else (),
            None if tier is UNSET else tier,
            None if years is UNSET else years,
        ),
    )


def _certification(raw: Any, keys: list[int]) -> Certification:
    title, hospital = raw.doctor_title, raw.hospital_id
    keys[0] += (title is not UNSET) + (hospital is not UNSET)
    return build(
        Certification,
        (
            raw.condition,
            raw.programme,
            raw.since,
            None if title is UNSET else title,
            None if hospital is UNSET else hospital,
        ),
    )


def _visit(raw: Any, keys: list[int]) -> Visit:
    admitted = raw.admitted
    if admitted is UNSET:
        admitted = None
    elif admitted is not None and raw.type == "inpatient" and admitted > raw.date:
        raise _Doubt
    hospital, doctor, referral = raw.hospital, raw.doctor, raw.referral
    keys[0] += _present(raw, _VISIT_FIELDS) + _REQUIRED["Hospital"] + _REQUIRED["Doctor"]
    if referral is UNSET or referral is None:
        referral = None
    else:
        keys[0] += _REQUIRED["Referral"] + _REQUIRED["ReferringHospital"]
        sender = referral.from_
        hospital_from = build(Hospital, (sender.id, sender.level, sender.kind))
        referral = build(Referral, (hospital_from, referral.within_alliance))
    place, filed, department = raw.place, raw.filed, raw.department
    return build(
        Visit,
        (
            raw.type,
            raw.date,
            admitted,
            build(Hospital, (hospital.id, hospital.level, hospital.kind)),
            build(Doctor, (doctor.id, doctor.title)),
            raw.diagnoses,
            "local" if place is UNSET or place is None else place,
            True if filed is UNSET or filed is None else filed,
            referral,
            None if department is UNSET else department,
        ),
    )


# An item's (quantity, unit_price, amount) as written, with their exact values once checked
# (`amount = quantity × unit_price`): a claim file repeats few such triples. The fourth
# value is None when the three are texts; else their types, which a later triple must have
# too (True == 1 and Decimal(1) == 1 would otherwise find a whole number's entry).
_Figures = tuple[Decimal, Decimal, Decimal, "tuple[type, ...] | None"]
_FIGURES: Final[dict[tuple[Any, Any, Any], _Figures]] = {}


def _items(raws: Any, keys: list[int]) -> tuple[Item, ...]:
    out = []
    given = _ITEM_KEYS * len(raws)
    for raw in raws:
        written = raw.quantity, raw.unit_price, raw.amount
        figures = _FIGURES.get(written)
        if figures is None or (figures[3] is not None and figures[3] != _types_of(written)):
            figures = _figures(written)
        quantity, price, amount, _types = figures
        name, days = raw.name, raw.days_supply
        if name is UNSET:
            name = None
        else:
            given += 1
        if days is UNSET:
            days = None
        else:
            given += 1
        out.append(build(Item, (raw.line, raw.code, name, raw.kind, quantity, price, amount, days)))
    keys[0] += given
    return tuple(out)


def _types_of(written: tuple[Any, Any, Any]) -> tuple[type, ...]:
    quantity, price, amount = written
    return (quantity.__class__, price.__class__, amount.__class__)


def _figures(written: tuple[Any, Any, Any]) -> _Figures:
    """An item's quantity, unit price and amount, checked (then kept in _FIGURES), or _Doubt."""
    quantity = _decimal(written[0], QUANTITY_PLACES)
    price = _decimal(written[1], PRICE_PLACES)
    amount = _decimal(written[2], MONEY_PLACES)
    if not quantity or fen(quantity * price) != amount:
        raise _Doubt
    kinds = _types_of(written)
    texts = all(
        kind is str or (kind is _Number and _plain(v))
        for kind, v in zip(kinds, written, strict=True)
    )
    figures = (quantity, price, amount, None if texts else kinds)
    # kept: texts and whole numbers, whose equal values are written alike; never a Decimal
    # (a parsed object's): Decimal("1.5") == Decimal("1.50"), whose digits differ
    if (texts or _WRITTEN.issuperset(kinds)) and len(_FIGURES) < _KNOWN_LIMIT:
        _FIGURES[written] = figures
    return figures


_WRITTEN: Final = frozenset({str, _Number, int})


def _count(raw: Any, keys: list[int]) -> Decimal:
    """A history record's quantity (engine-added; absent: one), above 0."""
    quantity = raw.quantity
    if quantity is UNSET:
        return ONE
    keys[0] += 1
    if quantity is None:
        return ONE
    quantity = _decimal(quantity, QUANTITY_PLACES)
    if not quantity:
        raise _Doubt
    return quantity


def _history(raw: Any, keys: list[int]) -> History:
    burden = raw.self_burden
    if burden is UNSET or burden is None:
        burden = EMPTY_HISTORY.self_burden
    else:
        keys[0] += _present(burden, _SELF_BURDEN_FIELDS)
        inpatient = burden.inpatient
        burden = build(
            SelfBurden,
            (
                ZERO
                if inpatient is UNSET or inpatient is None
                else _decimal(inpatient, MONEY_PLACES),
            ),
        )
    dispensed, services, admissions = raw.dispensed, raw.services, raw.admissions
    if dispensed is UNSET or dispensed is None:
        dispensed = ()
    if services is UNSET or services is None:
        services = ()
    keys[0] += (
        _REQUIRED["Dispensed"] * len(dispensed)
        + _REQUIRED["ServiceRecord"] * len(services)
        + _present(raw, _HISTORY_FIELDS)
    )
    start = raw.benefit_year_start
    return build(
        History,
        (
            _money_map(raw.paid, keys),
            _money_map(raw.deductible_met, keys),
            burden,
            0 if admissions is UNSET or admissions is None else admissions,
            _dispensed(dispensed, keys),
            _services(services, keys),
            _money_map(raw.pooled, keys),
            None if start is UNSET else start,
            _money_map(raw.paid_today, keys),
        ),
    )


def _dispensed(raws: Any, keys: list[int]) -> tuple[Dispensed, ...]:
    return tuple([build(Dispensed, (r.code, r.date, r.days_supply, _count(r, keys))) for r in raws])


def _services(raws: Any, keys: list[int]) -> tuple[ServiceRecord, ...]:
    return tuple([build(ServiceRecord, (r.code, r.date, _count(r, keys))) for r in raws])


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
