"""Units: money × ratio is money, ratio + points is a ratio, money + days is an error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policyengine import nodes as n
from policyengine.semantics.figures import UnitError, evaluate
from policyengine.semantics.values import Band, BandsVal, Val, banded_total, format_amount
from policyengine.span import Span

SPAN = Span("t.policy", 1, 1, 1, 2)


def q(number: str, unit: str) -> n.Quantity:
    return n.Quantity(Decimal(number), unit, f"{number} {unit}", SPAN)


def op(symbol: str, left: n.Expr, right: n.Expr) -> n.BinOp:
    return n.BinOp(symbol, left, right, SPAN)


def value(expr: n.Value) -> Val:
    result = evaluate(expr, lambda ref: (_ for _ in ()).throw(KeyError(ref.name)))
    assert isinstance(result, Val)
    return result


def test_literals_carry_units() -> None:
    assert value(q("35", "wan_yuan")) == Val("money", (Decimal(350000),))
    assert value(q("65", "percent")) == Val("ratio", (Decimal("0.65"),))
    assert value(q("5", "points")) == Val("points", (Decimal("0.05"),))
    assert value(q("7", "days")) == Val("days", (Decimal(7),))


def test_money_times_ratio_is_money_and_by_level_broadcasts() -> None:
    levels = n.ByLevel((q("500", "yuan"), q("800", "yuan"), q("1300", "yuan")), SPAN)
    half = value(op("×", levels, q("50", "percent")))
    assert half == Val("money", (Decimal("250.00"), Decimal("400.00"), Decimal("650.00")))
    assert half.at_level(3) == Decimal("650.00")


def test_ratio_plus_points_is_a_ratio() -> None:
    assert value(op("+", q("80", "percent"), q("5", "points"))) == Val("ratio", (Decimal("0.85"),))


@pytest.mark.parametrize(
    ("expr", "message", "hint"),
    [
        (op("+", q("800", "yuan"), q("7", "days")), "cannot add money (元) and days", None),
        (
            op("+", q("80", "percent"), q("5", "percent")),
            "cannot add two ratios",
            "percentage points",
        ),
        (
            op("×", q("800", "yuan"), q("800", "yuan")),
            "cannot multiply money (元) by money (元)",
            None,
        ),
        (op("-", q("7", "days"), q("800", "yuan")), "cannot subtract money (元) from days", None),
    ],
)
def test_unit_mistakes(expr: n.Expr, message: str, hint: str | None) -> None:
    with pytest.raises(UnitError) as raised:
        value(expr)
    assert str(raised.value) == message
    if hint:
        assert hint in (raised.value.hint or "")


def test_banded_total_with_ceiling() -> None:
    bands = BandsVal(
        Decimal(20000),
        (
            Band(Decimal(20000), Decimal(100000), Decimal("0.5")),
            Band(Decimal(100000), None, Decimal("0.6")),
        ),
        Decimal(300000),
        None,
    )
    assert banded_total(bands, Decimal(19999)) == 0
    assert banded_total(bands, Decimal(100000)) == Decimal(40000)
    assert banded_total(bands, Decimal(400000)) == Decimal(40000) + Decimal(200000) * Decimal("0.6")


def test_format_amount() -> None:
    assert format_amount("money", Decimal("350000.00")) == "350000 元"
    assert format_amount("ratio", Decimal("0.65")) == "65%"
    assert format_amount("points", Decimal("0.05")) == "5 pt"
