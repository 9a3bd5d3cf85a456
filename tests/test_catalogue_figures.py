"""`check` refuses catalogue figures the evaluators cannot compute with, at file:line:column.

`price_cap` of `1e9999` is finite to Decimal, so it passed `check`; then every claim using
the item raised decimal.InvalidOperation in runtime.fen and the batch ended with exit 3.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policyengine import Engine
from policyengine.cli.main import main
from tests.support import POLICIES, claim

ROW = "XA10BKD104A001010001010,达格列净片,dapagliflozin,drug,B,0.10,4.36,"
LINE = 11  # the row's line in policies/national/catalogue.csv
PRICE_COLUMN = len("XA10BKD104A001010001010,达格列净片,dapagliflozin,drug,B,0.10,") + 1
SELFPAY_COLUMN = len("XA10BKD104A001010001010,达格列净片,dapagliflozin,drug,B,") + 1


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    for name in ("national", "tianjin"):
        shutil.copytree(POLICIES / name, tmp_path / name, ignore=shutil.ignore_patterns("tests"))
    return tmp_path


def _plant(policy: Path, price: str = "4.36", selfpay: str = "0.10") -> None:
    catalogue = policy / "national" / "catalogue.csv"
    text = catalogue.read_text(encoding="utf-8")
    assert text.splitlines()[LINE - 1].startswith(ROW)
    planted = ROW.replace(",0.10,4.36,", f",{selfpay},{price},")
    catalogue.write_text(text.replace(ROW, planted, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("1e9999", "is not a plain decimal number"),
        ("1E+2", "is not a plain decimal number"),
        ("NaN", "is not a plain decimal number"),
        ("Infinity", "is not a plain decimal number"),
        ("-0", "is not a plain decimal number"),
        ("4.36e-9999", "is not a plain decimal number"),
        ("10000000000", "must be between 0 and 9999999999.9999"),
        ("9" * 5000, "must be between 0 and 9999999999.9999"),
        ("4.000001", "has more than 4 decimal places"),
    ],
)
def test_a_price_cap_out_of_range_is_refused_at_its_cell(
    policy: Path, price: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    _plant(policy, price=price)
    assert main(["check", str(policy / "tianjin")]) == 1
    out = capsys.readouterr().out
    assert f"catalogue.csv:{LINE}:{PRICE_COLUMN}: error[I001]" in out
    assert "catalogue column `price_cap`" in out and message in out


@pytest.mark.parametrize("selfpay", ["1e-9999", "1.5", "0.000001"])
def test_a_selfpay_proportion_out_of_range_is_refused_at_its_cell(
    policy: Path, selfpay: str, capsys: pytest.CaptureFixture
) -> None:
    _plant(policy, selfpay=selfpay)
    assert main(["check", str(policy / "tianjin")]) == 1
    assert f"catalogue.csv:{LINE}:{SELFPAY_COLUMN}: error[I001]" in capsys.readouterr().out


def test_the_largest_accepted_price_cap_settles(policy: Path) -> None:
    _plant(policy, price="9999999999.9999")
    assert main(["check", str(policy / "tianjin")]) == 0
    item = {
        "line": 1,
        "code": ROW.split(",", maxsplit=1)[0],
        "kind": "drug",
        "quantity": "9999999.999",
        "unit_price": "1000.0000",
        "amount": "9999999999.00",
    }
    data = claim(items=[item])
    data["visit"]["diagnoses"] = ["E11.900"]
    compiled, interpreted = (
        Engine.load(policy / "tianjin", cache=False, backend=backend).settle(data, trace=True)
        for backend in ("compiled", "interpreted")
    )
    assert compiled["totals"]["billed"] == "9999999999.00"
    assert compiled == interpreted  # the largest figures settle alike on both back ends
