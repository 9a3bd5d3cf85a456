"""The records the evaluators read: a claim as immutable NamedTuples (built in C), with the
attribute names of the pydantic models (contract/models.py). fastclaim.py makes them from a
plainly valid claim's JSON; `from_model` from a claim the pydantic models validated. Fields a
later version of the contract added have defaults at the end, so a record reads as before.
"""

from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal
from typing import Any, Final, NamedTuple

ONE = Decimal(1)  # a history record without a quantity counts as one

# A record built in C, `build(History, (...))`, every field given in its order: a NamedTuple's
# own __new__ is a Python function (History's took 0.5 µs a claim). The hot paths (fastclaim,
# the ledger) build records with it.
build: Final = tuple.__new__
# items (or result lines) in line order, `sorted(items, key=by_line)`: attrgetter runs in C
by_line: Final = operator.attrgetter("line")


class Certification(NamedTuple):
    condition: str
    programme: str
    since: dt.date
    doctor_title: str | None
    hospital_id: str | None


class Person(NamedTuple):
    id: str
    scheme: str
    status: str | None
    birth_date: dt.date
    sex: str
    groups: tuple[str, ...]
    certifications: tuple[Certification, ...]
    tier: str | None = None
    enrolled_years: int | None = None


class Hospital(NamedTuple):
    id: str
    level: int
    kind: str


class Doctor(NamedTuple):
    id: str
    title: str


class Referral(NamedTuple):
    from_: Hospital  # the referring hospital (`from` in JSON)
    within_alliance: bool


class Visit(NamedTuple):
    type: str
    date: dt.date
    admitted: dt.date | None
    hospital: Hospital
    doctor: Doctor
    diagnoses: tuple[str, ...]
    place: str = "local"
    filed: bool = True
    referral: Referral | None = None
    department: str | None = None


class Item(NamedTuple):
    line: int
    code: str
    name: str | None
    kind: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    days_supply: int | None


class Dispensed(NamedTuple):
    code: str
    date: dt.date
    days_supply: int
    quantity: Decimal = ONE  # absent in the claim: the record counts as one


class ServiceRecord(NamedTuple):
    code: str
    date: dt.date
    quantity: Decimal = ONE


class SelfBurden(NamedTuple):
    inpatient: Decimal


class History(NamedTuple):
    paid: dict[str, Decimal]
    deductible_met: dict[str, Decimal]
    self_burden: SelfBurden
    admissions: int
    dispensed: tuple[Dispensed, ...]
    services: tuple[ServiceRecord, ...]
    pooled: dict[str, Decimal] = {}  # noqa: RUF012 - records are read, never changed
    benefit_year_start: dt.date | None = None
    paid_today: dict[str, Decimal] = {}  # noqa: RUF012 - the fund paid on the visit date


class Claim(NamedTuple):
    id: str
    region: str | None
    person: Person
    visit: Visit
    items: tuple[Item, ...]
    history: History


EMPTY_HISTORY = History({}, {}, SelfBurden(Decimal("0.00")), 0, (), ())


def from_model(model: Any) -> Claim:
    """The records of a claim the pydantic models validated (the slow path)."""
    person, visit, history = model.person, model.visit, model.history
    return Claim(
        model.id,
        model.region,
        Person(
            person.id,
            person.scheme,
            person.status,
            person.birth_date,
            person.sex,
            tuple(person.groups),
            tuple(
                Certification(c.condition, c.programme, c.since, c.doctor_title, c.hospital_id)
                for c in person.certifications
            ),
            person.tier,
            person.enrolled_years,
        ),
        Visit(
            visit.type,
            visit.date,
            visit.admitted,
            Hospital(visit.hospital.id, visit.hospital.level, visit.hospital.kind),
            Doctor(visit.doctor.id, visit.doctor.title),
            tuple(visit.diagnoses),
            visit.place,
            visit.filed,
            _referral_of(visit.referral),
            visit.department,
        ),
        tuple(
            Item(i.line, i.code, i.name, i.kind, i.quantity, i.unit_price, i.amount, i.days_supply)
            for i in model.items
        ),
        History(
            {str(k): v for k, v in history.paid.items()},
            {str(k): v for k, v in history.deductible_met.items()},
            SelfBurden(history.self_burden.inpatient),
            history.admissions,
            tuple(
                Dispensed(d.code, d.date, d.days_supply, _one_or(d.quantity))
                for d in history.dispensed
            ),
            tuple(ServiceRecord(s.code, s.date, _one_or(s.quantity)) for s in history.services),
            {str(k): v for k, v in history.pooled.items()},
            history.benefit_year_start,
            {str(k): v for k, v in history.paid_today.items()},
        ),
    )


def _one_or(quantity: Decimal | None) -> Decimal:
    return ONE if quantity is None else quantity


def _referral_of(model: Any) -> Referral | None:
    if model is None:
        return None
    hospital = model.from_
    return Referral(Hospital(hospital.id, hospital.level, hospital.kind), model.within_alliance)
