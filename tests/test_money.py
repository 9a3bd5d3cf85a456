"""Money rounding has one home (semantics/money.py), and a sub-fen figure is refused by `check`
(T004) yet, were it settled anyway, settles the same on both back ends."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from policyengine.check import PASSES, check
from policyengine.check.context import CheckContext
from policyengine.check.lower import lower
from policyengine.compile import compile_policy
from policyengine.contract.claims import load_claim
from policyengine.interpret.evaluator import adjudicate
from policyengine.ir import PolicyIR
from policyengine.loader import load
from policyengine.semantics.money import fen, finer_than_fen, money, to_places
from tests.support import POLICIES, claim

WORKING = "when scheme employee, status working => 800 元"


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [("0.005", "0.01"), ("0.004", "0.00"), ("0.015", "0.02"), ("0.025", "0.03"), ("2.675", "2.68")],
)
def test_fen_rounds_half_up(amount: str, rounded: str) -> None:
    assert fen(Decimal(amount)) == Decimal(rounded)
    assert money(Decimal(amount)) == rounded
    assert finer_than_fen(Decimal(amount))
    assert not finer_than_fen(Decimal(rounded))


def test_to_places_rounds_half_up() -> None:
    assert to_places(Decimal("1.0005"), 3) == Decimal("1.001")
    assert to_places(Decimal("7"), 3) == Decimal("7.000")


def _tianjin_with(tmp_path: Path, old: str, new: str, append: str = "") -> Path:
    for name in ("national", "tianjin"):
        shutil.copytree(POLICIES / name, tmp_path / name)
    benefits = tmp_path / "tianjin" / "benefits.policy"
    text = benefits.read_text(encoding="utf-8")
    assert text.count(old) == 1
    benefits.write_text(text.replace(old, new) + append, encoding="utf-8")
    return tmp_path / "tianjin"


def _lowered_anyway(directory: Path) -> tuple[list[str], PolicyIR]:
    """The error codes of every pass, and the IR lowered in spite of them."""
    loaded = load(directory)
    ctx = CheckContext(loaded, loaded.diagnostics)
    for _name, run in PASSES:
        run(ctx)
    codes = [d.code for d in ctx.diags.sorted() if d.is_error]
    return codes, lower(ctx, loaded.content_hash())


def test_check_refuses_a_deductible_finer_than_the_fen(tmp_path: Path) -> None:
    directory = _tianjin_with(tmp_path, WORKING, WORKING.replace("800 元", "1 元 × 0.5%"))
    result = check(directory)
    [diagnostic] = [d for d in result.diagnostics if d.is_error]
    assert diagnostic.code == "T004"
    assert diagnostic.message == "this deductible is 0.005 元, finer than the fen"
    assert diagnostic.hint == (
        "state money in whole fen (0.01 元); settlement rounds half-up to the fen itself"
    )
    line = (directory / "benefits.policy").read_text(encoding="utf-8").splitlines()[7]
    assert (diagnostic.span.line, diagnostic.span.col) == (8, line.index("1 元 × 0.5%") + 1)
    assert result.policy is None


def test_check_finds_a_figure_finer_than_the_fen_on_a_later_date(tmp_path: Path) -> None:
    directory = _tianjin_with(
        tmp_path,
        WORKING,
        WORKING.replace("800 元", "base × 0.5%"),
        '\nlet base "示例" = 2 元 until 2019-12-31 provisional "示例"\n'
        'let base "示例" = 3 元 from 2020-01-01 provisional "示例"\n',
    )
    errors = [d for d in check(directory).diagnostics if d.is_error]
    assert [(d.code, d.message) for d in errors] == [
        ("T004", "this deductible is 0.015 元 on 2020-01-01, finer than the fen")
    ]


def test_a_sub_fen_deductible_settles_the_same_on_both_back_ends(tmp_path: Path) -> None:
    directory = _tianjin_with(tmp_path, WORKING, WORKING.replace("800 元", "1 元 × 0.5%"))
    codes, policy = _lowered_anyway(directory)
    assert codes == ["T004"]
    settle = compile_policy(policy).namespace()["settle"]
    records = load_claim(claim(), region="tianjin")
    for trace in (False, True):
        interpreted = adjudicate(policy, records, trace=trace)
        compiled = settle(records, records.visit.date, False, trace)
        assert compiled == interpreted
        assert compiled["totals"]["deductible"] == "0.01"
