"""Money: exact Decimals in 元, rounded half-up to the fen (spec §2) — in this module only.

Every rounding of money in the engine is `fen()` (or `to_unit()`, for a policy that settles to
the jiao): both evaluators (the generated code reaches
it through runtime.py), the allocation to lines, the ledger, diff and the claim contract's
`amount = quantity × unit_price` check. Other decimals (a quantity's or a catalogue figure's
places) are checked with `to_places`, which rounds the same way. A rule file states money in
whole fen: the checker refuses a finer figure (T004), so no settlement depends on where a
sub-fen figure would be rounded. tests/test_registries.py fails on a `quantize` anywhere else.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from policyengine.semantics.vocabulary import MoneyUnit

FEN: Final = Decimal("0.01")
ZERO: Final = Decimal("0.00")
# The arithmetic context settlement runs in: 34 digits hold any sum the contract allows
# (10 digits before the point, a few thousand lines) exactly, so its rounding never acts.
CONTEXT: Final = Context(prec=34, rounding=ROUND_HALF_EVEN)


def fen(amount: Decimal) -> Decimal:
    """`amount` rounded half-up to the fen: 0.005 → 0.01, 0.004 → 0.00."""
    return amount.quantize(FEN, ROUND_HALF_UP)


def pro_rata(payment: Decimal, weights: list[Decimal], total: Decimal) -> list[Decimal]:
    """`payment × weight ÷ total` for each weight, half-up to the fen (each `fen()` of it),
    ZERO for a weight of zero: the shares of a payment allocated to lines (runtime_result.py).
    One comprehension, not a call of `fen` per line: the allocation is the hottest rounding."""
    return [(payment * w / total).quantize(FEN, ROUND_HALF_UP) if w else ZERO for w in weights]


# The units a policy may settle to (`money rounds to jiao` in its header; default the fen).
UNITS: Final[dict[str, Decimal]] = {"fen": FEN, "jiao": Decimal("0.1")}


def to_unit(amount: Decimal, unit: MoneyUnit) -> Decimal:
    """`amount` rounded half-up to the policy's unit, kept at two places: 12.345 → 12.30 at
    the jiao (12.35 → 12.40), → 12.35 at the fen."""
    if unit == "fen":
        return fen(amount)
    return amount.quantize(UNITS[unit], ROUND_HALF_UP).quantize(FEN)


def money(amount: Decimal) -> str:
    """Money as the result contract writes it: two decimals, half-up."""
    return str(amount.quantize(FEN, ROUND_HALF_UP))


def finer_than_fen(amount: Decimal) -> bool:
    """True for an amount that whole fen cannot state (0.005 元)."""
    return amount != amount.quantize(FEN, ROUND_HALF_UP)


def finer_than(amount: Decimal, unit: MoneyUnit) -> bool:
    """True for an amount that whole units cannot state (0.05 元 at the jiao)."""
    return amount != amount.quantize(UNITS[unit], ROUND_HALF_UP)


def to_places(number: Decimal, places: int) -> Decimal:
    """`number` rounded half-up to `places` decimals (a caller that must lose nothing compares
    the two). Raises decimal.InvalidOperation when the result needs more digits than the
    context holds."""
    quantum = _QUANTA.get(places) or Decimal(1).scaleb(-places)
    return number.quantize(quantum, ROUND_HALF_UP)


_QUANTA: Final = {places: Decimal(1).scaleb(-places) for places in range(9)}
