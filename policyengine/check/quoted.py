"""The numbers a quote states, each with its unit: what a cited figure is checked against.

A quote is read as the citation check compares it (NFKC, white space removed, so `６０％`
is `60%`). A number is written in Arabic digits (`7500`, `1,500`, `0.5`, `35万`) or in
Chinese numerals (`三`, `十五`, `一万五千`, numerals.py), and takes its unit from the word
that follows it:

    元                    money, in 元 (35万元 = 350,000 元)
    %  百分之N             a ratio (60% = 0.6)
    个百分点  百分点        percentage points (10个百分点 = 0.10)
    天  日                days (日 after 月 is a date: 11月25日)
    个月                  months; 周, 个星期 weeks; 年 years; 岁 周岁 ages; N月 a month of a date
    个 次 级 种 …         a count (三级医院 = 3)

A number without a unit takes the unit of the next number of a list or range (`10、5个百分点`,
`2至3个月`, `5至10万元` = 50,000–100,000 元). Arabic digits without any unit are counts;
Chinese numerals without a unit are words (统一, 两病, 十四五), not numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from policyengine.check import numerals
from policyengine.clauses import normalise

# Units, longest first where one begins another (个月 before 个, 周岁 before 周).
UNITS: tuple[tuple[str, str], ...] = (
    ("个百分点", "points"),
    ("百分点", "points"),
    ("%", "ratio"),
    ("元", "money"),
    ("个月", "months"),
    ("个星期", "weeks"),
    ("星期", "weeks"),
    ("周岁", "age"),
    ("周", "weeks"),
    ("天", "days"),
    ("日", "days"),
    ("月", "date"),
    ("年", "years"),
    ("岁", "age"),
)
# Measure words after which a number is a count (三级医院, 第十九条, 两种).
CLASSIFIERS = frozenset("个次种项类级档段倍人名家所张条款批期轮件盒片支剂床位例户套台份")
# Between the numbers of a list or a range.
SEPARATORS = frozenset({"、", "至", "到", "-", "~", "–", "—", "或", "和", "与", "及", "/"})
UNIT_WORDS = {
    "money": "元",
    "ratio": "%",
    "points": "个百分点",
    "days": "天",
    "months": "个月",
    "weeks": "周",
    "years": "年",
    "age": "岁",
    "date": "",
    "count": "",
}
_SCALES = {"十": 10, "百": 100, "千": 1000, "万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_NUMERAL_CLASS = "".join(sorted(numerals.CHARACTERS))
# Longer digit strings and numeral runs are not amounts; bounding what one match may take
# keeps reading a quote linear in its length.
MAX_DIGITS = 30
MAX_NUMERAL_CHARS = 24
_NUMBER = re.compile(
    r"(?P<percent_of>百分之)?"
    r"(?:(?P<arabic>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<scale>(?:[十百千万萬亿億](?!分)){0,3})"
    rf"|(?P<chinese>(?:(?!百分)[{_NUMERAL_CLASS}]){{1,{MAX_NUMERAL_CHARS}}}))"
)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class QuotedNumber:
    """A number of a quote: its value in the unit's base (元, a fraction for % and
    points, days, …), the kind of unit, and the words the quote uses for it."""

    value: Decimal
    kind: str  # money, ratio, points, days, months, weeks, years, age, date or count
    text: str  # as the quote writes it: "35万元", "三个月", or "10" of "10、5个百分点"
    plain: bool  # Arabic digits with their own unit and no 万: the text says it all

    @property
    def shown(self) -> str:
        """The words of the quote, with the number they mean where that is not plain."""
        return self.text if self.plain else f"{self.text} ({self.canonical})"

    @property
    def canonical(self) -> str:
        amount = self.value * HUNDRED if self.kind in ("ratio", "points") else self.value
        return plain_number(amount) + UNIT_WORDS[self.kind]


@dataclass
class _Token:
    start: int
    end: int  # after the unit, if any
    number: Decimal
    scale: int  # the 万 or 亿 the number ends with (passed on to a list's earlier numbers)
    kind: str | None
    unit: str  # the unit word as written
    arabic: bool
    own_scale: bool
    percent_of: bool


def numbers_in(quote: str) -> tuple[QuotedNumber, ...]:
    """Every number `quote` states, in order."""
    text = normalise(quote)
    tokens = _tokens(text)
    _share_units(text, tokens)
    out = []
    for token in tokens:
        if token.kind is None and not token.arabic:
            continue  # a Chinese numeral inside a word
        kind = token.kind or "count"
        value = token.number / HUNDRED if kind in ("ratio", "points") else token.number
        plain = token.arabic and not token.own_scale and token.unit != "" and not token.percent_of
        out.append(QuotedNumber(value, kind, text[token.start : token.end], plain))
    return tuple(out)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while (match := _NUMBER.search(text, position)) is not None:
        found = _number(match)
        if found is None:  # past all of an over-long digit string, else one character on
            position = match.end() if match["arabic"] is not None else match.start() + 1
            continue
        number, length, scale, own_scale = found
        end = match.start() + length
        if match["percent_of"]:
            kind: str | None = "ratio"
            unit = "百分之"
        else:
            kind, unit = _unit(text, end, match.start())
        tokens.append(
            _Token(
                match.start(),
                end + len(unit) * (not match["percent_of"]),
                number,
                scale,
                kind,
                unit,
                match["arabic"] is not None,
                own_scale,
                bool(match["percent_of"]),
            )
        )
        position = tokens[-1].end if tokens[-1].end > match.start() else match.start() + 1
    return tokens


def _number(match: re.Match[str]) -> tuple[Decimal, int, int, bool] | None:
    """(value, characters used from the match's start, trailing 万/亿, has a scale)."""
    prefix = len(match["percent_of"] or "")
    if match["arabic"] is not None:
        digits = match["arabic"].replace(",", "")
        if len(digits) > MAX_DIGITS:
            return None
        scale_chars = match["scale"]
        number = Decimal(digits)
        for ch in scale_chars:
            number *= _SCALES[ch]
        used = prefix + len(match["arabic"]) + len(scale_chars)
        return number, used, _trailing_scale(scale_chars), bool(scale_chars)
    found = numerals.longest_prefix(match["chinese"])
    if found is None:
        return None
    value, length = found
    return value, prefix + length, _trailing_scale(match["chinese"][:length]), False


def _trailing_scale(text: str) -> int:
    return 10**8 if text.endswith(("亿", "億")) else 10**4 if text.endswith(("万", "萬")) else 1


def _unit(text: str, end: int, start: int) -> tuple[str | None, str]:
    for word, kind in UNITS:
        if text.startswith(word, end):
            if kind == "days" and word == "日" and text[start - 1 : start] == "月":
                return "date", word  # 11月25日
            return kind, word
    if end < len(text) and text[end] in CLASSIFIERS:
        return "count", text[end]
    return None, ""


def _share_units(text: str, tokens: list[_Token]) -> None:
    """A number without a unit, followed by a separator and a number with one, takes its
    unit (and its 万 or 亿 if it has none of its own): 10、5个百分点; 5至10万元."""
    for earlier, later in zip(reversed(tokens[:-1]), reversed(tokens[1:]), strict=True):
        if earlier.kind is not None or later.kind is None or earlier.percent_of:
            continue
        if text[earlier.end : later.start] not in SEPARATORS:
            continue
        earlier.kind = later.kind
        if not earlier.own_scale and later.scale > 1:
            earlier.number *= later.scale
            earlier.scale = later.scale
            earlier.own_scale = True  # shown with the number it means


def plain_number(amount: Decimal) -> str:
    """`350000`, `0.6`, `10`: no exponent, no trailing zeros."""
    text = format(amount.normalize(), "f")
    return text
