"""Emit per-category ratios (`when category …` rows of a ratio table): each line's covered is
tallied by its catalogue `category`, and the fund is the sum over the claim's categories of
(covered − the category's share of what does not enter the fund) × the category's ratio,
rounded once. A policy whose ratio tables test no category emits nothing here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler
    from policyengine.compile.writer import Code


def in_use(vc: VersionCompiler) -> bool:
    """Some ratio table in force at this version tests a line's category."""
    return any(
        cond.key == "category"
        for table in vc.policy.ratios.values()
        for row in (*table.rows, *table.adjust)
        if row.active(vc.day)
        for cond in row.conds
    )


def tally(w: Code) -> None:
    """In the line loop, after `cov`: the covered of each category (None: no category)."""
    with w.block("if cov:"):
        w("k = (e.category or None) if e is not None else None")
        w("cc[k] = cc.get(k, _Z) + cov")


def fund(vc: VersionCompiler, w: Code, lookup: str | None, failure: str) -> None:
    """`computed`: the fund at one ratio, or — where `lookup` (the ratio table's, keyed on the
    local `cat`) is given and the claim has lines of a category — at each category's."""
    single = (
        f"computed = {vc.rounded('base * rate')} if rate.__class__ is _D else "
        f"{vc.rounded('rate(base)')}"
    )
    if lookup is None:
        w(single)
        return
    with w.block("if len(cc) < 2 and None in cc:"):
        w(single)
    with w.block("else:"):
        w("tot = _Z")
        if vc.trace:
            w("ck = []")
        with w.block("for cat, ccv, chd in _category_parts(cc, covered, covered - base):"):
            w(f"hk = {lookup}")
            with w.block("if hk is None:"):
                w(failure)
            w("N.update(hk[1])")
            w("b = ccv - chd")
            w("kr = hk[0]")
            if vc.dynamic_ratio:  # a ratio of the claim's facts (runtime_figures.ratio_of)
                with w.block("if kr is None:"):
                    if vc.trace:
                        w("kr, ks = _ratio_step(_copy(hk[2]), hk[3], hk[4], fx)")
                    else:
                        w("kr = _ratio_of(hk[3], fx)")
                if vc.trace:
                    with w.block("else:"):
                        w("ks = hk[2]")
            elif vc.trace:
                w("ks = hk[2]")
            w("part = b * kr if kr.__class__ is _D else kr(b)")
            w("tot += part")
            if vc.trace:
                w("ck.append((cat, ccv, chd, b, ks, part))")
        w(f"computed = {vc.rounded('tot')}")
        if vc.trace:
            w("tr.append(_category_ratios_step(ck, computed, _NOTES))")
