"""policyengine diff: constructed cases whose answer is known by hand.

Tianjin employee (working) outpatient at a level-3 hospital: deductible 800, ratio 55%,
annual cap 7,500 (5,500 before 2019). Resident inpatient: first-admission deductible
300/500/800 by level; ratio 80/70/60% before 2019, +0/+5/+10 points from 2019-01-01.

Each constructed diff runs on both back ends (the amended policies settled by the compiled code
and by the reference interpreter) and the two reports must be identical.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policyengine.cli.main import main
from policyengine.diff.chart import render_svg
from policyengine.diff.compare import DiffOptions, run_diff
from policyengine.diff.render import render_markdown, render_table
from policyengine.diff.schema import diff_schema, validate
from policyengine.diff.source import Version
from policyengine.engine import Engine
from policyengine.prepared import BACKENDS
from tests.support import POLICIES, first_difference

TIANJIN = POLICIES / "tianjin"
QUANZHOU = POLICIES / "quanzhou"
BENEFITS = "tianjin/benefits.policy"
DEDUCTIBLE_ROW = f"{BENEFITS}:8"  # employee working outpatient deductible 800 元
RATIO_ROW = f"{BENEFITS}:43"  # employee working outpatient ratio 65% / 60% / 55%
CAP_ROW = f"{BENEFITS}:85"  # employee outpatient cap 7500 元 from 2019-01-01
RESIDENT_RATIO_ROW = f"{BENEFITS}:65"  # resident inpatient base + uplift from 2019-01-01


def _row_of(file: str, start: str) -> str:
    """`tianjin/file.policy:N` of the line starting (after its indent) with `start`."""
    lines = (POLICIES / file).read_text(encoding="utf-8").splitlines()
    return f"{file}:{next(i for i, t in enumerate(lines, 1) if t.strip().startswith(start))}"


# from 2019-01-01 (found by its words: fmt and the number check move the rows of that file)
EMPLOYEE_SECOND_LAYER = _row_of("tianjin/critical_illness.policy", "employee: when scheme employee")


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compile each policy (bundled and the edited copies) once for the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLICYENGINE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


# ------------------------------------------------------------------ helpers


def edited(root: Path, *edits: tuple[str, str], git: bool = False) -> Path:
    """A copy of Tianjin (with the national layer) under root/, with text edits in its
    benefits, audit or catalogue files; with git=True the unedited copy is committed first."""
    for name in ("tianjin", "national"):
        shutil.copytree(POLICIES / name, root / name, ignore=shutil.ignore_patterns("tests"))
    if git:
        for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "base"]):
            subprocess.run(
                ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
                cwd=root,
                check=True,
            )
    for old, new in edits:
        for name in ("tianjin/benefits.policy", "tianjin/audit.policy", "national/catalogue.csv"):
            path = root / name
            text = path.read_text(encoding="utf-8")
            if old in text:
                path.write_text(text.replace(old, new, 1), encoding="utf-8")
                break
        else:
            raise AssertionError(f"{old!r} not found")
    return root / "tianjin"


DEDUCTIBLE_700 = (
    "when scheme employee, status working => 800 元",
    "when scheme employee, status working => 700 元",
)
RATIO_60 = ("by level 65% / 60% / 55%", "by level 65% / 60% / 60%")
# A hypothetical amendment: no document states 9000 元, so the row is no longer cited (the
# checker refuses a cited figure its quote does not state, C007).
CAP_9000 = (
    "when scheme employee => 7500 元 from 2019-01-01\n"
    '    cite TJ14 一(一) "职工医保门诊最高支付限额由5500元提高至7500元"',
    'when scheme employee => 9000 元 from 2019-01-01\n    provisional "假设的限额调整(测试)"',
)
CT_SELFPAY_20 = ("X线计算机体层(CT)平扫,,service,B,0.10,", "X线计算机体层(CT)平扫,,service,B,0.20,")
BED_CAP_50 = ("普通病房床位费,,bed,A,,60.00,", "普通病房床位费,,bed,A,,50.00,")
BANDED_RATIO = (
    "when scheme employee, status working => by level 65% / 60% / 55%",
    "when scheme employee, status working => bands {\n"
    "      band 0 元 to 1000 元 at 50%\n      band above 1000 元 at 70%\n    }",
)
SUPPLY_5 = ("when visit outpatient         => 7 days", "when visit outpatient         => 5 days")


def claim(
    cid: str,
    person: str,
    date: str,
    items: list[dict[str, Any]],
    *,
    visit: str = "outpatient",
    scheme: str = "employee",
    level: int = 3,
    region: str = "tianjin",
    history: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        **({"history": history} if history else {}),
        "id": cid,
        "region": region,
        "person": {
            "id": person,
            "scheme": scheme,
            **({"status": "working"} if scheme == "employee" else {}),
            "birth_date": "1970-01-01",
            "sex": "male",
            "groups": [],
            "certifications": [],
        },
        "visit": {
            "type": visit,
            "date": date,
            "hospital": {"id": "H1", "level": level, "kind": "general"},
            "doctor": {"id": "D1", "title": "attending"},
            "diagnoses": ["J20.900"],
        },
        "items": [{"line": n, **item} for n, item in enumerate(items, start=1)],
    }


def consult(amount: str) -> dict[str, Any]:
    """普通门诊诊查费: 甲类, no payment standard — the whole amount is covered."""
    return {
        "code": "001101000010000",
        "kind": "service",
        "quantity": "1",
        "unit_price": amount,
        "amount": amount,
    }


def metformin(days: int) -> dict[str, Any]:
    return {
        "code": "XA10BAE054A001010001005",
        "kind": "drug",
        "quantity": "100",
        "unit_price": "1.00",
        "amount": "100.00",
        "days_supply": days,
    }


def write(path: Path, claims: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in claims), "utf-8")
    return path


def diff(
    tmp_path: Path,
    claims: list[dict[str, Any]],
    base: Path,
    amended: Path,
    base_as_of: str | None = None,
    as_of: str | None = None,
) -> dict[str, Any]:
    reports = []
    for backend in BACKENDS:  # the amended policies settle alike on both back ends
        engine = Engine.load(amended, backend=backend)
        base_engine = engine if base == amended else Engine.load(base, backend=backend)
        reports.append(
            run_diff(
                Version(base_engine, base_as_of, str(base)),
                Version(engine, as_of, str(amended)),
                DiffOptions(write(tmp_path / "claims.jsonl", claims)),
            )
        )
    report, reference = reports
    assert report == reference, first_difference(reference, report, "report")
    validate(report)
    assert report["attribution"]["reconciled"]
    assert report["attribution"]["not_decomposed"]["claims"] == 0
    return report


def rows(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    """by rule: rule location (or `ledger:step`) → change."""
    return {
        row["rule"] or f"{row['kind']}:{row['step']}": row["change"]
        for row in report["attribution"]["by_rule"]
    }


def total(report: dict[str, Any], measure: str) -> dict[str, str]:
    return next(row for row in report["totals"] if row["measure"] == measure)


# the engine's English words, none of which the Chinese report may show
ENGLISH = (
    *("Totals", "Change by", "Largest", "claims", "persons", "attributed", "fund", "ledger"),
    *("as of", " at ", " to ", "above", "below", "unchanged", "version", "applies"),
    *("citation", "settled", "entry", "standard", "proportion", "provisional", "secondary"),
    *("unexplained", "line buckets", "cap", "deductible"),
)


def english_in_chinese(report: dict[str, Any]) -> list[str]:
    """The engine's English words left in the Chinese table and markdown of `report`, once the
    policy's own names are taken out: the rules' locations, what the rule files call them and
    the findings they make, the claims file, the policy directories and refs, and the engine's
    error messages (English everywhere)."""
    own = [report["input"]]
    for side in ("base", "amended"):
        own += [report[side]["policy"], report[side]["ref"] or report[side]["policy"]]
    for row in report["attribution"]["by_rule"]:
        own += [row["rule"] or "", row["what"] if row["what"] != "catalogue entry" else ""]
        own += [row["detail"] if row["detail"] and " " not in row["detail"] else ""]
    own += [e["message"] for e in report["one_version_errors"]]
    shown = render_table(report, width=140, lang="zh") + render_markdown(report, "zh")
    for name in sorted(filter(None, own), key=len, reverse=True):
        shown = shown.replace(name, "")
    return [word for word in ENGLISH if word in shown]


# ------------------------------------------------------------------ one figure, two figures


@pytest.fixture(scope="module")
def deductible_700(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tianjin with the employee outpatient deductible 800 → 700, in a git repository whose
    HEAD holds the unedited policies."""
    return edited(tmp_path_factory.mktemp("repo"), DEDUCTIBLE_700, git=True)


def test_one_changed_figure_moves_the_hand_computed_money_to_its_row(
    tmp_path: Path, deductible_700: Path
) -> None:
    claims = [
        # 1000 covered: fund (1000 − 800) × 55% = 110.00 → (1000 − 700) × 55% = 165.00
        claim("A", "P1", "2024-03-05", [consult("1000.00")]),
        # 500 then 1000: the second claim has 300 (→ 200) of the deductible left:
        # 700 × 55% = 385.00 → 800 × 55% = 440.00; the first pays nothing either way
        claim("B1", "P2", "2024-01-10", [consult("500.00")]),
        claim("B2", "P2", "2024-02-10", [consult("1000.00")]),
        # a resident is not touched by the employee deductible
        claim("C", "P3", "2024-03-05", [consult("1000.00")], scheme="resident"),
    ]
    report = diff(tmp_path, claims, TIANJIN, deductible_700)
    assert total(report, "fund")["change"] == "110.00"
    assert total(report, "patient")["change"] == "-110.00"
    assert rows(report) == {
        DEDUCTIBLE_ROW: {
            "fund": "110.00",
            "critical_illness": "0.00",
            "payers": "110.00",
            "patient": "-110.00",
            "denied": "0.00",
        }
    }
    (row,) = report["attribution"]["by_rule"]
    assert row["step"] == "deductible" and row["claims"] == 2 and row["version"] == "amended"
    assert row["what"] == "deductible outpatient (scheme employee, status working)"
    (clause,) = report["attribution"]["by_clause"]
    assert clause["rules"] == [DEDUCTIBLE_ROW] and clause["provenance"] == "provisional"
    assert clause["note"] == "职工在职门诊起付线:所持文件未载"
    assert report["claims"]["changed"] == 2 and report["persons"]["changed"] == 2
    assert [e["claim_id"] for e in report["largest"]] == ["A", "B2"]
    assert [e["change"]["fund"] for e in report["largest"]] == ["55.00", "55.00"]


def test_two_changes_in_one_claim_sum_exactly(tmp_path: Path) -> None:
    amended = edited(tmp_path / "policies", DEDUCTIBLE_700, RATIO_60)
    # 1000 covered: 200 × 55% = 110.00 → 300 × 60% = 180.00. In settlement order the
    # deductible first: 300 × 55% = 165.00 (+55.00), then the ratio: 180.00 (+15.00).
    report = diff(
        tmp_path, [claim("A", "P1", "2024-03-05", [consult("1000.00")])], TIANJIN, amended
    )
    changes = rows(report)
    assert changes[DEDUCTIBLE_ROW]["fund"] == "55.00"
    assert changes[RATIO_ROW]["fund"] == "15.00"
    assert set(changes) == {DEDUCTIBLE_ROW, RATIO_ROW}
    assert total(report, "fund")["change"] == report["attribution"]["total"]["fund"] == "70.00"


# ------------------------------------------------------------------ the ledger


def test_a_january_cap_change_reaches_later_claims_through_the_ledger(tmp_path: Path) -> None:
    amended = edited(tmp_path / "policies", CAP_9000)
    claims = [
        # January: 15345.45 covered, (15345.45 − 800) × 55% = 8000.00: capped at 7500.00
        # under the base, paid in full under the 9000 cap: +500.00 to the cap row
        claim("JAN", "P1", "2024-01-15", [consult("15345.45")]),
        # March: 3000 × 55% = 1650.00. Base: nothing left (7500 − 7500). Amended: the cap
        # row gives 9000 − 7500 = 1500 (+1500.00), but January used 500 more of the year's
        # cap, leaving 1000 (−500.00 carried over by the ledger)
        claim("MAR", "P1", "2024-03-15", [consult("3000.00")]),
    ]
    report = diff(tmp_path, claims, TIANJIN, amended)
    changes = rows(report)
    assert changes[CAP_ROW]["fund"] == "2000.00"
    assert changes["ledger:cap_paid"]["fund"] == "-500.00"
    assert set(changes) == {CAP_ROW, "ledger:cap_paid"}
    assert total(report, "fund")["change"] == "1500.00"  # 8000 + 1000 − 7500 − 0
    ledger = next(r for r in report["attribution"]["by_rule"] if r["kind"] == "ledger")
    assert ledger["label"].startswith("carried over from earlier claims of the year (ledger)")
    assert ledger["claims"] == 1
    march = next(e for e in report["largest"] if e["claim_id"] == "MAR")
    assert march["change"]["fund"] == "1000.00"
    assert {(b["rule"], b["payers"]) for b in march["because"]} == {
        (CAP_ROW, "1500.00"),
        (None, "-500.00"),
    }


def test_a_denied_line_goes_to_its_audit_rule_and_its_dispensing_history_to_the_ledger(
    tmp_path: Path,
) -> None:
    amended = edited(tmp_path / "policies", SUPPLY_5)
    claims = [
        # 6 days of metformin: allowed at 7 days, denied at 5. Covered 1100 → 1000:
        # fund 300 × 55% = 165.00 → 200 × 55% = 110.00; denied +100.00
        claim("A", "P1", "2024-01-10", [consult("1000.00"), metformin(6)]),
        # the next day 5 days of metformin: under the base, 5 days of January's supply are
        # left (> 3 days' tolerance): denied as duplicate dispensing. Under the amended
        # rules January's line was denied, so nothing was dispensed: paid, 100 × 55% = 55.00
        claim("B", "P1", "2024-01-11", [metformin(5)]),
    ]
    report = diff(tmp_path, claims, TIANJIN, amended)
    by_rule = {r["rule"] or f"{r['kind']}:{r['step']}": r for r in report["attribution"]["by_rule"]}
    audit = by_rule["tianjin/audit.policy:11"]
    assert (audit["step"], audit["detail"]) == ("lines", "excess_supply")
    assert audit["change"]["fund"] == "-55.00" and audit["change"]["denied"] == "100.00"
    assert audit["source"]["clause"] == "三(二)5"
    ledger = by_rule["ledger:lines"]
    assert ledger["change"]["fund"] == "55.00" and ledger["change"]["denied"] == "-100.00"
    assert set(by_rule) == {"tianjin/audit.policy:11", "ledger:lines"}
    assert english_in_chinese(report) == []
    assert total(report, "fund")["change"] == "0.00"


def test_catalogue_changes_go_to_the_entry_line_by_line(tmp_path: Path) -> None:
    amended = edited(tmp_path / "policies", CT_SELFPAY_20, BED_CAP_50)
    ct = {
        "code": "002102000010000",
        "kind": "service",
        "quantity": "1",
        "unit_price": "300.00",
        "amount": "300.00",
    }
    bed = {
        "code": "001103000010000",
        "kind": "bed",
        "quantity": "20",
        "unit_price": "80.00",
        "amount": "1600.00",
    }
    # covered 1000 + 270 (CT, 10% pre-self-pay) + 1200 (bed, 20 × 60 payment standard) = 2470:
    # fund 1670 × 55% = 918.50. The CT at 20%: 240 covered → 1640 × 55% = 902.00 (−16.50);
    # then the bed at 20 × 50: 1000 covered → 1440 × 55% = 792.00 (−110.00)
    report = diff(
        tmp_path, [claim("A", "P1", "2024-03-05", [consult("1000.00"), ct, bed])], TIANJIN, amended
    )
    by_rule = {r["detail"]: r for r in report["attribution"]["by_rule"]}
    selfpay = by_rule["pre-self-pay proportion of 002102000010000"]
    assert selfpay["rule"] == "national/catalogue.csv:29" and selfpay["change"]["fund"] == "-16.50"
    price = by_rule["payment standard (price cap) of 001103000010000"]
    assert price["change"]["fund"] == "-110.00" and price["change"]["patient"] == "110.00"
    assert len(by_rule) == 2 and total(report, "fund")["change"] == "-126.50"
    assert english_in_chinese(report) == []
    markdown = render_markdown(report, "zh")
    assert (
        "001103000010000 的支付标准(限价)" in markdown
        and "002102000010000 的先行自付比例" in markdown
    )


def test_a_banded_ratio_is_not_decomposed_and_says_so(tmp_path: Path) -> None:
    amended = edited(tmp_path / "policies", BANDED_RATIO, DEDUCTIBLE_700)
    # 2800 covered: 2000 × 55% = 1100.00 → (2100: 1000 × 50% + 1100 × 70%) = 1270.00.
    # A banded ratio cannot be recomputed from the trace's figures, so the whole +170.00
    # goes to the first differing step (the deductible), with a note
    claims = [claim("A", "P1", "2024-03-05", [consult("2800.00")])]
    engine = Engine.load(amended)
    report = run_diff(
        Version(Engine.load(TIANJIN), None, "base"),
        Version(engine, None, "amended"),
        DiffOptions(write(tmp_path / "claims.jsonl", claims)),
    )
    validate(report)
    attribution = report["attribution"]
    assert attribution["reconciled"] and attribution["not_decomposed"]["claims"] == 1
    (note,) = attribution["not_decomposed"]["examples"]
    assert note["claim_id"] == "A" and "a banded ratio" in note["note"]
    assert rows(report) == {
        DEDUCTIBLE_ROW: {
            "fund": "170.00",
            "critical_illness": "0.00",
            "payers": "170.00",
            "patient": "-170.00",
            "denied": "0.00",
        }
    }
    assert "not decomposed" in render_table(report)


# ------------------------------------------------------------------ date mode, bundled


def test_date_mode_across_2019_on_the_bundled_tianjin(tmp_path: Path) -> None:
    claims = [
        # employee outpatient, (20000 − 800) × 55% = 10560.00: capped 5500 → 7500
        claim("CAP", "P1", "2024-03-05", [consult("20000.00")]),
        # resident inpatient, level 3: (10000 − 800) × 60% = 5520.00 → × 70% = 6440.00
        claim(
            "R3", "P2", "2024-03-05", [consult("10000.00")], visit="inpatient", scheme="resident"
        ),
        # resident inpatient, level 2: (10000 − 500) × 70% = 6650.00 → × 75% = 7125.00
        claim(
            "R2",
            "P3",
            "2024-03-05",
            [consult("10000.00")],
            visit="inpatient",
            scheme="resident",
            level=2,
        ),
        # employee inpatient with 40000 of self-burden already this year: (10000 − 1300) ×
        # 85% = 7395.00 from the fund either way; from 2019 the employees' second layer
        # (none before) pays 60% of the 2605.00 left above its 30000 threshold: 1563.00.
        # The base has no second-layer step, but S is the same history under both: all of
        # it is the new schedule's, none the ledger's
        claim(
            "CI",
            "P4",
            "2024-03-05",
            [consult("10000.00")],
            visit="inpatient",
            history={"self_burden": {"inpatient": "40000.00"}},
        ),
    ]
    report = diff(tmp_path, claims, TIANJIN, TIANJIN, "2018-12-31", "2019-01-01")
    changes = rows(report)
    assert changes[CAP_ROW]["fund"] == "2000.00"
    assert changes[RESIDENT_RATIO_ROW]["fund"] == "1395.00"  # 920 + 475
    assert changes[EMPLOYEE_SECOND_LAYER]["critical_illness"] == "1563.00"
    assert set(changes) == {CAP_ROW, RESIDENT_RATIO_ROW, EMPLOYEE_SECOND_LAYER}
    assert total(report, "fund")["change"] == "3395.00"
    assert total(report, "critical_illness")["change"] == "1563.00"
    clauses = {c["quote"]: c for c in report["attribution"]["by_clause"]}
    assert clauses["职工医保门诊最高支付限额由5500元提高至7500元"]["change"]["fund"] == "2000.00"
    ratio = clauses["居民医保住院报销比例三级医院提高10个百分点、二级医院提高5个百分点"]
    assert ratio["change"]["fund"] == "1395.00" and ratio["claims"] == 2
    assert ratio["doc"] == "天津市医疗保障发展“十四五”规划" and ratio["clause"] == "一(一)"
    assert report["base"]["as_of"] == "2018-12-31" and report["amended"]["as_of"] == "2019-01-01"


def test_claims_settled_under_one_version_only_are_their_own_part(tmp_path: Path) -> None:
    # Quanzhou's rules start 2014-01-01: nothing settles as of 2013-06-30
    claims = [claim("Q", "P1", "2024-03-05", [consult("1000.00")], region="quanzhou")]
    report = diff(tmp_path, claims, QUANZHOU, QUANZHOU, "2013-06-30", "2019-06-30")
    (row,) = report["attribution"]["by_rule"]
    assert row["kind"] == "one_version" and row["change"]["fund"] == total(report, "fund")["change"]
    assert report["claims"]["errors"] == {"base": 1, "amended": 0}
    (error,) = report["one_version_errors"]
    assert (error["claim_id"], error["failed_under"], error["error"]) == ("Q", "base", "NotInForce")
    assert english_in_chinese(report) == []
    assert "仅在修改后版本下结算" in render_table(report, width=140, lang="zh")


# ------------------------------------------------------------------ the command


def test_a_git_ref_base_is_exported_without_touching_the_working_tree(
    tmp_path: Path, deductible_700: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = write(tmp_path / "c.jsonl", [claim("A", "P1", "2024-03-05", [consult("1000.00")])])
    before = (deductible_700 / "benefits.policy").read_text(encoding="utf-8")
    code = main(
        [
            "diff",
            "--base",
            "HEAD",
            "--policy",
            str(deductible_700),
            str(claims),
            "--format",
            "json",
            "--no-progress",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    validate(report)
    assert report["base"]["ref"] == "HEAD" and report["base"]["policy"] == "tianjin"
    assert english_in_chinese(report) == []
    assert "tianjin(git 版本 HEAD)" in render_markdown(report, "zh")
    assert rows(report) == {
        DEDUCTIBLE_ROW: {
            "fund": "55.00",
            "critical_illness": "0.00",
            "payers": "55.00",
            "patient": "-55.00",
            "denied": "0.00",
        }
    }
    assert (deductible_700 / "benefits.policy").read_text(encoding="utf-8") == before
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=deductible_700,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status.strip() == "M tianjin/benefits.policy"
    # a name that is neither a directory nor a ref
    assert (
        main(["diff", "--base", "no-such-ref", "--policy", str(deductible_700), str(claims)]) == 2
    )
    assert "not a git ref" in capsys.readouterr().err


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A year of generated claims, Tianjin as of 2018-12-31 and 2019-01-01."""
    from policyengine.tools.generate import generate

    tmp = tmp_path_factory.mktemp("generated")
    path = write(tmp / "claims.jsonl", list(generate("tianjin", 60, seed=11)))
    engine = Engine.load(TIANJIN)
    report = run_diff(
        Version(engine, "2018-12-31", "policies/tianjin"),
        Version(engine, "2019-01-01", "policies/tianjin"),
        DiffOptions(path),
    )
    validate(report)
    return report


def test_generated_claims_reconcile_and_every_part_is_named(report: dict[str, Any]) -> None:
    attribution = report["attribution"]
    assert attribution["reconciled"] and attribution["not_decomposed"]["claims"] == 0
    assert report["claims"]["changed"] > 0 and report["persons"]["changed"] > 0
    assert sum(Decimal(r["change"]["payers"]) for r in attribution["by_rule"]) == Decimal(
        total(report, "payers")["change"]
    )
    assert sum(Decimal(r["change"]["payers"]) for r in attribution["by_clause"]) == Decimal(
        total(report, "payers")["change"]
    )
    assert all(r["rule"] or r["kind"] == "ledger" for r in attribution["by_rule"])
    persons = report["distribution"]["persons"]
    assert sum(b["count"] for b in persons["histogram"]) == persons["changed"]
    assert sum(b["count"] for b in persons["bands"]) == persons["changed"]


def test_the_report_in_chinese(report: dict[str, Any]) -> None:
    # `diff --lang zh`: every heading, column and sentence of the table and markdown in
    # Chinese (diff/words.py); rules, clauses and figures as they are
    english = ("Totals", "Change by", "Largest", "claims", "persons", "attributed", "fund")
    table = render_table(report, width=140, lang="zh")
    markdown = render_markdown(report, "zh")
    for shown in (table, markdown):
        for heading in ("合计", "按规则", "按条款", "变化最大的理赔", "归因:统筹基金"):
            assert heading in shown
        assert "各部分之和恰等于合计的变化" in shown and RESIDENT_RATIO_ROW in shown
        plain = shown.replace(RESIDENT_RATIO_ROW, "").replace(report["input"], "")
        assert not [word for word in english if word in plain], plain
    assert "| 规则 | 步骤 | 理赔 | 统筹基金 | 大病保险 | 个人负担 |" in markdown
    assert english_in_chinese(report) == []
    assert "policies/tianjin,按 2019-01-01 施行的规则" in markdown and " 至 " in markdown
    for english_word, chinese in words_zh().items():
        assert chinese and english_word != chinese


def words_zh() -> dict[str, str]:
    from policyengine.diff.words import ZH

    return ZH


def test_table_markdown_json_and_chart(report: dict[str, Any]) -> None:
    table = render_table(report, width=140)
    for heading in ("Totals", "Change by rule", "Change by clause", "Largest changes"):
        assert heading in table
    assert RESIDENT_RATIO_ROW in table and "the parts sum exactly" in table
    markdown = render_markdown(report)
    for heading in ("## Totals", "## Change by rule", "## Change by clause", "## Largest changes"):
        assert heading in markdown
    assert "| rule | step | claims | fund | critical illness | patients |" in markdown
    assert f"`{RESIDENT_RATIO_ROW}`" in markdown
    schema = diff_schema()
    assert schema["$id"].endswith("/diff/1") and "attribution" in schema["required"]
    assert validate(json.loads(json.dumps(report)))["schema"] == "policyengine.diff/1"
    broken = json.loads(json.dumps(report))
    broken["totals"][0]["change"] = "12"
    with pytest.raises(ValueError, match="pattern"):
        validate(broken)
    svg = ET.fromstring(render_svg(report))
    bars = [
        e for e in svg.iter("{http://www.w3.org/2000/svg}rect") if e.find("{*}title") is not None
    ]
    assert (
        bars
        and sum(int(b.find("{*}title").text.split(": ")[1].split()[0]) for b in bars)
        == (  # type: ignore[union-attr]
            report["persons"]["changed"]
        )
    )


def test_the_command_in_date_mode_with_table_and_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = write(tmp_path / "c.jsonl", [claim("CAP", "P1", "2024-03-05", [consult("20000.00")])])
    chart = tmp_path / "per-person.svg"
    cap_rise = ["diff", "--policy", str(TIANJIN), "--base-as-of", "2018-12-31"]
    cap_rise += ["--as-of", "2019-01-01", str(claims), "--no-progress"]
    code = main([*cap_rise, "--chart", str(chart)])
    out = capsys.readouterr().out
    assert code == 0
    assert CAP_ROW in out and "+2,000.00" in out
    assert ET.parse(chart).getroot().tag.endswith("svg")
    markdown = tmp_path / "report.md"
    assert main([*cap_rise, "--format", "markdown", "-o", str(markdown)]) == 0
    assert "## Change by clause" in markdown.read_text(encoding="utf-8")
    # nothing to compare, and a chart format we do not write
    assert main(["diff", "--policy", str(TIANJIN), str(claims)]) == 2
    assert (
        main(
            [
                "diff",
                "--policy",
                str(TIANJIN),
                "--base-as-of",
                "2018-12-31",
                str(claims),
                "--chart",
                str(tmp_path / "x.png"),
            ]
        )
        == 2
    )
    assert main(["diff", "--schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"].startswith("policyengine diff report")
