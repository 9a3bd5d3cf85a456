"""One home per concept: the registries are declared once and nothing else restates them.

An AST scan of the package (and of the code it generates) finds what would be a second home.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import given
from strategies import claims

from policyengine.check import check
from policyengine.compile import compile_policy
from policyengine.compile.module import build_source
from policyengine.compile.settle import PRELUDE
from policyengine.contract.claims import load_claim
from policyengine.semantics import vocabulary
from policyengine.semantics.facts import FACTS, FactContext
from tests.support import FUZZ

PACKAGE = Path(__file__).resolve().parents[1] / "policyengine"
POLICIES = Path(__file__).resolve().parents[1] / "policies"
TEST_POLICIES = Path(__file__).resolve().parent / "policies"


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        yield name, ast.parse(path.read_text(encoding="utf-8"), filename=name)


def _generated() -> Iterator[tuple[str, ast.Module]]:
    for region in ("tianjin", "quanzhou"):
        policy = check(POLICIES / region).policy
        assert policy is not None
        yield f"<generated {region}>", ast.parse(build_source(policy))


# ------------------------------------------------------------------ money


def _rounding(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "quantize":
            found.append(f"line {node.lineno}: .quantize")
        if isinstance(node, ast.Name | ast.alias) and str(
            getattr(node, "id", None) or getattr(node, "name", "")
        ).startswith("ROUND_HALF"):
            found.append(f"line {getattr(node, 'lineno', '?')}: a ROUND_HALF_* mode")
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) in ("Decimal", "_D")
            and [getattr(a, "value", None) for a in node.args] == ["0.01"]
        ):
            found.append(f"line {node.lineno}: Decimal('0.01')")
    return found


@pytest.mark.parametrize("source", ["package", "generated"])
def test_money_is_rounded_only_in_semantics_money(source: str) -> None:
    modules = _modules() if source == "package" else _generated()
    offenders = {
        name: found
        for name, tree in modules
        if name != "semantics/money.py" and (found := _rounding(tree))
    }
    assert offenders == {}, "round money with policyengine.semantics.money.fen"


# ------------------------------------------------------------------ claim enums and kinds

ENUMS = {
    name: frozenset(words)
    for name, words in vars(vocabulary).items()
    if name.isupper()
    and isinstance(words, tuple)
    and len(words) >= 2
    and all(isinstance(w, str) for w in words)
}
ENUMS["FINDING_KINDS"] = frozenset(vocabulary.FINDING_KINDS)


def _restatements(tree: ast.Module) -> list[str]:
    """Literal collections (tuple, list, set, Literal[...], a table's keys) of exactly one
    vocabulary enum's words. A dict whose values are computed is a record (`payers`), not a
    table of the enum, and is left alone."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            elements = node.elts
        elif isinstance(node, ast.Dict) and all(isinstance(v, ast.Constant) for v in node.values):
            elements = [k for k in node.keys if k is not None]
        else:
            continue
        words = [e.value for e in elements if isinstance(e, ast.Constant)]
        if len(words) != len(elements) or not all(isinstance(w, str) for w in words):
            continue
        for name, enum in ENUMS.items():
            if len(words) >= 2 and frozenset(words) == enum:
                found.append(f"line {node.lineno}: {name}")
    return found


def test_no_module_restates_a_vocabulary_enum() -> None:
    offenders = {
        name: found
        for name, tree in [*_modules(), *_generated()]
        if name != "semantics/vocabulary.py" and (found := _restatements(tree))
    }
    assert offenders == {}, "derive it from policyengine.semantics.vocabulary"


def test_the_scan_finds_a_restated_enum() -> None:
    planted = ast.parse(
        "RANK = {'resident': 0, 'attending': 1, 'associate_chief': 2, 'chief': 3}\n"
        "Scheme = Literal['employee', 'resident']\n"
        "payers = {'fund': fund, 'critical_illness': critical}\n"
    )
    assert _restatements(planted) == ["line 1: TITLES", "line 2: SCHEMES"]
    assert _rounding(ast.parse("x.quantize(FEN, ROUND_HALF_UP)")) == [
        "line 1: .quantize",
        "line 1: a ROUND_HALF_* mode",
    ]


def test_the_claim_enums_derive_from_their_literal_types() -> None:
    import msgspec
    from pydantic import TypeAdapter

    from policyengine.contract import claims, results, trace
    from policyengine.contract.derive import derive
    from policyengine.runtime import RANK

    (scheme,) = [
        f for f in msgspec.inspect.type_info(derive(claims.Person)).fields if f.name == "scheme"
    ]
    assert (
        scheme.type.values == vocabulary.SCHEMES == get_args(vocabulary.Scheme)
    )  # the fast path's
    assert {title: rank for rank, title in enumerate(vocabulary.TITLES)} == RANK
    assert claims.Person.model_fields["scheme"].annotation is vocabulary.Scheme
    assert trace.ItemClass is vocabulary.ItemClass
    assert results.FindingKind is vocabulary.FindingKind
    assert TypeAdapter(claims.Hospital).json_schema()["properties"]["level"]["maximum"] == 3


def test_finding_kinds_are_declared_once_and_implemented_by_both_back_ends() -> None:
    from policyengine.compile import rules as emitted
    from policyengine.interpret import rules as interpreted

    declared = set(vocabulary.FINDING_KINDS)
    assert declared == set(get_args(vocabulary.FindingKind))
    assert set(interpreted.LINE_CHECKS) == set(emitted.LINE_EMITTERS) == vocabulary.kinds_at("line")
    assert (
        set(interpreted.VISIT_CHECKS) == set(emitted.CLAIM_EMITTERS) == vocabulary.kinds_at("claim")
    )
    assert vocabulary.kinds_at("line") | vocabulary.kinds_at("claim") == declared
    for spec in vocabulary.FINDING_KINDS.values():
        assert spec.zh and spec.en and spec.level in ("line", "claim", "either")


def test_every_finding_kind_has_a_policy_case_both_back_ends_settle() -> None:
    """The YAML cases of the bundled and the test policies run on the compiled code and on the
    interpreter (the pytest plugin collects each case once per back end); a new kind comes
    with a case of its own."""
    from policyengine.policytest.cases import iter_cases

    directories = [POLICIES / "tianjin", POLICIES / "quanzhou", *TEST_POLICIES.iterdir()]
    expected = {
        finding["kind"]
        for directory in directories
        for case in iter_cases(directory)
        for finding in (case.expect or {}).get("findings") or ()
        if isinstance(finding, dict) and "kind" in finding
    }
    assert expected >= set(vocabulary.FINDING_KINDS)


def test_generated_code_imports_only_the_runtime() -> None:
    for name, tree in _generated():
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module is not None
        }
        imported |= {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        ours = {module for module in imported if module.split(".")[0] == "policyengine"}
        assert ours == {"policyengine.runtime"}, name
        assert imported - ours <= {"bisect", "datetime", "decimal"}, name


# ------------------------------------------------------------------ claim facts

POLICY = {region: check(POLICIES / region).policy for region in ("tianjin", "quanzhou")}
NAMESPACE = {region: compile_policy(p).namespace() for region, p in POLICY.items() if p}


@FUZZ
@given(claims())
def test_both_back_ends_read_every_claim_fact_alike(raw: dict[str, object]) -> None:
    """The compiled prelude (settle.PRELUDE, from each fact's `source`) and the interpreter's
    `read` give the same value for every fact of every generated claim."""
    records = load_claim(raw)
    region = str(raw["region"])
    policy = POLICY[region]
    assert policy is not None
    local = {
        **NAMESPACE[region],
        "person": records.person,
        "visit": records.visit,
        "history": records.history,
    }
    for var, source, _uses in PRELUDE:
        local[var] = eval(source, local)  # the engine's own declared source, not rule text
    for name, fact in FACTS.items():
        programmes = vocabulary.PROGRAMMES if fact.table else (None,)
        for programme in programmes:
            context = FactContext(policy.conditions, programme)
            if fact.table:
                compiled = eval(fact.source.replace("PROGRAMME", repr(programme)), local)
            else:
                compiled = local[fact.var]
            assert compiled == fact.read(records, context), (name, programme)


def test_the_facts_are_what_the_checker_and_the_classes_of_claims_use() -> None:
    from policyengine.check import conditions
    from policyengine.semantics import domain

    assert {n for n, f in FACTS.items() if f.kind == "names"} == domain.SET_KEYS
    assert not hasattr(vocabulary, "CONDITION_KEYS")
    assert conditions.FACTS is FACTS
    for fact in FACTS.values():
        assert fact.kind in ("word", "integer", "names")
        assert fact.kind != "integer" or fact.bounds is not None
        assert fact.only_when is None or fact.only_when[0] in FACTS
        assert all(use in {var for var, _s, _u in PRELUDE} for use in fact.uses)
