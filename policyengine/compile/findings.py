"""Emit the statements that record a finding (compile/rules.py, compile/limits.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policyengine.compile.settle import VersionCompiler
    from policyengine.compile.writer import Code
    from policyengine.ir import RuleIR


def emit_finding(vc: VersionCompiler, w: Code, rule: RuleIR, line: str, reasons: str) -> None:
    """Append the finding for `rule` with the reasons list named `reasons`."""
    action = f"('warn' if before else {rule.action!r})" if rule.audit else repr(rule.action)
    notes = vc.note_ids(*rule.notes, *(n for p in rule.params.values() for n in p.notes))
    w(
        f"f = _fm.record(0, {rule.kind!r}, {action}, {line}, {rule.location!r}, "
        f"_fm.message({rule.kind!r}, {rule.title!r}, {reasons}), {vc.const(rule.origin.as_json())})"
    )
    w("F.append(f)")
    if notes:
        w(f"N.update({vc.const(notes)})")


def line_emit(vc: VersionCompiler, w: Code, rule: RuleIR) -> None:
    """Record the line's finding of `rule` when its reasons `rs` are not empty."""
    with w.block("if rs:"):
        emit_finding(vc, w, rule, "ln", "rs")
        w("lf.append(f)")
