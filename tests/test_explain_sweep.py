"""`explain` on everything a year can bring: every claim of a generated year of each city
(each person's year settled with its ledger, as batch settles it), every visit type, both
languages, all three formats — without an error, and each account naming every rule its
trace names. Quanzhou's year is the 2021 reform's, whose special-outpatient limits are
cancelled from 2021-11-25 (explain once failed on them with `KeyError: 'conditions'`).

The default run explains a few persons per city and year; POLICYENGINE_FUZZ_EXAMPLES (e.g.
5000) explains more: persons = examples // 20.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any

import pytest

from policyengine.contract.fastclaim import Claim
from policyengine.contract.steps import read_steps, step_rules
from policyengine.engine import Engine
from policyengine.explain import document as stored
from policyengine.explain import render as explain
from policyengine.ledger import settle_person
from policyengine.semantics.vocabulary import VISITS
from policyengine.tools.generate import generate

YEARS = (
    ("tianjin", 2018),
    ("tianjin", 2024),
    ("quanzhou", 2021),
    ("quanzhou", 2024),
    ("weihai", 2024),
    ("chengdu", 2024),
)
PERSONS = max(8, int(os.environ.get("POLICYENGINE_FUZZ_EXAMPLES", "100")) // 20)
SEED = 12  # a seed whose 8 persons per year reach every visit type of Tianjin and Quanzhou


@pytest.fixture(scope="module")
def settled() -> list[tuple[dict[str, Any], Any]]:
    """(raw claim, traced result) of every claim of the generated years."""
    engine = Engine.load()
    out: list[tuple[dict[str, Any], Any]] = []
    for region, year in YEARS:
        persons: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for index, raw in enumerate(generate(region, PERSONS, seed=SEED, year=year)):
            persons[raw["person"]["id"]].append((index, raw))
        for claims in persons.values():
            raws = dict(claims)

            def settle(record: Claim, raws: dict[int, Any] = raws) -> Any:
                return engine.settle(record, trace=True)

            for done in settle_person(
                claims, settle, rules_of=lambda c: engine.ledger_rules(c.region)
            ):
                assert done.error is None, done.error
                out.append((raws[done.index], done.result))
    return out


def test_the_sweep_reaches_every_visit_type_of_both_cities(settled: list[Any]) -> None:
    for region in ("tianjin", "quanzhou"):
        visits = {raw["visit"]["type"] for raw, result in settled if raw["region"] == region}
        assert visits == set(VISITS), region
    cancelled = [
        result
        for _raw, result in settled
        if (limit := read_steps(result).limit) is not None and limit["figures"]["limit"] is None
    ]
    assert cancelled, "no claim met the cancelled special-outpatient limits"
    # Chengdu's employees of 50 and over: the age uplift read from the claim's facts, the
    # adjustments summed at most 100% (the trace's derivation and combination, rendered)
    combined = [
        ratio
        for _raw, result in settled
        if (ratio := read_steps(result).ratio) is not None and "combination" in ratio["figures"]
    ]
    assert any("derivation" in a for r in combined for a in r["figures"]["adjustments"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_claim_is_explained_in_every_format(settled: list[Any], lang: str) -> None:
    engine = Engine.load()
    for raw, result in settled:
        words = engine.policy(raw["region"]).words()
        doc = explain.build(raw, result, lang, words)
        text = explain.render_text(doc, width=100, color=False)
        markdown = explain.render_markdown(doc)
        steps = [s for s in read_steps(result).all if s["step"] != "policy"]  # the header
        for rule in {r for step in steps for r in step_rules(step)}:
            assert rule in text and rule in markdown, (result["claim_id"], rule)
        document = stored.trace_document(raw, result, words)
        document = json.loads(json.dumps(document, ensure_ascii=False))
        claim, again = stored.check_document(document)
        assert again == result and claim == raw
