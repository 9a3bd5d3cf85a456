"""The ledger store: a person's year that outlives a request (docs/service.md, Ledger).

Batch keeps each person's year in memory for one run (ledger.py). A claim system settling
claim by claim needs the year so far between requests; this store keeps it in a database —
SQLite (a file path; the default) or PostgreSQL (a `postgresql://` URL), through SQLAlchemy
Core, which speaks both dialects and their locking with one set of table definitions.

- **Settle and commit** a claim: the person's year is read, the claim settled with it (as
  batch does: the first claim of a year opens the ledger with its own `history`, later
  claims use the ledger), and its result and *contribution* (what it adds to the year,
  `Ledger.contribution`) stored. Idempotent by claim id: the same claim again returns the
  stored settlement (`replayed`), and nothing is counted twice; the same id with other
  content is a conflict.
- **Cancel** (撤销结算) a settled claim: it is marked cancelled and its contribution no longer
  counts. The year is the opening history plus the contributions of the claims that stand,
  so cancelling restores it exactly. A later claim settled while the cancelled one stood can
  be cancelled and settled again; a cancelled claim id can be settled again (a new revision).
- **Read** a person's year: its opening, the history now, and every settlement.

Commits for one person are serialised: PostgreSQL locks the person's year row (`SELECT …
FOR UPDATE`), SQLite takes the database's write lock at the start of the transaction
(`BEGIN IMMEDIATE`). Settling happens inside that transaction, so N concurrent commits for
one person give exactly the results of committing them one after another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from policyengine.contract.claims import ClaimRejected, load_claim
from policyengine.contract.results import Result
from policyengine.errors import PolicyEngineError
from policyengine.ledger import HistoryJSON, Ledger, add_pools
from policyengine.semantics.matching import year_start

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine import Engine as Database

    from policyengine.contract.fastclaim import Claim
    from policyengine.contract.results import ResultDict
    from policyengine.engine import Engine
    from policyengine.prepared import LedgerRules
    from policyengine.service.tables import PersonRow, SettlementRow

Status = Literal["settled", "cancelled"]


class Conflict(PolicyEngineError):
    """The claim id is settled with other content (409)."""


class NotSettled(PolicyEngineError):
    """No settlement of that claim id (404)."""


@dataclass(frozen=True)
class Settlement:
    region: str
    claim_id: str
    revision: int
    person_id: str
    year: int
    sequence: int  # the order of commits in the person's year
    status: Status
    claim: dict[str, Any]  # the claim as settled: its history is the one it was settled with
    result: ResultDict  # with its trace
    policy_hash: str
    settled_at: str
    cancelled_at: str | None
    replayed: bool = False  # this answer repeats a settlement made before

    def as_json(self, *, trace: bool) -> dict[str, Any]:
        result = dict(self.result)
        if not trace:
            result.pop("trace", None)
        return {
            "region": self.region,
            "claim_id": self.claim_id,
            "revision": self.revision,
            "person_id": self.person_id,
            "year": self.year,
            "sequence": self.sequence,
            "status": self.status,
            "policy_hash": self.policy_hash,
            "settled_at": self.settled_at,
            "cancelled_at": self.cancelled_at,
            "replayed": self.replayed,
            "result": result,
        }


class SettlementModel(BaseModel):
    """A settlement as the ledger endpoints answer it."""

    model_config = ConfigDict(frozen=True)
    region: str
    claim_id: str
    revision: int
    person_id: str
    year: int
    sequence: int
    status: Status
    policy_hash: str
    settled_at: str
    cancelled_at: str | None
    replayed: bool
    result: Result


class YearEntry(BaseModel):
    model_config = ConfigDict(frozen=True)
    claim_id: str
    revision: int
    sequence: int
    status: Status
    visit_date: str
    decision: str
    fund: str
    critical_illness: str
    patient: str


class PersonYearModel(BaseModel):
    """A person's year in the store: where it opened, where it stands, every settlement."""

    model_config = ConfigDict(frozen=True)
    region: str
    person_id: str
    year: int
    open: bool
    opening: HistoryJSON | None
    history: HistoryJSON | None
    settlements: list[YearEntry]


def database_url(location: str) -> str:
    """A SQLAlchemy URL: PostgreSQL URLs use psycopg 3; anything without a scheme is an
    SQLite file path."""
    if location.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + location.split("://", 1)[1]
    if "://" in location:
        return location
    return f"sqlite:///{location}"


class LedgerStore:
    def __init__(self, location: str) -> None:
        from policyengine.service import tables

        self.url = database_url(location)
        self.database: Database = tables.connect(self.url)
        self.tables = tables
        tables.create(self.database)

    def close(self) -> None:
        self.database.dispose()

    def ping(self) -> bool:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.database.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    # ------------------------------------------------------------ commit

    def commit(
        self,
        engine: Engine,
        body: bytes | str | dict[str, Any],
        *,
        region: str | None = None,
        moment: str = "during",
        policy_hash: str = "",
    ) -> Settlement:
        """Settle one claim with its person's year and store it (idempotent by claim id)."""
        claim = load_claim(body, region=region)
        raw = _document(body)
        chosen = region or claim.region
        if chosen is None:
            from policyengine.contract.claims import ContractError

            missing = ContractError("region", "no region: give it in the claim or as a parameter")
            raise ClaimRejected(claim.id, [missing])
        policy = engine.policy(chosen)
        digest = _digest(raw)
        rules = policy.ledger
        # a year is named by the calendar year its benefit year begins in (docs/service.md)
        year = year_start(claim.visit.date, rules.year_start).year
        with self._person(chosen, claim.person.id, year) as (connection, person):
            latest = self.tables.latest(connection, chosen, claim.id)
            if latest is not None and latest.status == "settled":
                if latest.digest != digest:
                    raise Conflict(
                        f"claim {claim.id} is settled already with other content "
                        f"(revision {latest.revision}); cancel it before settling it again"
                    )
                return self._settlement(latest, replayed=True)
            standing = self.tables.contributions(connection, chosen, claim.person.id, year)
            if standing and person.opening is not None:
                opening = Ledger.from_json(person.opening, rules)
                day = claim.visit.date
                carried = opening.paid_on(day)  # by the opening claim's history, from outside
                for contribution in standing:
                    opening.absorb(Ledger.from_json(contribution))
                opening.today = day  # what the fund paid earlier that day (caps per day)
                opening.paid_today = _added(
                    carried, self.tables.paid_on(connection, chosen, claim.person.id, year, day)
                )
                settled = claim._replace(history=opening.history(claim.visit.date))
                opening_json = person.opening
            else:  # the first claim standing in its year opens the ledger, as in batch
                settled = claim
                opening_json = Ledger.open(claim, rules).to_json()
            result = engine.settle(settled, region=chosen, moment=moment, trace=True)
            added = Ledger.contribution(settled, result, rules)
            row = self.tables.SettlementRow(
                region=chosen,
                claim_id=claim.id,
                revision=(latest.revision + 1) if latest else 1,
                person_id=claim.person.id,
                year=year,
                sequence=person.sequence + 1,
                status="settled",
                digest=digest,
                claim=_claim_json(raw, settled, rules),
                result=result,
                contribution=added.to_json(),
                policy_hash=policy_hash or policy.content_hash,
                settled_at=_now(),
                cancelled_at=None,
            )
            self.tables.insert(connection, row, opening_json)
        return self._settlement(row, replayed=False)

    # ------------------------------------------------------------ cancel

    def cancel(self, region: str, claim_id: str) -> Settlement:
        """撤销结算: the claim no longer counts in its person's year. Cancelling a cancelled
        claim again changes nothing."""
        found = self.settlement(region, claim_id)
        if found is None:
            raise NotSettled(f"no settlement of claim {claim_id} in {region}")
        with self._person(region, found.person_id, found.year) as (connection, _person):
            latest = self.tables.latest(connection, region, claim_id)
            assert latest is not None
            if latest.status == "cancelled":
                return self._settlement(latest, replayed=True)
            cancelled_at = _now()
            self.tables.mark_cancelled(connection, latest, cancelled_at)
            row = latest._replace(status="cancelled", cancelled_at=cancelled_at)
        return self._settlement(row, replayed=False)

    # ------------------------------------------------------------ reading

    def settlement(self, region: str, claim_id: str) -> Settlement | None:
        with self.database.connect() as connection:
            latest = self.tables.latest(connection, region, claim_id)
        return None if latest is None else self._settlement(latest, replayed=False)

    def year(self, region: str, person_id: str, year: int) -> PersonYearModel:
        """A person's year: opening, history now (the contract's `history`), settlements."""
        with self.database.connect() as connection:
            person = self.tables.person(connection, region, person_id, year)
            rows = self.tables.settlements_of(connection, region, person_id, year)
        standing = [row for row in rows if row.status == "settled"]
        history: HistoryJSON | None = None
        if person is not None and person.opening is not None and standing:
            ledger = Ledger.from_json(person.opening)
            for row in standing:
                ledger.absorb(Ledger.from_json(row.contribution))
            history = ledger.to_json()
        return PersonYearModel(
            region=region,
            person_id=person_id,
            year=year,
            open=bool(standing),
            opening=person.opening if person is not None and standing else None,
            history=history,
            settlements=[_entry(row) for row in rows],
        )

    # ------------------------------------------------------------ the lock

    @contextmanager
    def _person(
        self, region: str, person_id: str, year: int
    ) -> Iterator[tuple[Connection, PersonRow]]:
        """A transaction holding the person's year (created when new), locked until it ends."""
        with self.database.begin() as connection:
            yield connection, self.tables.lock_person(connection, region, person_id, year)

    def _settlement(self, row: SettlementRow, *, replayed: bool) -> Settlement:
        return Settlement(
            region=row.region,
            claim_id=row.claim_id,
            revision=row.revision,
            person_id=row.person_id,
            year=row.year,
            sequence=row.sequence,
            status=_status(row.status),
            claim=row.claim,
            result=row.result,
            policy_hash=row.policy_hash,
            settled_at=row.settled_at,
            cancelled_at=row.cancelled_at,
            replayed=replayed,
        )


def _entry(row: SettlementRow) -> YearEntry:
    totals = row.result["totals"]
    return YearEntry(
        claim_id=row.claim_id,
        revision=row.revision,
        sequence=row.sequence,
        status=_status(row.status),
        visit_date=str(row.claim["visit"]["date"]),
        decision=row.result["decision"],
        fund=totals["payers"]["fund"],
        critical_illness=totals["payers"]["critical_illness"],
        patient=totals["patient"],
    )


def _status(text: str) -> Status:
    if text not in ("settled", "cancelled"):
        raise ValueError(f"a settlement's status is settled or cancelled, not {text!r}")
    return "settled" if text == "settled" else "cancelled"


def _document(body: bytes | str | dict[str, Any]) -> Any:
    """The claim as sent, as plain JSON data (it passed the contract, so it is JSON; what
    orjson refuses there, a byte-order mark or NaN in an ignored field, the standard
    library reads)."""
    if isinstance(body, dict):
        return body
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        import json

        return json.loads(body, parse_constant=str)


def _digest(raw: Any) -> str:
    """The claim's content, independent of key order and white space."""
    return hashlib.sha256(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _added(carried: dict[str, Decimal], paid: dict[str, Decimal]) -> dict[str, Decimal]:
    """The day's payments per pool: those carried into the year and the stored ones."""
    total = dict(carried)
    add_pools(total, paid)
    return total


def _claim_json(raw: Any, settled: Claim, rules: LedgerRules) -> dict[str, Any]:
    """The claim as sent, with the history it was settled with (what explain shows)."""
    document = dict(raw) if isinstance(raw, dict) else {}
    history = Ledger.open(settled, rules).to_json()
    history.pop("today", None)  # the claim's history is of its visit date: not a contract field
    document["history"] = history
    return document


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
