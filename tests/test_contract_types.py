"""The result and its trace are declared once (contract/results.py, contract/trace.py), and
what the engine writes is what they declare.

mypy checks the producers and consumers statically; these tests check the run time: every
result of a generated year of both cities — each claim settled with the year's ledger, by
the compiled evaluator and by the reference interpreter — validates strictly (no key
missing, none extra, no value of another type) against the declared TypedDicts, and
against the published JSON Schemas with an independent validator (jsonschema). The pydantic
`Result` model is shown to state the same fields and types as `ResultDict`, and the one
reader, `read_steps`, to give back exactly the trace it read.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import orjson
import pytest
from jsonschema import Draft202012Validator
from pydantic import ConfigDict, TypeAdapter

from policyengine.check import check
from policyengine.compile.module import InventoryEntry
from policyengine.contract import schemas
from policyengine.contract.claims import load_claim
from policyengine.contract.fastclaim import Claim
from policyengine.contract.results import Result, ResultDict, ResultProblem, result_from_json
from policyengine.contract.steps import Steps, TraceError, read_steps
from policyengine.contract.trace import STEP_KINDS, Admission, DeductiblePeriod, ItemClass
from policyengine.diff.reading import read
from policyengine.engine import Engine
from policyengine.explain import document as stored
from policyengine.explain import render as explain
from policyengine.interpret.evaluator import adjudicate
from policyengine.ledger import settle_person
from policyengine.policytest.cases import iter_cases
from policyengine.semantics import vocabulary
from policyengine.tools.generate import generate
from tests.strategies import TEST_REGIONS, policy_dir
from tests.support import POLICIES, claim

TEST_POLICIES = POLICIES.parent / "tests" / "policies"
EXAMPLE_CLAIMS = Path(__file__).resolve().parents[1] / "examples"

# (region, year): Tianjin's 2018 and 2024 rule sets, Quanzhou's year of the 2021 reform
# (per-condition limits cancelled from 2021-11-25) and 2024
YEARS = (("tianjin", 2018), ("tianjin", 2024), ("quanzhou", 2021), ("quanzhou", 2024))
PERSONS = 25
SEED = 10  # a seed whose year reaches every step kind and figure form (asserted below)
STRICT = TypeAdapter(list[ResultDict], config=ConfigDict(strict=True, extra="forbid"))


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.fixture(scope="module")
def year(engine: Engine) -> list[tuple[Claim, ResultDict]]:
    """Every claim of the generated years as settled (with its ledger history) and its
    traced result from the compiled evaluator."""
    out: list[tuple[Claim, ResultDict]] = []
    for region, when in YEARS:
        persons: dict[str, list[tuple[int, Any]]] = defaultdict(list)
        for index, raw in enumerate(generate(region, PERSONS, seed=SEED, year=when)):
            persons[raw["person"]["id"]].append((index, raw))
        for claims in persons.values():

            def settle(record: Claim) -> ResultDict:
                result = engine.settle(record, trace=True)
                out.append((record, result))
                return result

            for settled in settle_person(
                claims, settle, rules_of=lambda c: engine.ledger_rules(c.region)
            ):
                assert settled.error is None, settled.error
    out.extend(_test_policy_cases())
    return out


def _test_policy_cases() -> list[tuple[Claim, ResultDict]]:
    """The YAML cases of the test policies of the language's constructs (tests/policies/):
    they reach the steps of contract version 2 the bundled cities do not take (an extra
    pre-self-pay share for remote care, …)."""
    engine = Engine.load(TEST_POLICIES)
    out = []
    for region in TEST_REGIONS:
        for case in iter_cases(policy_dir(region)):
            if "error" in case.expect or case.as_of or case.moment != "during":
                continue
            record = load_claim(case.claim)
            out.append((record, engine.settle(record, trace=True)))
    return out


@pytest.fixture(scope="module")
def interpreted(year: list[tuple[Claim, ResultDict]]) -> list[ResultDict]:
    regions = {region for region, _ in YEARS} | set(TEST_REGIONS)
    policies = {region: check(policy_dir(region)).policy for region in regions}
    return [adjudicate(policies[r["policy"]["region"]], c, trace=True) for c, r in year]


def steps_of(results: list[ResultDict]) -> Iterator[dict[str, Any]]:
    for result in results:
        yield from result.get("trace", [])  # type: ignore[misc]


def test_the_year_reaches_every_step_kind_and_figure_form(
    year: list[tuple[Claim, ResultDict]],
) -> None:
    """So that the validation below covers every declaration, not a convenient few."""
    steps = list(steps_of([r for _, r in year]))
    assert {s["step"] for s in steps} == set(STEP_KINDS)
    limits = [s["figures"]["limit"] for s in steps if s["step"] == "limit"]
    assert None in limits and any(limit is not None for limit in limits)  # cancelled, and not
    assert any(s["step"] == "ratio" and s["figures"]["alias"] for s in steps)
    assert any(s["step"] == "ratio" and s["figures"]["adjustments"] for s in steps)
    assert any(s["step"] == "critical_illness" and s["figures"]["payment_cap_left"] for s in steps)
    assert {s["period"] for s in steps if s["step"] == "deductible"} == {
        "year",
        "admission",
        "visit",
    }
    assert {s["period"] for s in steps if s["step"] == "period_cap"} == {"visit", "day"}
    assert any(s["step"] == "fund" and "entering" in s["figures"] for s in steps)
    assert any(s["step"] == "critical_illness" and "pre_self_pay" in s["figures"] for s in steps)


def test_every_compiled_result_and_step_is_what_the_types_declare(
    year: list[tuple[Claim, ResultDict]],
) -> None:
    results = [r for _, r in year]
    STRICT.validate_python(results)
    plain = [r for r in results if "trace" not in r]
    assert not plain


def test_every_interpreted_result_and_step_is_what_the_types_declare(
    interpreted: list[ResultDict], year: list[tuple[Claim, ResultDict]]
) -> None:
    STRICT.validate_python(interpreted)
    assert interpreted == [r for _, r in year]  # the differential test's promise, here too


def test_results_without_a_trace_are_what_the_types_declare(engine: Engine) -> None:
    results = [engine.settle(c) for c in generate("quanzhou", 5, seed=2, year=2021)]
    STRICT.validate_python(results)
    assert all("trace" not in r for r in results)


def test_the_published_json_schemas_accept_what_the_engine_writes(
    year: list[tuple[Claim, ResultDict]],
) -> None:
    result_schema = Draft202012Validator(schemas.result_schema())
    trace_schema = Draft202012Validator(schemas.trace_schema())
    for schema in (result_schema, trace_schema):
        Draft202012Validator.check_schema(schema.schema)
    for _record, result in year:
        data = orjson.loads(orjson.dumps(result))  # as a program reads the JSON
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in result_schema.iter_errors(data)]
        assert not errors, (result["claim_id"], errors[:3])
    # a real trace document (explain --format json): its claim is checked against the claim
    # contract's schema too, and a claim that breaks it is refused at its path
    engine = Engine.load()
    for name in ("claim.json", "claim-inpatient.json"):
        claim = json.loads((EXAMPLE_CLAIMS / name).read_text(encoding="utf-8"))
        result = engine.settle(claim, trace=True)
        words = engine.policy(result["policy"]["region"]).words()
        document = orjson.loads(orjson.dumps(stored.trace_document(claim, result, words)))
        assert not [e.message for e in trace_schema.iter_errors(document)], name
        document["claim"]["visit"]["type"] = "BOGUS"
        refused = [list(e.absolute_path) for e in trace_schema.iter_errors(document)]
        assert ["claim", "visit", "type"] in refused, refused


def test_the_json_schemas_refuse_a_step_that_breaks_its_declaration(
    year: list[tuple[Claim, ResultDict]],
) -> None:
    """The schema is not vacuous: a ratio step without its form, a line with a number as
    money, or an unknown step kind is refused."""
    validator = Draft202012Validator(schemas.result_schema())
    result = next(r for _, r in year if any(s["step"] == "ratio" for s in r.get("trace", [])))
    for spoil in (_drop_ratio_form, _money_as_number, _unknown_kind):
        data = orjson.loads(orjson.dumps(result))
        spoil(data["trace"])
        assert list(validator.iter_errors(data)), spoil.__name__


def _drop_ratio_form(trace: list[dict[str, Any]]) -> None:
    del next(s for s in trace if s["step"] == "ratio")["form"]


def _money_as_number(trace: list[dict[str, Any]]) -> None:
    next(s for s in trace if s["step"] == "line")["covered"] = 1.5


def _unknown_kind(trace: list[dict[str, Any]]) -> None:
    trace[0]["step"] = "bonus"


# ------------------------------------------------------------------ the one reader


def test_read_steps_gives_back_exactly_the_trace_it_read(
    year: list[tuple[Claim, ResultDict]],
) -> None:
    for _, result in year:
        trace = result["trace"]
        steps = read_steps(result)
        assert list(steps.all) == trace
        assert list(steps.lines) == [s for s in trace if s["step"] == "line"]
        assert list(steps.audit_tables) == [s for s in trace if s["step"] == "audit_table"]
        for kind in ("policy", "deductible", "ratio", "fund", "cap", "limit", "patient"):
            found = [s for s in trace if s["step"] == kind]
            assert found == ([getattr(steps, kind)] if getattr(steps, kind) else [])
        found = [s for s in trace if s["step"] == "critical_illness"]
        assert found == ([steps.critical_illness] if steps.critical_illness else [])
        # and through JSON, as a stored trace document is read back
        again = result_from_json(orjson.loads(orjson.dumps(result)))
        assert read_steps(again) == steps


def test_read_steps_refuses_a_result_without_a_trace_or_with_a_repeated_step(
    engine: Engine,
) -> None:
    with pytest.raises(TraceError, match="has no trace"):
        read_steps(engine.settle(claim()))
    traced = engine.settle(claim(), trace=True)
    fund = next(s for s in traced["trace"] if s["step"] == "fund")
    traced["trace"].append(fund)
    with pytest.raises(TraceError, match="two fund steps"):
        read_steps(traced)


def test_a_stored_result_that_breaks_the_declaration_is_refused_with_its_path(
    engine: Engine,
) -> None:
    data = orjson.loads(orjson.dumps(engine.settle(claim(), trace=True)))
    index = next(i for i, s in enumerate(data["trace"]) if s["step"] == "ratio")
    del data["trace"][index]["form"]
    data["lines"][0]["line"] = "1"
    with pytest.raises(ResultProblem) as refused:
        result_from_json(data)
    assert f"result.trace[{index}].form: Field required" in str(refused.value)
    assert "result.lines[0].line: Input should be a valid integer" in str(refused.value)


# ------------------------------------------------------------------ one declaration


def _normal(node: Any, definitions: dict[str, Any]) -> Any:
    """A JSON Schema with references resolved and words (titles, descriptions, examples,
    patterns, defaults) left out. A key a dict may leave out is the pydantic model's
    optional field that defaults to None: the model writes such a key as null, the dict
    omits it, so `null` is dropped from the types of keys that are not required."""
    if isinstance(node, list):
        return [_normal(v, definitions) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _normal(definitions[node["$ref"].rsplit("/", 1)[1]], definitions)
    words = {"$defs", "title", "description", "examples", "pattern", "default", "discriminator"}
    out = {k: _normal(v, definitions) for k, v in node.items() if k not in words}
    if "properties" in out:
        required = set(out.get("required", ()))
        for name, schema in out["properties"].items():
            options = schema.get("anyOf", [])
            if name not in required and {"type": "null"} in options:
                rest = [o for o in options if o != {"type": "null"}]
                out["properties"][name] = rest[0] if len(rest) == 1 else {"anyOf": rest}
        out["required"] = sorted(required)
    return out


def test_the_pydantic_result_states_what_result_dict_declares() -> None:
    model = Result.model_json_schema(mode="serialization")
    declared = TypeAdapter(ResultDict).json_schema(mode="serialization")
    assert _normal(model, model["$defs"]) == _normal(declared, declared["$defs"])


def test_the_comparison_sees_a_difference() -> None:
    """The normalisation above is not so loose that it hides a change of type."""
    declared = TypeAdapter(ResultDict).json_schema(mode="serialization")
    changed = json.loads(json.dumps(declared))
    changed["$defs"]["LineDict"]["properties"]["line"]["type"] = "string"
    assert _normal(changed, changed["$defs"]) != _normal(declared, declared["$defs"])


def test_the_contract_literals_are_the_vocabulary_words() -> None:
    assert get_args(ItemClass) == vocabulary.CLASSES
    assert get_args(Admission) == vocabulary.ADMISSIONS
    assert get_args(DeductiblePeriod) == vocabulary.PERIODS


def test_the_inventory_is_what_inventory_entry_declares(engine: Engine) -> None:
    """What `policyengine test` counts coverage against (compile/module.inventory)."""
    entries = [entry for policy in engine.describe() for entry in policy.inventory]
    TypeAdapter(
        list[InventoryEntry], config=ConfigDict(strict=True, extra="forbid")
    ).validate_python(entries)
    assert {e["kind"] for e in entries} == {"rule", "row", "figure"}
    assert any("unreachable" in e for e in entries)


# ------------------------------------------------------------------ the ratio's form


@pytest.fixture(scope="module")
def banded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tianjin with a banded outpatient ratio for working employees (分段支付比例)."""
    root = tmp_path_factory.mktemp("banded")
    for name in ("tianjin", "national"):
        shutil.copytree(POLICIES / name, root / name, ignore=shutil.ignore_patterns("tests"))
    benefits = root / "tianjin" / "benefits.policy"
    old = "when scheme employee, status working => by level 65% / 60% / 55%"
    new = (
        "when scheme employee, status working => bands {\n"
        "      band 0 元 to 1000 元 at 50%\n      band above 1000 元 at 70%\n    }"
    )
    text = benefits.read_text(encoding="utf-8")
    assert old in text
    benefits.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root / "tianjin"


def test_a_banded_ratio_says_so_in_its_step_and_every_reader_uses_that(
    banded: Path,
) -> None:
    raw = claim(items=[{**claim()["items"][0], "unit_price": "2800.00", "amount": "2800.00"}])
    result = Engine.load(banded).settle(raw, trace=True)
    ratio = read_steps(result).ratio
    assert ratio is not None and ratio["form"] == "bands"
    assert ratio["value"] == ratio["figures"]["base"] and "元" in ratio["value"]
    plain = Engine.load(POLICIES / "tianjin").settle(raw, trace=True)
    plain_ratio = read_steps(plain).ratio
    assert plain_ratio is not None and plain_ratio["form"] == "rate"
    # the interpreter writes the same step
    policy = check(banded).policy
    assert policy is not None
    assert adjudicate(policy, load_claim(raw), trace=True) == result
    # explain shows the schedule's words, diff knows it cannot recompute a banded ratio
    text = explain.render_markdown(explain.build(raw, result, "en"))
    assert f"ratio {ratio['value']}" in text
    state = read(load_claim(raw), result).state
    assert state.ratio_base is None and state.ratio_banded == ratio["value"]
    state = read(load_claim(raw), plain).state
    assert state.ratio_base == Decimal(plain_ratio["value"]) and state.ratio_banded is None


def test_explain_renders_a_cancelled_per_condition_limit(
    year: list[tuple[Claim, ResultDict]],
) -> None:
    """Quanzhou cancelled its special-outpatient limits from 2021-11-25: the step gives only
    the cancelling rows (explain used to fail on it with KeyError: 'conditions')."""
    result = next(
        r
        for _, r in year
        if any(s["step"] == "limit" and s["figures"]["limit"] is None for s in r["trace"])
    )
    text = explain.render_markdown(explain.build({}, result, "zh"))
    assert "病种年度限额 已取消" in text


def test_steps_is_a_value() -> None:
    """Steps compares by content (the round trip above relies on it)."""
    empty = Steps((), None, (), (), (), None, None, None, None, None, (), None, None, None)
    assert empty == Steps((), None, (), (), (), None, None, None, None, None, (), None, None, None)
