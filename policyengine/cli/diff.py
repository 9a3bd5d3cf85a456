"""`policyengine diff`: the command line around diff.py (docs/diff.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from policyengine.cli.output import EXIT_INPUT, EXIT_OK, report_error
from policyengine.diff.words import LANGS
from policyengine.semantics.vocabulary import MOMENTS


def register(add: Any) -> None:
    diff = add(
        "diff",
        run,
        "what a rule change costs: settle the same claims under two versions, attribute the "
        "change to the rules and clauses that differ",
        """
        policyengine diff --policy policies/tianjin --base-as-of 2018-12-31 --as-of 2019-01-01 \\
            claims.jsonl
        policyengine diff --base policies/tianjin --policy my-policies/tianjin claims.jsonl
        policyengine diff --base HEAD~3 --policy policies/tianjin claims.jsonl --format markdown
        policyengine diff --base main --policy policies claims.jsonl --format json > impact.json
        policyengine diff --policy policies/quanzhou --base-as-of 2021-11-24 --as-of 2021-11-25 \\
            qz.jsonl --chart per-person.svg
        policyengine diff --schema                     # the JSON Schema of --format json
        """,
    )
    diff.add_argument("input", nargs="?", help="claims, one JSON object per line")
    diff.add_argument(
        "--policy",
        type=Path,
        help="the amended policy directory or directory of policies (default: bundled)",
    )
    diff.add_argument(
        "--base",
        help="the baseline: a policy directory, or a git ref (HEAD~3, a branch, a tag) of the "
        "repository holding --policy, whose policies at that ref are used",
    )
    diff.add_argument(
        "--as-of", dest="as_of", help="settle under the amended rules in force on this date"
    )
    diff.add_argument(
        "--base-as-of",
        dest="base_as_of",
        help="settle under the baseline rules in force on this date (default: --as-of); "
        "without --base, compares --policy at two dates",
    )
    diff.add_argument("--region", help="region for claims that do not name one")
    diff.add_argument("--moment", choices=MOMENTS, default="during")
    diff.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    diff.add_argument(
        "--lang", choices=LANGS, default="en", help="the words of the table and markdown report"
    )
    diff.add_argument(
        "--chart", type=Path, help="write an SVG histogram of the per-person change here"
    )
    diff.add_argument(
        "--largest", type=int, default=10, help="how many of the largest changes to list"
    )
    diff.add_argument(
        "--width", type=int, help="table width (default: the terminal's, 120 when piped)"
    )
    diff.add_argument("-o", "--output", type=Path, help="write the report here, not to stdout")
    diff.add_argument(
        "--no-progress", action="store_true", help="no progress bar even on a terminal"
    )
    diff.add_argument(
        "--schema", action="store_true", help="print the JSON Schema of the JSON report"
    )


def _date(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} must be a date YYYY-MM-DD, not {value!r}") from None
    return value


def run(args: argparse.Namespace) -> int:
    from policyengine.cli.progress import Progress
    from policyengine.diff.chart import render_svg
    from policyengine.diff.compare import DiffOptions, run_diff
    from policyengine.diff.render import render_markdown, render_table
    from policyengine.diff.schema import diff_schema
    from policyengine.diff.source import Version, base_version, load
    from policyengine.engine import bundled_policies

    if args.schema:
        sys.stdout.write(json.dumps(diff_schema(), ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    if args.input is None:
        return report_error("give the claims file (JSONL)", "policyengine diff --help", EXIT_INPUT)
    source = Path(args.input)
    if not source.is_file():
        return report_error(f"input {source} not found", None, EXIT_INPUT)
    if args.chart is not None and args.chart.suffix.lower() != ".svg":
        return report_error(
            f"--chart {args.chart}: only SVG charts are written",
            "name the chart file *.svg (open it in a browser, or convert it with any SVG tool)",
            EXIT_INPUT,
        )
    if args.largest < 0:
        return report_error("--largest must be 0 or more", None, EXIT_INPUT)
    as_of = _date(args.as_of, "--as-of")
    base_as_of = _date(args.base_as_of, "--base-as-of")
    if args.base is not None and (not isinstance(args.base, str) or args.base.startswith("-")):
        # argparse turns `--base=--` into an empty list; a ref never starts with a dash
        return report_error(
            f"--base {args.base or '--'!s}: give a policy directory or a git ref",
            "e.g. --base policies/tianjin or --base HEAD~3 (a directory named like an option "
            "can be given as ./-name)",
            EXIT_INPUT,
        )
    if args.base is None and base_as_of is None:
        return report_error(
            "nothing to compare: give --base (a directory or git ref) or --base-as-of",
            "e.g. policyengine diff --policy policies/tianjin --base-as-of 2018-12-31 "
            "--as-of 2019-01-01 claims.jsonl",
            EXIT_INPUT,
        )
    if args.base is None and base_as_of == as_of:
        return report_error("--base-as-of and --as-of are the same date", None, EXIT_INPUT)
    policy = args.policy if args.policy is not None else bundled_policies()
    options = DiffOptions(
        input=source, region=args.region, moment=args.moment, largest=args.largest
    )
    with ExitStack() as stack:
        amended = Version(load(policy), as_of, str(policy))
        if args.base is None:
            base = Version(amended.engine, base_as_of, str(policy))
        else:
            base = base_version(
                args.base, policy, base_as_of if base_as_of is not None else as_of, stack
            )
        progress = Progress(sys.stderr.isatty() and not args.no_progress, source.stat().st_size)
        try:
            report = run_diff(base, amended, options, progress)
        finally:
            progress.stop()
    if args.chart is not None:
        args.chart.write_text(render_svg(report), encoding="utf-8")
    if args.format == "json":
        text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    elif args.format == "markdown":
        text = render_markdown(report, args.lang)
    else:
        to_terminal = args.output is None and sys.stdout.isatty()
        width = args.width or (shutil.get_terminal_size().columns if to_terminal else 120)
        color = to_terminal and not os.environ.get("NO_COLOR")
        text = render_table(report, width=width, color=color, lang=args.lang)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK
