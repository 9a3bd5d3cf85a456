"""The ledger store's tables and queries (SQLAlchemy Core), for SQLite and PostgreSQL.

    policyengine_person_years   one row per (region, person, year): the history the year
                                opened with, the last commit's sequence number; the row
                                the store locks to serialise a person's commits
    policyengine_settlements    one row per (region, claim id, revision): the claim as
                                settled, its result with its trace, its contribution to
                                the year, settled / cancelled

JSON columns hold text (orjson), the same in both databases.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

import orjson
from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from policyengine.contract.results import ResultDict
    from policyengine.ledger import HistoryJSON

metadata = MetaData()

person_years = Table(
    "policyengine_person_years",
    metadata,
    Column("region", String(64), primary_key=True),
    Column("person_id", String(128), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("opening", Text, nullable=True),
    Column("sequence", Integer, nullable=False, default=0),
)

settlements = Table(
    "policyengine_settlements",
    metadata,
    Column("region", String(64), primary_key=True),
    Column("claim_id", String(128), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("person_id", String(128), nullable=False),
    Column("year", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("claim", Text, nullable=False),
    Column("result", Text, nullable=False),
    Column("contribution", Text, nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("settled_at", String(40), nullable=False),
    Column("cancelled_at", String(40), nullable=True),
    Index("policyengine_settlements_person", "region", "person_id", "year", "sequence"),
)


class PersonRow(NamedTuple):
    opening: HistoryJSON | None  # None until the year's first claim is settled
    sequence: int


class SettlementRow(NamedTuple):
    region: str
    claim_id: str
    revision: int
    person_id: str
    year: int
    sequence: int
    status: str
    digest: str
    claim: dict[str, Any]
    result: ResultDict
    contribution: HistoryJSON
    policy_hash: str
    settled_at: str
    cancelled_at: str | None


def connect(url: str) -> Engine:
    if url.startswith("sqlite"):
        # SQLite: pysqlite's own transaction handling off, and every transaction takes the
        # write lock when it begins (BEGIN IMMEDIATE), so that a person's commits queue up
        # instead of reading the year at the same time; WAL lets readers go on meanwhile.
        database = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(database, "connect")
        def _connect(connection: Any, _record: Any) -> None:
            connection.isolation_level = None
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=60000")

        @event.listens_for(database, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return database
    return create_engine(url, pool_pre_ping=True)


def create(database: Engine) -> None:
    """Create the tables when missing. Several workers may start at once: a creation that
    loses the race to another worker is fine once the tables are there."""
    for attempt in range(3):
        try:
            metadata.create_all(database, checkfirst=True)
            return
        except (IntegrityError, ProgrammingError, OperationalError):
            if attempt == 2:
                raise


def lock_person(connection: Connection, region: str, person_id: str, year: int) -> PersonRow:
    """The person's year row, created when new, locked until the transaction ends."""
    key = {"region": region, "person_id": person_id, "year": year}
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        connection.execute(
            pg_insert(person_years).values(**key, sequence=0).on_conflict_do_nothing()
        )
        query = select(person_years).where(_person_key(key)).with_for_update()
    else:  # SQLite: BEGIN IMMEDIATE already holds the database's write lock
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        connection.execute(
            sqlite_insert(person_years).values(**key, sequence=0).on_conflict_do_nothing()
        )
        query = select(person_years).where(_person_key(key))
    row = connection.execute(query).one()
    return PersonRow(orjson.loads(row.opening) if row.opening else None, row.sequence)


def person(connection: Connection, region: str, person_id: str, year: int) -> PersonRow | None:
    key = {"region": region, "person_id": person_id, "year": year}
    row = connection.execute(select(person_years).where(_person_key(key))).first()
    if row is None:
        return None
    return PersonRow(orjson.loads(row.opening) if row.opening else None, row.sequence)


def latest(connection: Connection, region: str, claim_id: str) -> SettlementRow | None:
    query = (
        select(settlements)
        .where(and_(settlements.c.region == region, settlements.c.claim_id == claim_id))
        .order_by(settlements.c.revision.desc())
        .limit(1)
    )
    row = connection.execute(query).first()
    return None if row is None else _row(row)


def contributions(
    connection: Connection, region: str, person_id: str, year: int
) -> list[HistoryJSON]:
    """What the standing (not cancelled) claims of the year added, in commit order."""
    query = (
        select(settlements.c.contribution)
        .where(
            and_(
                settlements.c.region == region,
                settlements.c.person_id == person_id,
                settlements.c.year == year,
                settlements.c.status == "settled",
            )
        )
        .order_by(settlements.c.sequence)
    )
    return [orjson.loads(text) for (text,) in connection.execute(query)]


def paid_on(
    connection: Connection, region: str, person_id: str, year: int, day: dt.date
) -> dict[str, Decimal]:
    """What the fund paid on `day`, per visit type, by the standing claims of the year
    (history.paid_today, for caps `per day`): the ledger's JSON keeps the year's sums only."""
    query = select(settlements.c.claim, settlements.c.result).where(
        and_(
            settlements.c.region == region,
            settlements.c.person_id == person_id,
            settlements.c.year == year,
            settlements.c.status == "settled",
        )
    )
    paid: dict[str, Decimal] = {}
    for claim_text, result_text in connection.execute(query):
        visit: StoredVisit = orjson.loads(claim_text)["visit"]
        if visit["date"] != day.isoformat():
            continue
        result: ResultDict = orjson.loads(result_text)
        fund = Decimal(result["totals"]["payers"]["fund"])
        paid[visit["type"]] = paid.get(visit["type"], Decimal(0)) + fund
    return paid


class StoredVisit(TypedDict):
    """What `paid_on` reads of a stored claim's visit (the claim contract's names)."""

    type: str
    date: str


def settlements_of(
    connection: Connection, region: str, person_id: str, year: int
) -> list[SettlementRow]:
    query = (
        select(settlements)
        .where(
            and_(
                settlements.c.region == region,
                settlements.c.person_id == person_id,
                settlements.c.year == year,
            )
        )
        .order_by(settlements.c.sequence)
    )
    return [_row(row) for row in connection.execute(query)]


def insert(connection: Connection, row: SettlementRow, opening: HistoryJSON) -> None:
    values = row._asdict()
    for column in ("claim", "result", "contribution"):
        values[column] = orjson.dumps(values[column]).decode()
    connection.execute(settlements.insert().values(**values))
    key = {"region": row.region, "person_id": row.person_id, "year": row.year}
    connection.execute(
        update(person_years)
        .where(_person_key(key))
        .values(sequence=row.sequence, opening=orjson.dumps(opening).decode())
    )


def mark_cancelled(connection: Connection, row: SettlementRow, when: str) -> None:
    connection.execute(
        update(settlements)
        .where(
            and_(
                settlements.c.region == row.region,
                settlements.c.claim_id == row.claim_id,
                settlements.c.revision == row.revision,
            )
        )
        .values(status="cancelled", cancelled_at=when)
    )


def _person_key(key: dict[str, Any]) -> Any:
    return and_(
        person_years.c.region == key["region"],
        person_years.c.person_id == key["person_id"],
        person_years.c.year == key["year"],
    )


def _row(row: Any) -> SettlementRow:
    return SettlementRow(
        region=row.region,
        claim_id=row.claim_id,
        revision=row.revision,
        person_id=row.person_id,
        year=row.year,
        sequence=row.sequence,
        status=row.status,
        digest=row.digest,
        claim=orjson.loads(row.claim),
        result=orjson.loads(row.result),
        contribution=orjson.loads(row.contribution),
        policy_hash=row.policy_hash,
        settled_at=row.settled_at,
        cancelled_at=row.cancelled_at,
    )
