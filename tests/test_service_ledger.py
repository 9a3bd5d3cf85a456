"""The ledger store (docs/service.md, Ledger), on SQLite and on a real PostgreSQL server:
a person's year committed claim by claim settles as batch does; the same claim twice is
counted once; cancelling (撤销结算) restores the year exactly and later claims settle again;
N concurrent commits for one person give the sequential result. Then the HTTP endpoints.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from policyengine import Engine
from policyengine.batch.worker import settle_claims
from policyengine.contract.claims import ClaimRejected
from policyengine.service.app import create_app
from policyengine.service.config import ServiceConfig
from policyengine.service.store import Conflict, LedgerStore, NotSettled
from tests.servers import postgres_cluster
from tests.support import EXAMPLES, ROOT, claim

_DATABASES = itertools.count()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


def _postgres_database(url: str) -> str:
    """A fresh database on the session's server, so that each test starts empty."""
    import psycopg

    name = f"ledger_{next(_DATABASES)}_{uuid.uuid4().hex[:8]}"
    dsn = url.replace("postgresql://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.replace("/postgres?", f"/{name}?", 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[LedgerStore]:
    if request.param == "sqlite":
        location = str(tmp_path / "ledger.db")
    else:
        location = _postgres_database(request.getfixturevalue("postgres"))
    opened = LedgerStore(location)
    try:
        yield opened
    finally:
        opened.close()


def person_year_claims() -> list[dict[str, Any]]:
    """The example year's busiest person with money at stake (inpatient and outpatient)."""
    claims = [json.loads(line) for line in (EXAMPLES / "claims.jsonl").read_text().splitlines()]
    by_person: dict[str, list[dict[str, Any]]] = {}
    for one in claims:
        by_person.setdefault(one["person"]["id"], []).append(one)
    chosen = max(
        by_person.values(),
        key=lambda mine: (len({c["visit"]["type"] for c in mine}), len(mine)),
    )
    return sorted(chosen, key=lambda c: c["visit"]["date"])


def without_trace(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "trace"}


DAYS = {name: f"2024-03-{n:02d}" for n, name in enumerate("ABCH", start=5)}


def spend(claim_id: str, amount: str = "300.00", day: str | None = None) -> dict[str, Any]:
    """An outpatient claim of one employee that meets part of the year's deductible (one a
    day: the same service twice on one day would be a duplicate)."""
    day = day or DAYS.get(claim_id[0], f"2024-04-{int(claim_id[1:] or 0) + 1:02d}")
    item = {"line": 1, "code": "001101000010000", "kind": "service", "quantity": "1",
            "unit_price": amount, "amount": amount}  # fmt: skip
    base = claim(id=claim_id, items=[item])
    base["visit"]["date"] = day
    return base


def test_a_year_committed_claim_by_claim_settles_as_batch(
    store: LedgerStore, engine: Engine
) -> None:
    claims = person_year_claims()
    assert len(claims) >= 5
    batch = [
        settled.result
        for settled in settle_claims(
            engine, list(enumerate(claims)), region=None, as_of=None, moment="during", trace=False
        )
    ]
    committed = [store.commit(engine, json.dumps(c).encode()) for c in claims]
    assert [without_trace(dict(s.result)) for s in committed] == batch
    assert all("trace" in s.result for s in committed)  # kept for the auditors' page
    assert [s.sequence for s in committed] == list(range(1, len(claims) + 1))


def test_the_same_claim_twice_is_counted_once(store: LedgerStore, engine: Engine) -> None:
    first = store.commit(engine, spend("A"))
    year_before = store.year("tianjin", "P000001", 2024)
    again = store.commit(engine, json.dumps(spend("A"), indent=2, sort_keys=True))
    assert again.replayed and not first.replayed
    assert again.result == first.result and again.sequence == first.sequence
    year_after = store.year("tianjin", "P000001", 2024)
    assert year_after == year_before
    assert year_after.history is not None
    assert year_after.history["deductible_met"] == {"outpatient": "300.00"}
    with pytest.raises(Conflict, match="other content"):
        store.commit(engine, spend("A", amount="400.00"))


def test_cancelling_restores_the_year_exactly_and_later_claims_settle_again(
    store: LedgerStore, engine: Engine
) -> None:
    a = store.commit(engine, spend("A"))
    after_a = store.year("tianjin", "P000001", 2024).history
    b = store.commit(engine, spend("B"))
    after_b = store.year("tianjin", "P000001", 2024).history
    c = store.commit(engine, spend("C"))
    assert [s.result["totals"]["deductible"] for s in (a, b, c)] == ["300.00", "300.00", "200.00"]
    # cancel the middle claim: the year is A and C only; C was settled with B in the year
    cancelled = store.cancel("tianjin", "B")
    assert cancelled.status == "cancelled" and cancelled.cancelled_at
    assert store.cancel("tianjin", "B").replayed  # twice changes nothing
    year = store.year("tianjin", "P000001", 2024)
    assert year.history is not None and year.history["deductible_met"] == {"outpatient": "500.00"}
    # C settled again after B's cancellation: cancel it, settle it again (a new revision)
    store.cancel("tianjin", "C")
    assert store.year("tianjin", "P000001", 2024).history == after_a
    c2 = store.commit(engine, spend("C"))
    assert c2.revision == 2 and not c2.replayed
    assert c2.result["totals"]["deductible"] == "300.00"  # B's 300 no longer counts
    # B settles again too, after C now
    b2 = store.commit(engine, spend("B"))
    assert b2.revision == 2 and b2.result["totals"]["deductible"] == "200.00"
    entries = store.year("tianjin", "P000001", 2024).settlements
    assert [(e.claim_id, e.revision, e.status) for e in entries] == [
        ("A", 1, "settled"),
        ("B", 1, "cancelled"),
        ("C", 1, "cancelled"),
        ("C", 2, "settled"),
        ("B", 2, "settled"),
    ]
    store.cancel("tianjin", "B")  # the latest again: back to the year after C alone on A
    restored = store.year("tianjin", "P000001", 2024).history
    assert restored is not None and restored != after_b
    assert restored["deductible_met"] == {"outpatient": "600.00"}
    assert store.settlement("tianjin", "B") is not None
    with pytest.raises(NotSettled):
        store.cancel("tianjin", "never")


def test_cancelling_every_claim_closes_the_year(store: LedgerStore, engine: Engine) -> None:
    given = spend("A")
    given["history"] = {"deductible_met": {"outpatient": "700.00"}}
    store.commit(engine, given)
    assert store.year("tianjin", "P000001", 2024).opening["deductible_met"] == {  # type: ignore[index]
        "outpatient": "700.00"
    }
    store.cancel("tianjin", "A")
    year = store.year("tianjin", "P000001", 2024)
    assert not year.open and year.history is None and year.opening is None
    # the next claim opens the year with its own history, as the first claim of a batch
    opened = store.commit(engine, spend("B"))
    assert opened.result["totals"]["deductible"] == "300.00"


def test_concurrent_commits_for_one_person_give_the_sequential_result(
    store: LedgerStore, engine: Engine, tmp_path: Any
) -> None:
    count = 12
    claims = [spend(f"K{n:02d}", amount=f"{100 + 10 * n}.00") for n in range(count)]
    start = threading.Barrier(count)

    def commit(one: dict[str, Any]) -> Any:
        start.wait()
        return store.commit(engine, json.dumps(one).encode())

    with ThreadPoolExecutor(max_workers=count) as pool:
        committed = list(pool.map(commit, claims))
    assert sorted(s.sequence for s in committed) == list(range(1, count + 1))
    in_order = sorted(committed, key=lambda s: s.sequence)
    replay = LedgerStore(str(tmp_path / "sequential.db"))
    try:
        sequential = [
            replay.commit(engine, json.dumps(next(c for c in claims if c["id"] == s.claim_id)))
            for s in in_order
        ]
        assert [s.result for s in sequential] == [s.result for s in in_order]
        assert replay.year("tianjin", "P000001", 2024).history == (
            store.year("tianjin", "P000001", 2024).history
        )
    finally:
        replay.close()
    met = store.year("tianjin", "P000001", 2024).history
    assert met is not None and met["deductible_met"] == {"outpatient": "800.00"}


def test_a_year_is_the_policys_benefit_year(store: LedgerStore) -> None:
    """yearjiao's benefit year begins on 1 October: a claim of 2024-09-20 is in the year
    from 2023-10-01, while 2024-10-05 and 2025-03-01 share the year from 2024-10-01 (named
    2024) — one deductible between them, as batch settles them."""
    engine = Engine.load(ROOT / "tests" / "policies" / "yearjiao")
    wrong = year_claim("YJ-0", "2024-10-05") | {"history": {"benefit_year_start": "2024-01-01"}}
    with pytest.raises(ClaimRejected) as refused:  # a history of another year is not opened
        store.commit(engine, json.dumps(wrong).encode())
    assert [e["path"] for e in refused.value.as_json()["errors"]] == ["history.benefit_year_start"]
    assert store.settlement("yearjiao", "YJ-0") is None
    claims = [year_claim(f"YJ-{n}", day) for n, day in enumerate(
        ("2024-09-20", "2024-10-05", "2025-03-01"))]  # fmt: skip
    committed = [store.commit(engine, json.dumps(c).encode()) for c in claims]
    batch = settle_claims(
        engine, list(enumerate(claims)), region=None, as_of=None, moment="during", trace=False
    )
    assert [without_trace(dict(s.result)) for s in committed] == [b.result for b in batch]
    assert [s.year for s in committed] == [2023, 2024, 2024]
    assert [s.result["totals"]["deductible"] for s in committed] == ["100.00", "100.00", "0.00"]
    year = store.year("yearjiao", "P-1", 2024)
    assert [entry.claim_id for entry in year.settlements] == ["YJ-1", "YJ-2"]
    assert year.history is not None and year.opening is not None
    assert year.opening["benefit_year_start"] == year.history["benefit_year_start"] == "2024-10-01"
    # 进入统筹累计: (200 − 100) + (200 − 0)
    assert year.history["pooled"] == {"outpatient": "300.00"}
    assert year.history["deductible_met"] == {"outpatient": "100.00"}
    assert store.year("yearjiao", "P-1", 2023).history["benefit_year_start"] == "2023-10-01"  # type: ignore[index]


def test_a_cap_per_day_counts_what_the_stored_year_paid_that_day(store: LedgerStore) -> None:
    """tests/policies/payments: special outpatient at most 300.00 a visit at level 1 and
    500.00 a day. Three claims of 1000.00 committed one by one: 300.00, then the day's 200.00
    left, then on the next day 300.00 again — as batch settles them (the stored ledger keeps
    what each day paid, not only the year's sums)."""
    engine = Engine.load(ROOT / "tests" / "policies" / "payments")
    days = ("2024-04-08", "2024-04-08", "2024-04-09")
    claims = [day_claim(f"PD-{n}", day) for n, day in enumerate(days)]
    committed = [store.commit(engine, json.dumps(c).encode()) for c in claims]
    funds = [s.result["totals"]["payers"]["fund"] for s in committed]
    assert funds == ["300.00", "200.00", "300.00"]
    batch = settle_claims(
        engine, list(enumerate(claims)), region=None, as_of=None, moment="during", trace=False
    )
    assert [without_trace(dict(s.result)) for s in committed] == [b.result for b in batch]


def test_the_first_claims_carried_paid_today_counts_for_its_day(store: LedgerStore) -> None:
    """The year's first claim carries history.paid_today: the fund paid 150.00 that day
    outside the service. The day's 500.00 cap leaves it 300.00 (its visit cap); a second
    claim that day has 500 − 150 − 300 = 50.00 left, and a claim of the next day the full
    300.00 — as batch settles them (the stored opening keeps the carried day's payments)."""
    engine = Engine.load(ROOT / "tests" / "policies" / "payments")
    days = ("2024-04-08", "2024-04-08", "2024-04-09", "2024-04-08")
    claims = [day_claim(f"PT-{n}", day) for n, day in enumerate(days)]
    claims[0]["history"] = {"paid_today": {"special_outpatient": "150.00"}}
    committed = [store.commit(engine, json.dumps(c).encode()) for c in claims]
    funds = [s.result["totals"]["payers"]["fund"] for s in committed]
    assert funds == ["300.00", "50.00", "300.00", "0.00"]  # before the fix: 200.00 second
    batch = settle_claims(  # (batch answers in date order: PT-3 before PT-2)
        engine, list(enumerate(claims)), region=None, as_of=None, moment="during", trace=False
    )
    by_id = {b.result["claim_id"]: b.result for b in batch if b.result is not None}
    assert [without_trace(dict(s.result)) for s in committed] == [by_id[c["id"]] for c in claims]
    # the stored claim shows the day's payments it was settled with (carried + the first's)
    second = store.settlement("payments", "PT-1")
    assert second is not None
    assert second.claim["history"]["paid_today"] == {"special_outpatient": "450.00"}
    opening = store.year("payments", "P-9", 2024).opening
    assert opening is not None and opening.get("paid_today") == {"special_outpatient": "150.00"}


def test_a_cancelled_first_claims_carried_paid_today_still_counts(store: LedgerStore) -> None:
    """The carried amount was paid before the first claim, outside the service: cancelling
    that claim takes away what its own fund paid, not what was paid before it. While the
    year stands the opening (carried paid_today with the carried sums) counts, as batch's
    opening does; 250.00 carried, the first claim 250.00, the second 0.00; after cancelling
    the first, a third claim that day has 500 − 250 − 0 = 250.00 left (300.00 without the
    carried amount)."""
    engine = Engine.load(ROOT / "tests" / "policies" / "payments")
    claims = [day_claim(f"PC-{n}", "2024-04-08") for n in range(3)]
    claims[0]["history"] = {"paid_today": {"special_outpatient": "250.00"}}
    first, second = (store.commit(engine, json.dumps(c).encode()) for c in claims[:2])
    assert [s.result["totals"]["payers"]["fund"] for s in (first, second)] == ["250.00", "0.00"]
    store.cancel("payments", "PC-0")
    third = store.commit(engine, json.dumps(claims[2]).encode())
    assert third.result["totals"]["payers"]["fund"] == "250.00"
    # every claim cancelled closes the year: the next claim opens it with its own history
    store.cancel("payments", "PC-1")
    store.cancel("payments", "PC-2")
    reopened = store.commit(engine, json.dumps(day_claim("PC-3", "2024-04-08")).encode())
    assert reopened.result["totals"]["payers"]["fund"] == "300.00"


def test_an_opening_stored_without_the_days_payments_still_loads(
    store: LedgerStore, engine: Engine
) -> None:
    """Openings stored before the opening kept its day's payments have neither `today` nor
    `paid_today`: they load as nothing carried, and the year settles on."""
    from sqlalchemy import update

    payments = Engine.load(ROOT / "tests" / "policies" / "payments")
    given = day_claim("PO-0", "2024-04-08")
    given["history"] = {"paid_today": {"special_outpatient": "150.00"}}
    store.commit(payments, json.dumps(given).encode())
    opening = store.year("payments", "P-9", 2024).opening
    assert opening is not None and {"today", "paid_today"} <= set(opening)
    old = {k: v for k, v in opening.items() if k not in ("today", "paid_today")}
    with store.database.begin() as connection:
        connection.execute(update(store.tables.person_years).values(opening=json.dumps(old)))
    assert store.year("payments", "P-9", 2024).opening == old
    second = store.commit(payments, json.dumps(day_claim("PO-1", "2024-04-08")).encode())
    assert second.result["totals"]["payers"]["fund"] == "200.00"  # 500 − 300: none carried


def day_claim(claim_id: str, day: str) -> dict[str, Any]:
    item = {"line": 1, "code": "S001", "kind": "service", "quantity": "1",
            "unit_price": "1000.00", "amount": "1000.00"}  # fmt: skip
    return claim(
        id=claim_id,
        region="payments",
        person={"id": "P-9", "scheme": "resident", "birth_date": "1955-05-02", "sex": "female"},
        items=[item],
    ) | {"visit": {"type": "special_outpatient", "date": day, "hospital": {"id": "H1",
         "level": 1, "kind": "general"}, "doctor": {"id": "D1", "title": "attending"},
         "diagnoses": ["I10"]}}  # fmt: skip


def year_claim(claim_id: str, day: str) -> dict[str, Any]:
    item = {"line": 1, "code": "S001", "kind": "service", "quantity": "1",
            "unit_price": "200.00", "amount": "200.00"}  # fmt: skip
    return claim(
        id=claim_id,
        region="yearjiao",
        person={"id": "P-1", "scheme": "resident", "birth_date": "1980-05-02", "sex": "female"},
        items=[item],
    ) | {"visit": {"type": "outpatient", "date": day, "hospital": {"id": "H3", "level": 3,
         "kind": "general"}, "doctor": {"id": "D1", "title": "attending"},
         "diagnoses": ["J18.9"]}}  # fmt: skip


# ------------------------------------------------------------------ the endpoints


def test_the_ledger_endpoints(tmp_path: Any) -> None:
    config = ServiceConfig(ledger=str(tmp_path / "ledger.db"), reload_seconds=0)
    with TestClient(create_app(config)) as client:
        answer = client.post("/v1/ledger/claims", json=spend("H1"))
        assert answer.status_code == 200
        body = answer.json()
        assert (
            body["status"] == "settled" and not body["replayed"] and "trace" not in body["result"]
        )
        assert answer.headers["x-policy-hash"] == body["policy_hash"]
        assert client.post("/v1/ledger/claims", json=spend("H1")).json()["replayed"]
        conflict = client.post("/v1/ledger/claims", json=spend("H1", amount="9.00"))
        assert conflict.status_code == 409 and conflict.json()["error"] == "conflict"
        refused = client.post("/v1/ledger/claims", content=b'{"id": "X"}')
        assert refused.status_code == 422 and refused.json()["claim_id"] == "X"
        traced = client.get("/v1/ledger/claims/tianjin/H1?trace=true").json()
        assert traced["result"]["trace"][0]["step"] == "policy"
        assert client.get("/v1/ledger/claims/tianjin/nope").status_code == 404
        year = client.get("/v1/ledger/persons/tianjin/P000001/2024").json()
        assert year["open"] and [e["claim_id"] for e in year["settlements"]] == ["H1"]
        cancel = client.post("/v1/ledger/claims/tianjin/H1/cancel")
        assert cancel.json()["status"] == "cancelled"
        assert client.post("/v1/ledger/claims/tianjin/nope/cancel").status_code == 404
        assert not client.get("/v1/ledger/persons/tianjin/P000001/2024").json()["open"]
        assert client.get("/readyz").json()["checks"] == {"policies": True, "ledger": True}
    with TestClient(create_app(ServiceConfig(reload_seconds=0))) as bare:
        answer = bare.post("/v1/ledger/claims", json=spend("H1"))
        assert answer.status_code == 503 and answer.json()["error"] == "no_ledger"
