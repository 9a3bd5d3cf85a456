"""Clause paths index the held documents the way their numbering reads."""

from __future__ import annotations

from policyengine.clauses import canonical, index_document, is_clause_path
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


def test_weihai_is_numbered_by_section_item_and_sub_item() -> None:
    wh = index("weihai", "weihai-2020-reform-midterm-evaluation.md")
    assert wh.numbering == ["(一)", "1.", "(1)"]
    assert wh.order[:6] == ["(一)", "(一)1", "(一)1(1)", "(一)1(2)", "(一)1(3)", "(一)2"]
    assert wh.has("(三)1(2)") and wh.has("（三）1（2）") and not wh.has("三(二)")
    # (四)1 skips (2): its sub-items are (1), (3), (4)
    assert wh.children["(四)1"] == ["(四)1(1)", "(四)1(3)", "(四)1(4)"]
    assert wh.heading("(三)1(4)") == "(4)医保支付方式改革持续推进。"
    quote = "医联体内转诊只计算首次起付线"
    assert wh.contains("(三)1(4)", quote) and wh.contains("(三)", quote)
    assert not wh.contains("(三)1(3)", quote) and not wh.contains("(三)2", quote)
    assert wh.where(quote) == ["(三)1(4)"]


def test_a_web_page_numbered_1_2_3() -> None:
    cd = index("chengdu", "chengdu-2020-inpatient-ratios-webpage.md")
    assert cd.numbering == ["1、"] and cd.order == ["1", "2", "3"]
    # the same words under 1、 and 3、: two places; a quote over a line break: one
    assert cd.locate("同理递增,不超过100%") == ["1", "3"]
    assert cd.locate("年满80岁增加8%\n同理递增") == ["1"]
    # the page's title is only in the HTML comment on where the copy came from
    assert cd.locate("cd4120.com") == [] and cd.locate("医保报销比例") == ["3"]


def test_an_unnumbered_report_has_no_clauses() -> None:
    qbj = index("chengdu", "chengdu-qingbaijiang-volume-procurement.md")
    assert qbj.order == [] and qbj.numbering == []
    assert qbj.locate("鼓励医疗机构使用集中采购药品") == [""]
    assert qbj.where("鼓励医疗机构使用集中采购药品") == []


def test_a_number_opening_a_line_is_no_heading() -> None:
    tj = index("tianjin", "tianjin-2021-14th-five-year-plan.md")  # a table: 1164.11万人 …
    assert not any(path.endswith(("1164", "10", "26")) for path in tj.order)
    assert tj.numbering == ["一、", "(一)"]


def test_styles_nest_in_the_order_the_document_first_uses_them() -> None:
    text = "前言\n(1)甲项\n1.甲项之一\n2.甲项之二\n(2)乙项\n①乙项之一\n"
    doc = index_document(text)
    assert doc.numbering == ["(1)", "1.", "①"]
    assert doc.order == ["(1)", "(1)1", "(1)2", "(2)", "(2)①"]
    assert doc.locate("前言") == [""] and doc.locate("乙项之一") == ["(2)①"]


def test_chapters_articles_and_markdown_headings() -> None:
    text = "# 第一章 总则\n第一条 目的。\n第二章 待遇\n## 第二条 起付线\n（一）门诊800元。\n"
    doc = index_document(text)
    assert doc.order == ["第一章", "第一章第一条", "第二章", "第二章第二条", "第二章第二条(一)"]
    assert doc.resolve("第二条(一)") == "第二章第二条(一)"  # an article without its chapter
    assert doc.contains("第二条", "门诊800元")


def test_nearby_paths_and_the_passage_nearest_a_quote() -> None:
    wh = index("weihai", "weihai-2020-reform-midterm-evaluation.md")
    assert wh.nearby("三(二)5") == ["(二)2", "(二)1"]  # 三 is no style of this document
    assert wh.nearby("(三)1") == ["(三)1", "(三)1(1)", "(三)1(2)", "(三)1(3)", "(三)1(4)"]
    assert wh.nearby("(九)", shown=2) == ["(五)", "(四)"]
    assert (
        wh.closest("居民大病保险合规医疗费用的最高支付限额提高至50万元", "(三)1(2)")
        == "居民大病保险合规医疗费用的最高支付限额提高至40万元"
    )
    # the first words differ: still found, by the longest run the passage shares
    assert wh.closest("城镇大病保险合规医疗费用的最高支付限额提高至40万元") == (
        "居民大病保险合规医疗费用的最高支付限额提高至40万元"
    )
    assert wh.closest("与本文无关的一句话") == ""


def test_clause_paths() -> None:
    assert [is_clause_path(p) for p in ("三(二)5", "(二)2(2)", "2", "第三章第十九条", "1①")] == [
        True
    ] * 5
    assert not is_clause_path("(三)1.(2)") and not is_clause_path("")
    assert canonical("（三）１（２）") == "(三)1(2)" and canonical("①") == "①"
