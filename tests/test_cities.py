"""The third and fourth bundled cities (issue 16): Weihai and Chengdu settle generated claims
on both back ends alike, explain them in both languages, batch and diff like the first two,
and the generator reads what it needs (the contribution tiers) from the policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policyengine.cli.main import main
from policyengine.engine import Engine
from policyengine.explain import render as explain
from policyengine.tools.generate import generate

CITIES = ("weihai", "chengdu")


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    return {backend: Engine.load(backend=backend) for backend in ("compiled", "interpreted")}


def _tiers(engine: Engine, region: str) -> tuple[str, ...]:
    return engine.policy(region).tiers


@pytest.mark.parametrize("region", CITIES)
def test_generated_claims_settle_alike_on_both_back_ends(
    engines: dict[str, Engine], region: str
) -> None:
    compiled, interpreted = engines["compiled"], engines["interpreted"]
    claims = list(generate(region, 25, seed=5, year=2023, tiers=_tiers(compiled, region)))
    assert claims
    for claim in claims:
        result = compiled.settle(claim, trace=True)
        assert result == interpreted.settle(claim, trace=True), claim["id"]
        assert result["policy"]["region"] == region


def test_the_generator_draws_the_tiers_the_policy_declares(engines: dict[str, Engine]) -> None:
    engine = engines["compiled"]
    assert set(_tiers(engine, "chengdu")) == {"high", "low", "student"}
    assert _tiers(engine, "weihai") == ()
    persons = {
        c["person"]["id"]: c["person"]
        for c in generate("chengdu", 40, seed=3, tiers=_tiers(engine, "chengdu"))
    }
    residents = [p for p in persons.values() if p["scheme"] == "resident"]
    assert residents and all(p["tier"] in {"high", "low", "student"} for p in residents)
    assert all("tier" not in p for p in persons.values() if p["scheme"] == "employee")
    assert all("tier" not in c["person"] for c in generate("weihai", 40, seed=3))


@pytest.mark.parametrize("region", CITIES)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_explained_in_both_languages(engines: dict[str, Engine], region: str, lang: str) -> None:
    engine = engines["compiled"]
    claim = next(
        c
        for c in generate(region, 30, seed=2, year=2023, tiers=_tiers(engine, region))
        if c["visit"]["type"] == "inpatient"
    )
    result = engine.settle(claim, trace=True)
    words = engine.policy(region).words()
    text = explain.render_text(explain.build(claim, result, lang, words), width=100, color=False)
    assert f"{region}/benefits.policy:" in text  # each step names its rule
    title = {"weihai": ("威海", "Weihai"), "chengdu": ("成都", "Chengdu")}[region]
    assert title[0 if lang == "zh" else 1] in text.splitlines()[0]


def test_generate_names_the_bundled_regions_when_the_region_is_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["generate", "--region", "national", "--persons", "1", "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert "not a bundled region (regions: chengdu, quanzhou, tianjin, weihai)" in err


def test_weihai_reported_measures_batch_and_diff(tmp_path: Path) -> None:
    """Batch and diff Weihai across the date its reported measures start (2019-01-01)."""
    claims = tmp_path / "weihai.jsonl"
    assert main(["generate", "--region", "weihai", "--persons", "60", "--seed", "7",
                 "-o", str(claims)]) == 0  # fmt: skip
    results = tmp_path / "results.jsonl"
    assert main(["batch", str(claims), "-o", str(results)]) in (0, 1)
    settled = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert settled and all("error" not in r for r in settled)
    report = tmp_path / "diff.json"
    assert main(["diff", "--policy", "policies/weihai", "--base-as-of", "2018-12-31",
                 "--as-of", "2019-01-01", str(claims), "--format", "json",
                 "-o", str(report)]) in (0, 1)  # fmt: skip
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["claims"]["errors"] == {"base": 0, "amended": 0}
    assert data["claims"]["changed"] > 0
    rules = {entry["rule"] for entry in data["attribution"]["by_rule"]}
    assert any(rule.startswith("weihai/") for rule in rules)
