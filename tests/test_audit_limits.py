"""The audit rule bases' kinds (限数量, 限金额, 限频次, 限疗程, 限专科, 限险种) beyond the YAML cases
of tests/policies/audits: the catalogue's optional columns refused at file:line:column, the
batch ledger carrying quantities and a frequency window from claim to claim, and both back
ends alike. The near misses (at the limit: no finding; one over: a finding) are the YAML cases.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policyengine import Engine
from policyengine.cli.main import main
from policyengine.ledger import settle_person
from policyengine.prepared import BACKENDS

AUDITS = Path(__file__).resolve().parent / "policies" / "audits"
HEADER = (AUDITS / "catalogue.csv").read_text(encoding="utf-8").splitlines()[0]
CLAIM: dict[str, Any] = {
    "id": "AU-L",
    "region": "audits",
    "person": {"id": "P-1", "scheme": "resident", "birth_date": "1980-05-02", "sex": "female"},
    "visit": {
        "type": "outpatient",
        "date": "2024-03-05",
        "hospital": {"id": "H2", "level": 2, "kind": "general"},
        "doctor": {"id": "D1", "title": "attending"},
        "diagnoses": ["J18.9"],
    },
    "items": [
        {
            "line": 1,
            "code": "S001",
            "kind": "service",
            "quantity": "1",
            "unit_price": "20.00",
            "amount": "20.00",
        }
    ],
}


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    root = AUDITS.parent
    return {backend: Engine.load(root, backend=backend) for backend in BACKENDS}


# ------------------------------------------------------------------ the catalogue's columns


def _check_with_row(tmp_path: Path, header: str, row: str) -> int:
    policy = tmp_path / "audits"
    shutil.copytree(AUDITS, policy, ignore=shutil.ignore_patterns("tests"))
    (policy / "catalogue.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    return main(["check", str(policy)])


BASE = "X1,测试,g,drug,A,,,,,,,,,,,,,,,,,"  # the 22 columns before the optional ones


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ("0,,", "max_quantity", "must be above 0 with at most 3 decimal places"),
        ("2.0005,,", "max_quantity", "must be above 0 with at most 3 decimal places"),
        ("-1,,", "max_quantity", "is not a plain decimal number"),
        (",psy chiatry,", "departments", "is not a department word"),
        (",psychiatry;;neurology,", "departments", "is not a department word"),
        (",,employee;retired", "schemes", "`retired` is not one of employee, resident"),
    ],
)
def test_a_bad_optional_cell_is_refused_at_its_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cells: str, column: str, message: str
) -> None:
    row = f"{BASE},{cells}"
    status = _check_with_row(tmp_path, HEADER, row)
    out = capsys.readouterr().out
    col = len(",".join(row.split(",")[: HEADER.split(",").index(column)])) + 2
    assert status == 1
    assert f"catalogue.csv:2:{col}: error[I001]: catalogue column `{column}`" in out
    assert message in out


def test_the_column_of_a_bad_cell_is_found_in_a_reordered_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CSV's columns may come in any order: the cell is found by the file's own header."""
    names = HEADER.split(",")
    header = ",".join(["schemes", *names[:-1]])
    status = _check_with_row(tmp_path, header, f"employee;retired,{BASE},,")
    assert status == 1
    assert "catalogue.csv:2:1: error[I001]: catalogue column `schemes`" in capsys.readouterr().out


def test_a_catalogue_without_the_optional_columns_checks_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ",".join(HEADER.split(",")[:-3])
    status = _check_with_row(tmp_path, header, BASE)
    assert status == 0, capsys.readouterr().out


# ------------------------------------------------------------------ the batch ledger


def _claim(claim_id: str, day: str, items: list[dict[str, Any]]) -> bytes:
    claim = copy.deepcopy(CLAIM)
    claim.update(id=claim_id, items=items)
    claim["visit"]["date"] = day
    return json.dumps(claim).encode()


def _line(code: str, kind: str, quantity: str, price: str = "1.00") -> dict[str, Any]:
    amount = Decimal(quantity) * Decimal(price)
    return {
        "line": 1,
        "code": code,
        "kind": kind,
        "quantity": quantity,
        "unit_price": price,
        "amount": f"{amount:.2f}",
    }


def _year(engine: Engine, raws: list[bytes]) -> list[list[tuple[str, int | None]]]:
    settled = settle_person(
        list(enumerate(raws)),
        engine.settle,
        rules_of=lambda c: engine.ledger_rules(c.region),
    )
    out = []
    for record in sorted(settled, key=lambda s: s.index):
        assert record.result is not None, record.error
        out.append([(f["kind"], f["line"]) for f in record.result["findings"]])
    return out


def test_the_ledger_keeps_the_services_of_the_frequency_window(engines: dict[str, Engine]) -> None:
    """`within 7 days`, at most 2: the third claim of S001 on 03-05 counts 02-28 and 03-01
    (6 and 4 days before); a fourth on 03-08 counts 03-01 and 03-05 only (02-28 is 9 days back);
    the ledger keeps the services for the 7 days, not the claim's day alone."""
    service = [_line("S001", "service", "1", "20.00")]
    raws = [
        _claim("A", "2024-02-28", service),
        _claim("B", "2024-03-01", service),
        _claim("C", "2024-03-05", service),
        _claim("D", "2024-03-08", service),
    ]
    for engine in engines.values():
        # C is denied, so it does not join the history: D sees 03-01 alone
        assert _year(engine, raws) == [[], [], [("frequency_limit", 1)], []]
    assert engines["compiled"].ledger_rules("audits").service_days == 7


def test_the_ledger_records_each_lines_quantity_for_the_day(engines: dict[str, Engine]) -> None:
    """限量片剂 at most 30 a day: 20 in a morning claim and 10 later that day are at the limit;
    11 more are one over, and the next day starts again."""
    code = "XA01AAA001A001010001001"
    raws = [
        _claim("A", "2024-03-05", [_line(code, "drug", "20")]),
        _claim("B", "2024-03-05", [_line(code, "drug", "10")]),
        _claim("C", "2024-03-05", [_line(code, "drug", "0.001")]),
        _claim("D", "2024-03-06", [_line(code, "drug", "30")]),
    ]
    for engine in engines.values():
        assert _year(engine, raws) == [[], [], [("quantity_limit", 1)], []]


def test_a_history_records_quantity_must_be_positive(engines: dict[str, Engine]) -> None:
    from policyengine.contract.claims import ClaimRejected

    claim = copy.deepcopy(CLAIM)
    claim["history"] = {"services": [{"code": "S001", "date": "2024-03-05", "quantity": "0"}]}
    with pytest.raises(ClaimRejected) as rejected:
        engines["compiled"].settle(claim)
    assert [e["path"] for e in rejected.value.as_json()["errors"]] == [
        "history.services[0].quantity"
    ]


def test_a_stored_ledger_keeps_quantities_and_the_frequency_window(
    engines: dict[str, Engine],
) -> None:
    """The service stores a person's year as JSON (Ledger.to_json / from_json): the records'
    quantities survive it (written where not one, as plain digits), and the ledger read back
    under the policy's rules keeps the services of its frequency window."""
    from policyengine.contract.fastclaim import Dispensed, ServiceRecord
    from policyengine.ledger import Ledger

    rules = engines["compiled"].ledger_rules("audits")
    day = dt.date(2024, 3, 5)
    ledger = Ledger(day.replace(month=1, day=1))
    ledger.dispensed = [Dispensed("D", day, 5, Decimal("1E+1")), Dispensed("E", day, 5)]
    ledger.services = [ServiceRecord("S001", day - dt.timedelta(days=6), Decimal("2.5"))]
    stored = ledger.to_json()
    assert stored["dispensed"] == [
        {"code": "D", "date": "2024-03-05", "days_supply": 5, "quantity": "10"},
        {"code": "E", "date": "2024-03-05", "days_supply": 5},
    ]
    again = Ledger.from_json(stored, rules)
    assert again.dispensed == ledger.dispensed and again.services == ledger.services
    assert again.history(day).services == tuple(ledger.services)  # 6 days back, within 7
    assert Ledger.from_json(stored).history(day).services == ()  # calendar rules: the day only
