"""`policyengine test`: run the YAML cases of policies (policytest/) and print the report."""

from __future__ import annotations

import argparse
import json
import os
import sys

from policyengine.cli.output import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, report_error
from policyengine.engine import bundled_policies
from policyengine.policytest.blame import blame
from policyengine.policytest.cases import Mismatch, Outcome
from policyengine.policytest.runner import PolicyReport, run_policies
from policyengine.policytest.update import update_files


def run(args: argparse.Namespace) -> int:
    if args.update:
        return _update(args)
    if args.watch:
        from policyengine.cli.watch import watch, watched_directories

        paths = args.paths or [bundled_policies()]
        return watch(lambda: _run_once(args), watched_directories(paths))
    return _run_once(args)


def _run_once(args: argparse.Namespace) -> int:
    reports = run_policies(args.paths or [bundled_policies()], args.keyword, args.backend)
    if args.format == "json":
        _print_json(reports)
    else:
        _print_text(reports, args.min_coverage)
    failed = any(r.failed for r in reports)
    below = args.min_coverage is not None and any(
        r.coverage.percent < args.min_coverage for r in reports
    )
    return EXIT_FINDINGS if failed or below else EXIT_OK


def _print_text(reports: list[PolicyReport], minimum: float | None) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    for report in reports:
        passed = len(report.outcomes) - len(report.failed)
        console.print(
            f"[bold]{report.policy.name}[/]: {passed}/{len(report.outcomes)} cases passed"
        )
        for outcome in report.failed:
            console.print(
                f"  [red]FAIL[/] {escape(outcome.case.location)}  {escape(outcome.case.name)}"
            )
            for mismatch in outcome.mismatches:
                blamed = blame(outcome.result, mismatch, outcome.mismatches)
                console.print(
                    f"    {escape(mismatch.path)}: expected {escape(repr(mismatch.expected))}, "
                    f"got {escape(repr(mismatch.got))}"
                )
                if blamed:
                    console.print(f"      produced by {escape(blamed.text())}")
        cov = report.coverage
        clauses = cov.clauses()
        reached = clauses & cov.clauses_used
        status = ""
        if minimum is not None:
            status = (
                " [green](ok)[/]" if cov.percent >= minimum else f" [red](below {minimum:g}%)[/]"
            )
        console.print(
            f"  coverage: {cov.percent:.1f}% of {len(cov.countable)} rules and table rows{status}; "
            f"{len(reached)}/{len(clauses)} cited clauses"
        )
        for entry in cov.missed():
            console.print(
                f"    never exercised: {escape(entry['location'])} {escape(entry['what'])}"
            )
        for entry in cov.unreachable():
            console.print(
                f"    unreachable (not counted): {escape(entry['location'])} "
                f"{escape(entry['what'])}: {escape(entry['unreachable'])}"
            )
        for doc, clause in sorted(clauses - reached):
            console.print(f"    clause never reached: {escape(doc)} {escape(clause)}")
        for layer, (hit, total) in sorted(cov.layers().items()):
            console.print(
                f"  layer {escape(layer)} (not counted): {hit}/{total} rules and table rows "
                "exercised"
            )


def _print_json(reports: list[PolicyReport]) -> None:
    data = [
        {
            "policy": r.policy.name,
            "cases": len(r.outcomes),
            "failed": [
                {
                    "case": o.case.name,
                    "location": o.case.location,
                    "mismatches": [
                        {
                            "path": m.path,
                            "expected": m.expected,
                            "got": m.got,
                            **_blamed(o, m),
                        }
                        for m in o.mismatches
                    ],
                }
                for o in r.failed
            ],
            "coverage": {
                "percent": round(r.coverage.percent, 2),
                "missed": [e["location"] + " " + e["what"] for e in r.coverage.missed()],
                "unreachable": [
                    {"rule": e["location"] + " " + e["what"], "why": e["unreachable"]}
                    for e in r.coverage.unreachable()
                ],
                "clauses": sorted(f"{d} {c}" for d, c in r.coverage.clauses()),
                "clauses_reached": sorted(f"{d} {c}" for d, c in r.coverage.clauses_used),
                "layers": {
                    layer: {"exercised": hit, "of": total}
                    for layer, (hit, total) in sorted(r.coverage.layers().items())
                },
            },
        }
        for r in reports
    ]
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _blamed(outcome: Outcome, mismatch: Mismatch) -> dict[str, object]:
    """The JSON report's blame of a mismatch: `rule` (the step's row) and `blame`."""
    found = blame(outcome.result, mismatch, outcome.mismatches)
    if found is None:
        return {"rule": None, "blame": None}
    return {
        "rule": found.rules[0],
        "blame": {"step": found.step, "rules": list(found.rules), "why": found.why},
    }


def _update(args: argparse.Namespace) -> int:
    """Rewrite the failing expectations in place and print the diff for review; never in
    CI, where a failing case must stay a failure."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        return report_error(
            "--update rewrites case files: refused where CI is set",
            "run it on your own copy, review the diff, and commit the cases you accept",
            EXIT_INPUT,
        )
    reports = run_policies(args.paths or [bundled_policies()], args.keyword, args.backend)
    updates = update_files(o for r in reports for o in r.failed)
    for update in updates:
        sys.stdout.write(update.diff())
        if update.after != update.before:
            update.path.write_text(update.after, encoding="utf-8")
    left = [entry for update in updates for entry in update.left]
    for entry in left:
        print(f"not updated (edit by hand): {entry}")
    changed = sum(1 for u in updates if u.after != u.before)
    print(f"updated {changed} case file(s); review the diff above before committing")
    return EXIT_FINDINGS if left else EXIT_OK
