"""The checker: an ordered table of named passes, each collecting every diagnostic.

    names      symbol tables, duplicates, unknown names (did-you-mean), `when` resolution
    catalogue  import the catalogue CSV the policy declares
    citations  every rule and figure cites; clauses exist; quotes occur in their clause
    numbers    every cited figure is a number its quote states, or says how it is derived
    units      money / ratio / points / days / counts where each belongs; sensible ranges
    money      every money figure is whole fen (T004), on every date its figures change
    dates      effective ranges well formed; a figure's versions neither overlap nor gap
    rules      finding rules complete; rules of a single-instance kind do not conflict;
               no row for visits its kind never checks (R006)
    tables     rows overlap (R001), gaps (D002), completeness (R002), ratio bounds (T003)
    settleable every visit type has a deductible and a ratio, or is refused (R005)

`check` runs them all even after errors (a pass skips what earlier ones could not resolve),
so a user sees every problem at once; the IR is built only from an error-free policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from policyengine import nodes as n
from policyengine.catalogue import load_catalogue
from policyengine.check import (
    citations,
    dates,
    money,
    names,
    numbers,
    rules,
    settleable,
    tables,
    units,
)
from policyengine.check.context import CheckContext, CitedFigure
from policyengine.check.lower import lower
from policyengine.diagnostics import Diagnostic, printable, suggestion_budget
from policyengine.ir import Note, PolicyIR
from policyengine.loader import Loaded, load
from policyengine.span import SourceText


def _catalogue(ctx: CheckContext) -> None:
    for decl in ctx.catalogues:
        layer = ctx.layer_of[id(decl)]
        found = ctx.loaded.read(layer, decl.file)
        if isinstance(found, str):
            ctx.diags.error(
                "I001", f"catalogue file `{printable(decl.file)}` {found}", decl.file_span
            )
            continue
        display, text = found
        items = load_catalogue(text, display, ctx.diags)
        for code, item in items.items():
            if code in ctx.catalogue:
                ctx.diags.error(
                    "I001", f"catalogue code `{code}` appears in two catalogues", decl.span
                )
            ctx.catalogue[code] = item


PASSES: tuple[tuple[str, Callable[[CheckContext], None]], ...] = (
    ("names", names.run),
    ("catalogue", _catalogue),
    ("citations", citations.run),
    ("numbers", numbers.run),
    ("units", units.run),
    ("money", money.run),
    ("dates", dates.run),
    ("rules", rules.run),
    ("tables", tables.run),
    ("settleable", settleable.run),
)


@dataclass(frozen=True)
class CheckResult:
    directory: Path
    diagnostics: tuple[Diagnostic, ...]
    texts: dict[str, SourceText]
    policy: PolicyIR | None
    content_hash: str
    # every figure under a `cite` whose quote was found, each checked against its numbers
    cited_figures: tuple[CitedFigure, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def notes(self) -> tuple[Note, ...]:
        return self.policy.notes if self.policy else ()


# What a declaration lost to a syntax error causes elsewhere: a reference to it (N001, C002,
# R004), a figure's versions with one missing (D002), the policy header gone (I002).
_FOLLOW_ONS = frozenset({"N001", "C002", "R004", "D002", "I002"})
# What a layer that is not found causes: references to what it would declare.
_LAYER_FOLLOW_ONS = frozenset({"N001", "C002", "R004"})
_QUOTED = re.compile(r"`([^`]*)`")


def check_loaded(loaded: Loaded) -> CheckResult:
    return check_in_context(loaded)[0]


def check_in_context(loaded: Loaded) -> tuple[CheckResult, CheckContext]:
    """The check, and what its passes resolved (sources, clause indexes, citations' places):
    the literate view (tools/literate.py) reads them."""
    ctx = CheckContext(loaded, loaded.diagnostics)
    parsed = not any(d.code.startswith("P") for d in loaded.diagnostics.sorted())
    with suggestion_budget():
        for _name, run in PASSES:
            run(ctx)
    content_hash = loaded.content_hash()
    policy = None
    if parsed and not ctx.diags.has_errors and ctx.policy is not None:
        policy = lower(ctx, content_hash)
    lost = frozenset(d.name for d in loaded.lost if d.name)
    no_layer = any(d.code == "N003" for d in loaded.diagnostics.sorted())
    result = CheckResult(
        loaded.main.directory,
        tuple(
            d
            for d in ctx.diags.sorted()
            if (parsed or not _follows_from_syntax(d, lost))
            and not (no_layer and d.code in _LAYER_FOLLOW_ONS | {"R005"})
        ),
        loaded.texts,
        policy,
        content_hash,
        tuple(ctx.cited_figures),
    )
    return result, ctx


def _follows_from_syntax(diagnostic: Diagnostic, lost: frozenset[str]) -> bool:
    """A diagnostic that follows only from a syntax error reported already: whether every
    visit type can be settled (R005) cannot be told from a policy read in part, and a
    reference to a declaration lost to a syntax error is no mistake of its own."""
    if diagnostic.code == "R005":
        return True
    if diagnostic.code not in _FOLLOW_ONS:
        return False
    named = {word for quoted in _QUOTED.findall(diagnostic.message) for word in quoted.split(".")}
    return bool(named & lost)


def check(directory: Path, overlay: Mapping[Path, str] | None = None) -> CheckResult:
    """Check the policy in `directory`; `overlay` holds unsaved rule files by path."""
    with suggestion_budget():  # one budget for the parser's suggestions and the passes'
        return check_loaded(load(directory, overlay))


__all__ = [
    "PASSES",
    "CheckResult",
    "CitedFigure",
    "check",
    "check_in_context",
    "check_loaded",
    "n",
]
