"""The account `explain` builds (its sections of lines), and the wording its steps share: a
citation, a provisional note in the reader's language, how a composed figure was built, and
the words of the steps of contract version 2's settlement constructs (an extra pre-self-pay
share, the 乙类 proportion a pre-self-pay ceiling held, a ceiling on the cost entering the
fund, caps per visit and per day, ratios by category). render.py builds the sections from the
trace; html.py links what each line cites."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from policyengine.contract.notes import read_note

if TYPE_CHECKING:
    from policyengine.contract.trace import (
        CategoryRatiosStep,
        Citation,
        Composition,
        Derivation,
        ExtraPreSelfPayStep,
        FundCeilingStep,
        HeldSelfpay,
        PeriodCapStep,
        PolicyWords,
        RatioCombination,
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


class Wording:
    """What every part of an account says alike; `w` are the engine's words in `lang`,
    `policy_words` the policy's own names (LoadedPolicy.words())."""

    w: dict[str, str]
    lang: str
    policy_words: PolicyWords | None

    def word(self, key: str) -> str:
        return self.w.get(key, key)

    def region(self, name: str) -> str:
        """The region as its policy names it: the `policy` title in Chinese, the policy's
        name in English; the bare name when the policy's words are not at hand."""
        words = self.policy_words
        if words is None or words["name"] != name:
            return name
        return words["title"] if self.lang == "zh" else name.capitalize()

    def condition(self, name: str) -> str:
        """A condition as its policy titles it (in Chinese), else by its name."""
        if self.lang != "zh" or self.policy_words is None:
            return name
        return self.policy_words["conditions"].get(name, name)

    def source(self, source: Citation | None) -> str:
        if not source:
            return ""
        if source["provenance"] == "provisional":
            return f"⚠ {self.word('provisional')}: {source.get('note', '')}"
        text = " ".join(p for p in (source.get("doc", ""), source.get("clause", "")) if p)
        if source.get("quote"):
            text += f"「{source.get('quote')}」"
        if source.get("derived"):  # a figure the quote implies: how it follows
            text += f" ({self.word('derived')}: {source.get('derived')})"
        if source["provenance"] == "secondary":
            text = f"{self.word('secondary')}: {text}"
        return text

    def cite(
        self, section: Section, rule: str | None, source: Citation | None, indent: int
    ) -> None:
        if rule:
            section.add(f"{self.word('rule')} {rule}", indent, "dim", rule=rule)
        cited = self.source(source)
        if cited:
            style = "yellow" if cited.startswith("⚠") else "dim"
            section.add(cited, indent, style, source=source)

    def flags(
        self, section: Section, notes: list[str] | None, indent: int, own: str | None = None
    ) -> None:
        """A step's provisional figures, without their reasons (listed once at the end);
        the step's own row is skipped when its source line already says it is provisional."""
        for note in notes or ():
            parts = read_note(note)
            if own is not None and parts and parts.location == own and not parts.on_dates:
                continue
            section.add(f"⚠ {self.word('provisional')} {self.note(note, reason=False)}", indent)
            section.lines[-1].style = "yellow"

    def note(self, text: str, *, reason: bool = True) -> str:
        """A provisional note (contract/notes.py) in the reader's language: where, what (in
        rule-file words), the dates it is on, and — with `reason` — why it is provisional."""
        parts = read_note(text)
        if parts is None:
            return text
        subject = parts.subject
        if parts.on_dates:
            subject += " " + self.dates(parts.start, parts.end)
        out = f"{parts.location} {subject}"
        return f"{out} ({self.word('provisional')}: {parts.reason})" if reason else out

    def dates(self, start: str | None, end: str | None) -> str:
        if start and end:
            return self.word("dates_between").format(start, end)
        if start:
            return self.word("dates_from").format(start)
        if end:
            return self.word("dates_until").format(end)
        return self.word("dates_always")

    def composition(
        self, section: Section, composition: Composition, indent: int, *, written: bool = True
    ) -> None:
        """How a row's figure is composed: the row as written (`written`; a schedule's own
        lines say it), with the hospital level a `by level` was picked at, then each figure
        it names, with its own rule and source. A plain figure shows nothing more."""
        level = composition["level"]
        if not composition["parts"] and level is None:
            return
        if written and composition["value"]:  # a figure of the facts: its derivation says
            picked = ""
            if level is not None:
                shown = f"{self.word('level')}{level}{self.word('level_suffix')}"
                picked = f" ({self.word('picked_at')} {shown})"
            section.add(f"= {composition['written']} → {composition['value']}{picked}", indent)
        for part in composition["parts"]:
            depth = indent + part["depth"] - (0 if written else 1)
            value, as_written = part["value"], part["written"]
            # a figure of the claim's facts has no value of its own here: it is shown as written
            shown = value if value == as_written else f"{value} = {as_written}".lstrip(" =")
            section.add(f"{part['name']}({part['title']}) {shown}", depth)
            self.cite(section, part["rule"], part["source"], depth + 1)

    def history(self, section: Section, indent: int) -> None:
        """Where a year's figure (paid, met, self-burden) comes from."""
        section.add(self.word("from_history"), indent, "dim")


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
    if "derivation" in step:  # a rate computed from the claim's facts
        derivation(section, step["derivation"], 1, percent)
    b.flags(section, step["provisional"], 1, step["rule"])


def held_selfpay(b: Writer, section: Section, held: HeldSelfpay, bound: str) -> None:
    """The 乙类 proportion a `pre_self_pay ceiling` row held at `bound`: the catalogue's own
    for the item, or the default row's (cited) — what an auditor asks for when the line's
    proportion is not the catalogue's."""
    section.add(
        f"{b.word('held_' + held['origin'])} {percent(held['selfpay'])} ({held['rule']}), "
        f"{b.word('held_at').format(percent(bound))}",
        2,
        rule=held["rule"],
    )
    if held["source"]:  # the default row's source (the catalogue's rows cite none)
        b.cite(section, None, held["source"], 3)


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
    if "derivation" in figures:  # a ceiling computed from the claim's facts
        derivation(section, figures["derivation"], 1, str)
    b.flags(section, step["provisional"], 1, step["rule"])


def period_cap(b: Writer, section: Section, number: int, step: PeriodCapStep) -> None:
    figures = step["figures"]
    text = f"{number}. {b.word(step['period'] + '_cap')} {figures['cap']}"
    if step["period"] == "day":
        text += f" − {b.word('paid_today')} {figures['paid']} = {figures['left']}"
    section.add(f"{text} → {b.word('fund')} {step['value']}", 0, "bold")
    b.cite(section, step["rule"], step["source"], 1)
    if "derivation" in figures:  # a cap computed from the claim's facts
        derivation(section, figures["derivation"], 1, str)
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


def derivation(
    section: Section, found: Derivation, indent: int, shown: Callable[[str], str]
) -> None:
    """A figure computed from the claim's facts: its expression, the facts it read with this
    claim's values, and what it came to (`shown` words the value: a percent, points, money)."""
    facts = ", ".join(f"{name} = {value}" for name, value in sorted(found["facts"].items()))
    section.add(f"= {found['expression']} ({facts}) → {shown(found['value'])}", indent)


def combination(b: Writer, section: Section, found: RatioCombination, indent: int) -> None:
    """How the adjustments combined (summed or the largest taken) and the bounds that held
    the ratio: base + points = unclamped, then at least / at most."""
    points = f"{(Decimal(found['points']) * 100).normalize():f} pt"
    text = f"{b.word('combined_' + found['how'])} {points} → {percent(found['unclamped'])}"
    bounds = [
        f"{b.word(key)} {percent(value)}"
        for key, value in (("at_least", found["at_least"]), ("at_most", found["at_most"]))
        if value is not None
    ]
    if bounds:
        text += f"; {', '.join(bounds)}"
    section.add(text, indent)
    b.cite(section, found["rule"], found["source"], indent + 1)
