"""adjudicate() speed: the compiled evaluator against the hand-written baseline and the
reference interpreter, trace off and on, and JSON text in → result JSON out.

Short mode (CI): each benchmark runs once on a few claims, so the suite cannot rot.
Full mode: POLICYENGINE_BENCH=full python -m pytest benchmarks --benchmark-enable
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import baseline
from benchmarks.claims import ALL_VISITS, BASELINE_VISITS, SIZES, claim_dicts, claims
from policyengine import Engine
from policyengine.check import check
from policyengine.interpret.evaluator import adjudicate
from tests.support import POLICIES


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.fixture(scope="module")
def tianjin_ir() -> Any:
    return check(POLICIES / "tianjin").policy


@pytest.mark.parametrize("size", SIZES)
def test_baseline(benchmark: Any, record: Any, size: int) -> None:
    batch = claims("tianjin", size, BASELINE_VISITS)
    benchmark.group = f"settle {size} items"
    benchmark(lambda: [baseline.settle(c) for c in batch])
    record(f"baseline/{size}", benchmark, len(batch))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("trace", [False, True], ids=["trace_off", "trace_on"])
def test_compiled(benchmark: Any, record: Any, engine: Engine, size: int, trace: bool) -> None:
    batch = claims("tianjin", size, BASELINE_VISITS)
    settle = engine.policy("tianjin").settle
    benchmark.group = f"settle {size} items"
    benchmark(lambda: [settle(c, c.visit.date, False, trace) for c in batch])
    record(f"{'compiled_trace' if trace else 'compiled'}/{size}", benchmark, len(batch))


@pytest.mark.parametrize("size", SIZES)
def test_interpreter(benchmark: Any, record: Any, tianjin_ir: Any, size: int) -> None:
    batch = claims("tianjin", size, BASELINE_VISITS)
    benchmark.group = f"settle {size} items"
    benchmark(lambda: [adjudicate(tianjin_ir, c) for c in batch])
    record(f"interpreter/{size}", benchmark, len(batch))


@pytest.mark.parametrize("region", ["tianjin", "quanzhou"])
def test_all_visit_types(benchmark: Any, record: Any, engine: Engine, region: str) -> None:
    batch = claims(region, 10, ALL_VISITS)
    settle = engine.policy(region).settle
    benchmark.group = "all visit types, 10 items"
    benchmark(lambda: [settle(c, c.visit.date, False, False) for c in batch])
    record(f"all_visits/{region}", benchmark, len(batch))


def test_json_end_to_end(benchmark: Any, record: Any, engine: Engine) -> None:
    texts = claim_dicts("tianjin", 10, ("outpatient",))
    benchmark.group = "end to end"
    benchmark(lambda: [engine.adjudicate_json(t) for t in texts])
    record("e2e/10-item outpatient, JSON in → JSON out", benchmark, len(texts))
