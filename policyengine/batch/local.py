"""`policyengine batch`: settle a JSONL file of claims of any size with flat memory.

1. scan    read the input once; index every line by (person, visit date, line number),
           in sorted runs of bounded size written to the work directory (index.py);
2. settle  merge the runs so each person's claims come together in date order, cut them
           into tasks of whole persons, settle each task (in worker processes with --jobs,
           worker.py), carrying the person's ledger (ledger.py); a task's records are
           written to its own file and renamed into place when complete;
3. merge   merge the task files by input line into the output, which appears complete or
           not at all (files.py).

The work directory (files.py) is what makes a batch resumable: after an interrupt or a
killed worker, `--resume` reuses the index and every completed task — of the same input,
options and rules only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from policyengine.batch.files import (
    BatchPathRefused,
    DoneMarks,
    ResumeRefused,
    check_paths,
    merge,
    prepare,
    task_file,
    work_dir,
)
from policyengine.batch.index import task_size, tasks
from policyengine.batch.options import BatchOptions, Summary
from policyengine.batch.pool import WorkerPool
from policyengine.batch.worker import RulesChanged, init_inline, init_worker, settle_task
from policyengine.engine import Engine


class BatchInterrupted(Exception):
    """The batch stopped before finishing; completed tasks are kept for --resume."""


def run_batch(options: BatchOptions, progress: Any) -> Summary:
    started = time.monotonic()
    check_paths(options)
    engine = Engine.load(options.policy)  # compiled once here; workers load it warm
    rules = engine.fingerprint()
    jobs = max(1, options.jobs)
    init_inline(options, rules, engine)  # before the pool forks: its workers inherit the engine
    executor = (
        WorkerPool(jobs, initializer=init_worker, initargs=(options, rules, os.getpid()))
        if jobs > 1
        else None
    )
    holding = executor.holding_interrupts() if executor else contextlib.nullcontext()
    with holding:  # an interrupt never lands inside the pool's own code (pool.py)
        try:
            try:
                work, manifest = prepare(options, rules, progress, executor)
            except BrokenProcessPool as error:
                raise BatchInterrupted(f"a worker process died while indexing ({error})") from error
            runs = [work / name for name in manifest["runs"]]
            progress.start_settling(manifest["claims"])
            summary = Summary(blank_lines=manifest["blank_lines"])
            with DoneMarks(work) as marks:  # every finished task's mark, even when interrupted
                count = _settle_all(
                    options, work, runs, manifest["claims"], summary, progress, executor, marks
                )
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
    merge(work, count, options)
    if not options.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def _settle_all(
    options: BatchOptions,
    work: Path,
    runs: list[Path],
    claims: int,
    summary: Summary,
    progress: Any,
    executor: ProcessPoolExecutor | None,
    marks: DoneMarks,
) -> int:
    jobs = max(1, options.jobs)
    pending: dict[Future[dict[str, Any]], int] = {}
    count = 0

    def finish(number: int, part: dict[str, Any]) -> None:
        marks.mark(number, part)
        summary.add(Summary.from_json(part))
        progress.advance_claims(part["records"])

    try:
        for number, task in enumerate(tasks(runs, task_size(claims), claims)):
            count = number + 1
            finished = marks.path(number)
            if finished.exists() and task_file(work, number).exists():
                part = json.loads(finished.read_text())
                summary.add(Summary.from_json(part))
                summary.resumed_tasks += 1
                progress.advance_claims(part["records"])
                continue
            if executor is None:
                finish(number, settle_task(number, task, work, marks.take))
                continue
            pending[executor.submit(settle_task, number, task, work)] = number
            while len(pending) >= jobs * 2:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(pending.pop(future), future.result())
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                finish(pending.pop(future), future.result())
    except BrokenProcessPool as error:
        raise BatchInterrupted(
            f"a worker process died ({error}); completed tasks are kept"
        ) from error
    finally:
        for future in pending:
            future.cancel()
    return count


__all__ = [
    "BatchInterrupted",
    "BatchOptions",
    "BatchPathRefused",
    "ResumeRefused",
    "RulesChanged",
    "Summary",
    "run_batch",
    "work_dir",
]
