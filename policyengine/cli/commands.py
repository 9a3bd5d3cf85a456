"""The handlers behind each `policyengine` command (cli.py parses and dispatches)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from policyengine.cli.output import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    engine_for,
    read_claim_text,
    report_error,
    write_json,
)
from policyengine.contract.claims import ClaimRejected, load_claim, parse_json
from policyengine.errors import PolicyNotFound

if TYPE_CHECKING:
    from policyengine.check import CheckResult
    from policyengine.contract.results import ResultDict


def _extra_commands() -> list[Callable[..., None]]:
    from policyengine.cli import batch as cli_batch
    from policyengine.cli import diff as cli_diff
    from policyengine.cli import explain as cli_explain
    from policyengine.cli import tools as cli_tools
    from policyengine.service import serve

    return [
        cli_explain.register,
        cli_tools.register_fmt,
        cli_tools.register_render,
        cli_tools.register_lsp,
        cli_batch.register,
        cli_batch.register_generate,
        cli_diff.register,
        serve.register,
    ]


EXTRA_COMMANDS: list[Callable[..., None]] = _extra_commands()


# ------------------------------------------------------------------ check


def check(args: argparse.Namespace) -> int:
    from policyengine.engine import bundled_policies

    paths = args.paths or [bundled_policies()]
    if args.watch:
        from policyengine.cli.watch import watch, watched_directories

        return watch(lambda: _check_once(args, paths), watched_directories(paths))
    return _check_once(args, paths)


def _check_once(args: argparse.Namespace, paths: list[Path]) -> int:
    from policyengine.check import check as run_check
    from policyengine.engine import policy_dirs

    directories = [d for path in paths for d in _policy_dirs(path, policy_dirs)]
    reports = [run_check(directory) for directory in directories]
    errors = sum(1 for r in reports for d in r.diagnostics if d.is_error)
    warnings = sum(1 for r in reports for d in r.diagnostics if not d.is_error)
    if args.format == "json":
        write_json(
            {
                "policies": [
                    {
                        "policy": r.directory.name,
                        "ok": r.ok,
                        "diagnostics": [d.as_json() for d in r.diagnostics],
                        "provisional": [
                            {"location": n.location, "subject": n.subject, "reason": n.reason}
                            for n in r.notes
                        ],
                        "cited_figures": [
                            {
                                "location": f.location,
                                "figure": f.figure,
                                "doc": f.doc,
                                "clause": f.clause,
                                "quote": f.quote,
                                "derived": f.derived,
                            }
                            for f in r.cited_figures
                        ],
                    }
                    for r in reports
                ],
                "errors": errors,
                "warnings": warnings,
            },
            pretty=True,
        )
        return EXIT_FINDINGS if errors else EXIT_OK
    _print_check(reports, errors, warnings, provisional=args.provisional)
    return EXIT_FINDINGS if errors else EXIT_OK


def _print_check(
    reports: list[CheckResult], errors: int, warnings: int, *, provisional: bool
) -> None:
    """The verdict first (a line per policy), then each problem with its source line, then
    the count again below them; the provisional figures are counted, and listed on request;
    the derived figures are listed."""
    from policyengine.diagnostics import render

    out = sys.stdout
    for report in reports:
        out.write(_verdict(report, listed=provisional) + "\n")
    for report in reports:
        _write_derived_figures(out, report)
    for report in reports:
        if provisional and report.notes:
            out.write(f"\n{report.directory.name}: provisional figures and rules ")
            out.write(f"({len(report.notes)}):\n")
            for note in report.notes:
                out.write(f"  {note.location} {note.subject}\n    — {note.reason}\n")
    for report in reports:
        for diagnostic in report.diagnostics:
            out.write("\n" + render(diagnostic, report.texts) + "\n")
    out.write(f"\n{errors} error(s), {warnings} warning(s)\n")


def _verdict(report: CheckResult, *, listed: bool) -> str:
    name = report.directory.name
    errors = sum(1 for d in report.diagnostics if d.is_error)
    warnings = len(report.diagnostics) - errors
    if not report.ok:
        counted = f"{errors} error(s)" + (f", {warnings} warning(s)" if warnings else "")
        return f"{name}: FAILED — {counted}"
    verdict = f"{name}: ok"
    if report.policy is not None:
        verdict += f" — versions from {', '.join(d.isoformat() for d in report.policy.switches)}"
    if report.notes:
        count = len(report.notes)
        verdict += f"; {count} provisional " + (
            "figure or rule" if count == 1 else "figures and rules"
        )
        verdict += "" if listed else " (--provisional lists them)"
    if report.cited_figures:
        count = len(report.cited_figures)
        derived = sum(1 for f in report.cited_figures if f.derived is not None)
        verdict += f"; {count} cited figure{'s' if count > 1 else ''} checked against their "
        verdict += f"quotes ({derived} derived)"
    return verdict


def _write_derived_figures(out: TextIO, report: CheckResult) -> None:
    """Every cited figure its quote implies without stating, with the note saying how."""
    derived = [f for f in report.cited_figures if f.derived is not None]
    if not derived:
        return
    out.write(f"\n{report.directory.name}: derived figures ({len(derived)}):\n")
    for figure in derived:
        where = f"{figure.doc} {figure.clause}" if figure.clause else figure.doc
        out.write(f"  {figure.location} {figure.figure} — derived: {figure.derived}\n")
        out.write(f"    {where} “{figure.quote}”\n")


def _policy_dirs(path: Path, finder: Callable[[Path], list[Path]]) -> list[Path]:
    if path.is_file() and path.suffix == ".policy":
        return [path.parent]
    if not path.is_dir():
        raise PolicyNotFound(f"{path} is not a policy directory")
    found = finder(path)
    if not found:
        raise PolicyNotFound(f"no rule files (*.policy) in {path}")
    return found


# ------------------------------------------------------------------ compile


def compile_(args: argparse.Namespace) -> int:
    from policyengine.cache import load_compiled

    policy = load_compiled(args.path, use_cache=False)
    if args.output:
        args.output.write_text(policy.source, encoding="utf-8")
        print(f"wrote {args.output} ({policy.source.count(chr(10))} lines)", file=sys.stderr)
    elif args.emit_python:
        sys.stdout.write(policy.source)
    else:
        print(
            f"{policy.name}: compiled {len(policy.versions)} version(s), "
            f"{policy.source.count(chr(10))} lines of Python",
            file=sys.stderr,
        )
    return EXIT_OK


# ------------------------------------------------------------------ adjudicate


def settle_from_args(args: argparse.Namespace, text: str, *, trace: bool) -> ResultDict:
    engine = engine_for(args.policy)
    region = args.region
    if region is None and args.policy is not None and len(engine.regions) == 1:
        region = engine.regions[0]
    return engine.settle(text, region=region, as_of=args.as_of, moment=args.moment, trace=trace)


def adjudicate(args: argparse.Namespace) -> int:
    fhir = args.format == "fhir"
    text: str | None = None
    try:
        text = read_claim_text(args.claim)
        result = settle_from_args(args, text, trace=args.trace)
    except ClaimRejected as rejected:
        if fhir:
            _write_fhir_refusal(args, text, rejected)
        else:
            write_json(rejected.as_json(), pretty=args.pretty)
        return EXIT_INPUT
    if fhir:
        from policyengine.service import fhir as fhir_format

        claim = load_claim(text, region=result["policy"]["region"])  # parsed a moment ago
        document = fhir_format.claim_response(claim, result)
        sys.stdout.write(fhir_format.dumps(document, pretty=args.pretty).decode() + "\n")
    else:
        write_json(result, pretty=args.pretty)
    return EXIT_FINDINGS if result["findings"] else EXIT_OK


def _write_fhir_refusal(
    args: argparse.Namespace, text: str | None, rejected: ClaimRejected
) -> None:
    """A refused claim as a ClaimResponse with `outcome` error."""
    from policyengine.service import fhir as fhir_format

    refused = rejected.as_json()
    try:
        raw = None if text is None else parse_json(text)
    except ClaimRejected:
        raw = None
    document = fhir_format.error_response(refused["claim_id"], refused["errors"], raw)
    sys.stdout.write(fhir_format.dumps(document, pretty=args.pretty).decode() + "\n")


# ------------------------------------------------------------------ schema, list


def schema(args: argparse.Namespace) -> int:
    from policyengine.contract import schemas
    from policyengine.diagnostics import suggestion

    published = {
        "claim": schemas.claim_schema,
        "result": schemas.result_schema,
        "trace": schemas.trace_schema,
    }
    if args.which not in published:
        return report_error(
            f"no schema `{args.which}`: the schemas are {', '.join(published)}",
            suggestion(args.which, published) or "policyengine schema claim|result|trace",
            EXIT_INPUT,
        )
    write_json(published[args.which](), pretty=True)
    return EXIT_OK


def list_(args: argparse.Namespace) -> int:
    engine = engine_for(args.policy)
    if args.format == "json":
        write_json(
            [
                {
                    "region": p.name,
                    "title": p.title,
                    "directory": str(p.directory),
                    "layers": list(p.layers),
                    "effective_from": p.start,
                    "versions": list(p.versions),
                    "provisional": len(p.notes),
                }
                for p in engine.describe()
            ],
            pretty=True,
        )
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title="bundled policies" if args.policy is None else str(args.policy))
    for column in ("region", "title", "effective from", "versions (rule sets from)", "provisional"):
        table.add_column(column)
    for p in engine.describe():
        table.add_row(p.name, p.title, p.start, ", ".join(p.versions), str(len(p.notes)))
    Console().print(table)
    return EXIT_OK


# ------------------------------------------------------------------ test


def test(args: argparse.Namespace) -> int:
    from policyengine.cli.test import run

    return run(args)


__all__ = ["EXTRA_COMMANDS", "ClaimRejected", "json", "load_claim", "parse_json"]
