"""Which rule a failing case's wrong figure comes from (issue 15.3), read from the trace.

A case states results (the fund, the deductible, the patient's share), not the steps that
made them. The settlement runs deductible → ratio → fund → cap → limit → second layer; the
blame is the first step whose own figure the expectations contradict, or — where they state
none of it — the first step that could alone give the expected figure:

- a wrong deductible is the deductible row's (and a fund computed after it follows from it);
- a fund that a cap or limit bound is that cap's or limit's when more was expected;
- a fund below what the ratio gives, with nothing binding, is a cap's or limit's that should
  have bound — unless a rate in whole tenths of a percent gives it, when it is the ratio's
  (policy rates are written so; a cap left over is any amount);
- otherwise the ratio's: its row and every figure and adjustment it is built from.

Each blame names the rule (`file:line`), what the step is, and why it was chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.contract.steps import read_steps
from policyengine.semantics.money import fen

if TYPE_CHECKING:
    from policyengine.contract.results import ResultDict
    from policyengine.contract.steps import Steps
    from policyengine.contract.trace import Composition
    from policyengine.policytest.cases import Mismatch

_FUND = "totals.payers.fund"
_CRITICAL = "totals.payers.critical_illness"
_DEDUCTIBLE = "totals.deductible"


@dataclass(frozen=True)
class Blame:
    """The rule behind a wrong figure: `rules` (the step's row first, then the figures it
    is built from), the step's name, and why the step was chosen."""

    step: str
    rules: tuple[str, ...]
    why: str

    def text(self) -> str:
        return f"{self.step} {', '.join(self.rules)}: {self.why}"


def blame(result: ResultDict | None, mismatch: Mismatch, others: list[Mismatch]) -> Blame | None:
    """The step a mismatch is blamed on, or None where no settlement step made the figure
    (findings, lines, a refused claim) or the result has no trace."""
    if result is None or result.get("trace") is None:
        return None
    steps = read_steps(result)
    wrong = {m.path for m in others}
    path = mismatch.path
    if path == _DEDUCTIBLE:
        return _deductible(steps, "its figure differs")
    if path == _CRITICAL and _FUND not in wrong and steps.critical_illness is not None:
        step = steps.critical_illness
        return Blame(
            "second layer",
            (step["rule"], *_parts(step["composition"])),
            "the fund is as expected",
        )
    if path in (_FUND, _CRITICAL, "totals.patient"):
        if _DEDUCTIBLE in wrong:
            return _deductible(steps, "the deductible, an earlier step, differs")
        # the fund's own mismatch, where the case states it: the patient's share and the
        # second layer follow from the fund
        fund = next((m for m in others if m.path == _FUND), None)
        return _fund(steps, _money(fund.expected) if fund is not None else None)
    return None


def _deductible(steps: Steps, why: str) -> Blame | None:
    step = steps.deductible
    if step is None:
        return None
    return Blame("deductible", (step["rule"], *_parts(step["composition"])), why)


def _fund(steps: Steps, expected: Decimal | None) -> Blame | None:
    ratio, fund = steps.ratio, steps.fund
    if ratio is None or fund is None:
        return None
    computed = Decimal(fund["value"])
    got = computed
    binding: list[tuple[str, str, Decimal]] = []  # (step, rule, its value) of caps that bound
    for name, step in (("cap", steps.cap), ("limit", steps.limit)):
        if step is not None and Decimal(step["value"]) < got:
            got = Decimal(step["value"])
            binding.append((name, step["rule"], got))
    if expected is not None and binding and expected > got:
        name, rule, _value = binding[-1]
        return Blame(name, (rule,), f"it binds at {got:.2f}; {expected:.2f} was expected")
    base = Decimal(fund["figures"]["covered"]) - Decimal(fund["figures"]["deductible"])
    rate = _plain_rate(base, expected) if expected is not None and ratio["form"] == "rate" else None
    if expected is not None and not binding:
        found = _deductible_gives(steps, expected)
        # both could: the rounder figure is the likelier (settlement order breaks a tie)
        if found is not None and (rate is None or _round(found[1], _YUAN) >= _round(rate, _RATES)):
            return found[0]
    if expected is not None and expected < computed and not binding:
        holding = _holding_back(steps, computed, expected)
        if holding is not None:
            return holding
    adjustments = tuple(a["rule"] for a in ratio["figures"]["adjustments"])
    rules = (ratio["rule"], *_parts(ratio["composition"]), *adjustments)
    why = "no deductible, cap or limit explains the difference"
    if rate is not None:
        why = f"a rate of {_percent(rate)}, not {_percent(Decimal(ratio['value']))}, gives it"
    return Blame("ratio", rules, why)


# How round a figure is, by the steps it is a multiple of: deductibles are written in
# hundreds or fifties of yuan, rates in fives or whole percents.
_YUAN = (Decimal(100), Decimal(50), Decimal(10), Decimal(1))
_TENTH = Decimal(1) / 1000  # a tenth of a percent
_RATES = (50 * _TENTH, 10 * _TENTH, 5 * _TENTH, _TENTH)


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _round(figure: Decimal, steps: tuple[Decimal, ...]) -> int:
    return next((len(steps) - i for i, step in enumerate(steps) if figure % step == 0), 0)


def _deductible_gives(steps: Steps, expected: Decimal) -> tuple[Blame, Decimal] | None:
    """The deductible, when an amount of whole yuan — as deductibles are written — less
    what the year has met already turns the claim into the expected fund at the ratio
    applied, without swallowing the claim whole (a spent cap does that too)."""
    ratio, fund, step = steps.ratio, steps.fund, steps.deductible
    if ratio is None or fund is None or step is None or ratio["form"] != "rate":
        return None
    rate, covered = Decimal(ratio["value"]), Decimal(fund["figures"]["covered"])
    met, amount = Decimal(step["figures"]["met"]), Decimal(step["figures"]["amount"])
    if rate <= 0:
        return None
    near = Decimal(round(covered - expected / rate + met))  # a search's centre, not money
    for wanted in (near, near - 1, near + 1):  # the fund was rounded to the fen
        this_claim = min(covered, max(Decimal(0), wanted - met))
        gives = fen((covered - this_claim) * rate) == expected
        if gives and wanted != amount and this_claim < covered:
            break
    else:
        return None
    why = (
        f"a deductible of {wanted:.2f} ({this_claim:.2f} on this claim), not {amount:.2f}, "
        "gives the expected fund at the ratio applied"
    )
    return Blame("deductible", (step["rule"], *_parts(step["composition"])), why), wanted


def _holding_back(steps: Steps, computed: Decimal, expected: Decimal) -> Blame | None:
    """The cap or limit that should have held the fund back to `expected`, if one can: one
    counting what the year has paid already (the case is about it), else one at all when
    no plain rate turns the fund's base into `expected` (then the ratio cannot)."""
    fund = steps.fund
    assert fund is not None
    below = f"{expected:.2f} is below the {computed:.2f} the ratio gives"
    candidates = [
        (name, step["rule"], Decimal(text))
        for name, step in (("cap", steps.cap), ("limit", steps.limit))
        if step is not None and (text := step["figures"].get("paid")) is not None
    ]
    for name, rule, paid in candidates:
        if paid > 0:
            why = f"{below}, and the year has paid {paid:.2f} that this {name} counts"
            return Blame(name, (rule,), why)
    base = Decimal(fund["figures"]["covered"]) - Decimal(fund["figures"]["deductible"])
    if candidates and not (
        steps.ratio and steps.ratio["form"] == "rate" and _plain_rate(base, expected) is not None
    ):
        name, rule, _paid = candidates[0]
        return Blame(name, (rule,), f"{below} and no plain rate gives it: it should bind")
    return None


def _plain_rate(base: Decimal, expected: Decimal | None) -> Decimal | None:
    """A rate in whole tenths of a percent (0.1%) that turns `base` into `expected`."""
    if expected is None or base <= 0:
        return None
    near = round(expected / base * 1000) * _TENTH  # a search's centre
    tenths = (near + _TENTH * k for k in range(-5, 6))  # the fund was rounded
    giving = [r for r in tenths if 0 < r <= 1 and fen(base * r) == expected]
    return max(giving, key=lambda r: _round(r, _RATES), default=None)


def _parts(composition: Composition) -> tuple[str, ...]:
    return tuple(part["rule"] for part in composition["parts"])


def _money(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None
