"""Completion in a rule file: what may be written where the cursor is.

The grammar says which keywords may come next (parse_errors.keywords_after, on the text of
the declaration up to the cursor); the words around the cursor say which names: after `cite`
a held document, after `cite DOC` its clause paths (with their headings), in a `when` the
facts a row may test and their values, after `action` the actions, after `rule`/`audit` the
finding kinds, in a rule block the kind's parameters, where a value goes the figures, after
`default tier` the policy's tiers, after `money rounds to` the units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policyengine.parse import declaration_starts
from policyengine.parse_errors import keywords_after
from policyengine.semantics.facts import FACTS
from policyengine.semantics.vocabulary import (
    ACTIONS,
    FINDING_KINDS,
    MONEY_UNITS,
    PAID_POOLS,
    PERIODS,
    PROGRAMMES,
)
from policyengine.tools.lsp.analysis import Analysis


@dataclass(frozen=True)
class Item:
    """One completion: the word, what kind of word it is, and a note beside it."""

    label: str
    kind: str  # keyword, figure, source, clause, fact, value, condition, kind, parameter
    detail: str = ""


_PARTIAL = re.compile(r"[\w()（）①-⑳]*$")
_VALUE_PLACE = re.compile(
    r"(=>?|[+×*/-]|\bat|\bto|\babove|\bthreshold|\bceiling|\bpayment_cap)\s+$"
)


def complete(text: str, offset: int, analysis: Analysis | None) -> list[Item]:
    """The completions at `offset` of `text` (a rule file as the editor holds it)."""
    before = text[:offset]
    line = before[before.rfind("\n") + 1 :]
    partial = _PARTIAL.search(line)
    prefix = line[: len(line) - len(partial.group() if partial else "")]
    starts = [s for s in declaration_starts(text) if s <= offset - len(line) + len(prefix)]
    declaration = text[starts[-1] if starts else 0 : offset - (len(line) - len(prefix))]
    if (cited := re.search(r"\b(cite|secondary)\s+(\w+)\s+$", prefix)) is not None:
        return _clauses(analysis, cited.group(2))
    if (keyword := re.search(r"\b(cite|secondary)\s+$", prefix)) is not None:
        return _sources(analysis, held=keyword.group(1) == "cite")
    if re.search(r"\baction\s+$", prefix):
        return [Item(a, "value", "action") for a in ACTIONS]
    if re.match(r"\s*(rule|audit)\s+$", prefix):
        return [Item(k, "kind", f"{s.zh} ({s.en})") for k, s in FINDING_KINDS.items()]
    if re.search(r"\bper\s+$", prefix):
        return [Item(p, "value", "period") for p in PERIODS]
    if re.search(r"\b(pools|self_burden)\s+(\w+\s*,\s*)*$", prefix):
        return [Item(p, "value", "pool") for p in PAID_POOLS]
    if re.search(r"\bmoney\s+rounds\s+to\s+$", prefix):
        return [Item(u, "value", "the unit money is settled to") for u in MONEY_UNITS]
    if re.search(r"\bdefault\s+tier\s+$", prefix):
        return _tiers(analysis)
    if re.search(r"\bprogramme\s+$", prefix):
        return [Item(p, "value", "programme") for p in PROGRAMMES]
    conditions = re.search(r"\bwhen\s+([^\n]*)$", prefix)
    if conditions is not None and "=>" not in conditions.group(1):
        return _facts(conditions.group(1), analysis)
    if _VALUE_PLACE.search(prefix):
        return [*_figures(analysis), Item("by level", "keyword"), Item("none", "keyword")]
    return _by_grammar(declaration, analysis)


def _by_grammar(declaration: str, analysis: Analysis | None) -> list[Item]:
    words, names = keywords_after(declaration)
    items = [Item(word, "keyword") for word in words]
    kind = re.match(r"\s*(?:rule|audit)\s+(\w+)", declaration)
    if names and kind is not None and kind.group(1) in FINDING_KINDS and "{" in declaration:
        spec = FINDING_KINDS[kind.group(1)]
        items += [Item(p, "parameter", f"{kind.group(1)} parameter") for p in spec.params]
        items += [Item(t, "parameter", f"{kind.group(1)} table") for t in spec.tables]
    return items


def _tiers(analysis: Analysis | None) -> list[Item]:
    policy = analysis.ctx.policy if analysis is not None else None
    return [Item(t.name, "value", t.title or "tier") for t in policy.tiers] if policy else []


def _clauses(analysis: Analysis | None, doc: str) -> list[Item]:
    index = analysis.ctx.clause_index.get(doc) if analysis is not None else None
    if index is None:
        return []
    return [Item(path, "clause", index.heading(path)) for path in index.order]


def _sources(analysis: Analysis | None, *, held: bool) -> list[Item]:
    if analysis is None:
        return []
    return [
        Item(name, "source", str(source.field("number") or source.field("title") or ""))
        for name, source in sorted(analysis.ctx.sources.items())
        if (source.field("file") is not None) == held or not held
    ]


def _figures(analysis: Analysis | None) -> list[Item]:
    if analysis is None:
        return []
    return [
        Item(name, "figure", versions[0].title or "")
        for name, versions in sorted(analysis.ctx.lets.items())
    ]


def _facts(written: str, analysis: Analysis | None) -> list[Item]:
    """In a `when`: a fact's values after its key (and after `or`, `not`), else the keys."""
    words = written.rsplit(",", 1)[-1].split()
    key = words[0] if words else ""
    if key not in FACTS or (len(words) > 1 and words[-1] not in ("or", "not")):
        keys = [Item(k, "fact", "a fact of the claim") for k in FACTS]
        return keys if not words or key not in FACTS else [Item("or", "keyword"), *keys]
    fact = FACTS[key]
    if fact.conditions:
        known = analysis.ctx.conditions if analysis is not None else {}
        return [Item(c, "condition", known[c].title or "") for c in sorted(known)]
    values: tuple[object, ...] = fact.values or ()
    if fact.declared is not None:  # the policy's own words (its header's `tiers`)
        values = analysis.ctx.declared.get(key, ()) if analysis is not None else ()
    items = [Item(str(value), "value", key) for value in values if value is not None]
    if fact.kind == "integer" and fact.bounds is not None and not items:
        low, high = fact.bounds
        return [Item(f"{low}..{high}", "value", f"{key}: whole numbers {low} to {high}")]
    return items if len(words) > 1 else [Item("not", "keyword"), *items]
