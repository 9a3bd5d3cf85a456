"""`policyengine batch`: the command line around batch.py (progress, summary, signals)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

from policyengine.batch.files import check_paths, write_atomic
from policyengine.batch.local import BatchInterrupted, BatchOptions, run_batch, work_dir
from policyengine.cli.output import EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, report_error
from policyengine.cli.progress import Progress, interrupt_on_sigterm, print_summary
from policyengine.semantics.vocabulary import MOMENTS


def register(add: Any) -> None:
    batch = add(
        "batch",
        run,
        "settle a JSONL file of claims, keeping each person's year ledger",
        """
        policyengine batch claims.jsonl -o results.jsonl
        policyengine batch claims.jsonl -o results.jsonl --jobs 2
        policyengine batch claims.jsonl -o results.jsonl --resume     # after an interrupt
        policyengine batch claims.jsonl -o results.jsonl --summary-json summary.json
        policyengine batch --engine spark claims.jsonl -o results.jsonl   # docs/spark.md
        policyengine batch --engine spark claims.parquet -o results.parquet --master local[2]
        policyengine batch --engine spark --input-table db.claims --output-table db.results
        """,
    )
    batch.add_argument(
        "input",
        nargs="?",
        help="claims, one JSON object per line (with --engine spark also .parquet)",
    )
    batch.add_argument(
        "-o",
        "--output",
        help="results, one per input line, in input order: a file, or - for standard output "
        "(with --engine spark also .parquet)",
    )
    batch.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="worker processes (persons are partitioned between them)",
    )
    batch.add_argument(
        "--policy", help="a policy directory or directory of policies (default: bundled)"
    )
    batch.add_argument("--region", help="region for claims that do not name one")
    batch.add_argument("--as-of", dest="as_of", help="apply the rules in force on this date")
    batch.add_argument("--moment", choices=MOMENTS, default="during")
    batch.add_argument("--trace", action="store_true", help="include each result's trace")
    batch.add_argument("--resume", action="store_true", help="continue an interrupted batch")
    batch.add_argument(
        "--keep-work", action="store_true", help="keep the work directory afterwards"
    )
    batch.add_argument(
        "--no-progress", action="store_true", help="no progress bar even on a terminal"
    )
    batch.add_argument("--summary-json", type=Path, help="also write the summary as JSON here")
    spark = batch.add_argument_group("Spark (--engine spark; pip install 'policyengine[spark]')")
    spark.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="local: this machine (default); spark: a Spark cluster or local[N] (docs/spark.md)",
    )
    spark.add_argument(
        "--input-table", help="read claims from this Spark/Hive table instead of a file"
    )
    spark.add_argument(
        "--output-table", help="write (line, result) to this Spark/Hive table (overwritten)"
    )
    spark.add_argument(
        "--master", help="Spark master when no session is running (default: Spark's own)"
    )
    spark.add_argument(
        "--conf",
        action="append",
        metavar="KEY=VALUE",
        help="a Spark setting for the session this command starts (repeatable)",
    )
    spark.add_argument(
        "--partitions",
        type=int,
        help="partitions to spread persons over (default: 2 per core, 1 per 10,000 claims)",
    )


def run(args: argparse.Namespace) -> int:
    if args.engine == "spark":
        from policyengine.cli.spark import run_cli

        return run_cli(args)
    if args.input_table or args.output_table or args.master or args.conf or args.partitions:
        return report_error(
            "--input-table, --output-table, --master, --conf and --partitions need --engine spark",
            None,
            EXIT_INPUT,
        )
    if args.input is None or args.output is None:
        return report_error(
            "give the input file and -o/--output (- for standard output)", None, EXIT_INPUT
        )
    args.input, args.output = Path(args.input), Path(args.output)
    if not args.input.is_file():
        return report_error(f"input {args.input} not found", None, EXIT_INPUT)
    if args.jobs < 1:
        return report_error("--jobs must be at least 1", None, EXIT_INPUT)
    options = BatchOptions(
        input=args.input,
        output=args.output,
        jobs=args.jobs,
        policy=args.policy,
        region=args.region,
        moment=args.moment,
        as_of=args.as_of,
        trace=args.trace,
        resume=args.resume,
        keep_work=args.keep_work,
    )
    check_paths(options, *([args.summary_json] if args.summary_json else []))
    progress = Progress(sys.stderr.isatty() and not args.no_progress, args.input.stat().st_size)
    previous = signal.signal(signal.SIGTERM, interrupt_on_sigterm)
    try:
        summary = run_batch(options, progress)
    except (KeyboardInterrupt, BatchInterrupted, OSError) as error:
        progress.stop()
        if isinstance(error, OSError):  # a full disk, a vanished directory: nothing is lost
            reason = f"{error.strerror or error}" + (
                f": {error.filename}" if error.filename else ""
            )
        else:
            reason = str(error) or "interrupted"
        return report_error(
            f"batch incomplete: {reason}",
            f"completed work is kept in {work_dir(options)}; rerun the same command with --resume",
            EXIT_INTERNAL,
        )
    finally:
        progress.stop()
        signal.signal(signal.SIGTERM, previous)
    print_summary(summary, options)
    if args.summary_json:
        try:
            write_atomic(
                args.summary_json, (json.dumps(summary.as_json(), indent=2) + "\n").encode()
            )
        except OSError as error:
            reason = error.strerror or str(error)
            return report_error(
                f"the summary could not be written to {args.summary_json}: {reason}",
                f"the results are complete in {options.output}",
                EXIT_INTERNAL,
            )
    return EXIT_FINDINGS if summary.errors else EXIT_OK


def register_generate(add: Any) -> None:
    generate = add(
        "generate",
        run_generate,
        "write a year of realistic claims per person (for examples, benchmarks and diff)",
        """
        policyengine generate --region tianjin --persons 1000 --seed 7 -o claims.jsonl
        policyengine generate --region quanzhou --persons 50 --year 2021 -o qz-2021.jsonl
        policyengine generate --region tianjin --persons 5 -o - | head -n 3   # standard output
        policyengine generate --region chengdu --persons 50 -o cd.jsonl   # residents get a tier
        """,
    )
    generate.add_argument(
        "--region", required=True, help="a bundled region (tianjin, quanzhou, weihai, chengdu)"
    )
    generate.add_argument("--persons", type=int, required=True)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--year", type=int, default=2024)
    generate.add_argument(
        "-o", "--output", type=Path, required=True, help="the claims file, or - for standard output"
    )


def run_generate(args: argparse.Namespace) -> int:
    from policyengine.tools.generate import check_year, generate

    check_year(args.year)  # before the output file is created
    if args.persons < 1:
        return report_error("--persons must be at least 1", None, EXIT_INPUT)
    tiers = _region_tiers(args.region)
    if tiers is None:
        known = ", ".join(bundled_regions())
        return report_error(
            f"--region {args.region}: not a bundled region (regions: {known})", None, EXIT_INPUT
        )
    count = 0
    to_stdout = str(args.output) == "-"
    with contextlib.ExitStack() as stack:
        out = (
            sys.stdout
            if to_stdout
            else stack.enter_context(args.output.open("w", encoding="utf-8"))
        )
        for claim in generate(args.region, args.persons, args.seed, args.year, tiers):
            out.write(json.dumps(claim, ensure_ascii=False) + "\n")
            count += 1
    where = "standard output" if to_stdout else args.output
    print(f"wrote {count:,} claims of {args.persons:,} persons to {where}", file=sys.stderr)
    return EXIT_OK


def bundled_regions() -> tuple[str, ...]:
    from policyengine.engine import Engine

    return Engine.load().regions


def _region_tiers(region: str) -> tuple[str, ...] | None:
    """The contribution tiers the bundled policy of `region` declares (what the generator
    needs from it), or None when no bundled policy settles that region."""
    from policyengine.engine import Engine
    from policyengine.errors import PolicyNotFound
    from policyengine.layout import bundled_policies

    directory = bundled_policies() / region
    if not region.isidentifier() or not directory.is_dir():
        return None
    try:
        return Engine.load(directory).policy(region).tiers
    except PolicyNotFound:
        return None  # a layer (national): no claim names it
