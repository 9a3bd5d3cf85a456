"""Batch adjudication on Apache Spark (`policyengine batch --engine spark`, docs/spark.md).

    from policyengine.batch.spark import settle_dataframe
    results = settle_dataframe(claims)        # DataFrame[line: bigint, result: string]

The pipeline is the single-machine batch (batch.py) spread over a cluster:

1. claims   one row per claim: `line` (1-based input line; numbered exactly in the frame's
            order when absent) and the claim's raw bytes (a JSON string or binary column,
            or the claim contract's columns turned back into JSON); blank claims are skipped
            exactly as blank lines are;
2. key      in Python, `batch._key` gives each claim its (person, date): the same function
            the local batch sorts by, so an unreadable claim is keyed by its line and sorts
            alone, never dropped;
3. settle   `repartition(person)` puts every claim of a person in one partition and
            `sortWithinPartitions(person, date, line)` makes them adjacent; `mapInArrow`
            walks each partition, cutting it at person changes, and settles every person
            with `batch.settle_group` → `ledger.settle_person` — the one implementation
            of the year ledger, which orders the person's claims by (visit date, line) itself;
4. result   each claim's result or error record as the JSON text `policyengine batch`
            writes (`engine.dumps`), byte for byte.

The policy is loaded once per Python worker process (spark_worker.py: a cache keyed by the
policy; PySpark reuses workers between tasks), warm from the on-disk compile cache.
PySpark is an optional extra (`pip install 'policyengine[spark]'`): it is imported only
inside the functions of this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from policyengine.batch.local import Summary
from policyengine.batch.spark_worker import Job, key_batches, settle_batches, worker_engine
from policyengine.errors import PolicyEngineError
from policyengine.semantics.vocabulary import MOMENTS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

INSTALL_HINT = "pip install 'policyengine[spark]'"
LINE, CLAIM, RESULT = "line", "claim", "result"
CORRUPT = "_corrupt_record"  # what spark.read.json keeps of a line it could not parse
BLANK = "^[ \\t\\n\\r\\x0B\\f]*\\z"  # only bytes.strip()'s whitespace: batch.scan's blank
_KEYED = "line long, claim binary, person string, date string"
_SETTLED = (
    "line long, result string, decision string, "
    "fund string, critical_illness string, patient string"
)
_MONEY = "decimal(38,6)"
_ROW_BITS = 33  # monotonically_increasing_id = partition index << 33 | row within partition
JSONL_PART_CHARS = 8_000_000  # characters of records per partition the driver fetches (JSONL)


class SparkUnavailable(PolicyEngineError):
    """PySpark (or pandas/pyarrow, which its Arrow UDFs need) is not installed."""

    hint = INSTALL_HINT


def require_spark() -> None:
    missing = []
    for module in ("pyspark", "pyarrow", "pandas"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise SparkUnavailable(f"the Spark engine needs {', '.join(missing)}: not installed")


# ------------------------------------------------------------------ the DataFrame API


def settle_dataframe(
    df: DataFrame,
    *,
    claim_column: str = CLAIM,
    line_column: str = LINE,
    policy: str | os.PathLike[str] | None = None,
    region: str | None = None,
    as_of: str | None = None,
    moment: str = "during",
    trace: bool = False,
    partitions: int | None = None,
    summary_columns: bool = False,
) -> DataFrame:
    """Settle a DataFrame of claims with each person's year ledger, as `policyengine batch`.

    `df` holds either a JSON column `claim_column` (string or binary: the claim exactly as
    a JSONL line holds it) or the columns of the claim contract (`id`, `person`, `visit`,
    `items`, …, as `spark.read.json` gives them; a `_corrupt_record` column is used for the
    rows Spark could not parse). `line_column`, when present, numbers the claims (1-based,
    unique); when absent the rows are numbered 1, 2, … in the frame's partition order, which
    is the input order for a frame read straight from one file (numbering runs a counting
    job now and caches the numbered rows on disk; `spark.catalog.clearCache()` frees them).

    Returns `line` (bigint) and `result` (the result or error record as JSON text, identical
    to the line `policyengine batch` writes), in no particular order (`orderBy("line")` for
    input order). With `summary_columns`, also `decision` and the decimal `fund`,
    `critical_illness` and `patient` (null for error records), which `summarize` adds up.
    A claim is never dropped: unreadable rows, rows without a person, and claims that
    break the contract come out as error records; blank claims are skipped, as blank lines.
    """
    require_spark()
    claims = prepare_claims(df, claim_column=claim_column, line_column=line_column)
    job = spark_job(df.sparkSession, policy, region, as_of, moment, trace)
    settled = settle_claims(claims.frame, job, partitions)
    if summary_columns:
        return settled
    return settled.select(LINE, RESULT)


@dataclass(frozen=True)
class Claims:
    """The claims of a source, ready to settle, and what counting the source found."""

    frame: DataFrame  # line (bigint), claim (binary): the non-blank rows
    rows: int | None  # rows (lines) of the source, when counted
    blank: int | None  # of which blank: skipped, as batch skips blank lines
    cached: DataFrame | None = None  # what numbering cached (unpersist after settling)

    def release(self) -> None:
        if self.cached is not None:
            self.cached.unpersist()

    @property
    def expected(self) -> int | None:
        """How many records settling must give (one per non-blank row)."""
        return None if self.rows is None or self.blank is None else self.rows - self.blank


def prepare_claims(
    df: DataFrame, *, claim_column: str = CLAIM, line_column: str = LINE, count: bool = False
) -> Claims:
    """`line` (bigint) and `claim` (binary) of every non-blank claim of `df`. Numbering a
    frame counts it anyway; with `count`, a frame with its own lines is counted too."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType, StringType

    columns = df.columns
    if claim_column in columns:
        kind = df.schema[claim_column].dataType
        if not isinstance(kind, StringType | BinaryType):
            raise TypeError(
                f"column {claim_column!r} must hold the claim's JSON as a string or binary, "
                f"not {kind.simpleString()}"
            )
        body = F.col(claim_column).cast("binary")
    else:
        fields = [c for c in columns if c not in (line_column, CORRUPT)]
        if not fields:
            raise ValueError(f"no column {claim_column!r} and no claim columns in {columns}")
        text = F.to_json(F.struct(*[F.col(f"`{c}`") for c in fields]))
        if CORRUPT in columns:
            text = F.coalesce(F.col(CORRUPT), text)
        body = text.cast("binary")
    is_blank = F.coalesce(blank(F.col(CLAIM)), F.lit(False))
    rows = blanks = cached = None
    if line_column in columns:
        numbered = df.select(F.col(line_column).cast("long").alias(LINE), body.alias(CLAIM))
        if count:
            counts = numbered.agg(F.count(F.lit(1)), F.sum(is_blank.cast("long"))).first()
            assert counts is not None
            rows, blanks = counts[0], counts[1] or 0
    else:
        numbered, rows, blanks, cached = number_rows(df.select(body.alias(CLAIM)), is_blank)
    return Claims(numbered.where(~is_blank), rows, blanks, cached)


def blank(column: Column) -> Column:
    """A claim of nothing but whitespace (null stays null: it becomes an error record)."""
    return column.cast("string").rlike(BLANK)


def number_rows(df: DataFrame, flag: Column | None = None) -> tuple[DataFrame, int, int, DataFrame]:
    """`df` with `line` = 1, 2, … in partition order, exactly (zipWithIndex without leaving
    the JVM: rows counted per partition, then each partition's offset added); the row
    count; how many rows `flag` holds for, counted in the same job; and the cached frame
    to unpersist when done.

    `monotonically_increasing_id` alone is ordered but not consecutive. The ids are cached
    (on disk) before counting: the count and the numbering then read the same partitions,
    even if the scan would be split differently the second time (a file's splits follow
    the cores the cluster has at the time, which dynamic allocation changes).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    tagged = (
        df.withColumn("__id", F.monotonically_increasing_id())
        .withColumn("__part", F.expr(f"shiftright(__id, {_ROW_BITS})"))
        .persist(StorageLevel.DISK_ONLY)
    )
    flagged = F.lit(False) if flag is None else flag
    counts = sorted(
        (row[0], row[1], row[2] or 0)
        for row in tagged.groupBy("__part")
        .agg(F.count(F.lit(1)), F.sum(flagged.cast("long")))
        .collect()
    )
    offsets, total, flags = [], 0, 0
    for part, count, flagged_rows in counts:
        offsets.append((part, total))
        total += count
        flags += flagged_rows
    table = df.sparkSession.createDataFrame(offsets or [(0, 0)], "__part long, __offset long")
    position = F.col("__id").bitwiseAND((1 << _ROW_BITS) - 1)
    numbered = tagged.join(F.broadcast(table), "__part").select(
        (F.col("__offset") + position + 1).alias(LINE), *[F.col(f"`{c}`") for c in df.columns]
    )
    return numbered, total, flags, tagged


_SHIPPED: dict[tuple[str, str], Path] = {}  # (application, name) → directory, on the driver


def spark_job(
    spark: SparkSession,
    policy: str | os.PathLike[str] | None,
    region: str | None,
    as_of: str | None,
    moment: str,
    trace: bool,
) -> Job:
    check_options(moment, as_of)
    shipped = None
    given = None if policy is None else os.fspath(policy)
    if given is not None and Path(given).is_dir():
        directory = Path(given).resolve()
        given, shipped = str(directory), ship_policy(spark, directory)
    return Job(given, shipped, region, as_of, moment, trace)


def check_options(moment: str, as_of: str | None) -> None:
    """What the engine would refuse for every claim, refused once, before any work."""
    if moment not in MOMENTS:
        raise ValueError(f"moment must be one of {', '.join(MOMENTS)}, not {moment!r}")
    if as_of is not None:
        try:
            dt.date.fromisoformat(as_of)
        except ValueError:
            raise ValueError(f"as_of must be a date YYYY-MM-DD, not {as_of!r}") from None


def ship_policy(spark: SparkSession, directory: Path) -> str:
    """Send a policy directory (or directory of policies) to every executor with
    `SparkContext.addFile`; workers find it with `SparkFiles.get(name)`."""
    context = spark.sparkContext
    name = directory.name
    key = (context.applicationId, name)
    known = _SHIPPED.get(key)
    if known is None:
        context.addFile(str(directory), recursive=True)
        _SHIPPED[key] = directory
    elif known != directory:
        raise ValueError(
            f"a different policy directory named {name!r} ({known}) was already shipped in "
            "this Spark application: give the directories different names"
        )
    return name


def settle_claims(claims: DataFrame, job: Job, partitions: int | None) -> DataFrame:
    from pyspark.sql import functions as F

    keyed = claims.mapInArrow(key_batches, _KEYED)
    by_person = (
        keyed.repartition(partitions, "person") if partitions else keyed.repartition("person")
    )
    ordered = by_person.sortWithinPartitions("person", "date", LINE)
    settled = ordered.mapInArrow(functools.partial(settle_batches, job), _SETTLED)
    return settled.select(
        LINE,
        RESULT,
        "decision",
        *[F.col(c).cast(_MONEY).alias(c) for c in ("fund", "critical_illness", "patient")],
    )


def summarize(settled: DataFrame, blank_lines: int = 0) -> Summary:
    """The batch summary of `settle_dataframe(..., summary_columns=True)` (exact decimals)."""
    return summary_and_size(settled, blank_lines)[0]


def summary_and_size(settled: DataFrame, blank_lines: int) -> tuple[Summary, int]:
    """The summary, and the size of the records (characters), in one job."""
    from pyspark.sql import functions as F

    summary = Summary(blank_lines=blank_lines)
    rows = (
        settled.groupBy("decision")
        .agg(
            F.count(F.lit(1)).alias("n"),
            *[F.sum(c).alias(c) for c in ("fund", "critical_illness", "patient")],
            F.sum(F.length(RESULT)).alias("size"),
        )
        .collect()
    )
    size = 0
    for row in rows:
        size += row["size"] or 0
        summary.records += row["n"]
        if row["decision"] is None:
            summary.errors += row["n"]
            continue
        summary.settled += row["n"]
        summary.decisions[row["decision"]] = row["n"]
        summary.fund += row["fund"] or Decimal(0)
        summary.critical_illness += row["critical_illness"] or Decimal(0)
        summary.patient += row["patient"] or Decimal(0)
    return summary, size


# ------------------------------------------------------------------ JSONL files


def read_jsonl(spark: SparkSession, path: str) -> Claims:
    """A JSONL file as (line, claim): every line's bytes exactly as batch.scan reads them —
    only `\\n` ends a line, and the line keeps it (a last line without one keeps none);
    a UTF-8 byte order mark, which Hadoop's line reader drops, is given back to line 1."""
    from pyspark.sql import functions as F

    bom, ends_with_newline = _file_edges(spark, path)
    text = spark.read.option("lineSep", "\n").text(path)
    numbered, total, blanks, cached = number_rows(text, blank(F.col("value")))
    value = F.col("value").cast("binary")
    if bom:
        mark = F.unhex(F.lit("EFBBBF"))
        dropped = (F.col(LINE) == 1) & (F.substring(value, 1, 3) != mark)
        value = F.when(dropped, F.concat(mark, value)).otherwise(value)
    with_newline = F.concat(value, F.unhex(F.lit("0A")))
    last_as_is = F.lit(not ends_with_newline) & (F.col(LINE) == F.lit(total))
    claims = numbered.where(~blank(F.col("value"))).select(
        LINE, F.when(last_as_is, value).otherwise(with_newline).alias(CLAIM)
    )
    return Claims(claims, total, blanks, cached)


def _file_edges(spark: SparkSession, path: str) -> tuple[bool, bool]:
    """(starts with a UTF-8 byte order mark, ends with a newline), read through Hadoop's
    FileSystem so that local, HDFS and object-store paths all work."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    status = fs.getFileStatus(hadoop_path)
    if status.isDirectory():
        raise ValueError(
            f"{path} is a directory: JSONL input is one file (line numbers are its lines); "
            "for many files use Parquet or a table with a `line` column"
        )
    length = status.getLen()
    if length == 0:
        return False, True
    stream = fs.open(hadoop_path)
    try:
        head = [stream.read() for _ in range(min(3, length))]
        stream.seek(length - 1)
        return head == [0xEF, 0xBB, 0xBF], bool(stream.read() == ord("\n"))
    finally:
        stream.close()


def write_jsonl(results: DataFrame, output: Path) -> None:
    """One file, in line order (`results` range-partitioned and sorted by line), written by
    the driver a partition at a time; it appears complete or not at all."""
    temporary = output.with_name(f".{output.name}.tmp")
    previous = 0
    try:
        with temporary.open("w", encoding="utf-8") as out:
            for row in results.toLocalIterator(prefetchPartitions=True):
                if row[LINE] <= previous:
                    raise RuntimeError(f"line {row[LINE]} twice or out of order")
                previous = row[LINE]
                out.write(row[RESULT])
                out.write("\n")
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


__all__ = [
    "INSTALL_HINT",
    "Claims",
    "SparkUnavailable",
    "number_rows",
    "prepare_claims",
    "read_jsonl",
    "settle_dataframe",
    "summarize",
    "worker_engine",
]
