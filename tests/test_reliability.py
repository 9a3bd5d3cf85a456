"""Reliability: nothing lost in batch (SIGTERM, a SIGKILLed worker, --resume), the same
results across processes, hash seeds and --jobs, hostile claims, and no float in the money path."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from policyengine import Engine
from policyengine.contract.claims import ClaimRejected
from policyengine.errors import PolicyEngineError
from policyengine.tools.generate import generate
from tests.support import ROOT, example_claim


def claims_file(path: Path, persons: int) -> Path:
    lines = [
        json.dumps(c, ensure_ascii=False)
        for region in ("tianjin", "quanzhou")
        for c in generate(region, persons, seed=17)
    ]
    lines.insert(len(lines) // 2, '{"id": "corrupt", "items": [}')  # a corrupt line mid-file
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_batch_left_running() -> Any:
    """A failed assertion must not leave a batch (and its workers) running after the test."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.poll() is None:
            for pid in children(process.pid):
                os.kill(pid, signal.SIGKILL)
            process.kill()
            process.communicate()


def batch(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "policyengine", "batch", *args, "--no-progress"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "POLICYENGINE_BATCH_TASK_CLAIMS": "40", **(env or {})},
    )
    _STARTED.append(process)
    return process


def wait_for_tasks(work: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        done = work / "done"
        if done.is_dir() and len(list(done.glob("[0-9]*.json"))) >= count:
            return
        time.sleep(0.02)
    pytest.fail("the batch finished or stalled before the interruption")


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def still_running(pids: list[int]) -> list[int]:
    deadline = time.monotonic() + 10
    while True:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def dies_of_sigterm(pid: int) -> bool:
    """Once the worker initializer has run (SIGINT ignored, set last), is SIGTERM uncaught?"""
    deadline = time.monotonic() + 30
    while True:
        status = dict(
            line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        if int(status["SigIgn"], 16) & 1 << (signal.SIGINT - 1) or time.monotonic() > deadline:
            return not int(status["SigCgt"], 16) & 1 << (signal.SIGTERM - 1)
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    directory = tmp_path_factory.mktemp("reliability")
    path = claims_file(directory / "claims.jsonl", 120)
    whole = directory / "whole.jsonl"
    done = batch(str(path), "-o", str(whole))
    done.communicate(timeout=300)
    assert done.returncode == 1  # the corrupt line is one failed claim
    return path, whole.read_bytes()


def test_the_corrupt_line_is_one_error_record(data: tuple[Path, bytes]) -> None:
    path, whole = data
    records = [json.loads(line) for line in whole.decode().splitlines()]
    assert len(records) == len([line for line in path.read_text().splitlines() if line.strip()])
    errors = [r for r in records if "error" in r]
    assert (
        len(errors) == 1
        and errors[0]["claim_id"] is None
        and errors[0]["error"] == "malformed_claim"
    )


def test_workers_exit_when_the_batch_is_killed(data: tuple[Path, bytes], tmp_path: Path) -> None:
    """SIGKILL of the batch left its pool workers running, reparented, for 12 minutes and
    more; they now notice their parent's death and exit."""
    path, _whole = data
    process = batch(str(path), "-o", str(tmp_path / "out.jsonl"), "--jobs", "2")
    wait_for_tasks(tmp_path / "out.jsonl.work", 1, process)
    workers = children(process.pid)
    assert len(workers) == 2
    process.kill()
    process.communicate(timeout=60)
    assert not still_running(workers)


@pytest.mark.parametrize("how", ["sigterm", "sigkill_worker"])
def test_an_interrupted_batch_keeps_its_work_and_resumes_exactly(
    data: tuple[Path, bytes], tmp_path: Path, how: str
) -> None:
    path, whole = data
    output = tmp_path / "out.jsonl"
    work = tmp_path / "out.jsonl.work"
    process = batch(str(path), "-o", str(output), "--jobs", "2")
    wait_for_tasks(work, 3, process)
    workers = children(process.pid)
    assert all(dies_of_sigterm(pid) for pid in workers)  # as the pool stops a broken pool
    if how == "sigterm":
        process.send_signal(signal.SIGTERM)
    else:
        os.kill(workers[0], signal.SIGKILL)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 3, err
    assert not still_running(workers)  # no worker outlives the batch
    assert "batch incomplete" in err and "--resume" in err
    assert not output.exists()  # an output file is complete or absent
    finished = sorted((work / "done").glob("[0-9]*.json"))  # not a temporary being written
    assert not list((work / "done").glob(".*.tmp"))  # an interrupted write leaves nothing
    assert finished and all(json.loads(f.read_text())["records"] > 0 for f in finished)
    resumed = batch(str(path), "-o", str(output), "--jobs", "2", "--resume")
    _out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 1, err  # the corrupt line still fails, nothing else
    assert "task(s) resumed" in err
    assert output.read_bytes() == whole  # no claim lost, none duplicated, same results


def test_same_results_across_processes_hash_seeds_and_jobs(
    data: tuple[Path, bytes], tmp_path: Path
) -> None:
    path, whole = data
    for seed, jobs in (("1", "1"), ("2", "2"), ("random", "2")):
        output = tmp_path / f"out-{seed}-{jobs}.jsonl"
        process = batch(str(path), "-o", str(output), "--jobs", jobs, env={"PYTHONHASHSEED": seed})
        process.communicate(timeout=300)
        assert output.read_bytes() == whole, (seed, jobs)


# ------------------------------------------------------------------ hostile claims


HOSTILE = [
    "",
    "null",
    "[]",
    '"claim"',
    "1e400",
    "NaN",
    "{",
    '{"id": 1}',
    "[" * 50_000 + "]" * 50_000,
    '{"id": "x", "items": ' + "[" * 10_000 + "]" * 10_000 + "}",
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: t[:20])
def test_hostile_json_is_a_contract_error(engine: Engine, text: str) -> None:
    with pytest.raises(ClaimRejected) as raised:
        engine.settle(text)
    assert raised.value.errors


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("items", 0, "amount"), "1e400"),
        (("items", 0, "amount"), -1),
        (("items", 0, "amount"), "0.001"),
        (("items", 0, "unit_price"), 1e-5),
        (("items", 0, "quantity"), 0),
        (("visit", "date"), "2024-02-30"),
        (("person", "birth_date"), "1900-02-29"),
        (("visit", "hospital", "level"), 4),
        (("history", "paid", "outpatient"), "abc"),
        (("items", 0, "line"), True),
    ],
)
def test_hostile_values_are_reported_at_their_path(
    engine: Engine, path: tuple[Any, ...], value: Any
) -> None:
    claim = example_claim()
    target = claim
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(ClaimRejected) as raised:
        engine.settle(claim)
    shown = "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path)
    )
    assert shown in [e.path for e in raised.value.errors]


def test_ten_thousand_items_settle_and_one_more_is_refused(engine: Engine) -> None:
    claim = example_claim()
    claim["history"] = {}
    item = {
        "code": "001101000010000",
        "kind": "service",
        "quantity": "1",
        "unit_price": "1.00",
        "amount": "1.00",
    }
    claim["items"] = [{**item, "line": n} for n in range(1, 10_001)]
    result = engine.settle(claim)
    assert len(result["lines"]) == 10_000 and result["totals"]["billed"] == "10000.00"
    claim["items"].append({**item, "line": 10_001})
    with pytest.raises(ClaimRejected) as raised:
        engine.settle(claim)
    assert raised.value.errors[0].path == "items"


def test_settle_raises_only_documented_errors_on_mutated_claims(engine: Engine) -> None:
    import random

    from tests.test_fastclaim import mutate

    rand = random.Random(7)
    base = [c for region in ("tianjin", "quanzhou") for c in generate(region, 10, seed=2)]
    for _ in range(int(os.environ.get("POLICYENGINE_FUZZ_EXAMPLES", "600"))):
        claim = mutate(rand.choice(base), rand)
        try:
            result = engine.settle(claim)
        except (ClaimRejected, PolicyEngineError):
            continue
        assert result["totals"]["billed"] == result["totals"]["billed"]


# ------------------------------------------------------------------ no float in the money path

MONEY_MODULES = (
    "contract/claims.py",
    "contract/fastclaim.py",
    "interpret",
    "runtime.py",
    "runtime_result.py",
    "runtime_steps.py",
    "semantics/matching.py",
    "semantics/values.py",
    "ledger.py",
    "engine.py",
    "compile",
)


def float_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            found.append(f"float literal {node.value!r} at line {node.lineno}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "float"
        ):
            found.append(f"float() at line {node.lineno}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and not _path_join(node):
            found.append(f"true division at line {node.lineno}")  # must be Decimal ÷ Decimal
    return found


def _path_join(node: ast.BinOp) -> bool:
    """`directory / "name"`: a path, not arithmetic."""
    return any(
        isinstance(side, ast.JoinedStr)
        or (isinstance(side, ast.Constant) and isinstance(side.value, str))
        for side in (node.left, node.right)
    )


def test_no_float_in_the_money_path_of_the_package() -> None:
    package = ROOT / "policyengine"
    offenders = {}
    for name in MONEY_MODULES:
        for path in (
            [package / name] if name.endswith(".py") else sorted((package / name).glob("*.py"))
        ):
            uses = float_uses(ast.parse(path.read_text(encoding="utf-8")))
            allowed = {
                "runtime_result.py": 1,  # runtime.finish's allocation
                "lines.py": 1,  # interpret/lines.py, the interpreter's allocation
                # the deductible's share per catalogue category (runtime_steps.category_parts,
                # interpret/categories.py)
                "runtime_steps.py": 1,
                "categories.py": 1,
            }  # the pro-rata share: Decimal × Decimal ÷ Decimal
            if len(uses) > allowed.get(path.name, 0):
                offenders[path.name] = uses
    assert offenders == {}


def test_no_float_in_the_generated_code(engine: Engine) -> None:
    for region in engine.regions:
        assert float_uses(ast.parse(engine.policy(region).source)) == []
