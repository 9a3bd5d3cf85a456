"""The JSON boundary (issue 19): each stage of `adjudicate_json` and `adjudicate` against
the floor — `orjson.dumps(orjson.loads(claim))` of the same texts — measured in the same run
on three claim sets (benchmarks/claims.py: boundary_set). conftest.py prints the ratios."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from benchmarks.claims import BOUNDARY_SETS, boundary_set
from policyengine import Engine
from policyengine.contract.claims import load_claim


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def _floor(text: str) -> bytes:
    return orjson.dumps(orjson.loads(text))


STAGES: dict[str, Any] = {
    "floor": lambda _engine: _floor,
    "loads": lambda _engine: orjson.loads,
    "validate": lambda _engine: load_claim,
    "adjudicate_json": lambda engine: engine.adjudicate_json,
    "adjudicate": lambda engine: engine.adjudicate,
}


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize("claims", BOUNDARY_SETS)
def test_boundary(benchmark: Any, record: Any, engine: Engine, claims: str, stage: str) -> None:
    texts = boundary_set(claims)
    run = STAGES[stage](engine)
    assert all(engine.adjudicate_json(t) for t in texts)  # every claim of the set settles
    benchmark.group = f"boundary {claims}"
    benchmark(lambda: [run(t) for t in texts])
    record(f"boundary/{claims}/{stage}", benchmark, len(texts))


def test_boundary_interleaved(engine: Engine) -> None:
    """The same ratios with the stages interleaved round by round (the fastest pass of each):
    on a loaded machine, a burst of other work then falls on every stage alike."""
    from benchmarks.claims import FULL
    from benchmarks.conftest import figure

    for claims in BOUNDARY_SETS:
        texts = boundary_set(claims)
        runs = {stage: make(engine) for stage, make in STAGES.items()}
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(15 if FULL else 5):  # one pass of a dozen claims is mostly noise
            for stage, run in runs.items():
                started = time.perf_counter()
                for text in texts:
                    run(text)
                best[stage] = min(best[stage], (time.perf_counter() - started) / len(texts))
        figure(
            f"boundary {claims}, interleaved",
            f"floor {best['floor'] * 1e6:.1f} µs/claim; adjudicate_json "
            f"{best['adjudicate_json'] / best['floor']:.2f}× floor; adjudicate "
            f"{best['adjudicate'] / best['adjudicate_json']:.3f}× adjudicate_json; "
            f"parse + validation {best['validate'] / best['loads']:.2f}× orjson.loads",
        )
