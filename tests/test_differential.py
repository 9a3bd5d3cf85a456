"""Differential tests: the compiled evaluator against the reference interpreter.

For every generated valid claim of either region, `compile_policy(ir)` settles to exactly the
dict `interpret.adjudicate(ir, …)` returns — trace off and on, at the moments before /
during / after, on the visit date and on another `as_of` date — or both raise the same
exception type (NotInForce, RuleFailure). The Engine (compiled, cached on disk) must agree too.

Examples per test: POLICYENGINE_FUZZ_EXAMPLES (default 100), e.g.

    POLICYENGINE_FUZZ_EXAMPLES=5000 python -m pytest tests/test_differential.py -q
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from decimal import localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    NEW_CITIES,
    REGIONS,
    TEST_REGIONS,
    as_of_dates,
    claims,
    json_text,
    policy_dir,
)

from policyengine.check import check
from policyengine.compile import compile_policy
from policyengine.contract.claims import Claim, load_claim
from policyengine.engine import MONEY_CONTEXT, Engine
from policyengine.errors import NotInForce, RuleFailure
from policyengine.interpret.evaluator import adjudicate
from policyengine.policytest.cases import iter_cases, run_case
from policyengine.prepared import BACKENDS
from tests.support import FUZZ, first_difference, over_limit_claim

ROOT = Path(__file__).resolve().parents[1]
EXPECTED_ERRORS = (NotInForce, RuleFailure)


def _policy(region: str) -> Any:
    result = check(policy_dir(region))
    assert result.ok and result.policy is not None, f"{policy_dir(region)} does not check"
    return result.policy


# the bundled cities and the test policies of constructs
ALL_REGIONS = REGIONS + NEW_CITIES + TEST_REGIONS
POLICIES = {region: _policy(region) for region in ALL_REGIONS}
COMPILED = {region: compile_policy(policy) for region, policy in POLICIES.items()}
SETTLE = {region: compiled.namespace()["settle"] for region, compiled in COMPILED.items()}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.fixture(scope="module")
def test_engine() -> Engine:
    """The test policies of the language's constructs (tests/policies/)."""
    return Engine.load(ROOT / "tests" / "policies")


def outcome(run: Any) -> Any:
    """The result dict, or the exception's type (anything but the engine's errors is a bug)."""
    try:
        with localcontext(MONEY_CONTEXT):
            return run()
    except EXPECTED_ERRORS as error:
        return type(error)


def both(
    region: str, claim: Claim, *, as_of: dt.date | None, moment: str, trace: bool
) -> tuple[Any, Any]:
    day = as_of or claim.visit.date
    reference = outcome(
        lambda: adjudicate(POLICIES[region], claim, as_of=as_of, moment=moment, trace=trace)
    )
    compiled = outcome(lambda: SETTLE[region](claim, day, moment == "before", trace))
    return reference, compiled


def assert_same(
    region: str, claim: Claim, *, as_of: dt.date | None, moment: str, trace: bool
) -> None:
    reference, compiled = both(region, claim, as_of=as_of, moment=moment, trace=trace)
    if isinstance(reference, type) or isinstance(compiled, type):
        assert reference == compiled, f"interpreter: {reference!r}, compiled: {compiled!r}"
        return
    if reference != compiled:
        where = first_difference(reference, compiled, "result")
        raise AssertionError(f"the compiled result differs from the interpreter's at {where}")


MOMENTS = st.sampled_from(("before", "during", "after"))


@pytest.mark.parametrize("region", ALL_REGIONS)
@pytest.mark.parametrize("trace", [False, True], ids=["plain", "traced"])
@FUZZ
@given(data=st.data())
def test_compiled_equals_interpreter(region: str, trace: bool, data: st.DataObject) -> None:
    claim = load_claim(data.draw(claims(region, in_force=False), label="claim"))
    moment = data.draw(MOMENTS, label="moment")
    assert_same(region, claim, as_of=None, moment=moment, trace=trace)


@pytest.mark.parametrize("region", ALL_REGIONS)
@FUZZ
@given(data=st.data())
def test_compiled_equals_interpreter_as_of(region: str, data: st.DataObject) -> None:
    """Settled on a date other than the visit date (a different version, or not in force)."""
    claim = load_claim(data.draw(claims(region, in_force=False), label="claim"))
    as_of = data.draw(as_of_dates(region).filter(lambda d: d != claim.visit.date), label="as_of")
    moment = data.draw(MOMENTS, label="moment")
    trace = data.draw(st.booleans(), label="trace")
    assert_same(region, claim, as_of=as_of, moment=moment, trace=trace)


@pytest.mark.parametrize("region", ALL_REGIONS)
@FUZZ
@given(data=st.data())
def test_engine_equals_interpreter(
    region: str, engine: Engine, test_engine: Engine, data: st.DataObject
) -> None:
    """The Engine (compiled code loaded through the on-disk cache) from the claim dict."""
    engine = test_engine if region in TEST_REGIONS else engine
    raw = data.draw(claims(region), label="claim")
    moment = data.draw(MOMENTS, label="moment")
    trace = data.draw(st.booleans(), label="trace")
    claim = load_claim(raw)
    reference = outcome(lambda: adjudicate(POLICIES[region], claim, moment=moment, trace=trace))
    if data.draw(st.booleans(), label="region as an argument"):
        raw = {k: v for k, v in raw.items() if k != "region"}
        got = outcome(lambda: engine.settle(raw, region=region, moment=moment, trace=trace))
    else:
        got = outcome(lambda: engine.settle(raw, moment=moment, trace=trace))
    if reference != got:
        where = first_difference(reference, got, "result")
        raise AssertionError(f"the Engine's result differs from the interpreter's at {where}")


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_json_text_equals_dict(region: str, engine: Engine, data: st.DataObject) -> None:
    """The same claim as JSON text (money as JSON numbers where the dict has Decimals) and
    as a dict settles to the same result: the text path parses numbers exactly."""
    raw = data.draw(claims(region), label="claim")
    assert engine.settle(json_text(raw)) == engine.settle(raw)


# ------------------------------------------------------------------ deterministic source

_SOURCE_SCRIPT = """
import hashlib, sys
from pathlib import Path
from policyengine.check import check
from policyengine.compile import compile_policy
policy = check(Path(sys.argv[1])).policy
sys.stdout.write(hashlib.sha256(compile_policy(policy).source.encode()).hexdigest())
"""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("region", ALL_REGIONS)
def test_generated_source_is_deterministic(region: str) -> None:
    first = COMPILED[region].source
    again = compile_policy(_policy(region)).source
    assert first == again
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _SOURCE_SCRIPT, str(policy_dir(region))],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=ROOT,
        )
        assert done.stdout == _digest(first), f"source differs with PYTHONHASHSEED={seed}"


# ------------------------------------------------------------------ known cases
# Minimal claims that once settled differently in the two evaluators (found by the fuzzer).


KNOWN_CLAIMS = {
    f"over_limit_negative_zero_{region}": over_limit_claim(region) for region in REGIONS
}


@pytest.mark.parametrize("name", sorted(KNOWN_CLAIMS))
def test_known_claims(name: str) -> None:
    raw = KNOWN_CLAIMS[name]
    for moment in ("before", "during", "after"):
        for trace in (False, True):
            assert_same(raw["region"], load_claim(raw), as_of=None, moment=moment, trace=trace)


# ------------------------------------------------------------------ the policy cases


@pytest.mark.parametrize("region", ALL_REGIONS)
def test_every_policy_case_settles_alike_on_both_back_ends(region: str) -> None:
    """pytest runs each YAML case on both back ends against the fields it expects; here the
    whole result of each, plain and traced, is the same on both (or the same error)."""
    root = policy_dir(region).parent
    engines = {backend: Engine.load(root, backend=backend) for backend in BACKENDS}
    cases = list(iter_cases(policy_dir(region)))
    assert len(cases) > (100 if region in REGIONS else 5)
    for case in cases:
        for trace in (False, True):
            compiled, reference = (run_case(engines[b], case, trace=trace) for b in BACKENDS)
            assert (reference.error, compiled.error) == (reference.error, reference.error)
            if reference.result != compiled.result:
                where = first_difference(reference.result, compiled.result, "result")
                raise AssertionError(f"{case.location} ({case.name}): {where}")


# ------------------------------------------------------------------ claim loading


@pytest.mark.parametrize("region", REGIONS)
@FUZZ
@given(data=st.data())
def test_fast_claim_path_equals_model_path(region: str, data: st.DataObject) -> None:
    """What both evaluators read: the fast path's records equal the pydantic model's."""
    fastclaim = pytest.importorskip("policyengine.contract.fastclaim")
    raw = data.draw(claims(region, in_force=False), label="claim")
    reference = fastclaim.from_model(Claim.model_validate(raw))
    fast = fastclaim.fast_claim(raw)
    if fast is not None:  # None: the fast path doubts and pydantic decides, which is allowed
        assert fast == reference
    assert load_claim(raw) == reference


def test_results_are_json_ready() -> None:
    """A smoke check of the oracle itself: the interpreter's dict serialises as JSON."""
    claim = load_claim(
        {
            "id": "X",
            "region": "tianjin",
            "person": {"id": "P", "scheme": "resident", "birth_date": "1980-01-01", "sex": "male"},
            "visit": {
                "type": "inpatient",
                "date": "2024-03-05",
                "hospital": {"id": "H", "level": 3, "kind": "general"},
                "doctor": {"id": "D", "title": "chief"},
                "diagnoses": ["C34.1"],
            },
            "items": [
                {
                    "line": 1,
                    "code": "001103000010000",
                    "kind": "bed",
                    "quantity": "10",
                    "unit_price": "80",
                    "amount": "800",
                }
            ],
        }
    )
    result = adjudicate(POLICIES["tianjin"], claim, trace=True)
    json.dumps(result, ensure_ascii=False)
    assert result == SETTLE["tianjin"](claim, claim.visit.date, False, True)
