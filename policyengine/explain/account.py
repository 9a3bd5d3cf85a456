"""The account `explain` builds (its sections of lines), and the words of the steps of
contract version 2's settlement constructs: an extra pre-self-pay share (异地就医), a ceiling
on the cost entering the fund, caps per visit and per day. render.py builds the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from policyengine.contract.trace import (
        CategoryRatiosStep,
        Citation,
        ExtraPreSelfPayStep,
        FundCeilingStep,
        PeriodCapStep,
    )


@dataclass
class Line:
    text: str
    indent: int = 0
    style: str = ""
    # what the line cites, for renderers that link it (html.py): a rule's file:line, or
    # the document, clause and quote a rule rests on
    rule: str | None = None
    source: Citation | None = None


@dataclass
class Section:
    title: str
    lines: list[Line] = field(default_factory=list)

    def add(
        self,
        text: str,
        indent: int = 0,
        style: str = "",
        *,
        rule: str | None = None,
        source: Citation | None = None,
    ) -> None:
        self.lines.append(Line(text, indent, style, rule, source))


@dataclass
class Doc:
    header: str
    decision: str
    sections: list[Section]


class Writer(Protocol):
    """What a step's words need of the builder (render.Builder)."""

    lang: str

    def word(self, key: str) -> str: ...

    def line_no(self, number: object) -> str: ...

    def cite(
        self, section: Section, rule: str | None, source: Citation | None, indent: int
    ) -> None: ...

    def flags(
        self, section: Section, notes: list[str] | None, indent: int, own: str | None = None
    ) -> None: ...


def percent(value: str) -> str:
    return f"{(Decimal(value) * 100).normalize():f}%"


def extra_label(b: Writer, step: ExtraPreSelfPayStep) -> str:
    """A named pre-self-pay table as its policy titles it (in Chinese), else by name."""
    if b.lang == "zh":
        return step["title"]
    return f"{b.word('extra_pre_self_pay')} ({step['table']})"


def extra_pre_self_pay(b: Writer, section: Section, number: int, step: ExtraPreSelfPayStep) -> None:
    """A named pre-self-pay table's share (异地就医先行自付): each line's base × rate."""
    rate = percent(step["rate"])
    section.add(f"{number}. {extra_label(b, step)} {rate}: {step['value']}", 0, "bold")
    for share in step["lines"]:
        section.add(f"{b.line_no(share['line'])}: {share['base']} × {rate} = {share['value']}", 1)
    b.cite(section, step["rule"], step["source"], 1)
    b.flags(section, step["provisional"], 1, step["rule"])


def fund_ceiling(b: Writer, section: Section, number: int, step: FundCeilingStep) -> None:
    figures = step["figures"]
    pools = "+".join(b.word(p) for p in figures["pools"])
    section.add(
        f"{number}. {b.word('fund_ceiling')} {figures['ceiling']} − "
        f"{b.word('pooled')}({pools}) {figures['pooled']} = {figures['left']}; "
        f"{figures['amount']} → {step['value']}",
        0,
        "bold",
    )
    b.cite(section, step["rule"], step["source"], 1)
    b.flags(section, step["provisional"], 1, step["rule"])


def period_cap(b: Writer, section: Section, number: int, step: PeriodCapStep) -> None:
    figures = step["figures"]
    text = f"{number}. {b.word(step['period'] + '_cap')} {figures['cap']}"
    if step["period"] == "day":
        text += f" − {b.word('paid_today')} {figures['paid']} = {figures['left']}"
    section.add(f"{text} → {b.word('fund')} {step['value']}", 0, "bold")
    b.cite(section, step["rule"], step["source"], 1)
    b.flags(section, step["provisional"], 1, step["rule"])


def category_ratios(b: Writer, section: Section, number: int, step: CategoryRatiosStep) -> None:
    """The fund by category: each category's base (covered − its share of the deductible)
    at its ratio."""
    section.add(f"{number}. {b.word('category_ratios')}: {step['value']}", 0, "bold")
    for part in step["categories"]:
        rate = part["rate"]
        shown = percent(rate) if rate.replace(".", "", 1).isdigit() else rate
        section.add(
            f"{part['category'] or b.word('no_category')}: ({part['covered']} − "
            f"{part['deductible']}) × {shown} = {part['amount']}",
            1,
        )
        b.cite(section, part["rule"], part["source"], 2)
    # the rows' own notes are shown with each row; the figures they use, here
    rules = tuple(part["rule"] + " " for part in step["categories"])
    b.flags(section, [n for n in step["provisional"] if not n.startswith(rules)], 1)
