"""`policyengine test`: run the YAML cases of policies (policytest/) and print the report."""

from __future__ import annotations

import argparse
import json
import sys

from policyengine.cli.output import EXIT_FINDINGS, EXIT_OK
from policyengine.engine import bundled_policies
from policyengine.policytest.runner import PolicyReport, producing_rule, run_policies


def run(args: argparse.Namespace) -> int:
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
                rule = producing_rule(outcome.result, mismatch.path)
                console.print(
                    f"    {escape(mismatch.path)}: expected {escape(repr(mismatch.expected))}, "
                    f"got {escape(repr(mismatch.got))}"
                )
                if rule:
                    console.print(f"      produced by {escape(rule)}")
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
                            "rule": producing_rule(o.result, m.path),
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
