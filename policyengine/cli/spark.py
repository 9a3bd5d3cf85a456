"""`policyengine batch --engine spark`: the command line around spark.py (docs/spark.md)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from policyengine.batch.local import Summary
from policyengine.batch.spark import (
    JSONL_PART_CHARS,
    LINE,
    RESULT,
    check_options,
    prepare_claims,
    read_jsonl,
    require_spark,
    settle_claims,
    spark_job,
    summary_and_size,
    write_jsonl,
)
from policyengine.cli.output import EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, report_error
from policyengine.cli.progress import interrupt_on_sigterm, print_summary
from policyengine.engine import Engine

if TYPE_CHECKING:
    import argparse

    from pyspark.sql import SparkSession

CLAIMS_PER_PARTITION = 10_000  # at most about this many claims per partition


@dataclass(frozen=True)
class _Shown:
    """What print_summary shows of a Spark batch."""

    input: str
    output: str
    jobs: int


def run_cli(args: argparse.Namespace) -> int:
    """`policyengine batch --engine spark`: see cli_batch.register for the options."""
    problem = _cli_problem(args)
    if problem:
        return report_error(problem, None, EXIT_INPUT)
    require_spark()
    if args.policy is not None and Path(args.policy).is_dir():
        Engine.load(args.policy)  # fail fast, on the driver, on a policy that does not load
    previous = signal.signal(signal.SIGTERM, interrupt_on_sigterm)
    spark, created = None, False
    try:
        spark, created = _session(args)
        summary, shown = _run(spark, args)
    except KeyboardInterrupt:
        return report_error(
            "batch incomplete: interrupted", "nothing was written; rerun the command", EXIT_INTERNAL
        )
    except Exception as error:
        message, code = _spark_error(error)
        if message is None:
            raise
        return report_error(message, None, EXIT_INPUT if code == "input" else EXIT_INTERNAL)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if spark is not None and created:
            spark.stop()

    print_summary(summary, shown)
    if args.summary_json:
        Path(args.summary_json).write_text(
            json.dumps(summary.as_json(), indent=2) + "\n", encoding="utf-8"
        )
    return EXIT_FINDINGS if summary.errors else EXIT_OK


def _cli_problem(args: argparse.Namespace) -> str | None:
    if args.resume or args.keep_work:
        return "--resume and --keep-work are for the local engine (Spark retries failed tasks)"
    if args.jobs != 1:
        return "--jobs is for the local engine: with Spark, give --master local[N] or executors"
    if (args.input is None) == (args.input_table is None):
        return "give either an input file or --input-table"
    if (args.output is None) == (args.output_table is None):
        return "give either -o/--output or --output-table"
    if args.partitions is not None and args.partitions < 1:
        return "--partitions must be at least 1"
    for setting in args.conf or ():
        if "=" not in setting:
            return f"--conf takes KEY=VALUE, not {setting!r}"
    if args.output is not None and not _is_parquet(args.output) and _has_scheme(args.output):
        return (
            f"JSONL output is written by the driver to a local file, not {args.output}: "
            "write .parquet or --output-table to cluster storage"
        )
    if args.input is not None and not _has_scheme(args.input) and not Path(args.input).exists():
        return f"input {args.input} not found"
    try:
        check_options(args.moment, args.as_of)
    except ValueError as error:
        return str(error)
    return None


def _session(args: argparse.Namespace) -> tuple[SparkSession, bool]:
    """The running session (spark-submit, a notebook, tests), else a new one."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = SparkSession.builder.appName("policyengine batch")
    if args.master:
        builder = builder.master(args.master)
    if args.no_progress or not sys.stderr.isatty():
        builder = builder.config("spark.ui.showConsoleProgress", "false")
    for setting in args.conf or ():
        key, _, value = setting.partition("=")
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    context = spark.sparkContext
    context.setLogLevel("ERROR")
    if (context.master or "").startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        context.pythonExec = sys.executable  # local workers run this interpreter
    return spark, True


def _run(spark: SparkSession, args: argparse.Namespace) -> tuple[Summary, _Shown]:
    from pyspark import StorageLevel

    started = time.monotonic()
    if args.input_table:
        claims = prepare_claims(spark.table(args.input_table), count=True)
    elif _is_parquet(args.input):
        claims = prepare_claims(spark.read.parquet(args.input), count=True)
    else:
        claims = read_jsonl(spark, args.input)
    expected, shown_input = claims.expected, args.input_table or args.input
    assert expected is not None and claims.blank is not None
    job = spark_job(spark, args.policy, args.region, args.as_of, args.moment, args.trace)
    settled = settle_claims(claims.frame, job, args.partitions or _partitions(spark, expected))
    settled = settled.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        summary, size = summary_and_size(settled, claims.blank)
        if summary.records != expected:
            raise RuntimeError(
                f"{expected} claims in, {summary.records} records out: nothing was written"
            )
        results = settled.select(LINE, RESULT)
        if args.output_table:
            results.orderBy(LINE).write.mode("overwrite").saveAsTable(args.output_table)
            shown_output = args.output_table
        elif _is_parquet(args.output):
            results.orderBy(LINE).write.mode("overwrite").parquet(args.output)
            shown_output = args.output
        else:
            # the driver holds a partition or two at a time: keep them small
            parts = max(1, -(-size // JSONL_PART_CHARS))
            write_jsonl(
                results.repartitionByRange(parts, LINE).sortWithinPartitions(LINE),
                Path(args.output),
            )
            shown_output = args.output
    finally:
        settled.unpersist()
        claims.release()
    summary.seconds = time.monotonic() - started
    return summary, _Shown(shown_input, shown_output, spark.sparkContext.defaultParallelism)


def _partitions(spark: SparkSession, claims: int) -> int:
    """Two tasks per core, more for large inputs: an explicit count, because a cached plan
    keeps its partitioning (Spark's 200 shuffle partitions, which adaptive execution would
    otherwise have coalesced, cost more in task overhead than the work on small inputs)."""
    cores = spark.sparkContext.defaultParallelism
    return max(2 * cores, -(-claims // CLAIMS_PER_PARTITION))


def _is_parquet(path: str) -> bool:
    return path.rstrip("/").lower().endswith(".parquet")


def _has_scheme(path: str) -> bool:
    """hdfs://…, s3a://…, file://…: a URI for Hadoop, not a local path to check."""
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.replace("+", "").isalnum()


def _spark_error(error: BaseException) -> tuple[str | None, str]:
    """A one-line message for an error from Spark (None: not Spark's, a bug: re-raise)."""
    if isinstance(error, RuntimeError) and "records out" in str(error):
        return f"internal error: {error}", "internal"
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover
        return None, ""
    if not isinstance(error, PySparkException | Py4JError):
        return None, ""
    text = str(error)
    condition = getattr(error, "getCondition", getattr(error, "getErrorClass", lambda: None))()
    if condition in ("PATH_NOT_FOUND", "TABLE_OR_VIEW_NOT_FOUND", "UNSUPPORTED_DATA_SOURCE"):
        return text.splitlines()[0], "input"
    if "java.io.FileNotFoundException" in text:
        return _worker_message(text), "input"
    if "JAVA_GATEWAY_EXITED" in text:
        return (
            "could not start Spark: is Java 17 or later installed (JAVA_HOME)?",
            "internal",
        )
    return f"Spark job failed: {_worker_message(text)}", "internal"


def _worker_message(text: str) -> str:
    """The exception line of a Python worker's traceback, else the first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head.endswith(("Error", "Exception", "NotFound", "Invalid", "Failure")) and (
            " " not in head
        ):
            return line
    return lines[0] if lines else type(text).__name__
