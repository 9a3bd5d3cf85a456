"""The claim contract (../spec/claims.md §1) as pydantic models: its one declaration.

The JSON Schema (contract/schemas.py), the error reports (contract/claims.py) and the fast
path (contract/fastclaim.py, whose msgspec structs are derived from these models) all read it.

Money and quantities are exact Decimals: a JSON string `^\\d+(\\.\\d+)?$` or a JSON number
(parsed by `parse_json` with `Decimal`, never through binary float). A claim that breaks
the contract is not adjudicated: `load_claim` reports every problem with its JSON path
(`items[2].amount`) at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from policyengine.contract.limits import (
    MAX_DIAGNOSES,
    MAX_HISTORY_ENTRIES,
    MAX_ITEMS,
)
from policyengine.semantics.money import fen, to_places
from policyengine.semantics.vocabulary import (
    LEVELS,
    MAX_ADMISSIONS,
    MAX_ENROLLED_YEARS,
    DeductiblePool,
    Group,
    HospitalKind,
    ItemKind,
    PaidPool,
    Place,
    Programme,
    Scheme,
    Sex,
    Status,
    Title,
    VisitType,
)

MAX_DIGITS_BEFORE_POINT = 10  # up to 9,999,999,999.xx 元 on one line
_DECIMAL_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?")  # ASCII digits, as JSON Schema's \d means
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class NotANumber:
    """What `NaN`/`Infinity` in JSON become, so the validator can report them by path."""

    def __init__(self, text: str) -> None:
        self.text = text


def exact_decimal(value: Any, places: int) -> Decimal:
    """Parse money or a quantity exactly; reject floats, signs, exponents beyond range."""
    if isinstance(value, bool) or value is None:
        raise ValueError("expected a decimal number")
    if isinstance(value, NotANumber):
        raise ValueError(f"{value.text} is not a number")
    if isinstance(value, float):
        raise ValueError("binary floating point is not accepted: send a string or a JSON number")
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise ValueError(f"'{value}' is not a plain decimal number such as 12.34")
        number = Decimal(value)
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    else:
        raise ValueError("expected a decimal number")
    if not number.is_finite():
        raise ValueError("must be a finite number")
    if number < 0:
        raise ValueError("must not be negative")
    if number and number.adjusted() >= MAX_DIGITS_BEFORE_POINT:
        raise ValueError(
            f"is too large (at most {MAX_DIGITS_BEFORE_POINT} digits before the point)"
        )
    try:
        rounded = to_places(number, places)
    except InvalidOperation as error:
        raise ValueError("is not a usable number") from error
    if rounded != number:
        raise ValueError(f"has more than {places} decimal places")
    # money is kept at exactly two places (the evaluators rely on it); a quantity or price
    # keeps the digits it was written with
    return rounded if places == 2 else number


def _places(places: int) -> BeforeValidator:
    # a partial, not a lambda: the fast path reads the places from it (fastclaim.derive)
    return BeforeValidator(functools.partial(exact_decimal, places=places))


def _iso_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date YYYY-MM-DD, not a date-time")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _DATE_TEXT.fullmatch(value):
        raise ValueError("expected a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"'{value}' is not a date that exists") from error


Money = Annotated[Decimal, _places(2)]
UnitPrice = Annotated[Decimal, _places(4)]
Quantity = Annotated[Decimal, _places(3)]
Date = Annotated[dt.date, BeforeValidator(_iso_date)]
Code = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Ident = Annotated[StrictStr, Field(min_length=1, max_length=128)]


class _Model(BaseModel):
    """Frozen; unknown keys ignored; `null` counts as absent."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v is not None}
        return data


class Certification(_Model):
    condition: Ident
    programme: Programme
    since: Date
    doctor_title: Title | None = None
    hospital_id: Ident | None = None


class Person(_Model):
    id: Ident
    scheme: Scheme
    status: Status | None = Field(default=None, validate_default=True)
    birth_date: Date
    sex: Sex
    groups: tuple[Group, ...] = ()
    certifications: tuple[Certification, ...] = ()
    # version 2 (spec §5): the contribution tier (a word the policy declares) and the whole
    # years of continuous enrolment (absent: 0)
    tier: Ident | None = None
    enrolled_years: StrictInt | None = Field(default=None, ge=0, le=MAX_ENROLLED_YEARS)

    @field_validator("status")
    @classmethod
    def _status_for_employees(cls, status: Status | None, info: ValidationInfo) -> Status | None:
        if status is None and info.data.get("scheme") == "employee":
            raise ValueError("required for employees (working or retired)")
        return status


class Hospital(_Model):
    id: Ident
    level: StrictInt = Field(ge=min(LEVELS), le=max(LEVELS))
    kind: HospitalKind


class ReferringHospital(_Model):
    id: Ident
    level: StrictInt = Field(ge=min(LEVELS), le=max(LEVELS))
    kind: HospitalKind


class Referral(_Model):
    """A referral (转诊) into this visit: the referring hospital, and whether the two are in one
    medical alliance (医联体/医共体)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    from_: ReferringHospital = Field(alias="from")
    within_alliance: StrictBool


class Doctor(_Model):
    id: Ident
    title: Title


class Visit(_Model):
    type: VisitType
    date: Date
    admitted: Date | None = None
    hospital: Hospital
    doctor: Doctor
    diagnoses: tuple[Annotated[StrictStr, Field(min_length=1, max_length=32)], ...] = Field(
        max_length=MAX_DIAGNOSES
    )
    # version 2 (spec §5)
    place: Place = "local"
    filed: StrictBool = True  # remote care filed (备案) beforehand
    referral: Referral | None = None
    department: Ident | None = None

    @field_validator("admitted")
    @classmethod
    def _admitted_before_discharge(
        cls, admitted: dt.date | None, info: ValidationInfo
    ) -> dt.date | None:
        discharge = info.data.get("date")
        inpatient = (
            info.data.get("type") == "inpatient"
        )  # elsewhere `admitted` is only informational
        if inpatient and admitted is not None and discharge is not None and admitted > discharge:
            raise ValueError(f"admission {admitted} is after the visit date {discharge}")
        return admitted


class Item(_Model):
    line: StrictInt = Field(gt=0)
    code: Code
    name: StrictStr | None = None
    kind: ItemKind
    quantity: Quantity
    unit_price: UnitPrice
    amount: Money
    days_supply: StrictInt | None = Field(default=None, ge=0, le=3660)

    @field_validator("quantity")
    @classmethod
    def _positive(cls, quantity: Decimal) -> Decimal:
        if quantity <= 0:
            raise ValueError("must be greater than 0")
        return quantity

    @field_validator("amount")
    @classmethod
    def _amount_matches(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        quantity, price = info.data.get("quantity"), info.data.get("unit_price")
        if quantity is not None and price is not None:
            expected = fen(quantity * price)
            if amount != expected:
                raise ValueError(
                    f"{amount} is not quantity × unit_price = {quantity} × {price} = {expected}"
                )
        return amount


class _Quantity(_Model):
    # engine-added (docs/claims.md): the quantity dispensed or billed, for a quantity_limit
    # (限数量) per day; absent, the record counts as one
    quantity: Quantity | None = None

    @field_validator("quantity")
    @classmethod
    def _positive(cls, quantity: Decimal | None) -> Decimal | None:
        if quantity is not None and quantity <= 0:
            raise ValueError("must be greater than 0")
        return quantity


class Dispensed(_Quantity):
    code: Code
    date: Date
    days_supply: StrictInt = Field(ge=0, le=3660)


class ServiceRecord(_Quantity):
    code: Code
    date: Date


class SelfBurden(_Model):
    inpatient: Money = Decimal("0.00")


class History(_Model):
    paid: dict[PaidPool, Money] = Field(default_factory=dict)
    deductible_met: dict[DeductiblePool, Money] = Field(default_factory=dict)
    self_burden: SelfBurden = Field(default_factory=SelfBurden)
    admissions: StrictInt = Field(default=0, ge=0, le=MAX_ADMISSIONS)
    dispensed: tuple[Dispensed, ...] = Field(default=(), max_length=MAX_HISTORY_ENTRIES)
    services: tuple[ServiceRecord, ...] = Field(default=(), max_length=MAX_HISTORY_ENTRIES)
    # version 2 (spec §5): the year's covered − deductible per visit type (进入统筹累计), and
    # where the benefit year this history describes began (absent: the policy's own start)
    pooled: dict[VisitType, Money] = Field(default_factory=dict)
    benefit_year_start: Date | None = None
    # added by the engine (docs/claims.md): per pool, what the fund paid the person on this
    # claim's visit date before it (caps `per day`); the batch ledger keeps it
    paid_today: dict[PaidPool, Money] = Field(default_factory=dict)


class Claim(_Model):
    id: Ident
    region: Ident | None = None
    person: Person
    visit: Visit
    items: tuple[Item, ...] = Field(max_length=MAX_ITEMS)
    history: History = Field(default_factory=History)


# every model of the contract, for what is derived from them (contract/derive.py)
CONTRACT_MODELS = (
    Certification,
    Person,
    Hospital,
    ReferringHospital,
    Referral,
    Doctor,
    Visit,
    Item,
    Dispensed,
    ServiceRecord,
    SelfBurden,
    History,
    Claim,
)
