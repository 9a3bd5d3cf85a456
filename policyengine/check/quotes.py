"""What a citation of a held document says is true: its clause exists, its quote is there.

`cite DOC CLAUSE "quote"` (or `secondary DOC CLAUSE "quote"` of a held document): the
clause exists in the document's text (C003) and the quote occurs inside it (C004).
`cite DOC "quote"`, the quote alone: it occurs in the text (C004), and in one place (C008)
— the most specific numbered clause holding it, or the unnumbered text — which becomes the
citation's clause in results and traces. The hints say where a quote is, how the document
is numbered and which clauses are near a path it does not have.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from policyengine import nodes as n
from policyengine.check.context import CheckContext
from policyengine.clauses import ClauseIndex, is_clause_path, normalise

# A quote not in its clause is looked for in the whole document for the hint ("the quote is
# in …"); past this many such quotes the hint is left out, so the search stays bounded.
MAX_QUOTE_SEARCHES = 20
# How many places a message lists before "…".
_SHOWN = 12
_UNNUMBERED = "the unnumbered text"


def verify(
    ctx: CheckContext, cite: n.Cite | n.Secondary, index: ClauseIndex, searches: Iterator[int]
) -> str | None:
    """The clause the quote is in (the written path, or for a quote alone the place it was
    found, "" outside every numbered clause); None, and the problem reported, if untrue."""
    quote = cite.quote or ""
    if cite.clause is not None and not _clause_exists(ctx, cite, cite.clause, index, searches):
        return None
    if not normalise(quote):
        ctx.diags.error(
            "C004",
            f"the quote of {_named(cite)} is empty",
            cite.span,
            hint="quote the words of the document that state it",
        )
        return None
    if cite.clause is None:
        return _by_quote(ctx, cite, index, quote, searches)
    return _in_clause(ctx, cite, cite.clause, index, quote, searches)


def _clause_exists(
    ctx: CheckContext,
    cite: n.Cite | n.Secondary,
    clause: str,
    index: ClauseIndex,
    searches: Iterator[int],
) -> bool:
    if is_clause_path(clause) and index.has(clause):
        return True
    ctx.diags.error(
        "C003",
        f"`{cite.doc}` has no clause {clause}",
        cite.span,
        hint=_elsewhere(cite, index, cite.quote or "", searches) or _numbering(cite, clause, index),
    )
    return False


def _in_clause(
    ctx: CheckContext,
    cite: n.Cite | n.Secondary,
    clause: str,
    index: ClauseIndex,
    quote: str,
    searches: Iterator[int],
) -> str | None:
    if not index.contains(clause, quote):
        ctx.diags.error(
            "C004",
            f"quote not found in {cite.doc} {clause}: “{quote}”",
            cite.span,
            hint=_elsewhere(cite, index, quote, searches)
            or _parting(index, quote, clause, searches),
        )
        return None
    return clause


def _by_quote(
    ctx: CheckContext,
    cite: n.Cite | n.Secondary,
    index: ClauseIndex,
    quote: str,
    searches: Iterator[int],
) -> str | None:
    places = index.locate(quote, _SHOWN)
    if not places:
        ctx.diags.error(
            "C004",
            f"quote not found in {cite.doc}: “{quote}”",
            cite.span,
            hint=_parting(index, quote, None, searches),
        )
        return None
    if len(places) > 1:
        named = [p for p in places if p]
        name = f", or name the clause: `{_keyword(cite)} {cite.doc} {named[0]} …`" if named else ""
        ctx.diags.error(
            "C008",
            f"the quote is in more than one place of {cite.doc}: "
            f"{_listed([p or _UNNUMBERED for p in places])}",
            cite.span,
            hint=f"quote more of the words around it{name}",
        )
        return None
    return places[0]


def _elsewhere(
    cite: n.Cite | n.Secondary, index: ClauseIndex, quote: str, searches: Iterator[int]
) -> str | None:
    """Where else a misplaced quote is (while the budget for such searches lasts)."""
    places = index.locate(quote, _SHOWN) if next(searches) < MAX_QUOTE_SEARCHES else []
    if places == [""]:
        return (
            f"the quote is in {_UNNUMBERED}: cite it by its words alone, "
            f'`{_keyword(cite)} {cite.doc} "…"`'
        )
    return f"the quote is in {_listed([p or _UNNUMBERED for p in places])}" if places else None


def _numbering(cite: n.Cite | n.Secondary, clause: str, index: ClauseIndex) -> str:
    """How the document is numbered, and clauses near the path it does not have."""
    if not index.order:
        return (
            f"`{cite.doc}` has no numbered clauses: cite it by its words alone, "
            f'`{_keyword(cite)} {cite.doc} "…"`'
        )
    numbering = " › ".join(index.numbering)
    return f"`{cite.doc}` is numbered {numbering}; near {clause}: {', '.join(index.nearby(clause))}"


def _parting(index: ClauseIndex, quote: str, clause: str | None, searches: Iterator[int]) -> str:
    """The passage nearest the quote and how the quote differs from it: a near miss such
    as `提高到` for the document's `提高至` shows the words to write."""
    where = "the clause" if clause else "the document"
    passage = index.closest(quote, clause) if next(searches) < MAX_QUOTE_SEARCHES else ""
    if not passage:
        return f"quote {where}'s words exactly"
    wanted = normalise(quote)
    changes = []
    matcher = difflib.SequenceMatcher(None, wanted, passage, autojunk=False)
    for op, low, high, start, end in matcher.get_opcodes():
        ours, theirs = wanted[low:high], passage[start:end]
        if op == "replace":
            changes.append(f"“{ours}” for “{theirs}”")
        elif op == "delete":
            changes.append(f"“{ours}” that is not there")
        elif op == "insert":
            changes.append(f"no “{theirs}”")
    shown = passage if len(passage) <= 60 else passage[:59] + "…"
    more = "; …" if len(changes) > 3 else ""
    return f"{where} has “{shown}”: the quote has {'; '.join(changes[:3])}{more}"


def _named(cite: n.Cite | n.Secondary) -> str:
    return f"{cite.doc} {cite.clause}" if cite.clause else cite.doc


def _keyword(cite: n.Cite | n.Secondary) -> str:
    return "cite" if isinstance(cite, n.Cite) else "secondary"


def _listed(clauses: list[str], shown: int = _SHOWN) -> str:
    more = ", …" if len(clauses) > shown else ""
    return ", ".join(clauses[:shown]) + more
