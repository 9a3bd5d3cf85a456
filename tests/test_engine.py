"""The Python API: Engine.load / adjudicate, its errors, caching and thread safety."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import getcontext, localcontext
from pathlib import Path

import pytest

from policyengine import Engine
from policyengine.contract.claims import ClaimRejected, load_claim
from policyengine.contract.results import Result, ResultDict
from policyengine.errors import NotInForce, PolicyInvalid, PolicyNotFound
from tests.support import POLICIES, claim, example_claim


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def test_bundled_regions(engine: Engine) -> None:
    assert engine.regions == ("chengdu", "quanzhou", "tianjin", "weihai")


def test_the_spec_example_settles_as_the_spec_shows(engine: Engine) -> None:
    result = engine.adjudicate(example_claim())
    assert isinstance(result, Result)
    assert result.decision == "partial"
    assert result.policy.version == "2023-01-01"
    totals = result.totals
    assert (totals.billed, totals.denied, totals.covered, totals.deductible) == (
        "3.68",
        "1.68",
        "2.00",
        "2.00",
    )
    assert (totals.payers.fund, totals.payers.critical_illness, totals.patient) == (
        "0.00",
        "0.00",
        "2.00",
    )
    finding = result.findings[0]
    assert (finding.id, finding.kind, finding.action, finding.line) == (
        "F1",
        "duplicate_dispensing",
        "reject",
        1,
    )
    assert finding.source.doc == "津政办发〔2018〕4号" and finding.source.clause == "三(二)5"
    assert result.lines[0].findings == ["F1"]
    assert any("tolerance 3 days" in note for note in result.provisional)


def test_accepts_dict_json_text_and_model(engine: Engine) -> None:
    data = example_claim()
    from_dict = engine.settle(data)
    assert engine.settle(json.dumps(data)) == from_dict
    assert engine.settle(load_claim(data)) == from_dict
    assert json.loads(engine.adjudicate_json(json.dumps(data))) == from_dict


def test_as_of_applies_another_dates_rules(engine: Engine) -> None:
    data = claim()  # employee working, outpatient, level 3, 1000.00 covered
    now = engine.settle(data)
    then = engine.settle(data, as_of=dt.date(2018, 6, 30))
    assert now["policy"]["version"] == "2023-01-01"
    assert then["policy"] == {"region": "tianjin", "version": "2014-07-01", "as_of": "2018-06-30"}
    assert then["totals"]["payers"]["fund"] == now["totals"]["payers"]["fund"] == "110.00"


def test_errors_are_typed(engine: Engine) -> None:
    with pytest.raises(ClaimRejected):
        engine.adjudicate({"id": "x"})
    with pytest.raises(PolicyNotFound, match="no policy for region `shanghai`"):
        engine.adjudicate(claim(region="shanghai"))
    old = claim()
    old["visit"] = {**old["visit"], "date": "2013-12-31"}
    old["person"] = {**old["person"], "birth_date": "1960-01-01"}
    with pytest.raises(NotInForce, match="in force from 2014-01-01; no rules for 2013-12-31"):
        engine.adjudicate(old)
    unnamed = claim()
    del unnamed["region"]
    with pytest.raises(ClaimRejected) as raised:
        engine.adjudicate(unnamed)
    assert raised.value.errors[0].path == "region"
    assert engine.settle(unnamed, region="tianjin")["policy"]["region"] == "tianjin"


def test_money_does_not_depend_on_the_callers_decimal_context(engine: Engine) -> None:
    data = claim()
    data["items"][0].update(unit_price="123456.79", amount="123456.79")
    expected = engine.settle(data)
    with localcontext() as context:
        context.prec = 4
        assert engine.settle(data) == expected
        assert getcontext() is context  # the caller's own, back: after a refusal too
        with pytest.raises(ClaimRejected):
            engine.settle({"id": "refused"})
        assert getcontext() is context
        assert context.prec == 4
    assert getcontext().prec == 28


def test_threads_share_one_engine(engine: Engine) -> None:
    claims = [claim(id=f"C{i}") for i in range(40)]
    for i, data in enumerate(claims):
        amount = f"{100 + i}.00"
        data["items"][0].update(unit_price=amount, amount=amount)
    serial = [engine.settle(c) for c in claims]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(engine.settle, claims))
    assert parallel == serial


def test_load_a_single_policy_directory_and_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copytree(POLICIES / "national", tmp_path / "policies" / "national")
    shutil.copytree(
        POLICIES / "tianjin",
        tmp_path / "policies" / "tianjin",
        ignore=shutil.ignore_patterns("tests"),
    )
    first = Engine.load(tmp_path / "policies" / "tianjin")
    assert first.regions == ("tianjin",) and not first.policy("tianjin").cached
    second = Engine.load(tmp_path / "policies" / "tianjin")
    assert second.policy("tianjin").cached
    # an edit to a rule file invalidates the cache: the new figure is used
    benefits = tmp_path / "policies" / "tianjin" / "benefits.policy"
    benefits.write_text(
        benefits.read_text(encoding="utf-8").replace("=> 800 元", "=> 900 元"), encoding="utf-8"
    )
    third = Engine.load(tmp_path / "policies" / "tianjin")
    assert not third.policy("tianjin").cached
    assert third.settle(claim())["totals"]["deductible"] == "900.00"


def test_a_warm_load_imports_neither_the_parser_nor_the_checker(tmp_path: Path) -> None:
    """What makes a cached load fast in a fresh process: only the runtime is imported, not the
    parser, the AST, the checker or the compiler."""
    script = (
        "import sys; from policyengine import Engine; Engine.load(); "
        "print(sorted(m for m in sys.modules if m == 'lark' or m.startswith("
        "('policyengine.check', 'policyengine.compile', 'policyengine.parse',"
        " 'policyengine.nodes', 'policyengine.ir'))))"
    )
    env = {**os.environ, "POLICYENGINE_CACHE_DIR": str(tmp_path / "cache")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs[0] != "[]"  # the first load compiled, so the test can see a difference
    assert runs[1] == "[]"


def test_the_interpreted_back_end_settles_with_the_reference_interpreter(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policyengine.interpret import evaluator

    calls: list[str] = []
    settle = evaluator.Run.settle

    def counted(run: evaluator.Run) -> ResultDict:
        calls.append(run.claim.id)
        return settle(run)

    monkeypatch.setattr(evaluator.Run, "settle", counted)
    interpreted = Engine.load(backend="interpreted")
    assert (engine.backend, interpreted.backend) == ("compiled", "interpreted")
    assert interpreted.regions == engine.regions
    claim = example_claim()
    for moment in ("before", "during", "after"):
        assert interpreted.settle(claim, moment=moment, trace=True) == engine.settle(
            claim, moment=moment, trace=True
        )
    assert calls == [claim["id"]] * 3  # the interpreter settled; the compiled engine did not
    assert interpreted.policy("tianjin").inventory == engine.policy("tianjin").inventory
    # batch --resume must not continue a batch on the other back end
    assert interpreted.fingerprint() != engine.fingerprint()
    with pytest.raises(NotInForce):
        interpreted.settle(claim, as_of="2001-01-01")
    with pytest.raises(ValueError, match="backend must be one of compiled, interpreted"):
        Engine.load(backend="fast")  # type: ignore[arg-type]


def test_an_invalid_policy_is_refused_with_its_first_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", "")
    shutil.copytree(POLICIES / "national", tmp_path / "national")
    shutil.copytree(
        POLICIES / "tianjin", tmp_path / "tianjin", ignore=shutil.ignore_patterns("tests")
    )
    benefits = tmp_path / "tianjin" / "benefits.policy"
    benefits.write_text(
        benefits.read_text(encoding="utf-8").replace("=> 800 元", "=> 800 元 + 7 days"),
        encoding="utf-8",
    )
    with pytest.raises(PolicyInvalid, match=r"cannot add money \(元\) and days"):
        Engine.load(tmp_path / "tianjin")


def test_compact_output_is_the_standard_librarys(engine: Engine) -> None:
    from policyengine.engine import dumps

    result = engine.settle(example_claim(), trace=True)
    assert dumps(result) == json.dumps(result, ensure_ascii=False, separators=(",", ":"))


def _settled_claims() -> list[dict[str, object]]:
    """Claims with findings, several lines and both visit types (examples/)."""
    examples = Path(__file__).parent.parent / "examples"
    lines = (examples / "claims.jsonl").read_text(encoding="utf-8").splitlines()
    return [example_claim(), *(json.loads(line) for line in lines if line.strip())]


@pytest.mark.parametrize("trace", [False, True])
def test_adjudicate_is_the_validated_result_without_validating_it(
    engine: Engine, trace: bool
) -> None:
    """adjudicate() builds its Result's parts from the engine's output only when they are
    read (issue 19.1): whatever is read or done first, the result is the model pydantic
    validates from the same output — fields, equality, JSON, repr, copies, pickling."""
    import copy
    import pickle

    from pydantic import BaseModel

    class Stored(BaseModel):  # a result inside another model, dumped by pydantic-core
        result: Result

    uses: dict[str, Callable[[Result, Result], bool]] = {
        "equality": lambda r, v: r == v and v == r,
        "fields": lambda r, v: (
            (r.lines, r.totals, r.findings, r.trace, r.policy)
            == (v.lines, v.totals, v.findings, v.trace, v.policy)
        ),
        "json": lambda r, v: r.model_dump_json() == v.model_dump_json(),
        "to_json": lambda r, v: r.to_json() == v.to_json(),
        "repr": lambda r, v: repr(r) == repr(v),
        "iteration": lambda r, v: list(r) == list(v),
        "copy": lambda r, v: copy.copy(r) == v and copy.deepcopy(r) == v,
        "pickle": lambda r, v: pickle.loads(pickle.dumps(r)) == v,
        "nested": lambda r, v: Stored(result=r).model_dump() == Stored(result=v).model_dump(),
    }
    for data in _settled_claims():
        validated = Result.model_validate(engine.settle(data, trace=trace))
        for use, agrees in uses.items():
            result = engine.adjudicate(data, trace=trace)
            assert isinstance(result, Result)
            assert agrees(result, validated), use
            assert result.__dict__ == validated.__dict__, use  # complete once it was compared
    one = engine.adjudicate(example_claim())
    assert one.decision == "partial" and "lines" not in one.__dict__  # built when first read
    assert one.lines == Result.model_validate(engine.settle(example_claim())).lines
