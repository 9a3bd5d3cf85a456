"""Clause paths index the held documents the way their numbering reads."""

from __future__ import annotations

from policyengine.clauses import index_document
from tests.support import POLICIES


def index(city: str, name: str):
    return index_document((POLICIES / city / "sources" / name).read_text(encoding="utf-8"))


def test_tianjin_2018_items_sections_and_parts() -> None:
    tj = index("tianjin", "tianjin-2018-drug-supply.md")
    quote = "对重复开药、超量开药、超禁忌症使用、重复开具诊疗项目等发生的医疗费用预警拦截"
    assert tj.contains("三(二)5", quote)
    assert tj.contains("三(二)", quote) and tj.contains("三", quote)
    assert not tj.contains("三(二)4", quote)
    assert tj.where(quote) == ["三(二)5"]
    assert tj.has("三(一)3") and not tj.has("三(二)9")


def test_quotes_tolerate_full_and_half_width_punctuation() -> None:
    tj = index("tianjin", "tianjin-2021-14th-five-year-plan.md")
    assert tj.contains("三(四)", "2022年底前,我市现行医保药品目录内非国家医保药品目录品种全部调出")
    assert tj.contains(
        "三（四）", "2022年底前，我市现行医保药品目录内非国家医保药品目录品种全部调出"
    )


def test_quanzhou_sections() -> None:
    qz = index("quanzhou", "quanzhou-fengze-2021-two-diseases.md")
    assert qz.contains("三(五)", "取消特殊门诊起付线和病种年度基金支付限额")
    assert qz.contains("三(六)", "疫情防控期间可放宽处方用药量至3个月")
    assert qz.where("严禁重复配药、超量配药等违规行为") == ["三(八)"]
