"""Batch: a person's year settles exactly as claim-by-claim settlement with histories,
in date order; nothing is lost or duplicated; --jobs and --resume change nothing."""

from __future__ import annotations

import errno
import itertools
import json
import os
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policyengine.batch import files as batch_files
from policyengine.batch import index as batch_index
from policyengine.batch import local as batch
from policyengine.batch.local import BatchOptions, run_batch
from policyengine.cli.main import main
from policyengine.engine import Engine
from policyengine.tools.generate import generate


class Quiet:
    def indexed(self, _claims: int, _size: int) -> None: ...
    def start_settling(self, _claims: int) -> None: ...
    def advance_claims(self, _count: int) -> None: ...
    def stop(self) -> None: ...


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def claims_file(
    tmp_path: Path, persons: int = 12, extra: list[str] | None = None
) -> tuple[Path, list[dict]]:
    claims = list(generate("tianjin", persons, seed=3)) + list(
        generate("quanzhou", persons, seed=3)
    )
    # a second year for some persons, to cross the ledger's year boundary
    for claim in list(claims[:20]):
        later = json.loads(json.dumps(claim))
        later["id"] += "-next-year"
        later["visit"]["date"] = "2025" + later["visit"]["date"][4:]
        later.pop("admitted", None)
        later["visit"].pop("admitted", None)
        claims.append(later)
    random.Random(5).shuffle(claims)
    path = tmp_path / "claims.jsonl"
    lines = [json.dumps(c, ensure_ascii=False) for c in claims] + (extra or [])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, claims


def by_hand(engine: Engine, claims: list[dict]) -> dict[str, dict]:
    """Claim by claim, each carrying the history the spec says it would have."""
    persons: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for index, claim in enumerate(claims):
        persons[claim["person"]["id"]].append((index, claim))
    expected = {}
    for entries in persons.values():
        entries.sort(key=lambda pair: (pair[1]["visit"]["date"], pair[0]))
        history: dict[str, Any] | None = None
        year = None
        for _index, original in entries:
            claim = json.loads(json.dumps(original))
            if claim["visit"]["date"][:4] != year:
                year = claim["visit"]["date"][:4]
                history = {
                    "paid": {},
                    "deductible_met": {},
                    "self_burden": {"inpatient": "0"},
                    "admissions": 0,
                    "dispensed": [],
                    "services": [],
                }
            claim["history"] = history
            result = engine.settle(claim)
            expected[claim["id"]] = result
            history = accumulate(history, claim, result, engine)
    return expected


def accumulate(
    history: dict[str, Any], claim: dict, result: dict, engine: Engine
) -> dict[str, Any]:
    history = json.loads(json.dumps(history))
    visit = claim["visit"]["type"]
    fund = Decimal(result["totals"]["payers"]["fund"])
    critical = Decimal(result["totals"]["payers"]["critical_illness"])
    paid = history["paid"]
    paid[visit] = str(Decimal(paid.get(visit, "0")) + fund)
    paid["critical_illness"] = str(Decimal(paid.get("critical_illness", "0")) + critical)
    if visit in ("outpatient", "special_outpatient"):
        met = history["deductible_met"]
        met[visit] = str(Decimal(met.get(visit, "0")) + Decimal(result["totals"]["deductible"]))
    if visit in ("inpatient", "special_outpatient"):
        burden = (
            Decimal(history["self_burden"]["inpatient"])
            + Decimal(result["totals"]["covered"])
            - fund
        )
        history["self_burden"]["inpatient"] = str(burden)
    if visit == "inpatient":
        history["admissions"] += 1
    kinds = engine.policy(claim["region"]).kinds
    denied = {line["line"] for line in result["lines"] if Decimal(line["denied"]) > 0}
    for item in sorted(claim["items"], key=lambda i: i["line"]):
        kind = kinds.get(item["code"], item["kind"])
        if item["line"] in denied:
            continue
        if kind == "drug":
            history["dispensed"].append(
                {
                    "code": item["code"],
                    "date": claim["visit"]["date"],
                    "days_supply": item.get("days_supply", 0),
                }
            )
        elif kind == "service":
            history["services"].append({"code": item["code"], "date": claim["visit"]["date"]})
    return history


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_persons_year_settles_as_claim_by_claim_with_histories(
    tmp_path: Path, engine: Engine
) -> None:
    path, claims = claims_file(tmp_path)
    summary = run_batch(BatchOptions(input=path, output=tmp_path / "out.jsonl"), Quiet())
    results = read(tmp_path / "out.jsonl")
    assert summary.records == len(claims) == len(results) and summary.errors == 0
    assert [r["claim_id"] for r in results] == [c["id"] for c in claims]  # input order
    expected = by_hand(engine, claims)
    assert {r["claim_id"]: r for r in results} == expected
    assert any(
        Decimal(r["totals"]["deductible"]) < Decimal("1") and r["policy"]["region"] == "tianjin"
        for r in results
    )  # some deductibles were already met by earlier claims


def test_malformed_lines_become_error_records_and_the_batch_goes_on(tmp_path: Path) -> None:
    bad_amount = json.loads(json.dumps(next(generate("tianjin", 1, seed=9))))
    bad_amount["items"][0]["amount"] = "0.01"
    extra = ['{"broken": ', "", json.dumps(bad_amount, ensure_ascii=False), "[1, 2, 3]"]
    path, claims = claims_file(tmp_path, persons=3, extra=extra)
    code = main(["batch", str(path), "-o", str(tmp_path / "out.jsonl"), "--no-progress"])
    results = read(tmp_path / "out.jsonl")
    assert code == 1  # some claims failed
    assert len(results) == len(claims) + 3  # every non-blank line, once
    errors = [r for r in results if "error" in r]
    first_error_line = len(claims) + 1
    assert [(e["line"], e["errors"][0]["path"]) for e in errors] == [
        (first_error_line, ""),
        (first_error_line + 2, "items[0].amount"),
        (first_error_line + 3, ""),
    ]
    assert errors[1]["claim_id"] == bad_amount["id"]


def test_jobs_change_nothing(tmp_path: Path) -> None:
    path, _claims = claims_file(tmp_path)
    assert main(["batch", str(path), "-o", str(tmp_path / "one.jsonl"), "--no-progress"]) == 0
    assert (
        main(
            ["batch", str(path), "-o", str(tmp_path / "two.jsonl"), "--jobs", "2", "--no-progress"]
        )
        == 0
    )
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()


def test_an_interrupted_batch_resumes_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _claims = claims_file(tmp_path)
    assert main(["batch", str(path), "-o", str(tmp_path / "whole.jsonl"), "--no-progress"]) == 0
    monkeypatch.setattr(batch_index, "TASK_CLAIMS", 25)
    real = batch.settle_task
    calls = {"n": 0}

    def flaky(number: int, task: list, work: Path, *write: Any) -> dict:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(number, task, work, *write)

    monkeypatch.setattr(batch, "settle_task", flaky)
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(path), "-o", str(out), "--no-progress"]) == 3
    assert not out.exists() and (tmp_path / "out.jsonl.work").is_dir()
    assert (
        main(["batch", str(path), "-o", str(out), "--no-progress"]) == 2
    )  # refuses to overwrite the work
    monkeypatch.setattr(batch, "settle_task", real)
    assert main(["batch", str(path), "-o", str(out), "--no-progress", "--resume"]) == 0
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert not (tmp_path / "out.jsonl.work").exists()


def test_resume_reindexes_a_work_directory_of_an_older_index_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted batch whose index an earlier engine wrote in another format (its
    manifest says which) is indexed afresh on --resume, not misread."""
    path, _claims = claims_file(tmp_path)
    assert main(["batch", str(path), "-o", str(tmp_path / "whole.jsonl"), "--no-progress"]) == 0
    real = batch.settle_task

    def interrupted(number: int, task: list, work: Path, *_write: Any) -> dict:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "settle_task", interrupted)
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(path), "-o", str(out), "--no-progress"]) == 3
    manifest_path = tmp_path / "out.jsonl.work" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest.pop("index_format") == batch_index.INDEX_FORMAT
    runs = [tmp_path / "out.jsonl.work" / name for name in manifest["runs"]]
    for run in runs:  # what the old format's reader could not have read
        run.write_bytes(b"\x00not an index")
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setattr(batch, "settle_task", real)
    assert main(["batch", str(path), "-o", str(out), "--no-progress", "--resume"]) == 0
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


def test_resume_refuses_a_changed_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _claims = claims_file(tmp_path, persons=2)
    (tmp_path / "out.jsonl.work").mkdir()
    (tmp_path / "out.jsonl.work" / batch_files.WORK_MARK).write_text("")
    (tmp_path / "out.jsonl.work" / "manifest.json").write_text(
        json.dumps({"fingerprint": {"input": "elsewhere"}, "indexed": True}), encoding="utf-8"
    )
    assert (
        main(["batch", str(path), "-o", str(tmp_path / "out.jsonl"), "--resume", "--no-progress"])
        == 2
    )


def test_lines_orjson_refuses_still_sort_with_their_person(tmp_path: Path, engine: Engine) -> None:
    """A byte-order mark or NaN in an ignored field is a valid claim: it must keep its place
    in the person's year (found when the scan switched to orjson)."""
    from tests.support import claim

    claims = []
    for index in range(3):  # each 500.00 covered: the 800 deductible is used up across them
        data = claim(id=f"C{index}")
        data["visit"]["date"] = f"2024-0{index + 1}-10"
        data["items"][0].update(unit_price="500.00", amount="500.00")
        claims.append(data)
    lines = [json.dumps(c, ensure_ascii=False) for c in claims]
    lines[1] = lines[1][:-1] + ', "note": NaN}'
    path = tmp_path / "claims.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    assert main(["batch", str(path), "-o", str(tmp_path / "out.jsonl"), "--no-progress"]) == 0
    results = read(tmp_path / "out.jsonl")
    assert [r["totals"]["deductible"] for r in results] == ["500.00", "300.00", "0.00"]
    assert {r["claim_id"]: r for r in results} == by_hand(engine, claims)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"a\n",
        b"no trailing newline",
        b"\n\n\n",
        b"one\n\ntwo\nthree",
        b"x" * 5000 + b"\nshort\n",
        b"".join(b"%d\n" % i for i in range(97)),
    ],
)
@pytest.mark.parametrize("parts", [1, 2, 8])
@pytest.mark.parametrize("pooled", [False, True])
def test_chunks_cover_the_file_at_line_starts_with_their_line_numbers(
    tmp_path: Path, content: bytes, parts: int, pooled: bool
) -> None:
    """Also with each chunk's newlines counted in a pool, as a batch with --jobs counts them."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "input.jsonl"
    path.write_bytes(content)
    with ThreadPoolExecutor(2) as pool:
        count_with = pool.map if pooled else map
        chunks = batch_index._chunks(path, parts, len(content), count_with)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(content)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    for start, end, first in chunks:
        assert start < end or len(content) == 0
        assert start == 0 or content[start - 1 : start] == b"\n"
        assert first == content[:start].count(b"\n") + 1
    assert len(chunks) <= parts


def test_counting_the_lines_of_a_file_that_shrank_ends(tmp_path: Path) -> None:
    """A range past the end (the input truncated while the batch indexes it) counts the
    lines there are; the count looped for ever on the empty reads."""
    path = tmp_path / "input.jsonl"
    path.write_bytes(b"one\ntwo\n")
    assert batch_index.count_lines(path, 0, 1000) == 2
    assert batch_index.count_lines(path, 4, 1000) == 1


def test_parallel_scan_and_multi_level_merge_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny runs and fan-in force many runs, small blocks and two merge levels."""
    path, _claims = claims_file(tmp_path, extra=["", "{broken"])
    whole = tmp_path / "whole.jsonl"
    run_batch(BatchOptions(input=path, output=whole), Quiet())
    monkeypatch.setattr(batch_index, "INDEX_RUN", 3)
    monkeypatch.setattr(batch_index, "RUN_BLOCK", 2)
    monkeypatch.setattr(batch_index, "MERGE_FAN_IN", 3)
    for jobs in (1, 2):
        out = tmp_path / f"small-{jobs}.jsonl"
        summary = run_batch(BatchOptions(input=path, output=out, jobs=jobs), Quiet())
        assert out.read_bytes() == whole.read_bytes(), jobs
        assert summary.blank_lines == 1 and summary.errors == 1


def test_an_interrupted_write_leaves_neither_a_half_file_nor_a_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task's done marker is written atomically; SIGTERM arrives as KeyboardInterrupt (found
    when an interrupted batch left an empty `.000003.json.tmp` beside the markers)."""
    marker = tmp_path / "000003.json"

    def interrupted(_fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_files.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        batch_files.write_atomic(marker, b'{"records": 5}')
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    batch_files.write_atomic(marker, b'{"records": 5}')
    assert [p.name for p in tmp_path.iterdir()] == ["000003.json"]
    assert json.loads(marker.read_text())["records"] == 5


def test_a_small_batch_is_cut_into_tasks_for_every_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch far below TASK_CLAIMS is cut into about TASKS_PER_BATCH tasks of whole persons
    (it was one task, which one worker of --jobs 2 settled while the other waited), each
    claim in exactly one, and the output is the one-job output."""
    monkeypatch.setattr(batch_index, "MIN_TASK_CLAIMS", 10)
    path, claims = claims_file(tmp_path)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    run_batch(BatchOptions(input=path, output=one, jobs=1), Quiet())
    run_batch(BatchOptions(input=path, output=two, jobs=2, keep_work=True), Quiet())
    assert one.read_bytes() == two.read_bytes()
    size = batch_index.task_size(len(claims))
    assert size < batch_index.TASK_CLAIMS
    parts = sorted((tmp_path / "two.jsonl.work").glob("task-*.records"))
    lines = [p.read_bytes().splitlines() for p in parts]
    sizes = [len(part) for part in lines]
    left = [sum(sizes[n:]) for n in range(len(sizes))]  # claims not yet cut at each task
    tapered = [min(size, max(10, claims_left // batch_index.TAPER)) for claims_left in left]
    assert len(parts) > 2 and sizes[0] >= size
    assert all(s >= least for s, least in zip(sizes[:-1], tapered, strict=False))
    numbers = sorted(int(line.partition(b"\t")[0]) for part in lines for line in part)
    assert numbers == list(range(1, len(claims) + 1))


def test_the_last_tasks_taper_so_the_jobs_finish_together(tmp_path: Path) -> None:
    """Given the batch's claim count, tasks keep their size until a TAPER-th of the claims
    left is smaller, then shrink to it, never below MIN_TASK_CLAIMS (100): with equal tasks,
    one job settled the last while the others waited. Without the count (diff), they do not."""
    path = tmp_path / "keys.jsonl"
    path.write_text(
        "".join(
            f'{{"person":{{"id":"p{n:05d}"}},"visit":{{"date":"2024-01-01"}}}}\n'
            for n in range(2000)
        )
    )
    _claims, _blank, runs = batch_index.scan(path, 1, tmp_path, Quiet())
    sizes = [sum(map(len, task)) for task in batch_index.tasks(runs, 200, 2000)]
    # 1,200 claims in full tasks; then 800 left: 200, 600: 150, 450: 112, 338, 238 and 138:
    # the least, 100; the 38 left
    assert sizes == [200] * 6 + [200, 150, 112, 100, 100, 100, 38]
    assert [sum(map(len, task)) for task in batch_index.tasks(runs, 200)] == [200] * 10


def _fsync_names(monkeypatch: pytest.MonkeyPatch, fail: str | None = None) -> list[str]:
    """The names of the files fsync'd from here on (os.fsync watched; Linux /proc); an
    fsync of a file whose name starts with `fail` fails as a full disk would."""
    names: list[str] = []
    real = os.fsync

    def watched(descriptor: int) -> None:
        name = Path(os.readlink(f"/proc/self/fd/{descriptor}")).name
        if fail is not None and name.startswith(fail):
            raise OSError(errno.ENOSPC, "No space left on device")
        names.append(name)
        real(descriptor)

    monkeypatch.setattr(batch_files.os, "fsync", watched)
    return names


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc/self/fd")
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_task_is_marked_done_only_once_its_records_are_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """A task's records are flushed to disk (by DoneMarks' thread, whichever process wrote
    them) before its done mark is written, so --resume never trusts records a crash of the
    machine could have lost; the settling itself flushes no task file."""
    path, _claims = claims_file(tmp_path)
    monkeypatch.setattr(batch_index, "TASK_CLAIMS", 25)
    names = _fsync_names(monkeypatch)
    out = tmp_path / "out.jsonl"
    run_batch(BatchOptions(input=path, output=out, jobs=jobs, keep_work=True), Quiet())
    tasks = sorted(p.name for p in Path(f"{out}.work").glob("task-*.records"))
    assert len(tasks) > 2
    for number, name in enumerate(tasks):
        assert names.count(name) == 1
        assert names.index(f".{number:06d}.json.tmp") > names.index(name)
    assert not [name for name in names if name.startswith(".task-")]


def test_a_task_whose_records_cannot_be_flushed_is_not_marked_and_the_batch_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk met while a task's records are flushed stops the batch (exit 3) with that
    task unmarked; --resume settles it again and the output is the whole batch's."""
    path, _claims = claims_file(tmp_path)
    assert main(["batch", str(path), "-o", str(tmp_path / "whole.jsonl"), "--no-progress"]) == 0
    monkeypatch.setattr(batch_index, "TASK_CLAIMS", 25)
    _fsync_names(monkeypatch, fail="task-000002")
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(path), "-o", str(out), "--no-progress"]) == 3
    done = Path(f"{out}.work", "done")
    assert not out.exists() and not (done / "000002.json").exists()
    assert (done / "000000.json").exists()
    monkeypatch.undo()
    monkeypatch.setattr(batch_index, "TASK_CLAIMS", 25)
    assert main(["batch", str(path), "-o", str(out), "--no-progress", "--resume"]) == 0
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


def test_an_interrupt_while_the_marks_are_closed_waits_for_the_mark_being_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupt (SIGTERM raises one in a batch) that arrives while DoneMarks waits for
    its thread is raised once the thread's work is done: the mark is whole and no temporary
    is left. (Raised inside Thread.join, Python 3.11 took the thread for stopped while it
    still wrote, and the process exited midway through the write: seen once in the suite.)"""
    import signal
    import threading
    import time

    from policyengine.batch.files import DoneMarks, task_file

    writing = threading.Event()
    real_write = batch_files.write_atomic

    def slow_write(path: Path, data: bytes, *, durable: bool = True) -> None:
        writing.set()
        time.sleep(0.5)  # the interrupt arrives meanwhile
        real_write(path, data, durable=durable)

    monkeypatch.setattr(batch_files, "write_atomic", slow_write)
    task_file(tmp_path, 0).write_bytes(b"records\n")

    def interrupt_the_wait() -> None:
        writing.wait(5)
        time.sleep(0.1)  # the main thread is waiting in DoneMarks.__exit__ by now
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    interrupt = threading.Thread(target=interrupt_the_wait)
    marks = DoneMarks(tmp_path)

    def mark_and_close() -> None:
        with marks:
            marks.mark(0, {"records": 1})
            interrupt.start()

    with pytest.raises(KeyboardInterrupt):
        mark_and_close()
    interrupt.join()
    assert json.loads(marks.path(0).read_text()) == {"records": 1}
    assert not list((tmp_path / "done").glob(".*.tmp"))
