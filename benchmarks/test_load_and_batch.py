"""Policy load (cold compile, warm cached load), batch throughput with 1 and 2 jobs, and the
peak memory of a streamed batch (1,000,000 claims in full mode)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.claims import FULL
from benchmarks.conftest import MEDIANS, figure
from policyengine.cache import load_compiled
from tests.support import POLICIES

BATCH_CLAIMS = 100_000 if FULL else 600
MEMORY_CLAIMS = (10_000, 1_000_000) if FULL else (300, 900)


@pytest.mark.parametrize("city", ["tianjin", "quanzhou"])
def test_cold_compile(benchmark: Any, record: Any, city: str) -> None:
    benchmark.group = "policy load"
    benchmark.pedantic(
        lambda: load_compiled(POLICIES / city, use_cache=False), rounds=3 if FULL else 1
    )
    record(f"load/cold/{city}", benchmark)


@pytest.mark.parametrize("city", ["tianjin", "quanzhou"])
def test_warm_load(
    benchmark: Any,
    record: Any,
    city: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    load_compiled(POLICIES / city)  # fills the cache
    benchmark.group = "policy load"
    result = benchmark.pedantic(lambda: load_compiled(POLICIES / city), rounds=10 if FULL else 1)
    assert result.cached
    record(f"load/warm/{city}", benchmark)


def test_ready_in_a_fresh_process(tmp_path_factory: pytest.TempPathFactory) -> None:
    """What a claim system waits for at start-up: importing the package, then a warm
    Engine.load() of every bundled policy (the runtime modules the compiled code uses are
    imported then)."""
    env = {**os.environ, "POLICYENGINE_CACHE_DIR": str(tmp_path_factory.mktemp("fresh"))}
    script = (
        "import time; t = time.perf_counter(); from policyengine import Engine;"
        "u = time.perf_counter(); Engine.load(); v = time.perf_counter();"
        "print(u - t, v - u)"
    )
    runs = []
    for _ in range(7 if FULL else 2):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        runs.append(tuple(float(x) for x in done.stdout.split()))
    warm = runs[1:]  # the first run compiles and fills the cache
    imported, loaded = (statistics.median(column) for column in zip(*warm, strict=True))
    figure(
        "fresh process",
        f"import {imported * 1e3:.0f} ms, then warm Engine.load() {loaded * 1e3:.0f} ms (median)",
    )


def _claims_file(directory: Path, count: int) -> Path:
    """`count` claims from `policyengine generate`, both cities, persons interleaved."""
    path = directory / f"claims-{count}.jsonl"
    if path.exists():
        return path
    from policyengine.tools.generate import generate

    persons = max(1, count // 6)
    with path.open("w", encoding="utf-8") as out:
        written = 0
        streams = [generate("tianjin", persons, seed=1), generate("quanzhou", persons, seed=1)]
        while written < count:
            for stream in streams:
                claim = next(stream, None)
                if claim is None:
                    streams = [generate(r, persons, seed=written) for r in ("tianjin", "quanzhou")]
                    break
                out.write(json.dumps(claim, ensure_ascii=False) + "\n")
                written += 1
                if written == count:
                    break
    return path


def _batch(path: Path, jobs: int, output: Path) -> tuple[float, int, float]:
    """Seconds, peak RSS (KiB) and cores kept busy (CPU seconds of the batch process, its
    threads included, over its seconds) of one batch run in a fresh process.

    The peak is VmHWM from /proc/self/status, which exec resets: ru_maxrss would also count
    the pytest process this one was forked from. With --jobs, the workers' peaks (from
    RUSAGE_CHILDREN, measured in processes that exec'd nothing) are reported if larger."""
    script = (
        "import resource, sys, time; from policyengine.cli.main import main; t = time.monotonic();"
        "cpu = time.process_time(); main(sys.argv[1:]); seconds = time.monotonic() - t;"
        "cpu = time.process_time() - cpu;"
        "own = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'));"
        "workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "sys.stderr.write('\\n%f %d %d %f\\n' % (seconds, own, workers, cpu))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "batch",
            str(path),
            "-o",
            str(output),
            "--jobs",
            str(jobs),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    assert done.returncode in (0, 1), done.stderr
    seconds, own, workers, cpu = done.stderr.strip().splitlines()[-1].split()
    return (
        float(seconds),
        max(int(own), int(workers) if jobs > 1 else 0),
        float(cpu) / float(seconds),
    )


def test_batch_throughput(tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("batch")
    path = _claims_file(directory, BATCH_CLAIMS)
    one, _, cores = _batch(path, 1, directory / "one.jsonl")
    two, _, _ = _batch(path, 2, directory / "two.jsonl")
    assert (directory / "one.jsonl").read_bytes() == (directory / "two.jsonl").read_bytes()
    # one job is more than one core (a thread writes its task files): on two cores, two jobs
    # that do the same work in total can be at most 2 / cores times as fast
    figure(
        "batch",
        f"{BATCH_CLAIMS:,} claims: 1 job {BATCH_CLAIMS / one:,.0f}/s, "
        f"2 jobs {BATCH_CLAIMS / two:,.0f}/s ({one / two:.2f}×); one job kept {cores:.2f} "
        f"cores busy, so two jobs on {os.cpu_count()} cores reach at most "
        f"{min(2, os.cpu_count() or 1) / cores:.2f}×"
        + ("" if FULL else "; short mode: start-up dominates so few claims, see the full run"),
    )
    MEDIANS["batch/1"] = one / BATCH_CLAIMS
    MEDIANS["batch/floor"] = _floor(path)
    MEDIANS["batch/core"] = _core(path)


def _floor(path: Path) -> float:
    """Seconds per claim of the floor, an orjson round trip of each line (the best of five
    passes, in this process, just after the batch runs)."""
    lines = path.read_bytes().splitlines()
    passes = []
    for _ in range(5):
        started = time.perf_counter()
        for line in lines:
            orjson.dumps(orjson.loads(line))
        passes.append(time.perf_counter() - started)
    return min(passes) / len(lines)


def _core(path: Path) -> float:
    """Seconds per claim of `Engine.adjudicate_json` settling each line once, in a fresh
    process, as a batch sees them: what the batch costs before it is a batch (no ledger, no
    index, no files)."""
    script = (
        "import sys, time; from policyengine import Engine; engine = Engine.load();"
        "lines = open(sys.argv[1], 'rb').read().splitlines(); settle = engine.adjudicate_json;"
        "t = time.perf_counter()\n"
        "for line in lines:\n"
        "    try: settle(line)\n"
        "    except Exception: pass\n"  # a claim the policies refuse costs its refusal
        "print((time.perf_counter() - t) / len(lines))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def test_batch_memory_is_flat(tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("memory")
    peaks = []
    for count in MEMORY_CLAIMS:
        path = _claims_file(directory, count)
        started = time.monotonic()
        _, peak, _ = _batch(path, 1, directory / "out.jsonl")
        peaks.append((count, peak, time.monotonic() - started))
    figure("batch memory", ", ".join(f"{c:,} claims peak {p / 1024:.0f} MiB" for c, p, _s in peaks))
