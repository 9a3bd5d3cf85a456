"""Spark (local[2]): the cluster batch writes exactly what `policyengine batch` writes.

One SparkSession for the module; a few hundred claims of both regions, shuffled, some
crossing into the next year, with malformed, blank and odd lines. Skipped when the
`spark` extra (pyspark, pandas, pyarrow) or a Java runtime is missing.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")
pytest.importorskip("pandas")

from pyspark.sql import DataFrame, SparkSession

from policyengine.batch import spark as pe_spark
from policyengine.batch import spark_worker
from policyengine.batch.spark import read_jsonl, settle_dataframe
from policyengine.cli.main import main
from policyengine.tools.generate import generate
from tests.support import POLICIES

# PySpark 3.5 (not 4.x) checks versions with distutils and leaves collect()'s sockets to GC
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:distutils Version classes are deprecated:DeprecationWarning"
    ),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]

if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Spark needs a Java runtime (java on PATH or JAVA_HOME)", allow_module_level=True)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers run this interpreter
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("policyengine tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        # a short-lived JVM: the quick (C1) JIT halves the warm-up
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
        .config("spark.sql.files.maxPartitionBytes", "65536")  # the claims file: ~5 splits
        .config("spark.sql.warehouse.dir", str(warehouse))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if saved is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = saved


def claims() -> list[dict[str, Any]]:
    """Both regions, several claims per person, some persons' claims crossing into 2025."""
    out = list(generate("tianjin", 14, seed=11)) + list(generate("quanzhou", 14, seed=11))
    for claim in out[::9]:
        later = json.loads(json.dumps(claim))
        later["id"] += "-next-year"
        later["visit"]["date"] = "2025" + later["visit"]["date"][4:]
        later["visit"].pop("admitted", None)
        out.append(later)
    random.Random(17).shuffle(out)
    return out


def odd_lines(sample: dict[str, Any]) -> list[bytes]:
    """Lines a batch must turn into error records (or skip, when blank), one per case."""
    bad_amount = json.loads(json.dumps(sample))
    bad_amount["id"] = "bad-amount"
    bad_amount["items"][0]["amount"] = "0.01"
    nowhere = json.loads(json.dumps(sample))
    nowhere["id"], nowhere["region"] = "nowhere", "atlantis"
    no_person = json.loads(json.dumps(sample))
    no_person["id"] = "no-person"
    del no_person["person"]
    bad_date = json.loads(json.dumps(sample))
    bad_date["id"], bad_date["visit"]["date"] = "bad-date", "2024-02-30"
    crlf = json.loads(json.dumps(sample))
    crlf["id"] += "-crlf"
    return [
        b'{"broken": ',
        b"",
        b" \t ",
        b"[1, 2, 3]",
        b"null",
        b'{"id": "dup", "id": "dup"}',
        b'{"id": "\xff\xfe not utf-8"}',
        json.dumps(bad_amount, ensure_ascii=False).encode(),
        json.dumps(nowhere).encode(),
        json.dumps(no_person).encode(),
        json.dumps(bad_date).encode(),
        json.dumps(crlf, ensure_ascii=False).encode() + b"\r",
    ]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The claims files and what the local `policyengine batch` makes of them."""
    root = tmp_path_factory.mktemp("spark-data")
    valid = claims()
    lines = [json.dumps(c, ensure_ascii=False).encode() for c in valid]
    mixed = list(lines)
    for offset, odd in enumerate(odd_lines(valid[0])):
        mixed.insert(7 + 23 * offset, odd)
    mixed[0] = b"\xef\xbb\xbf" + mixed[0]  # a byte order mark before the first claim
    paths = {
        # the last line is cut short and has no newline
        "mixed": root / "mixed.jsonl",
        "valid": root / "valid.jsonl",
    }
    paths["mixed"].write_bytes(b"\n".join(mixed) + b"\n" + lines[1][:150])
    paths["valid"].write_bytes(b"\n".join(lines) + b"\n")
    for name in ("mixed", "valid"):
        out = root / f"{name}.local.jsonl"
        code = main(
            [
                "batch",
                str(paths[name]),
                "-o",
                str(out),
                "--no-progress",
                "--summary-json",
                str(root / f"{name}.local.summary.json"),
            ]
        )
        assert code == (1 if name == "mixed" else 0)
        paths[f"{name}.local"] = out
    return paths


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_line(rows: list[Any]) -> dict[int, str]:
    return {row["line"]: row["result"] for row in rows}


def local_by_line(data: dict[str, Path], name: str) -> dict[int, str]:
    """The local output keyed by input line (results do not carry it, error records do)."""
    source = data[name].read_bytes().split(b"\n")
    numbers = [n for n, line in enumerate(source, start=1) if line.strip()]
    texts = data[f"{name}.local"].read_text(encoding="utf-8").splitlines()
    assert len(numbers) == len(texts)
    return dict(zip(numbers, texts, strict=True))


def test_the_data_exercises_the_ledger(data: dict[str, Path]) -> None:
    results = records(data["valid.local"])
    assert len(results) > 200
    assert {r["policy"]["region"] for r in results} == {"tianjin", "quanzhou"}
    assert sum(r["claim_id"].endswith("-next-year") for r in results) >= 20
    mixed = records(data["mixed.local"])
    kinds = {r["error"] for r in mixed if "error" in r}
    assert kinds == {"malformed_claim", "PolicyNotFound"}


def test_the_spark_batch_writes_the_local_batch_byte_for_byte(
    spark: SparkSession, data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pe_spark, "JSONL_PART_CHARS", 100_000)  # the driver fetches ~6 parts
    out = tmp_path / "spark.jsonl"
    summary = tmp_path / "summary.json"
    code = main(
        [
            "batch",
            "--engine",
            "spark",
            str(data["mixed"]),
            "-o",
            str(out),
            "--no-progress",
            "--partitions",
            "3",
            "--summary-json",
            str(summary),
        ]
    )
    assert code == 1  # some claims failed, as locally
    assert out.read_bytes() == data["mixed.local"].read_bytes()
    ours, theirs = (
        json.loads(summary.read_text()),
        json.loads((data["mixed"].parent / "mixed.local.summary.json").read_text()),
    )
    for key in ("seconds", "claims_per_second", "resumed_tasks"):
        ours.pop(key), theirs.pop(key)
    assert ours == theirs and ours["blank_lines"] == 2 and ours["errors"] == 10


def test_a_dataframe_of_json_claims_with_line_numbers(
    spark: SparkSession, data: dict[str, Path]
) -> None:
    raw = data["mixed"].read_bytes().split(b"\n")
    rows = [
        (n, bytearray(line + (b"\n" if n < len(raw) else b""))) for n, line in enumerate(raw, 1)
    ]
    random.Random(3).shuffle(rows)  # input order is the line column, not the rows' order
    df = spark.createDataFrame(rows, "line long, claim binary").repartition(5)
    settled = settle_dataframe(df)
    assert settled.columns == ["line", "result"]
    assert by_line(settled.collect()) == local_by_line(data, "mixed")


def test_rows_without_line_numbers_are_numbered_in_order(
    spark: SparkSession, data: dict[str, Path]
) -> None:
    text = spark.read.option("lineSep", "\n").text(str(data["valid"]))
    assert text.rdd.getNumPartitions() > 1  # numbering crosses partitions
    frame = settle_dataframe(text.withColumnRenamed("value", "claim"))  # counts the rows now
    # the file would be split differently now (as when a cluster gains cores): no matter
    spark.conf.set("spark.sql.files.maxPartitionBytes", "20000")
    try:
        settled = by_line(frame.collect())
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", "65536")
        spark.catalog.clearCache()
    assert settled == local_by_line(data, "valid")


def test_the_columns_of_the_claim_contract(spark: SparkSession, data: dict[str, Path]) -> None:
    df = spark.read.json(str(data["valid"]))
    assert "person" in df.columns and "claim" not in df.columns
    settled = settle_dataframe(df, partitions=3).orderBy("line")
    assert [row["result"] for row in settled.collect()] == (
        data["valid.local"].read_text(encoding="utf-8").splitlines()
    )


def test_corrupt_records_of_spark_read_json_become_error_records(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = tmp_path / "two.jsonl"
    good = next(generate("tianjin", 1, seed=2))
    path.write_text(json.dumps(good) + '\n{"broken": \n', encoding="utf-8")
    df = spark.read.option("mode", "PERMISSIVE").json(str(path)).cache()
    assert "_corrupt_record" in df.columns
    settled = by_line(settle_dataframe(df).collect())
    assert json.loads(settled[1])["claim_id"] == good["id"] and "decision" in settled[1]
    assert json.loads(settled[2])["error"] == "malformed_claim"


def test_parquet_and_tables_in_and_out(
    spark: SparkSession, data: dict[str, Path], tmp_path: Path
) -> None:
    claims_df = read_jsonl(spark, str(data["mixed"])).frame
    claims_df.write.parquet(str(tmp_path / "claims.parquet"))
    claims_df.write.saveAsTable("claims_in")
    expected = local_by_line(data, "mixed")

    out = tmp_path / "results.parquet"
    assert (
        main(["batch", "--engine", "spark", str(tmp_path / "claims.parquet"), "-o", str(out)]) == 1
    )
    assert by_line(spark.read.parquet(str(out)).collect()) == expected

    code = main(
        [
            "batch",
            "--engine",
            "spark",
            "--input-table",
            "claims_in",
            "--output-table",
            "results_out",
        ]
    )
    assert code == 1
    table: DataFrame = spark.table("results_out")
    assert table.columns == ["line", "result"] and by_line(table.collect()) == expected


def test_a_custom_policy_directory_is_shipped_to_the_executors(
    spark: SparkSession, data: dict[str, Path], tmp_path: Path
) -> None:
    policies = tmp_path / "my-policies"
    shutil.copytree(POLICIES, policies)
    local, ours = tmp_path / "local.jsonl", tmp_path / "spark.jsonl"
    assert main(["batch", str(data["valid"]), "-o", str(local), "--policy", str(policies)]) == 0
    code = main(
        [
            "batch",
            "--engine",
            "spark",
            str(data["valid"]),
            "-o",
            str(ours),
            "--policy",
            str(policies),
        ]
    )
    assert code == 0
    assert ours.read_bytes() == local.read_bytes() == data["valid.local"].read_bytes()
    # the workers read the copy Spark shipped, not the driver's directory
    loads = spark.range(0, 4, numPartitions=4).mapInArrow(
        spark_worker._worker_loads, "pid long, policy string, loads long"
    )
    assert any("my-policies')" in row["policy"] for row in loads.collect())


def test_each_worker_process_loads_a_policy_once(
    spark: SparkSession, data: dict[str, Path]
) -> None:
    df = spark.read.option("lineSep", "\n").text(str(data["valid"]))
    settle_dataframe(df.withColumnRenamed("value", "claim"), partitions=8).count()
    loads = (
        spark.range(0, 8, numPartitions=8)
        .mapInArrow(spark_worker._worker_loads, "pid long, policy string, loads long")
        .collect()
    )
    assert loads and all(row["loads"] == 1 for row in loads)  # 8 tasks, one load per worker process


def test_a_failed_job_writes_nothing(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.dumps(next(generate("tianjin", 1, seed=2)))
    spark.createDataFrame([(1, good), (None, good)], "line long, claim string").write.parquet(
        str(tmp_path / "nulls.parquet")
    )
    out = tmp_path / "out.jsonl"
    assert (
        main(["batch", "--engine", "spark", str(tmp_path / "nulls.parquet"), "-o", str(out)]) == 3
    )
    assert "a claim without a line number" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl*"))


def test_a_table_that_does_not_exist_is_bad_input(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["batch", "--engine", "spark", "--input-table", "no_such_table", "-o", str(tmp_path / "x")]
    )
    assert code == 2 and "no_such_table" in capsys.readouterr().err


def test_a_policy_that_does_not_load_fails_before_spark_starts(
    spark: SparkSession, data: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out.jsonl"
    code = main(
        [
            "batch",
            "--engine",
            "spark",
            str(data["valid"]),
            "-o",
            str(out),
            "--policy",
            str(tmp_path / "empty"),
        ]
    )
    assert code == 2 and not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--engine", "spark", "IN", "-o", "x.jsonl", "--resume"], "for the local engine"),
        (["--engine", "spark", "IN", "-o", "x.jsonl", "--jobs", "2"], "--master local[N]"),
        (["--engine", "spark", "IN", "--input-table", "t", "-o", "x.jsonl"], "either an input"),
        (["--engine", "spark", "IN"], "-o/--output or --output-table"),
        (["--engine", "spark", "missing.jsonl", "-o", "x.jsonl"], "not found"),
        (["--engine", "spark", "IN", "-o", "hdfs://nn/x.jsonl"], "written by the driver"),
        (
            ["--engine", "spark", "IN", "-o", "x.jsonl", "--as-of", "2024-13-01"],
            "as_of must be a date",
        ),
        (["IN", "--output-table", "t"], "need --engine spark"),
    ],
)
def test_option_errors(
    data: dict[str, Path], argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(data["valid"]) if a == "IN" else a for a in argv]
    assert main(["batch", *argv]) == 2
    assert message in capsys.readouterr().err


def test_without_pyspark_the_error_says_what_to_install(
    data: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark → ImportError
    code = main(["batch", "--engine", "spark", str(data["valid"]), "-o", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "needs pyspark" in err and "pip install 'policyengine[spark]'" in err
