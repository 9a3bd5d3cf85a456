"""Citing documents numbered their own way, or not at all (issue 16, item 12).

The held Weihai report is numbered (一) › 1. › (1) with no `一、`; the Chengdu page 1、;
the Qingbaijiang report not at all. Every quote that ../shared/facts/weihai.md and
chengdu.md rest on is cited here against the real documents (policies/weihai/sources,
policies/chengdu/sources) in a throwaway policy that must check clean: under its clause
path and by its words alone, with the place the checker finds for it. The new diagnostics
are asserted exactly, and a quote-only citation settles and explains like a clause path.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from policyengine.check import CheckResult, check
from policyengine.diagnostics import Diagnostic
from policyengine.engine import Engine
from policyengine.explain import document as stored
from policyengine.explain import render as explain
from tests.support import EXAMPLES, POLICIES

HEADER = """\
policy city "测试市基本医疗保险" {
  uses national
  effective from 2020-01-01
    provisional "测试用起始日期"
}

source WH2020 {
  title "《关于进一步深化医药卫生体制改革的实施意见》中期评估报告"
  date  2020-02-25
  file  "sources/weihai-2020-reform-midterm-evaluation.md"
}

source CD2020 {
  title "医保报销比例"
  date  2020-12-29
  file  "sources/chengdu-2020-inpatient-ratios-webpage.md"
}

source QBJ {
  title "成都市青白江区国家组织药品集中采购和使用试点工作报告"
  file  "sources/chengdu-qingbaijiang-volume-procurement.md"
}
"""

SOURCES = [
    POLICIES / "weihai" / "sources" / "weihai-2020-reform-midterm-evaluation.md",
    POLICIES / "chengdu" / "sources" / "chengdu-2020-inpatient-ratios-webpage.md",
    POLICIES / "chengdu" / "sources" / "chengdu-qingbaijiang-volume-procurement.md",
]

# facts/weihai.md: every quote, and the clause (section, item, sub-item) that holds it.
WEIHAI = [
    ("(三)1(2)", "居民大病保险合规医疗费用的最高支付限额提高至40万元"),
    ("(三)1(2)", "分段支付比例分别提升了10%、5%"),  # twice in (三)1(2): one place
    (
        "(三)1(2)",
        "困难人员大病保险起付标准由6000元降低至5000元,取消最高支付限额,分段支付比例分别提升了10%、5%",
    ),
    ("(三)1(3)", "建档立卡贫困人口、特困人员、低保对象、贫困重度残疾人"),
    ("(三)1(4)", "一级及以下定点医疗机构不设起付标准,二级及以上定点医疗机构的起付标准为100元"),
    ("(三)1(4)", "三级中医院执行二级综合医院起付标准;二级中医院执行一级医院起付标准"),
    (
        "(三)1(4)",
        "职工个人负担比例按低一个级别医院的标准执行,居民待遇报销在同级别医院标准的基础上提高5个百分点",
    ),
    ("(三)1(3)", "统筹基金支付60%,个人负担40%"),
    ("(三)1(3)", "取消严重精神障碍患者门诊慢性病起付标准"),
    ("(三)1(3)", "乙类药品个人自付比例调整为不超过10%"),
    ("(三)1(4)", "医联体内转诊只计算首次起付线"),
]

# facts/chengdu.md: CD2020 is secondary but held (its quotes are verified), QBJ cited.
# (keyword, document, clause written or None, quote, the place found)
CHENGDU = [
    (
        "secondary",
        "CD2020",
        None,
        "乡镇卫生院、社区卫生服务中心95%,一级医院92%,二级医院90%,三级医院85%",
        "1",
    ),
    ("secondary", "CD2020", None, "年满50岁增加2%", "1"),
    ("secondary", "CD2020", None, "年满80岁增加8% 同理递增,不超过100%", "1"),
    ("secondary", "CD2020", "1", "同理递增,不超过100%", "1"),  # also in 3: named
    ("secondary", "CD2020", "1", "不超过100%", "1"),
    (
        "secondary",
        "CD2020",
        None,
        "成年高档参保人员:乡镇卫生院、社区卫生服务中心95%,一级医院87%,二级医院82%,三级医院68%",
        "2",
    ),
    (
        "secondary",
        "CD2020",
        None,
        "成年低档参保人员:乡镇卫生院、社区卫生服务中心95%,一级医院85%,二级医院75%,三级医院53%",
        "2",
    ),
    (
        "secondary",
        "CD2020",
        "2",
        "学生儿童档参保人员(含大学生):乡镇卫生院、社区卫生服务中心95%,一级医院85%,二级医院75%,三级医院60%",
        "2",
    ),
    ("cite", "QBJ", None, "鼓励医疗机构使用集中采购药品", ""),
    ("cite", "QBJ", None, "2019年", ""),  # twice, both in the unnumbered text: one place
]


def policy(tmp_path: Path, rules: str) -> Path:
    """The throwaway city: the national layer, HEADER, the three documents, `rules`."""
    shutil.copytree(POLICIES / "national", tmp_path / "national")
    city = tmp_path / "city"
    (city / "sources").mkdir(parents=True)
    for source in SOURCES:
        shutil.copy(source, city / "sources" / source.name)
    (city / "policy.policy").write_text(HEADER, encoding="utf-8")
    (city / "rules.policy").write_text(rules, encoding="utf-8")
    return city


def conditions(citations: list[str]) -> str:
    """One condition per citation: a condition carries no figure, so only the citation
    itself is checked."""
    return "".join(f"condition c{i} = I10 {c}\n" for i, c in enumerate(citations))


def checked_clean(tmp_path: Path, citations: list[str]) -> CheckResult:
    result = check(policy(tmp_path, conditions(citations)))
    assert [d.headline() for d in result.diagnostics] == []
    assert result.policy is not None
    return result


def origins(result: CheckResult, count: int) -> list[dict[str, str]]:
    assert result.policy is not None
    return [result.policy.conditions[f"c{i}"].origin.as_json() for i in range(count)]


def test_every_weihai_quote_is_cited_under_its_clause_path(tmp_path: Path) -> None:
    result = checked_clean(tmp_path, [f'cite WH2020 {path} "{q}"' for path, q in WEIHAI])
    assert [o["clause"] for o in origins(result, len(WEIHAI))] == [p for p, _q in WEIHAI]


def test_every_weihai_quote_is_cited_by_its_words_alone(tmp_path: Path) -> None:
    result = checked_clean(tmp_path, [f'cite WH2020 "{q}"' for _p, q in WEIHAI])
    found = origins(result, len(WEIHAI))
    assert [o["clause"] for o in found] == [p for p, _q in WEIHAI]
    assert [o["quote"] for o in found] == [q for _p, q in WEIHAI]
    assert {o["provenance"] for o in found} == {"cited"}


def test_every_chengdu_quote_is_cited(tmp_path: Path) -> None:
    citations = [
        f'{keyword} {doc} {clause or ""} "{quote}"'.replace("  ", " ")
        for keyword, doc, clause, quote, _place in CHENGDU
    ]
    found = origins(checked_clean(tmp_path, citations), len(CHENGDU))
    assert [o.get("clause", "") for o in found] == [c[4] for c in CHENGDU]
    assert [o["provenance"] for o in found] == [
        "secondary" if c[0] == "secondary" else "cited" for c in CHENGDU
    ]
    assert found[-2] == {
        "doc": "成都市青白江区国家组织药品集中采购和使用试点工作报告",
        "quote": "鼓励医疗机构使用集中采购药品",
        "provenance": "cited",
    }


# ------------------------------------------------------------------ diagnostics


def only(tmp_path: Path, citation: str) -> tuple[str, str, str, str | None]:
    result = check(policy(tmp_path, f"condition c = I10\n  {citation}\n"))
    assert len(result.diagnostics) == 1, [d.headline() for d in result.diagnostics]
    found: Diagnostic = result.diagnostics[0]
    return found.code, str(found.span), found.message, found.hint


def test_a_path_numbered_otherwise_names_the_clause_that_has_the_quote(tmp_path: Path) -> None:
    assert only(tmp_path, 'cite WH2020 三(二)5 "医联体内转诊只计算首次起付线"') == (
        "C003",
        "city/rules.policy:2:3",
        "`WH2020` has no clause 三(二)5",
        "the quote is in (三)1(4)",
    )


def test_a_path_numbered_otherwise_shows_the_numbering_and_nearby_paths(tmp_path: Path) -> None:
    assert only(tmp_path, 'cite WH2020 三(二)5 "医保报销全部免费"') == (
        "C003",
        "city/rules.policy:2:3",
        "`WH2020` has no clause 三(二)5",
        "`WH2020` is numbered (一) › 1. › (1); near 三(二)5: (二)2, (二)1",
    )


def test_a_missing_sub_item(tmp_path: Path) -> None:
    # (四)1 goes from (1) to (3): there is no (四)1(2)
    assert only(tmp_path, 'cite WH2020 (四)1(2) "医保报销全部免费"') == (
        "C003",
        "city/rules.policy:2:3",
        "`WH2020` has no clause (四)1(2)",
        "`WH2020` is numbered (一) › 1. › (1); near (四)1(2): (四)1(1), (四)1(3), (四)1(4)",
    )


def test_a_path_into_an_unnumbered_document(tmp_path: Path) -> None:
    assert only(tmp_path, 'cite QBJ 一 "鼓励医疗机构使用集中采购药品"') == (
        "C003",
        "city/rules.policy:2:3",
        "`QBJ` has no clause 一",
        'the quote is in the unnumbered text: cite it by its words alone, `cite QBJ "…"`',
    )
    assert only(tmp_path / "nowhere", 'cite QBJ 一 "取消起付线"') == (
        "C003",
        "city/rules.policy:2:3",
        "`QBJ` has no clause 一",
        '`QBJ` has no numbered clauses: cite it by its words alone, `cite QBJ "…"`',
    )


def test_a_quote_from_the_unnumbered_opening_under_a_path(tmp_path: Path) -> None:
    assert only(tmp_path, 'cite WH2020 (一) "市委、市政府高度重视医改工作"') == (
        "C004",
        "city/rules.policy:2:3",
        "quote not found in WH2020 (一): “市委、市政府高度重视医改工作”",
        'the quote is in the unnumbered text: cite it by its words alone, `cite WH2020 "…"`',
    )


def test_a_quote_in_two_places_must_name_its_clause(tmp_path: Path) -> None:
    assert only(tmp_path, 'secondary CD2020 "同理递增,不超过100%"') == (
        "C008",
        "city/rules.policy:2:3",
        "the quote is in more than one place of CD2020: 1, 3",
        "quote more of the words around it, or name the clause: `secondary CD2020 1 …`",
    )


def test_a_quote_in_numbered_and_unnumbered_text(tmp_path: Path) -> None:
    assert only(tmp_path, 'cite WH2020 "看病贵"') == (
        "C008",
        "city/rules.policy:2:3",
        "the quote is in more than one place of WH2020: the unnumbered text, (四)1(1)",
        "quote more of the words around it, or name the clause: `cite WH2020 (四)1(1) …`",
    )


def test_a_quote_alone_not_found_shows_the_nearest_passage_and_the_difference(
    tmp_path: Path,
) -> None:
    assert only(tmp_path, 'cite WH2020 "居民大病保险合规医疗费用的最高支付限额提高至50万元"') == (
        "C004",
        "city/rules.policy:2:3",
        "quote not found in WH2020: “居民大病保险合规医疗费用的最高支付限额提高至50万元”",
        "the document has “居民大病保险合规医疗费用的最高支付限额提高至40万元”: "
        "the quote has “5” for “4”",
    )


def test_a_quote_alone_not_found_at_all(tmp_path: Path) -> None:
    assert only(tmp_path, 'secondary CD2020 "住院不设起付线"') == (
        "C004",
        "city/rules.policy:2:3",
        "quote not found in CD2020: “住院不设起付线”",
        "quote the document's words exactly",
    )


def test_an_empty_quote_verifies_nothing(tmp_path: Path) -> None:
    assert only(tmp_path, 'cite WH2020 (三)1(2) " "') == (
        "C004",
        "city/rules.policy:2:3",
        "the quote of WH2020 (三)1(2) is empty",
        "quote the words of the document that state it",
    )


def test_secondary_of_a_held_page_without_its_words(tmp_path: Path) -> None:
    assert only(tmp_path, "secondary CD2020") == (
        "C006",
        "city/rules.policy:2:3",
        "`CD2020` is held: quote its words",
        'write `cite CD2020 CLAUSE "quote"` or `cite CD2020 "quote"` '
        '(`secondary CD2020 "quote"` if it is no official text)',
    )


@pytest.mark.parametrize(
    ("citation", "column", "found"),
    [
        (
            'cite WH2020 (三)1.(2) "医联体内转诊只计算首次起付线"',
            19,
            'unexpected `.`; expected a quoted string "…"',
        ),
        (
            'secondary CD2020 2、 "成年高档参保人员"',
            21,
            'unexpected character `、`; expected `{`, `}`, a name, a quoted string "…"',
        ),
    ],
)
def test_a_heading_punctuation_in_a_clause_path(
    tmp_path: Path, citation: str, column: int, found: str
) -> None:
    assert only(tmp_path, citation) == (
        "P001",
        f"city/rules.policy:2:{column}",
        found,
        "a clause path leaves out the headings' punctuation: "
        "`2` for 2、, `(三)1(2)` for (三) › 1. › (2)",
    )


# ------------------------------------------------------------------ settle and explain


@pytest.fixture(scope="module")
def settled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Tianjin as bundled, and Tianjin with every `cite TJ14 一(一) "…"` written as
    `cite TJ14 "…"` and its outpatient cap for residents from 2019 as a secondary quote of
    the Chengdu page: each settles the example claims with their traces."""
    root = tmp_path_factory.mktemp("quoted")
    shutil.copytree(POLICIES / "national", root / "national")
    shutil.copytree(POLICIES / "tianjin", root / "tianjin", ignore=shutil.ignore_patterns("tests"))
    shutil.copy(SOURCES[1], root / "tianjin" / "sources" / SOURCES[1].name)
    (root / "tianjin" / "chengdu.policy").write_text(
        'source CD2020 {\n  title "医保报销比例"\n'
        '  file "sources/chengdu-2020-inpatient-ratios-webpage.md"\n}\n',
        encoding="utf-8",
    )
    for rules in (root / "tianjin").glob("*.policy"):
        text = rules.read_text(encoding="utf-8").replace('cite TJ14 一(一) "', 'cite TJ14 "')
        rules.write_text(text, encoding="utf-8")
    benefits = root / "tianjin" / "benefits.policy"
    resident_cap = (
        '=> 4000 元 from 2019-01-01\n    cite TJ14 "居民医保门诊最高支付限额由3000元提高至4000元"'
    )
    text = benefits.read_text(encoding="utf-8")
    assert resident_cap in text
    benefits.write_text(
        text.replace(
            resident_cap, '=> 4000 元 from 2019-01-01\n    secondary CD2020 "成年高档参保人员"'
        ),
        encoding="utf-8",
    )
    outpatient = json.loads((EXAMPLES / "claim.json").read_text(encoding="utf-8"))
    outpatient["person"]["scheme"] = "resident"
    outpatient["person"].pop("status", None)
    claims = {
        "inpatient": json.loads((EXAMPLES / "claim-inpatient.json").read_text(encoding="utf-8")),
        "resident outpatient": outpatient,
    }
    out = {}
    for name, engine in (("bundled", Engine.load()), ("quoted", Engine.load(root / "tianjin"))):
        for case, claim in claims.items():
            out[f"{name} {case}"] = stored.trace_document(claim, engine.settle(claim, trace=True))
    return out


def test_a_quote_alone_settles_and_explains_as_its_clause_path(settled: dict[str, dict]) -> None:
    inpatient = settled["quoted inpatient"]
    assert inpatient == settled["bundled inpatient"]
    sources = [step.get("source") or {} for step in inpatient["result"]["trace"]]
    assert {"doc": "天津市医疗保障发展“十四五”规划", "clause": "一(一)"} in [
        {k: s[k] for k in ("doc", "clause") if k in s} for s in sources
    ]
    text = explain.render_text(explain.build(inpatient["claim"], inpatient["result"], "zh"))
    assert "天津市医疗保障发展“十四五”规划 一(一)「" in text


def test_a_secondary_quote_of_a_held_page_carries_the_place_found(
    settled: dict[str, dict],
) -> None:
    claim = settled["quoted resident outpatient"]
    caps = [
        s for s in claim["result"]["trace"] if (s.get("source") or {}).get("doc") == "医保报销比例"
    ]
    assert caps and caps[0]["source"] == {
        "doc": "医保报销比例",
        "clause": "2",
        "quote": "成年高档参保人员",
        "provenance": "secondary",
    }
    text = explain.render_text(explain.build(claim["claim"], claim["result"], "en"))
    assert "医保报销比例 2「成年高档参保人员」" in text
