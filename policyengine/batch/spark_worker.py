"""What runs in Spark's Python workers (the driver's side is spark.py): keying claims by
(person, date), settling each person's run of claims with the one batch ledger, and the
per-process engine cache, loaded once per worker process and kept across tasks.

The Arrow UDFs refer to these functions by module and name (cloudpickle pickles importable
functions by reference), so executors need the package installed. pyarrow and PySpark are
imported inside the functions: the driver imports this module without them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine.batch.index import sort_key
from policyengine.batch.options import BatchOptions
from policyengine.batch.worker import record_text, settle_group
from policyengine.contract.limits import MAX_CLAIM_BYTES, Oversized
from policyengine.engine import Engine
from policyengine.errors import PolicyNotFound

if TYPE_CHECKING:
    import pyarrow as pa

    from policyengine.contract.results import ResultDict


@dataclass(frozen=True)
class Job:
    """What a worker needs to settle: small, pickled with the UDF."""

    policy: str | None  # a path as the driver gave it (None: the bundled policies)
    shipped: str | None  # its name in SparkFiles when the driver shipped the directory
    region: str | None
    as_of: str | None
    moment: str
    trace: bool

    def options(self) -> BatchOptions:
        return BatchOptions(
            input=Path(os.devnull),
            output=Path(os.devnull),
            policy=self.policy,
            region=self.region,
            moment=self.moment,
            as_of=self.as_of,
            trace=self.trace,
        )


_ENGINES: dict[tuple[str | None, str | None], Engine] = {}
_LOADS: dict[tuple[str | None, str | None], int] = {}  # loads per worker process (tests)


def worker_engine(policy: str | None, shipped: str | None) -> Engine:
    """The worker process's engine for this policy: loaded on first use, then kept."""
    key = (policy, shipped)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = Engine.load(_policy_path(policy, shipped))
        _ENGINES[key] = engine
        _LOADS[key] = _LOADS.get(key, 0) + 1
    return engine


def _policy_path(policy: str | None, shipped: str | None) -> str | None:
    """The shipped copy (what the driver saw), else the path as given (a shared or local
    path, or relative to the executor's working directory as `--archives x#name` gives
    it), else a file shipped with `--files`/`--archives` under that name."""
    if policy is None:
        return None
    candidates = []
    if shipped is not None:
        candidates.append(_spark_file(shipped))
    candidates.append(policy)
    if not os.path.isabs(policy):
        candidates.append(_spark_file(policy))
    for candidate in candidates:
        if candidate is not None and Path(candidate).is_dir():
            return candidate
    raise PolicyNotFound(
        f"policy {policy} is not a directory on executor {socket.gethostname()}: ship it "
        "with --archives/--files, or give a path every executor can read"
    )


def _spark_file(name: str) -> str | None:
    try:
        from pyspark import SparkFiles

        return SparkFiles.get(name)
    except Exception:  # no SparkFiles root outside a Spark worker
        return None


def key_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    for batch in batches:
        lines, claims = batch.column(0), batch.column(1)
        persons, dates = [], []
        for line, claim in zip(lines.to_pylist(), claims.to_pylist(), strict=True):
            person, date = sort_key(claim, line)
            persons.append(person)
            dates.append(date)
        yield pa.RecordBatch.from_arrays(
            [lines, claims, pa.array(persons, pa.string()), pa.array(dates, pa.string())],
            names=["line", "claim", "person", "date"],
        )


def settle_batches(job: Job, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Settle a partition sorted by person: each run of one person's claims is a group."""
    engine = worker_engine(job.policy, job.shipped)
    options = job.options()
    group: list[tuple[int, bytes | None]] = []
    person: str | None = None
    for batch in batches:
        out: list[tuple[int, str, ResultDict | None]] = []
        lines, claims, persons = (batch.column(i).to_pylist() for i in range(3))
        for line, claim, who in zip(lines, claims, persons, strict=True):
            if line is None:
                raise ValueError("a claim without a line number: the line column has nulls")
            if group and who != person:
                out.extend(_settle_one(engine, options, group))
                group = []
            person = who
            group.append((line - 1, claim))
        if out:
            yield _settled_batch(out)
    if group:
        yield _settled_batch(_settle_one(engine, options, group))


def _settle_one(
    engine: Engine, options: BatchOptions, group: list[tuple[int, bytes | None]]
) -> list[tuple[int, str, ResultDict | None]]:
    out = []
    # None (a null claim) fails as "a claim is a JSON object"; a claim too large is not parsed
    raw: list[tuple[int, Any]] = [
        (
            index,
            Oversized(len(claim)) if claim is not None and len(claim) > MAX_CLAIM_BYTES else claim,
        )
        for index, claim in group
    ]
    for settled in settle_group(engine, options, raw):
        text, ok = record_text(settled)
        out.append((settled.index + 1, text, settled.result if ok else None))
    return out


def _settled_batch(rows: list[tuple[int, str, ResultDict | None]]) -> pa.RecordBatch:
    import pyarrow as pa

    totals = [r["totals"] if r is not None else None for _, _, r in rows]
    return pa.RecordBatch.from_arrays(
        [
            pa.array([line for line, _, _ in rows], pa.int64()),
            pa.array([text for _, text, _ in rows], pa.string()),
            pa.array([r["decision"] if r is not None else None for _, _, r in rows], pa.string()),
            pa.array([t["payers"]["fund"] if t else None for t in totals], pa.string()),
            pa.array([t["payers"]["critical_illness"] if t else None for t in totals], pa.string()),
            pa.array([t["patient"] if t else None for t in totals], pa.string()),
        ],
        names=["line", "result", "decision", "fund", "critical_illness", "patient"],
    )


def _worker_loads(_batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """(process id, policy, loads) of this worker process: how tests see the cache."""
    import pyarrow as pa

    for _ in _batches:
        pass
    keys = sorted(_LOADS, key=str)
    yield pa.RecordBatch.from_arrays(
        [
            pa.array([os.getpid()] * len(keys), pa.int64()),
            pa.array([str(k) for k in keys], pa.string()),
            pa.array([_LOADS[k] for k in keys], pa.int64()),
        ],
        names=["pid", "policy", "loads"],
    )
