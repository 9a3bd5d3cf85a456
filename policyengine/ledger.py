"""The per-person year ledger of batch settlement (../spec/claims.md §1, "Batch and the ledger").

A person's claims are settled in `visit.date` order (input order breaks ties). The first
claim of a person in a benefit year (the calendar year, or the policy's `benefit year from
MM-DD`: LedgerRules) opens the ledger with its own `history`; later claims of that year use
the ledger and ignore theirs. After each claim:

    paid[visit.type] += fund            paid.critical_illness += critical_illness
    deductible_met[outpatient|special_outpatient] += deductible
    pooled[visit.type] += covered − deductible    (进入统筹累计, contract version 2)
    paid_today[visit.type] += fund                (the fund paid on the claim's visit date;
                                                  a claim of a later date starts it afresh)
    self_burden.inpatient += covered − fund      (inpatient and special_outpatient claims;
                                                  + pre_self_pay where the second layer's
                                                  `base includes pre_self_pay`)
    admissions += 1                               (inpatient claims)
    non-denied drug lines join `dispensed`, non-denied service lines join `services`.

The dispensing and service records a later claim is given are those that can still matter
to it (`Ledger.slide`): settled in date order, a person's year then costs time linear in its
claims, not quadratic.

`settle_person` is the one implementation batch, Spark and `diff` share. The service's
ledger store keeps a person's year between requests with the same records: each settled
claim's `contribution`, the year the sum of them (`absorb`), stored as history JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, NotRequired

from typing_extensions import TypedDict  # pydantic reads these (the service's schemas)

from policyengine.contract.claims import ClaimRejected, load_claim
from policyengine.contract.fastclaim import (
    Claim,
    Dispensed,
    History,
    SelfBurden,
    ServiceRecord,
    escape_surrogates,
)
from policyengine.contract.records import build, by_line
from policyengine.errors import PolicyEngineError
from policyengine.prepared import LedgerRules
from policyengine.semantics.matching import year_start
from policyengine.semantics.money import money

if TYPE_CHECKING:
    from policyengine.contract.results import ContractErrorDict, ErrorRecordDict, ResultDict

ZERO = Decimal(0)
INTERNAL_ERROR = "internal_error"  # the error record of a claim the engine failed on
YEARLY_DEDUCTIBLE_POOLS = ("outpatient", "special_outpatient")
SELF_BURDEN_VISITS = ("inpatient", "special_outpatient")
CALENDAR = LedgerRules()  # calendar years; the second layer's self-burden without pre-self-pay
NOTHING = money(ZERO)  # a result's zero amount, as written


class DispensedJSON(TypedDict):
    code: str
    date: str
    days_supply: int
    quantity: NotRequired[str]  # written where it is not one (the contract's default)


class ServiceJSON(TypedDict):
    code: str
    date: str
    quantity: NotRequired[str]


class SelfBurdenJSON(TypedDict):
    inpatient: str


class HistoryJSON(TypedDict):
    """A ledger as the claim contract's `history` (money as text with two decimals)."""

    paid: dict[str, str]
    deductible_met: dict[str, str]
    self_burden: SelfBurdenJSON
    admissions: int
    dispensed: list[DispensedJSON]
    services: list[ServiceJSON]
    pooled: dict[str, str]
    benefit_year_start: str
    # what the fund paid per pool on `today` (for caps `per day`): written where the ledger
    # holds a day's payments, so that a stored opening keeps what its first claim carried
    # from outside; absent (openings stored before it was kept) it is nothing
    today: NotRequired[str]
    paid_today: NotRequired[dict[str, str]]


def add_pools(totals: dict[str, Decimal], amounts: Mapping[str, Decimal]) -> None:
    """Add `amounts` per pool into `totals` (a pool new to `totals` starts at zero)."""
    for pool, amount in amounts.items():
        totals[pool] = totals.get(pool, ZERO) + amount


@dataclass
class Ledger:
    year: dt.date  # the first day of the benefit year it keeps
    paid: dict[str, Decimal] = field(default_factory=dict)
    deductible_met: dict[str, Decimal] = field(default_factory=dict)
    self_burden: Decimal = ZERO
    admissions: int = 0
    dispensed: list[Dispensed] = field(default_factory=list)
    services: list[ServiceRecord] = field(default_factory=list)
    pooled: dict[str, Decimal] = field(default_factory=dict)
    service_days: int = 1  # LedgerRules.service_days
    rules: LedgerRules = CALENDAR
    # the fund paid per pool on `today` (history.paid_today, for caps `per day`)
    today: dt.date | None = None
    paid_today: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def open(cls, claim: Claim, rules: LedgerRules = CALENDAR) -> Ledger:
        history = claim.history
        return cls(
            year=year_start(claim.visit.date, rules.year_start),
            paid={str(pool): amount for pool, amount in history.paid.items()},
            deductible_met={str(pool): amount for pool, amount in history.deductible_met.items()},
            self_burden=history.self_burden.inpatient,
            admissions=history.admissions,
            dispensed=list(history.dispensed),
            services=list(history.services),
            pooled={str(pool): amount for pool, amount in history.pooled.items()},
            service_days=rules.service_days,
            rules=rules,
            today=claim.visit.date,
            paid_today={str(pool): amount for pool, amount in history.paid_today.items()},
        )

    @classmethod
    def contribution(
        cls, claim: Claim, result: ResultDict, rules: LedgerRules = CALENDAR
    ) -> Ledger:
        """What one settled claim adds to its person's year."""
        added = cls(year_start(claim.visit.date, rules.year_start), rules=rules)
        added.record(claim, result)
        return added

    def absorb(self, other: Ledger) -> None:
        """Add another ledger's sums and records to this one (a year is the sum of what its
        claims added, so taking one away restores the year exactly)."""
        add_pools(self.paid, other.paid)
        add_pools(self.deductible_met, other.deductible_met)
        self.self_burden += other.self_burden
        self.admissions += other.admissions
        self.dispensed.extend(other.dispensed)
        self.services.extend(other.services)
        add_pools(self.pooled, other.pooled)
        if other.today is not None and other.today == self.today:  # the same day's payments
            add_pools(self.paid_today, other.paid_today)
        elif other.today is not None and (self.today is None or other.today > self.today):
            self.today, self.paid_today = other.today, dict(other.paid_today)

    def to_json(self) -> HistoryJSON:
        out: HistoryJSON = {
            "paid": {pool: money(amount) for pool, amount in sorted(self.paid.items())},
            "deductible_met": {
                pool: money(amount) for pool, amount in sorted(self.deductible_met.items())
            },
            "self_burden": {"inpatient": money(self.self_burden)},
            "admissions": self.admissions,
            "dispensed": [_dispensed_json(d) for d in self.dispensed],
            "services": [_service_json(s) for s in self.services],
            "pooled": {pool: money(amount) for pool, amount in sorted(self.pooled.items())},
            "benefit_year_start": self.year.isoformat(),
        }
        if self.today is not None and self.paid_today:
            out["today"] = self.today.isoformat()
            out["paid_today"] = {
                pool: money(amount) for pool, amount in sorted(self.paid_today.items())
            }
        return out

    @classmethod
    def from_json(cls, data: HistoryJSON, rules: LedgerRules = CALENDAR) -> Ledger:
        """A ledger `to_json` wrote, kept by the policy's `rules`."""
        return cls(
            dt.date.fromisoformat(data["benefit_year_start"]),
            {pool: Decimal(amount) for pool, amount in data["paid"].items()},
            {pool: Decimal(amount) for pool, amount in data["deductible_met"].items()},
            Decimal(data["self_burden"]["inpatient"]),
            data["admissions"],
            [
                Dispensed(
                    d["code"],
                    dt.date.fromisoformat(d["date"]),
                    d["days_supply"],
                    Decimal(d.get("quantity", "1")),
                )
                for d in data["dispensed"]
            ],
            [
                ServiceRecord(
                    s["code"], dt.date.fromisoformat(s["date"]), Decimal(s.get("quantity", "1"))
                )
                for s in data["services"]
            ],
            {pool: Decimal(amount) for pool, amount in data["pooled"].items()},
            rules.service_days,
            rules,
            dt.date.fromisoformat(data["today"]) if "today" in data else None,
            {pool: Decimal(amount) for pool, amount in data.get("paid_today", {}).items()},
        )

    def paid_on(self, day: dt.date) -> dict[str, Decimal]:
        """What the fund paid per pool on `day` as far as this ledger knows (history.paid_today
        of a claim of `day`): its day's payments, or nothing on another day."""
        return dict(self.paid_today) if day == self.today else {}

    def history(self, day: dt.date) -> History:
        """The history a claim of `day` reads: the sums, and of the dispensing and service
        records only those that can still matter. Claims come in date order, so a window
        slides: each claim costs the same however many came before it in the year."""
        if self.dispensed or self.services:
            self.slide(day)
        return build(  # the record built in C (see records.build)
            History,
            (
                dict(self.paid),
                dict(self.deductible_met),
                build(SelfBurden, (self.self_burden,)),
                self.admissions,
                tuple(self.dispensed),
                tuple(self.services),
                dict(self.pooled),
                None,
                self.paid_on(day),
            ),
        )

    def slide(self, day: dt.date) -> None:
        """Forget the records no claim from `day` on can match. A dispensing is a duplicate
        while more than `tolerance` days of its supply are left, and `check` holds every
        tolerance to a whole number of days ≥ 0 (T003): a supply that has run out by `day`
        never matches again, but the day's own records count towards a quantity_limit per
        day. A service repeats on its own day, or within the policy's longest
        frequency_limit window (`service_days`)."""
        self.dispensed = [d for d in self.dispensed if (day - d.date).days < max(d.days_supply, 1)]
        self.services = [s for s in self.services if (day - s.date).days < self.service_days]

    def record(self, claim: Claim, result: ResultDict) -> None:
        visit = claim.visit.type
        totals = result["totals"]
        payers = totals["payers"]
        fund = Decimal(payers["fund"])
        covered = Decimal(totals["covered"])
        deductible = _amount(totals["deductible"])
        paid = self.paid
        self.pooled[visit] = self.pooled.get(visit, ZERO) + (covered - deductible)
        paid[visit] = paid.get(visit, ZERO) + fund
        if claim.visit.date != self.today:  # a new day: nothing paid on it yet
            self.today, self.paid_today = claim.visit.date, {}
        self.paid_today[visit] = self.paid_today.get(visit, ZERO) + fund
        critical = _amount(payers["critical_illness"])
        paid["critical_illness"] = paid.get("critical_illness", ZERO) + critical
        if visit in YEARLY_DEDUCTIBLE_POOLS:
            self.deductible_met[visit] = self.deductible_met.get(visit, ZERO) + deductible
        if visit in SELF_BURDEN_VISITS:
            self.self_burden += covered - fund
            if self.rules.self_burden_with_pre_self_pay:
                self.self_burden += Decimal(totals["pre_self_pay"])
        if visit == "inpatient":
            self.admissions += 1
        self._file(claim, result)

    def _file(self, claim: Claim, result: ResultDict) -> None:
        """The claim's drug and service lines the result did not deny join the records."""
        # (most lines deny nothing: "0.00" is not read as a number)
        denied = {
            line["line"]
            for line in result["lines"]
            if line["denied"] != NOTHING and Decimal(line["denied"]) > 0
        }
        kinds = self.rules.kinds
        day = claim.visit.date
        for item in sorted(claim.items, key=by_line):
            if item.line in denied:
                continue
            kind = kinds.get(item.code, item.kind)
            if kind == "drug":
                record = (item.code, day, item.days_supply or 0, item.quantity)
                self.dispensed.append(build(Dispensed, record))
            elif kind == "service":
                self.services.append(build(ServiceRecord, (item.code, day, item.quantity)))


NOTHING_AMOUNT: Final = Decimal(NOTHING)  # "0.00" as a Decimal: the same digits, unparsed


def _amount(text: str) -> Decimal:
    """A result's money text as a Decimal (most amounts of a claim are nothing)."""
    return NOTHING_AMOUNT if text == NOTHING else Decimal(text)


def _dispensed_json(record: Dispensed) -> DispensedJSON:
    out: DispensedJSON = {
        "code": record.code,
        "date": record.date.isoformat(),
        "days_supply": record.days_supply,
    }
    if record.quantity != 1:
        out["quantity"] = format(record.quantity, "f")  # plain digits, as the contract writes it
    return out


def _service_json(record: ServiceRecord) -> ServiceJSON:
    out: ServiceJSON = {"code": record.code, "date": record.date.isoformat()}
    if record.quantity != 1:
        out["quantity"] = format(record.quantity, "f")  # plain digits, as the contract writes it
    return out


@dataclass(frozen=True)
class Settled:
    """One claim's outcome in a batch: its result, or its error record."""

    index: int  # position in the input (0-based)
    result: ResultDict | None
    error: ErrorRecordDict | None


Settle = Callable[[Claim], "ResultDict"]


def order_key(claim: Claim, index: int) -> tuple[Any, int]:
    return (claim.visit.date, index)


def settle_person(
    claims: Iterable[tuple[int, Any]],
    settle: Settle,
    *,
    rules_of: Callable[[Claim], LedgerRules],
    region: str | None = None,
) -> Iterator[Settled]:
    """Settle one person's claims (index, raw claim) in date order, carrying the ledger.
    `rules_of` gives the ledger rules of the policy settling a claim (Engine.ledger_rules
    of its region): its benefit year, and the kinds of its catalogue's codes.

    Raw claims that break the contract, or that the policy refuses, yield error records and
    do not touch the ledger.
    """
    parsed: list[tuple[Any, int, Claim]] = []  # (order_key..., claim): sorted as tuples, in C
    for index, raw in claims:
        try:
            given = load_claim(raw, region=region)
        except ClaimRejected as rejected:
            yield Settled(
                index, None, error_record(rejected.claim_id, rejected.as_json()["errors"], index)
            )
        except Exception as error:  # a bug in reading one claim fails that claim alone
            failure: list[ContractErrorDict] = [
                {"path": "", "message": f"{type(error).__name__} while reading: {error}"}
            ]
            yield Settled(index, None, error_record(None, failure, index, kind=INTERNAL_ERROR))
        else:
            parsed.append((*order_key(given, index), given))
    parsed.sort()  # never compares claims: the input indexes are distinct
    ledger: Ledger | None = None
    for _day, index, given in parsed:
        rules = rules_of(given)
        if ledger is None or ledger.year != year_start(given.visit.date, rules.year_start):
            ledger = Ledger.open(given, rules)
            claim = given
        else:  # the claim with the ledger's history, built in C (see records.build)
            history = ledger.history(given.visit.date)
            claim = build(
                Claim, (given.id, given.region, given.person, given.visit, given.items, history)
            )
        yield _settle_one(index, claim, ledger, settle)


def _settle_one(index: int, claim: Claim, ledger: Ledger, settle: Settle) -> Settled:
    """A claim settled with `ledger`'s history, recorded in it when the policy settles it."""
    try:
        result = settle(claim)
    except ClaimRejected as rejected:  # the policy refuses it (a tier it does not declare)
        return Settled(index, None, error_record(claim.id, rejected.as_json()["errors"], index))
    except PolicyEngineError as error:
        message, kind = str(error), type(error).__name__
    except Exception as error:  # one claim's failure is its record, never the batch's end
        message, kind = f"{type(error).__name__} while settling: {error}", INTERNAL_ERROR
    else:
        ledger.record(claim, result)
        return Settled(index, result, None)
    failed: list[ContractErrorDict] = [{"path": "", "message": message}]
    return Settled(index, None, error_record(claim.id, failed, index, kind=kind))


def error_record(
    claim_id: str | None,
    errors: list[ContractErrorDict],
    index: int,
    kind: str = "malformed_claim",
) -> ErrorRecordDict:
    """A claim's error record. Its texts quote the input, which may hold what JSON cannot
    carry as UTF-8 (a lone surrogate from a `\\ud800` escape): such characters are written
    as their escapes, so the record can always be written."""
    return {
        "claim_id": None if claim_id is None else escape_surrogates(claim_id),
        "line": index + 1,
        "error": kind,
        "errors": [
            {"path": escape_surrogates(e["path"]), "message": escape_surrogates(e["message"])}
            for e in errors
        ],
    }
