"""Pass `numbers`: every cited figure is a number its quote states (C007).

A `cite` vouches for the literal figures written in the value it follows: each literal of a
`by level`, a sum or a product, a function's arguments or a negation, the bounds and rates
of a `bands` block (save a statement with its own provenance), a rule parameter without its
own citation. Each must equal a number of the quote after the units are made one
(quoted.py): 35万元 is `350000 元` and `35 万元`, 10个百分点 is `10 pt`, 7日 is `7 days`.
A figure that follows from the quote's numbers without being one of them — a month counted
as 30 days, a level the clause leaves out — needs `derived "…"` after the quote, a note that
says how and states the figure (`derived "3个月按90天计"`); `check` lists these. A `derived`
note with nothing to explain is C009. Figures a `let` brings by name are checked at the
`let`, under its own citation.
"""

from __future__ import annotations

from decimal import Decimal

from policyengine import nodes as n
from policyengine.check.citations import CitationPlace, citation_sites
from policyengine.check.context import CheckContext, CitedFigure
from policyengine.check.quoted import QuotedNumber, numbers_in, plain_number
from policyengine.diagnostics import Related

# A figure's unit as written → the kind of number it is, and the factor to that kind's base
# (元); % and points are read in hundredths, as quoted.py reads the quote's.
FIGURE_KINDS: dict[str, tuple[str, int]] = {
    "yuan": ("money", 1),
    "wan_yuan": ("money", 10_000),
    "percent": ("ratio", 1),
    "points": ("points", 1),
    "days": ("days", 1),
    "": ("count", 1),
}
_HUNDREDTHS = frozenset({"percent", "points"})
# Reading a quote's numbers is linear but not free: the distinct quotes (and `derived`
# notes) of one check are read up to this many characters (the bundled ones: under 400).
MAX_QUOTED_CHARS = 100_000
# A figure off by a power of ten from a quoted number of its kind: a slipped digit.
_TENFOLD = tuple(Decimal(10) ** k for k in (-3, -2, -1, 1, 2, 3))
_DERIVED_HINT = 'say how after the quote: `derived "…"`'


def run(ctx: CheckContext) -> None:
    read = _Quotes()
    for site in citation_sites(ctx):
        cite = site.provenance
        if not isinstance(cite, n.Cite):
            continue
        if cite.derived is not None and not site.figures:
            ctx.diags.error(
                "C009",
                "`derived` on a citation that covers no figure",
                cite.derived.span,
                hint="`derived` explains how a cited figure follows from its quote; remove it",
            )
        elif site.figures and id(cite) in ctx.quoted:  # else C003, C004 or C006 said why not
            if not read.within_budget(cite):
                ctx.diags.error(
                    "P006",
                    f"the quotes of cited figures run to more than {MAX_QUOTED_CHARS:,} "
                    "characters: their numbers are not read past here",
                    cite.span,
                    hint="quote the words that state each figure, not whole clauses",
                )
                return
            _check_site(ctx, site, cite, read)


class _Quotes:
    """The numbers of each distinct quote and note, read once, within a budget."""

    def __init__(self) -> None:
        self.numbers: dict[str, tuple[QuotedNumber, ...]] = {}
        self.characters = 0

    def within_budget(self, cite: n.Cite) -> bool:
        for text in (cite.quote, cite.derived.text if cite.derived else ""):
            if text not in self.numbers:
                self.characters += len(text)
        return self.characters <= MAX_QUOTED_CHARS

    def __call__(self, text: str) -> tuple[QuotedNumber, ...]:
        if text not in self.numbers:
            self.numbers[text] = numbers_in(text)
        return self.numbers[text]


def figure_value(quantity: n.Quantity) -> tuple[str, Decimal]:
    kind, factor = FIGURE_KINDS[quantity.unit]
    value = quantity.number * factor
    return kind, value / 100 if quantity.unit in _HUNDREDTHS else value


def _check_site(ctx: CheckContext, site: CitationPlace, cite: n.Cite, read: _Quotes) -> None:
    stated = read(cite.quote)
    noted = read(cite.derived.text) if cite.derived else ()
    derived = False
    mismatched = False
    for quantity in site.figures:
        if _states(stated, quantity):
            ctx.cited_figures.append(_cited(ctx, quantity, cite, None))
        elif cite.derived is not None and _states(noted, quantity):
            ctx.cited_figures.append(_cited(ctx, quantity, cite, cite.derived.text))
            derived = True
        else:
            mismatched = True
            _report(ctx, quantity, cite, stated, noted)
    if cite.derived is not None and not derived and not mismatched:
        ctx.diags.error(
            "C009",
            "nothing here is derived: every figure the citation covers is a number of its quote",
            cite.derived.span,
            hint='remove `derived "…"`',
        )


def _cited(
    ctx: CheckContext, quantity: n.Quantity, cite: n.Cite, derived: str | None
) -> CitedFigure:
    clause = ctx.origin(cite).clause  # as written, or where a quote alone was found
    return CitedFigure(str(quantity.span), quantity.text, cite.doc, clause, cite.quote, derived)


def _states(numbers: tuple[QuotedNumber, ...], quantity: n.Quantity) -> bool:
    kind, value = figure_value(quantity)
    return any(number.kind == kind and number.value == value for number in numbers)


def _report(
    ctx: CheckContext,
    quantity: n.Quantity,
    cite: n.Cite,
    stated: tuple[QuotedNumber, ...],
    noted: tuple[QuotedNumber, ...],
) -> None:
    listing = _listing(stated)
    if cite.derived is not None:
        message = (
            f"cited figure `{quantity.text}` is neither a number of its quote ({listing}) "
            f"nor one its `derived` note states ({_listing(noted)})"
        )
        hint = "correct the figure, or the `derived` note: it must state the figure it explains"
    else:
        states = f"which states {listing}" if stated else "which states no number"
        message = f"cited figure `{quantity.text}` is not a number of its quote, {states}"
        hint = _hint(quantity, stated)
    ctx.diags.error(
        "C007",
        message,
        quantity.span,
        hint=hint,
        related=[Related(cite.span, f"the quote of {_named(ctx, cite)}")],
    )


def _named(ctx: CheckContext, cite: n.Cite) -> str:
    clause = ctx.origin(cite).clause
    return f"{cite.doc} {clause}" if clause else cite.doc


def _listing(numbers: tuple[QuotedNumber, ...]) -> str:
    return ", ".join(number.shown for number in numbers) or "no number"


def _hint(quantity: n.Quantity, stated: tuple[QuotedNumber, ...]) -> str:
    """What the author most likely meant: a unit to convert, a number to correct."""
    kind, value = figure_value(quantity)
    if not stated:
        return (
            f"quote the words that state the figure, or, if it follows from them, {_DERIVED_HINT}"
        )
    same_value = [s for s in stated if s.value == value]
    if kind == "days":
        spans = [s for s in stated if s.kind in ("months", "weeks")]
        if spans:
            first = spans[0]
            return (
                f"a {'month' if first.kind == 'months' else 'week'} is not a fixed number of "
                f"days: if {first.text} counts as {quantity.text} here, say so after the "
                f'quote: `derived "{first.text}按{plain_number(value)}天计"`'
            )
    if kind == "points" and any(s.kind == "ratio" for s in same_value):
        ratio = next(s for s in same_value if s.kind == "ratio")
        return (
            f"the quote's {ratio.text} is a ratio: write `{_figure(ratio)}`, or, if it means "
            f'percentage points here, say so: `derived "{ratio.text}即{plain_number(value * 100)}'
            '个百分点"`'
        )
    same_kind = [s for s in stated if s.kind == kind]
    written = [s for s in same_kind if _written(s) == quantity.number]
    tenfold = [s for s in same_kind if value and any(s.value == value * f for f in _TENFOLD)]
    close = written or same_value or tenfold or (same_kind if len(same_kind) == 1 else [])
    if close:
        return f"did you mean `{_figure(close[0])}`? (the quote states {close[0].text})"
    return f"correct the figure, or, if it follows from the quoted numbers, {_DERIVED_HINT}"


def _written(number: QuotedNumber) -> Decimal:
    """The number as the quote writes it before its 万 (35万元 → 35)."""
    if number.kind == "money" and "万" in number.text and number.value % 10_000 == 0:
        return number.value / 10_000
    return number.value * 100 if number.kind in ("ratio", "points") else number.value


def _figure(number: QuotedNumber) -> str:
    """The quoted number as a rule file writes the figure."""
    if number.kind == "money":
        if "万" in number.text and number.value % 10_000 == 0:
            return f"{plain_number(number.value / 10_000)} 万元"
        return f"{plain_number(number.value)} 元"
    if number.kind == "ratio":
        return f"{plain_number(number.value * 100)}%"
    if number.kind == "points":
        return f"{plain_number(number.value * 100)} pt"
    if number.kind == "days":
        return f"{plain_number(number.value)} days"
    return number.canonical
