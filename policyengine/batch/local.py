"""`policyengine batch`: settle a JSONL file of claims of any size with flat memory.

1. scan    read the input once; index every line by (person, visit date, line number),
           in sorted runs of bounded size written to the work directory;
2. settle  merge the runs so each person's claims come together in date order, cut them
           into tasks of whole persons, settle each task (in worker processes with --jobs),
           carrying the person's ledger (ledger.py); a task's records are written to its
           own file and renamed into place when complete;
3. merge   merge the task files by input line into the output, which appears complete or
           not at all.

The work directory (`<output>.work/`) is what makes a batch resumable: after an interrupt
or a killed worker, `--resume` reuses the index and every completed task.
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
import signal
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from policyengine.batch import index
from policyengine.batch.index import Entry, scan, tasks
from policyengine.engine import Engine, dumps
from policyengine.ledger import settle_person


class BatchInterrupted(Exception):
    """The batch stopped before finishing; completed tasks are kept for --resume."""


@dataclass(frozen=True)
class BatchOptions:
    input: Path
    output: Path
    jobs: int = 1
    policy: str | None = None
    region: str | None = None
    moment: str = "during"
    as_of: str | None = None
    trace: bool = False
    resume: bool = False
    keep_work: bool = False

    def fingerprint(self, stat: os.stat_result) -> dict[str, Any]:
        return {
            "input": str(self.input.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "policy": self.policy,
            "region": self.region,
            "moment": self.moment,
            "as_of": self.as_of,
            "trace": self.trace,
            "task_claims": index.TASK_CLAIMS,
        }


@dataclass
class Summary:
    records: int = 0
    settled: int = 0
    errors: int = 0
    blank_lines: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    fund: Decimal = Decimal(0)
    critical_illness: Decimal = Decimal(0)
    patient: Decimal = Decimal(0)
    seconds: float = 0.0
    resumed_tasks: int = 0

    def add(self, other: Summary) -> None:
        self.records += other.records
        self.settled += other.settled
        self.errors += other.errors
        for decision, count in other.decisions.items():
            self.decisions[decision] = self.decisions.get(decision, 0) + count
        self.fund += other.fund
        self.critical_illness += other.critical_illness
        self.patient += other.patient

    def count(self, result: dict[str, Any] | None) -> None:
        self.records += 1
        if result is None:
            self.errors += 1
            return
        self.settled += 1
        self.decisions[result["decision"]] = self.decisions.get(result["decision"], 0) + 1
        payers = result["totals"]["payers"]
        self.fund += Decimal(payers["fund"])
        self.critical_illness += Decimal(payers["critical_illness"])
        self.patient += Decimal(result["totals"]["patient"])

    @property
    def throughput(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("fund", "critical_illness", "patient"):
            data[key] = f"{data[key]:.2f}"
        data["claims_per_second"] = round(self.throughput, 1)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return cls(
            records=data["records"],
            settled=data["settled"],
            errors=data["errors"],
            decisions=dict(data["decisions"]),
            fund=Decimal(data["fund"]),
            critical_illness=Decimal(data["critical_illness"]),
            patient=Decimal(data["patient"]),
        )


# ------------------------------------------------------------------ phase 2: settle

_WORKER: dict[str, Any] = {}


def _init_worker(options: BatchOptions) -> None:
    # A forked worker inherits the command's SIGTERM handler; the pool stops a broken pool's
    # workers with SIGTERM, so they must die of it rather than raise and linger orphaned.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    _WORKER["engine"] = Engine.load(options.policy)
    _WORKER["options"] = options


def settle_task(number: int, task: list[list[Entry]], work: Path) -> dict[str, Any]:
    """Settle one task's persons; write `task-NNNNNN.jsonl` atomically; return its summary."""
    engine: Engine = _WORKER["engine"]
    options: BatchOptions = _WORKER["options"]
    records: list[tuple[int, str]] = []
    summary = Summary()
    with options.input.open("rb") as source:
        for group in task:
            raw = []
            for _person, _date, line_number, offset, length in group:
                source.seek(offset)
                raw.append((line_number - 1, source.read(length)))
            for settled in settle_group(engine, options, raw):
                summary.count(settled.result)
                record = settled.result if settled.result is not None else settled.error
                records.append((settled.index + 1, dumps(record)))
    records.sort()
    text = "".join(f"{number_}\t{record}\n" for number_, record in records)
    _atomic(work / f"task-{number:06d}.jsonl", text.encode("utf-8"))
    return summary.as_json()


def settle_group(
    engine: Engine, options: BatchOptions, raw: list[tuple[int, bytes]]
) -> Iterable[Any]:
    region = options.region

    def settle(claim: Any) -> dict[str, Any]:
        return engine.settle(
            claim, region=region, as_of=options.as_of, moment=options.moment, trace=options.trace
        )

    def kind_of(code: str, claimed: str) -> str:
        chosen = region
        return (
            engine.policy(chosen).kind_of(code, claimed)
            if chosen
            else _any_kind(engine, code, claimed)
        )

    return settle_person(raw, settle, kind_of, region=region)


def _any_kind(engine: Engine, code: str, claimed: str) -> str:
    for policy in engine.describe():
        if code in policy.kinds:
            return policy.kinds[code]
    return claimed


# ------------------------------------------------------------------ phase 3: merge


def merge(work: Path, count: int, output: Path) -> None:
    def lines(path: Path) -> Iterator[tuple[int, str]]:
        with path.open("r", encoding="utf-8") as handle:
            for line in handle:
                number, _, record = line.partition("\t")
                yield int(number), record

    files = [work / f"task-{n:06d}.jsonl" for n in range(count)]
    temporary = output.with_name(f".{output.name}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        for _number, record in heapq.merge(*(lines(f) for f in files)):
            out.write(record)
    os.replace(temporary, output)


# ------------------------------------------------------------------ driver


def _atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:  # an interrupt mid-write (SIGTERM) leaves no half-written file
        temporary.unlink(missing_ok=True)
        raise


def work_dir(options: BatchOptions) -> Path:
    return options.output.with_name(options.output.name + ".work")


def prepare(
    options: BatchOptions, progress: Any, executor: ProcessPoolExecutor | None = None
) -> tuple[Path, dict[str, Any]]:
    """The work directory with its index: reused on --resume, built afresh otherwise."""
    work = work_dir(options)
    fingerprint = options.fingerprint(options.input.stat())
    manifest_path = work / "manifest.json"
    if work.exists():
        if not options.resume:
            raise FileExistsError(
                f"{work} holds an unfinished batch: rerun with --resume to continue it, or "
                "remove it"
            )
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        if manifest and manifest["fingerprint"] == fingerprint and manifest.get("indexed"):
            progress.advance_bytes(fingerprint["size"])
            return work, manifest
        if manifest and manifest["fingerprint"] != fingerprint:
            raise ValueError(f"--resume: the input or the options changed since {work} was made")
        shutil.rmtree(work)
    work.mkdir(parents=True)
    claims, blank, runs = scan(options.input, options.jobs, work, progress, executor)
    manifest = {
        "fingerprint": fingerprint,
        "indexed": True,
        "claims": claims,
        "blank_lines": blank,
        "runs": [p.name for p in runs],
    }
    _atomic(manifest_path, json.dumps(manifest).encode())
    return work, manifest


def run_batch(options: BatchOptions, progress: Any) -> Summary:
    started = time.monotonic()
    jobs = max(1, options.jobs)
    executor = (
        ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(options,))
        if jobs > 1
        else None
    )
    try:
        try:
            work, manifest = prepare(options, progress, executor)
        except BrokenProcessPool as error:
            raise BatchInterrupted(f"a worker process died while indexing ({error})") from error
        runs = [work / name for name in manifest["runs"]]
        progress.start_settling(manifest["claims"])
        summary = Summary(blank_lines=manifest["blank_lines"])
        count = _settle_all(options, work, runs, summary, progress, executor)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    merge(work, count, options.output)
    if not options.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def _settle_all(
    options: BatchOptions,
    work: Path,
    runs: list[Path],
    summary: Summary,
    progress: Any,
    executor: ProcessPoolExecutor | None,
) -> int:
    done_dir = work / "done"
    done_dir.mkdir(exist_ok=True)
    jobs = max(1, options.jobs)
    if executor is None:
        _init_worker_inline(options)
    pending: dict[Future[dict[str, Any]], int] = {}
    count = 0

    def collect(future: Future[dict[str, Any]]) -> None:
        number = pending.pop(future)
        part = future.result()
        _atomic(done_dir / f"{number:06d}.json", json.dumps(part).encode())
        summary.add(Summary.from_json(part))
        progress.advance_claims(part["records"])

    try:
        for number, task in enumerate(tasks(runs)):
            count = number + 1
            finished = done_dir / f"{number:06d}.json"
            if finished.exists() and (work / f"task-{number:06d}.jsonl").exists():
                part = json.loads(finished.read_text())
                summary.add(Summary.from_json(part))
                summary.resumed_tasks += 1
                progress.advance_claims(part["records"])
                continue
            if executor is None:
                part = settle_task(number, task, work)
                _atomic(finished, json.dumps(part).encode())
                summary.add(Summary.from_json(part))
                progress.advance_claims(part["records"])
                continue
            pending[executor.submit(settle_task, number, task, work)] = number
            while len(pending) >= jobs * 2:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    collect(future)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                collect(future)
    except BrokenProcessPool as error:
        raise BatchInterrupted(
            f"a worker process died ({error}); completed tasks are kept"
        ) from error
    finally:
        for future in pending:
            future.cancel()
    return count


def _init_worker_inline(options: BatchOptions) -> None:
    _WORKER["engine"] = Engine.load(options.policy)
    _WORKER["options"] = options
