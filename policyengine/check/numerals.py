"""Chinese numerals (中文数字) as policy documents write them: 三, 十五, 一百零五, 两万,
一万五千, 三点五, 二〇二一, and the financial forms 壹贰叁 … 拾佰仟.

`parse` reads one numeral, or returns None if the characters do not make one. The rules:

- digits 零〇 一 二两 三 … 九 (and 壹 贰 …); units 十 百 千 within a section, 万 and 亿
  between sections (一亿二千万 = 120,000,000);
- a leading 十 means 一十 (十五 = 15, but 一百一十 is written with its 一);
- 零 marks a skipped place (一千零五 = 1005);
- a final digit right after 百, 千, 万 or 亿 fills the next lower place, as people say
  amounts (一万五 = 15,000, 三千五 = 3,500, 两百五 = 250); after 零 it is units again
  (一万零五 = 10,005);
- digits alone are read place by place (二〇二一 = 2021), as years are written;
- 点 starts the decimals, read digit by digit (三点五 = 3.5, 零点零五 = 0.05).
"""

from __future__ import annotations

import functools
from decimal import Decimal

DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "两": 2,
    "贰": 2,
    "貳": 2,
    "三": 3,
    "叁": 3,
    "參": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "陸": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS: dict[str, int] = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
POINT = "点"
# Every character a numeral may hold (the extractor scans runs of these).
CHARACTERS = frozenset(DIGITS) | frozenset(SMALL_UNITS) | frozenset(BIG_UNITS) | {POINT}
_ZEROS = frozenset("零〇")


def longest_prefix(text: str) -> tuple[Decimal, int] | None:
    """The value and length of the longest numeral `text` starts with, if any. Only the
    prefixes up to the first pair of characters no numeral holds are tried (`_viable`),
    so a long run of numeral characters that is not a numeral is read in linear time."""
    for length in range(_viable(text), 0, -1):
        value = parse(text[:length])
        if value is not None:
            return value, length
    return None


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Decimal | None:
    """The value of the numeral `text`, or None if it is not one."""
    whole, point, decimals = text.partition(POINT)
    if point:
        if not decimals or any(ch not in DIGITS for ch in decimals):
            return None
        integer = parse_integer(whole)
        if integer is None:
            return None
        return Decimal(f"{integer}.{''.join(str(DIGITS[ch]) for ch in decimals)}")
    integer = parse_integer(text)
    return None if integer is None else Decimal(integer)


def parse_integer(text: str) -> int | None:
    """The value of a whole-number numeral, or None."""
    if not text or any(
        ch not in DIGITS and ch not in SMALL_UNITS and ch not in BIG_UNITS for ch in text
    ):
        return None
    if all(ch in DIGITS for ch in text):
        if len(text) == 1:
            return DIGITS[text]
        if "两" in text:  # 两 is a counted two, never a place in a digit string
            return None
        return int("".join(str(DIGITS[ch]) for ch in text))
    return _sections(text)


def _sections(text: str) -> int | None:
    """Split at the last 亿, else the last 万: the part before it counts that unit, the
    part after it is the remainder (itself split the same way)."""
    for chars, unit in (("亿億", 10**8), ("万萬", 10**4)):
        index = max(text.rfind(ch) for ch in chars)
        if index >= 0:
            big = unit
            break
    else:
        return _section(text)
    head, tail = text[:index], text[index + 1 :]
    high = _sections(head) if big == 10**8 else _section(head)
    if not high or high >= big:
        return None  # 万 with nothing (or 零) before it, or 一万万
    low = _remainder(tail, big)
    return None if low is None else high * big + low


def _remainder(tail: str, big: int) -> int | None:
    """What follows 万 or 亿: 零 then a number that skips the place below (一万零五), a
    lone digit that fills that place (一万五 = 一万五千), or a number below the unit."""
    if not tail:
        return 0
    if tail[0] in _ZEROS:
        rest = tail[1:]
        if not rest or rest[0] in _ZEROS:
            return None
        value = _sections(rest)
        return value if value is not None and value < big // 10 else None
    if len(tail) == 1 and tail in DIGITS:
        return DIGITS[tail] * big // 10
    value = _sections(tail)
    return value if value is not None and value < big else None


def _section(text: str) -> int | None:
    """A number below 10,000: digits with 千, 百, 十 in descending order, 零 for a gap."""
    total = 0
    digit: int | None = None
    last_unit = 10_000
    after_zero = False
    previous = ""
    for ch in text:
        if ch in DIGITS:
            value = DIGITS[ch]
            if digit is not None:
                return None  # two digits in a row
            if value == 0:
                if after_zero or last_unit == 10_000 or previous in _ZEROS:
                    return None
                after_zero = True
            else:
                digit = value
        else:
            unit = SMALL_UNITS.get(ch)
            if unit is None or unit >= last_unit:
                return None
            if digit is None:
                if unit != 10 or previous:  # only a leading 十 stands alone
                    return None
                digit = 1
            if after_zero and unit * 10 >= last_unit:
                return None  # 零 must skip a place: 一千零百 is not a numeral
            total += digit * unit
            digit, last_unit, after_zero = None, unit, False
        previous = ch
    if digit is not None:
        if after_zero or last_unit in (10_000, 10):
            total += digit
        else:  # 三千五 = 3500, 两百五 = 250: the place just below the last unit
            total += digit * last_unit // 10
    elif after_zero:
        return None  # a trailing 零
    return total


def _viable(text: str) -> int:
    """How long a prefix of `text` could be a numeral: the index of the first character
    that no numeral could hold after what comes before it (a necessary condition only;
    `parse` decides). tests/test_quote_numbers.py checks that no numeral is cut short."""
    run = ""  # digits since the last unit
    last_small = 10_000  # the last small unit of this section: the next must be smaller
    bigs = ""  # the big units so far
    previous_big = units = point = False
    for index, ch in enumerate(text):
        if point:
            if ch not in DIGITS:
                return index
        elif ch == POINT:
            if index == 0:
                return 0
            point = True
        elif ch in DIGITS:
            if units and run and not (len(run) == 1 and run in _ZEROS and ch not in _ZEROS):
                return index  # 十二三: once units are used, no two digits in a row
            run += ch
        elif not _unit_may_follow(ch, run, last_small, bigs, previous_big, units):
            return index
        elif ch in SMALL_UNITS:
            last_small = SMALL_UNITS[ch]
        else:
            bigs, last_small = bigs + ch, 10_000
        if ch not in DIGITS and ch != POINT:
            run, units = "", True
        previous_big = ch in BIG_UNITS
    return len(text)


def _unit_may_follow(
    ch: str, run: str, last_small: int, bigs: str, previous_big: bool, units: bool
) -> bool:
    if len(run) >= 2 and not (len(run) == 2 and run[0] in _ZEROS and run[1] not in _ZEROS):
        return False  # 二〇二一 is read place by place: no unit after it
    if ch in SMALL_UNITS:
        if SMALL_UNITS[ch] >= last_small:
            return False  # 十百, 一千二千
        return bool(run and run not in _ZEROS) or SMALL_UNITS[ch] == 10
    if not run and not units:
        return False  # 万 with nothing before it
    if run and run in _ZEROS:
        return False  # 零万
    if previous_big and not (bigs[-1] in "万萬" and ch in "亿億"):
        return False  # 万万; only 万亿 stand together
    return len(bigs) < 3 and not (ch in "亿億" and any(b in "亿億" for b in bigs))
