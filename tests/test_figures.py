"""Figures that depend on the claim (docs/language.md §7, semantics/formula.py): the range the
checker computes holds every value a claim can give; folding what is known changes no value;
the generated Python computes what the interpreter computes; and the trace states each such
figure's derivation and each combination of adjustments, as the contract declares them.

Settlement with these figures is in the YAML cases of tests/policies/figures (both back ends)
and in the differential tests (the test policies are among their regions)."""

from __future__ import annotations

from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ConfigDict, TypeAdapter

from policyengine import runtime
from policyengine.compile.formulas import source
from policyengine.contract import schemas
from policyengine.contract.claims import ClaimRejected
from policyengine.contract.results import ResultDict
from policyengine.engine import Engine
from policyengine.policytest.cases import iter_cases
from policyengine.semantics import formula as f
from policyengine.semantics.facts import ATOMS
from policyengine.semantics.money import CONTEXT
from tests.support import FUZZ

ROOT = Path(__file__).resolve().parents[1]
TEST_POLICIES = ROOT / "tests" / "policies"
STRICT = TypeAdapter(list[ResultDict], config=ConfigDict(strict=True, extra="forbid"))

# ------------------------------------------------------------------ random formulas

_CONSTS = st.sampled_from(("0", "1", "2", "10", "40", "0.2", "0.05", "100", "-3", "7.5")).map(
    lambda t: f.Const(Decimal(t))
)
_ATOMS = st.sampled_from(tuple(ATOMS)).map(f.Atom)


def _extend(children: st.SearchStrategy[f.Node]) -> st.SearchStrategy[f.Node]:
    return st.one_of(
        st.builds(f.Op, st.sampled_from(("+", "-", "×")), children, children),
        st.builds(f.Op, st.just("÷"), children, _CONSTS.filter(lambda c: c.value != 0)),
        st.builds(f.Call, st.sampled_from(("min", "max")), st.tuples(children, children)),
        st.builds(f.Call, st.sampled_from(("floor", "round")), st.tuples(children)),
        st.builds(f.Neg, children),
        st.builds(f.Pick, st.tuples(children, children, children), children),
    )


NODES = st.recursive(st.one_of(_CONSTS, _ATOMS), _extend, max_leaves=8)
FACTS = st.fixed_dictionaries(
    {name: st.integers(a.bounds[0], min(a.bounds[1], 200)) for name, a in ATOMS.items()}
)


@FUZZ
@given(node=NODES, facts=FACTS)
def test_every_value_lies_within_the_checked_range(node: f.Node, facts: dict[str, int]) -> None:
    low, high = f.bounds(node, _domains())
    assert low <= f.value(node, facts) <= high


@FUZZ
@given(node=NODES, facts=FACTS, known=st.sets(st.sampled_from(tuple(ATOMS))))
def test_folding_what_is_known_changes_no_value(
    node: f.Node, facts: dict[str, int], known: set[str]
) -> None:
    folded = f.partial(node, {name: facts[name] for name in known})
    assert f.value(folded, facts) == f.value(node, facts)


@FUZZ
@given(node=NODES, facts=FACTS)
def test_the_generated_python_computes_what_the_interpreter_computes(
    node: f.Node, facts: dict[str, int]
) -> None:
    namespace: dict[str, Any] = {
        "_D": Decimal,
        "_div": runtime.div,
        "_floor": runtime.floor,
        "_level_index": runtime.level_index,
        "_to_unit": runtime.to_unit,
        "fx": tuple(facts[name] for name in ATOMS),
    }
    code = compile(source(node, "fen"), "<formula>", "eval")  # the code a policy's module holds
    with localcontext(CONTEXT):
        assert Decimal(eval(code, namespace)) == f.value(node, facts)


def _domains() -> f.Domains:
    return {
        name: (Decimal(a.bounds[0]), Decimal(min(a.bounds[1], 200))) for name, a in ATOMS.items()
    }


def test_a_divisor_that_can_be_zero_is_found() -> None:
    node = f.Op("÷", f.Const(Decimal(600)), f.Op("-", f.Atom("level"), f.Const(Decimal(2))))
    with pytest.raises(f.DivisionByZero):
        f.bounds(node, _domains())


def test_at_level_clamps_and_rounds_down() -> None:
    options = (f.Const(Decimal(300)), f.Const(Decimal(600)), f.Const(Decimal(1000)))
    one_down = f.Op("-", f.Atom("level"), f.Const(Decimal(1)))
    pick = f.Pick(options, one_down)
    assert [f.value(pick, {"level": level}) for level in (1, 2, 3)] == [300, 300, 600]
    half = f.Pick(options, f.Const(Decimal("2.9")))
    assert f.value(half, {}) == 600


# ------------------------------------------------------------------ the trace


@pytest.fixture(scope="module")
def traced() -> list[ResultDict]:
    """Every case of the test policies, settled with a trace by both back ends."""
    results: list[ResultDict] = []
    for backend in ("compiled", "interpreted"):
        engine = Engine.load(TEST_POLICIES, backend=backend)
        for policy in sorted(p for p in TEST_POLICIES.iterdir() if p.is_dir()):
            for case in iter_cases(policy):
                try:
                    results.append(engine.settle(case.claim, trace=True))
                except ClaimRejected:  # the cases that expect a refusal
                    continue
    return results


def _steps(results: list[ResultDict]) -> list[dict[str, Any]]:
    return [step for r in results for step in r.get("trace", [])]  # type: ignore[misc]


def test_the_trace_states_each_derivation_and_combination(traced: list[ResultDict]) -> None:
    steps = _steps(traced)
    ratios = [s["figures"] for s in steps if s["step"] == "ratio"]
    assert any("base_derivation" in r for r in ratios)
    assert any("derivation" in a for r in ratios for a in r["adjustments"])
    combinations = [r["combination"] for r in ratios if "combination" in r]
    assert {c["how"] for c in combinations} == {"sum", "largest"}
    held = [c for c in combinations if c["at_most"] and Decimal(c["unclamped"]) > 1]
    assert held, "a case where the bound holds the ratio"
    derived = [s["figures"]["derivation"] for s in steps if "derivation" in s.get("figures", {})]
    kinds = {s["step"] for s in steps if "derivation" in s.get("figures", {})}
    assert kinds == {"deductible", "cap", "fund_ceiling", "period_cap"}
    # a remote share's rate: by age where it reads it; a `by level` one states none
    extra = [s.get("derivation") for s in steps if s["step"] == "extra_pre_self_pay"]
    assert {tuple(d["facts"]) for d in extra if d is not None} == {("age",)}
    assert None in extra
    periods = {
        s["period"] for s in steps if s["step"] == "period_cap" and "derivation" in s["figures"]
    }
    assert periods == {"visit", "day"}
    assert any(d["facts"].get("admission_rank") for d in derived)
    assert any("referring_level" in d["facts"] for d in derived)
    # `bands cumulative`: the fund step states the year's pooled amount it was banded on,
    # and only there
    pooled = [s["figures"].get("pooled") for s in steps if s["step"] == "fund"]
    assert "900.00" in pooled and "1500.00" in pooled
    assert "0.00" in pooled  # a first claim of the year: banded from zero
    assert pooled.count(None) > pooled.count("900.00")


def test_the_new_parts_of_the_trace_are_what_the_types_and_schemas_declare(
    traced: list[ResultDict],
) -> None:
    STRICT.validate_python(traced)
    validator = Draft202012Validator(schemas.result_schema())
    for result in traced:
        data = orjson.loads(orjson.dumps(result))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, (result["claim_id"], errors[:3])
