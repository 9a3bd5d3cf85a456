"""The hand-written baseline settles the benchmark claims exactly as the engine does, so the
speed comparison measures the same work (this also runs in CI's short mode)."""

from __future__ import annotations

import pytest

from benchmarks import baseline
from benchmarks.claims import BASELINE_VISITS, SIZES, claims
from policyengine import Engine


@pytest.mark.parametrize("size", SIZES)
def test_baseline_equals_the_engine(size: int) -> None:
    engine = Engine.load()
    policy = engine.policy("tianjin")
    for claim in claims("tianjin", size, BASELINE_VISITS):
        assert baseline.settle(claim) == policy.settle(claim, claim.visit.date, False, False), (
            claim.id
        )
        assert baseline.settle(claim, before=True) == policy.settle(
            claim, claim.visit.date, True, False
        )
