"""Phase 2 of a batch, in a worker process (or inline with one job): settle a task's persons.

A worker loads the compiled policies once, checks they are the rules the batch started with
(their fingerprint), settles each person's claims with the ledger, and writes the task's
records to their own file atomically. A worker never outlives the batch: it dies of SIGTERM
(as the pool stops a broken pool's workers), and it exits when its parent dies, even of
SIGKILL — Linux delivers SIGTERM on the parent's death (prctl PR_SET_PDEATHSIG), and
everywhere a thread watches for the parent to change.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine.batch.files import task_file, task_records, write_atomic
from policyengine.batch.index import claim_source
from policyengine.batch.options import BatchOptions, Summary
from policyengine.engine import Engine, dumps_bytes
from policyengine.errors import PolicyEngineError
from policyengine.ledger import Settled, error_record, settle_person

if TYPE_CHECKING:
    from policyengine.contract.fastclaim import Claim
    from policyengine.contract.results import ResultDict
    from policyengine.prepared import LedgerRules

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_WATCH_SECONDS = 1.0


class RulesChanged(PolicyEngineError):
    """A worker loaded other rules than the batch started with (a rule file was edited
    while the batch ran): settling on would mix two rule versions in one output."""

    exit_code = 3


_WORKER: dict[str, Any] = {}
TaskWriter = Callable[[int, bytes], None]  # (task number, its file's content)


def init_worker(options: BatchOptions, rules: dict[str, str], parent: int) -> None:
    """The pool's initializer: signals, the parent watch, the engine."""
    # A forked worker inherits the command's SIGTERM handler; the pool stops a broken pool's
    # workers with SIGTERM, so they must die of it rather than raise and linger orphaned.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    exit_with_parent(parent)
    # a forked worker has the batch's engine already (run_batch sets it before the pool
    # starts): no second load of the compiled policies; a spawned one loads them (warm)
    init_inline(options, rules, _WORKER.get("engine"))


def init_inline(options: BatchOptions, rules: dict[str, str], engine: Engine | None = None) -> None:
    _WORKER["engine"] = engine or Engine.load(options.policy)
    _WORKER["options"] = options
    _WORKER["rules"] = rules


def exit_with_parent(parent: int) -> None:
    """Make this process end when `parent` (the batch) dies, however it dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if not _alive(parent):  # it died before the signal was armed
        os._exit(1)
    watched = os.getppid()  # the batch, or the fork server that started this process

    def watch() -> None:
        while True:
            time.sleep(PARENT_WATCH_SECONDS)
            if os.getppid() != watched or not _alive(parent):
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (cannot be our parent then)
        return True
    return True


def settle_task(
    number: int, task: list[list[Any]], work: Path, write: TaskWriter | None = None
) -> dict[str, Any]:
    """Settle one task's persons; write `task-NNNNNN.records` atomically (or hand its content
    to `write`: DoneMarks.take, with one job); return its summary."""
    engine: Engine = _WORKER["engine"]
    options: BatchOptions = _WORKER["options"]
    if engine.fingerprint() != _WORKER["rules"]:
        raise RulesChanged(
            "the rules changed while the batch ran (a worker compiled other rule files than "
            "the batch started with); no output was written"
        )
    records: list[tuple[int, bytes]] = []
    summary = Summary()
    with claim_source(options.input) as source:
        for group in task:
            raw = [
                (line_number - 1, source.read(offset, length))
                for _person, _date, line_number, offset, length in group
            ]
            for settled in settle_group(engine, options, raw):
                data, ok = record_json(settled)
                summary.count(settled.result if ok else None)
                records.append((settled.index + 1, data))
    # the records' UTF-8 as orjson wrote it, each behind its input line number; flushed to
    # disk by the batch (DoneMarks) before the task is marked done
    if write is not None:
        write(number, task_records(records))
    else:
        write_atomic(task_file(work, number), task_records(records), durable=False)
    return summary.as_json()


def record_text(settled: Settled) -> tuple[str, bool]:
    data, ok = record_json(settled)
    return data.decode("utf-8"), ok


def record_json(settled: Settled) -> tuple[bytes, bool]:
    """The claim's output line (UTF-8 JSON) and whether it is a result: a record that cannot
    be written (which the contract should have prevented) becomes the claim's error record."""
    record = settled.result if settled.result is not None else settled.error
    assert record is not None
    try:
        return dumps_bytes(record), settled.result is not None
    except (TypeError, ValueError) as error:
        written = settled.result or settled.error
        claim_id = written["claim_id"] if written is not None else None
        failure = error_record(
            claim_id if isinstance(claim_id, str) and claim_id.isascii() else None,
            [{"path": "", "message": f"the record cannot be written as JSON: {error}"}],
            settled.index,
            kind="internal_error",
        )
        return dumps_bytes(failure), False


def settle_group(
    engine: Engine, options: BatchOptions, raw: list[tuple[int, Any]]
) -> Iterable[Settled]:
    return settle_claims(
        engine,
        raw,
        region=options.region,
        as_of=options.as_of,
        moment=options.moment,
        trace=options.trace,
    )


def settle_claims(
    engine: Engine,
    raw: list[tuple[int, Any]],
    *,
    region: str | None,
    as_of: str | None,
    moment: str,
    trace: bool,
    check: Callable[[Claim], None] | None = None,
) -> Iterable[Settled]:
    """One person's claims (index, raw claim) settled with the ledger, as batch settles
    them; the service settles a stream of claims with it too. `check` may refuse a claim
    before it is settled (by raising a PolicyEngineError: that claim's error record)."""

    def settle(claim: Claim) -> ResultDict:
        if check is not None:
            check(claim)
        return engine.settle(claim, region=region, as_of=as_of, moment=moment, trace=trace)

    def rules_of(claim: Claim) -> LedgerRules:
        return engine.ledger_rules(region or claim.region)

    return settle_person(raw, settle, region=region, rules_of=rules_of)
