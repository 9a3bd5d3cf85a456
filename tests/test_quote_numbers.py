"""Chinese numerals (check/numerals.py) and the numbers a quote states (check/quoted.py).

The numeral parser is checked against an independent renderer: any integer written out in
Chinese numerals — standard form, with 两, with or without the 一 of a leading 十, in the
financial characters — parses back to itself.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import FUZZ

from policyengine.check import numerals
from policyengine.check.quoted import numbers_in, plain_number

DIGITS = "零一二三四五六七八九"
FINANCIAL = "零壹贰叁肆伍陆柒捌玖"
SMALL = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
FINANCIAL_UNITS = {"千": "仟", "百": "佰", "十": "拾"}


def render(
    number: int, *, liang: bool = False, bare_ten: bool = True, financial: bool = False
) -> str:
    """`number` in Chinese numerals, written independently of the parser: sections of four
    digits joined by 万 and 亿, one 零 for each run of skipped places."""
    if number == 0:
        return "零"
    digits = FINANCIAL if financial else DIGITS

    def section(value: int, big: str) -> str:
        out, gap = "", False
        for place, unit in SMALL:
            d = value // place % 10
            if d == 0:
                gap = gap or bool(out)
                continue
            if gap:
                out, gap = out + "零", False
            two = liang and d == 2 and not out and (unit or big) in ("千", "百", "万", "亿")
            written = FINANCIAL_UNITS.get(unit, unit) if financial else unit
            out += ("两" if two else digits[d]) + written
        return out

    def grouped(value: int) -> str:
        out, gap = "", False
        parts = ((value // 10**8, "亿"), (value // 10**4 % 10**4, "万"), (value % 10**4, ""))
        for part, big in parts:
            if part == 0:
                gap = gap or bool(out)
                continue
            if out and (gap or part < 1000):
                out += "零"
            out += (grouped(part) if part >= 10**4 else section(part, big)) + big
            gap = False
        return out

    text = grouped(number)
    ten = digits[1] + ("拾" if financial else "十")
    if bare_ten and text.startswith(ten):
        text = text[1:]  # 十五, not 一十五, at the start
    return text


# ------------------------------------------------------------------ the numeral parser


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("零", "0"),
        ("三", "3"),
        ("十", "10"),
        ("十五", "15"),
        ("一十五", "15"),
        ("二十", "20"),
        ("一百零五", "105"),
        ("一百一十", "110"),
        ("一千零五十", "1050"),
        ("两万", "20000"),
        ("两百五", "250"),
        ("三千五", "3500"),
        ("一万五千", "15000"),
        ("一万五", "15000"),
        ("一万零五", "10005"),
        ("十万", "100000"),
        ("三十五万", "350000"),
        ("一亿二千万", "120000000"),
        ("一亿五", "150000000"),
        ("一亿零五百万", "105000000"),
        ("一万亿", "1000000000000"),
        ("二〇二一", "2021"),
        ("三点五", "3.5"),
        ("零点零五", "0.05"),
        ("壹仟贰佰", "1200"),
        ("贰拾", "20"),
    ],
)
def test_numerals(text: str, value: str) -> None:
    assert numerals.parse(text) == Decimal(value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "万",
        "百",
        "一万万",
        "一千零",
        "一千零零五",
        "五十五十",
        "十四五",
        "一百十",
        "三点",
        "点五",
        "两二",
    ],
)
def test_not_numerals(text: str) -> None:
    assert numerals.parse(text) is None


def test_the_renderer_writes_what_people_write() -> None:
    """The test's own renderer, checked on forms from policy documents."""
    assert render(15) == "十五"
    assert render(105) == "一百零五"
    assert render(1050) == "一千零五十"
    assert render(10005) == "一万零五"
    assert render(15000) == "一万五千"
    assert render(100500) == "十万零五百"
    assert render(350000) == "三十五万"
    assert render(100010000) == "一亿零一万"
    assert render(105000000) == "一亿零五百万"
    assert render(1000000000000) == "一万亿"
    assert render(220000, liang=True) == "二十二万"
    assert render(2200, liang=True) == "两千二百"
    assert render(1200, financial=True, bare_ten=False) == "壹仟贰佰"


@FUZZ
@given(
    st.integers(min_value=0, max_value=10**16 - 1),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_any_integer_written_in_chinese_parses_back(
    number: int, liang: bool, bare_ten: bool, financial: bool
) -> None:
    text = render(number, liang=liang, bare_ten=bare_ten, financial=financial)
    assert numerals.parse(text) == number, text


@FUZZ
@given(st.integers(min_value=0, max_value=10**8), st.text("0123456789", min_size=1, max_size=4))
def test_decimals_parse_back(whole: int, decimals: str) -> None:
    text = render(whole) + "点" + "".join(DIGITS[int(d)] for d in decimals).replace("零", "〇")
    assert numerals.parse(text) == Decimal(f"{whole}.{decimals}")


@FUZZ
@given(st.text(alphabet="".join(sorted(numerals.CHARACTERS)) + "元个", max_size=30))
def test_any_run_of_numeral_characters_parses_or_is_refused(text: str) -> None:
    value = numerals.parse(text)
    assert value is None or value >= 0


def _longest_by_trying_every_prefix(text: str) -> tuple[Decimal, int] | None:
    for length in range(len(text), 0, -1):
        value = numerals.parse(text[:length])
        if value is not None:
            return value, length
    return None


@FUZZ
@given(
    st.text(alphabet="".join(sorted(numerals.CHARACTERS)), max_size=14)
    | st.text(alphabet="一二两三十百千万亿零点五", max_size=14)
    | st.builds(
        lambda number, tail: render(number) + tail,
        st.integers(min_value=0, max_value=10**12),
        st.text(alphabet="一十百千万亿零点", max_size=4),
    )
)
def test_the_longest_numeral_is_never_cut_short(text: str) -> None:
    """`longest_prefix` tries only the prefixes `_viable` allows: the same answer as
    trying every prefix."""
    assert numerals.longest_prefix(text) == _longest_by_trying_every_prefix(text)


# ------------------------------------------------------------------ numbers in quotes


def kinds(quote: str) -> list[tuple[str, str]]:
    return [(number.kind, plain_number(number.value)) for number in numbers_in(quote)]


@pytest.mark.parametrize(
    ("quote", "numbers"),
    [
        (
            "职工医保门诊最高支付限额由5500元提高至7500元",
            [("money", "5500"), ("money", "7500")],
        ),
        ("最高支付限额由35万元调至45万元", [("money", "350000"), ("money", "450000")]),
        ("起付标准为一万五千元", [("money", "15000")]),
        ("起付标准为1.5万元", [("money", "15000")]),
        ("起付标准为1,500元", [("money", "1500")]),
        ("支付比例提高至60%", [("ratio", "0.6")]),
        ("支付比例为百分之六十", [("ratio", "0.6")]),
        ("支付比例为６０％", [("ratio", "0.6")]),
        ("提高十个百分点", [("points", "0.1")]),
        ("提高10百分点", [("points", "0.1")]),
        (
            "三级医院提高10个百分点、二级医院提高5个百分点",
            [
                ("count", "3"),
                ("points", "0.1"),
                ("count", "2"),
                ("points", "0.05"),
            ],
        ),
        ("分段支付比例分别提升了10%、5%", [("ratio", "0.1"), ("ratio", "0.05")]),
        ("分别提高10、5个百分点", [("points", "0.1"), ("points", "0.05")]),
        ("可开具2至3个月用药量", [("months", "2"), ("months", "3")]),
        ("5至10万元", [("money", "50000"), ("money", "100000")]),
        ("可放宽处方用药量至三个月", [("months", "3")]),
        ("处方一般不得超过7日用量", [("days", "7")]),
        ("不超过七天", [("days", "7")]),
        ("2周内", [("weeks", "2")]),
        ("60周岁以上", [("age", "60")]),
        ("第十九条", [("count", "19")]),
        ("2021年11月25日起施行", [("years", "2021"), ("date", "11"), ("date", "25")]),
        ("2022年底前全部调出", [("years", "2022")]),
        ("共3", [("count", "3")]),
    ],
)
def test_numbers_in_quotes(quote: str, numbers: list[tuple[str, str]]) -> None:
    assert kinds(quote) == numbers


@pytest.mark.parametrize(
    "quote",
    [
        "天津市医疗保障发展“十四五”规划",
        "对病情稳定的“两病”患者",
        "千方百计,统一规范,进一步加强",
        "一是完善待遇保障机制",
        "加大对困难人群的倾斜支付力度",
    ],
)
def test_chinese_numerals_inside_words_are_not_numbers(quote: str) -> None:
    assert numbers_in(quote) == ()


def test_what_the_quote_shows() -> None:
    shown = [n.shown for n in numbers_in("由35万元调至45万元,提高10、5个百分点,三个月,7500元")]
    assert shown == [
        "35万元 (350000元)",
        "45万元 (450000元)",
        "10 (10个百分点)",
        "5个百分点",
        "三个月 (3个月)",
        "7500元",
    ]


@FUZZ
@given(st.integers(min_value=1, max_value=10**7), st.sampled_from(["元", "%", "个百分点", "天"]))
def test_a_number_written_either_way_is_the_same(number: int, unit: str) -> None:
    chinese, arabic = numbers_in(f"由{render(number)}{unit}调至{number}{unit}")
    assert chinese.value == arabic.value and chinese.kind == arabic.kind


def test_a_long_quote_is_read_in_linear_time() -> None:
    """Over-long numerals and digit strings are not amounts; reading them stays linear."""
    quote = "十百" * 20_000 + "一" * 40_000 + "1" * 40_000 + ",共7500元"
    assert [n.shown for n in numbers_in(quote)] == ["7500元"]
