"""Finding messages in Chinese and English, and the finding record both evaluators emit.

Each check yields its *reasons* (what failed, with the figures); the message lists every
one of them (spec §2: at most one finding per rule and line, naming every failed condition).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from policyengine.semantics.money import money
from policyengine.semantics.vocabulary import (
    CATALOGUE_FLAGS,
    FINDING_KINDS,
    SCHEME_ZH,
    SEX_ZH,
    TITLE_ZH,
)

if TYPE_CHECKING:
    from decimal import Decimal

    from policyengine.contract.results import FindingDict
    from policyengine.contract.trace import Citation
    from policyengine.semantics.vocabulary import Action, FindingKind

Reason = tuple[str, str]  # (zh, en)


def message(kind: str, title: str, reasons: list[Reason]) -> tuple[str, str]:
    zh = f"{title}:" + ";".join(r[0] for r in reasons)
    en = f"{FINDING_KINDS[kind].en}: " + "; ".join(r[1] for r in reasons)
    return zh, en


def record(
    number: int,
    kind: str,
    action: str,
    line: int | None,
    rule_location: str,
    zh_en: tuple[str, str],
    source: Citation,
) -> FindingDict:
    """A finding as results carry it. `kind` and `action` come from the checked IR: the
    checker admits only the vocabulary's finding kinds and actions."""
    return {
        "id": f"F{number}",
        "kind": cast("FindingKind", kind),
        "action": cast("Action", action),
        "line": line,
        "rule": rule_location,
        "message": zh_en[0],
        "message_en": zh_en[1],
        "source": source.copy(),  # a copy: results never share state with each other or the policy
    }


# ------------------------------------------------------------ reasons (one per failed condition)


def outside_catalogue(region: str, local_region: str) -> Reason:
    if local_region:
        return (
            f"属{local_region}地方增补目录,不在本地目录内",
            f"a local item of {local_region}, not in the {region} catalogue",
        )
    return ("不在医保目录内", f"not in the {region} catalogue")


def class_c() -> Reason:
    return ("丙类项目,基金不予支付", "class C (丙类) item: not paid by the fund")


def local_item() -> Reason:
    return ("地方增补品种,已调出本地目录", "local (non-national) item removed from the catalogue")


# A catalogue flag's list by name (vocabulary.CatalogueFlag): `only_flagged two_disease`
# limits a visit type to the items of the 两病 list.
FLAG_LISTS: dict[str, Reason] = {
    "selected": ("集中带量采购中选药品目录", "centrally procured (集采) drugs"),
    "negotiated": ("国家谈判药品目录", "nationally negotiated drugs"),
    "two_disease": ("两病用药目录", "two-disease (两病) medicines"),
}
assert set(FLAG_LISTS) == set(CATALOGUE_FLAGS), "each catalogue flag names its list"


def unflagged(flag: str) -> Reason:
    zh, en = FLAG_LISTS[flag]
    return (f"不在{zh}内", f"not in the list of {en}")


def indication(prefixes: tuple[str, ...]) -> Reason:
    listed = ", ".join(prefixes)
    return (f"限{listed}适应症使用", f"restricted to diagnoses {listed}")


def level_below(minimum: int, level: int) -> Reason:
    return (
        f"限{minimum}级及以上医院,本院{level}级",
        f"hospital level {minimum} or above required, this is level {level}",
    )


def sex_only(sex: str) -> Reason:
    return (f"限{SEX_ZH[sex]}使用", f"for {sex} patients only")


def age_outside(low: int | None, high: int | None, age: int) -> Reason:
    shown = f"{low if low is not None else 0}–{high if high is not None else '∞'}"
    return (f"限{shown}岁使用,患者{age}岁", f"age {shown} only, patient is {age}")


def title_below(minimum: str, title: str | None) -> Reason:
    have = TITLE_ZH.get(title or "", "未知")
    return (
        f"限{TITLE_ZH[minimum]}及以上开具,医师为{have}",
        f"prescriber {minimum} or above required, is {title or 'unknown'}",
    )


def contra_diagnosis(prefixes: tuple[str, ...]) -> Reason:
    listed = ", ".join(prefixes)
    return (f"诊断{listed}禁用", f"contraindicated with diagnoses {listed}")


def contra_sex(sex: str) -> Reason:
    return (f"{SEX_ZH[sex]}禁用", f"contraindicated for {sex} patients")


def contra_age(low: int | None, high: int | None, age: int) -> Reason:
    shown = f"{low if low is not None else 0}–{high if high is not None else '∞'}"
    return (f"{shown}岁禁用,患者{age}岁", f"contraindicated at age {shown}, patient is {age}")


def visit_restricted(title: str) -> Reason:
    return (title, title)


def same_drug_in_claim(earlier_line: int, same_code: bool) -> Reason:
    what = ("同一药品", "same drug") if same_code else ("同一通用名药品", "same generic drug")
    return (f"与第{earlier_line}行为{what[0]}", f"{what[1]} as line {earlier_line}")


def supply_left(code: str, date: str, days_left: int, tolerance: int) -> Reason:
    return (
        f"{date}已开{code},尚余{days_left}天用量(容差{tolerance}天)",
        f"{code} dispensed {date} still has {days_left} days left (tolerance {tolerance})",
    )


def too_many_days(days: int, limit: int) -> Reason:
    return (f"用药{days}天,超过{limit}天", f"{days} days supplied, limit {limit}")


def service_repeated(count: int, frequency: int) -> Reason:
    return (
        f"同日第{count}次开具,每日限{frequency}次",
        f"occurrence {count} on the same day, {frequency} per day allowed",
    )


def not_certified(programme: str, conditions: tuple[str, ...]) -> Reason:
    listed = ", ".join(conditions)
    return (
        f"无{programme}认定(病种:{listed})与本次诊断相符",
        f"no {programme} certification for a diagnosed condition ({listed})",
    )


def certifier_title(minimum: str) -> Reason:
    return (
        f"认定须由{TITLE_ZH[minimum]}及以上医师作出",
        f"certification must be made by a {minimum} or above",
    )


def not_negotiated_indication(prefixes: tuple[str, ...]) -> Reason:
    listed = ", ".join(prefixes)
    return (f"定病种:限{listed}", f"designated conditions: {listed}")


def selected_alternative(generic: str, codes: list[str]) -> Reason:
    listed = ", ".join(codes)
    return (
        f"有{generic}集采中选药品({listed})",
        f"a volume-procurement selected {generic} exists ({listed})",
    )


def quantity_over(code: str, total: Decimal, limit: Decimal, per: str) -> Reason:
    period = ("本次就诊", "this visit") if per == "visit" else ("当日", "the day")
    return (
        f"{code}{period[0]}累计数量{total},超过限量{limit}",
        f"{code}: quantity {total} in {period[1]}, limit {limit}",
    )


def amount_over(total: Decimal, limit: Decimal, per: str) -> Reason:
    total_text, limit_text = money(total), money(limit)
    if per == "line":
        return (
            f"本行金额{total_text}元,超过限额{limit_text}元",
            f"line amount {total_text}, limit {limit_text}",
        )
    return (
        f"本次就诊累计金额{total_text}元,超过限额{limit_text}元",
        f"{total_text} billed in this visit so far, limit {limit_text}",
    )


def too_frequent(count: int, limit: int, days: int) -> Reason:
    return (
        f"{days}天内第{count}次开具,限{limit}次",
        f"occurrence {count} within {days} days, {limit} allowed",
    )


def course_too_long(days: int, limit: int) -> Reason:
    return (
        f"本次住院累计用药{days}天,超过疗程{limit}天",
        f"{days} days supplied in this admission, course limit {limit}",
    )


def department_only(departments: frozenset[str], department: str | None) -> Reason:
    listed = ", ".join(sorted(departments))
    if department is None:
        return (f"限{listed}科室使用,就诊科室未注明", f"for departments {listed} only, none given")
    return (
        f"限{listed}科室使用,就诊科室为{department}",
        f"for departments {listed} only, the visit's is {department}",
    )


def scheme_only(schemes: frozenset[str], scheme: str) -> Reason:
    listed = sorted(schemes)
    zh = "、".join(SCHEME_ZH[s] for s in listed)
    return (
        f"限{zh}参保人员使用,患者为{SCHEME_ZH[scheme]}参保人员",
        f"for {', '.join(listed)} insured persons only, the person is {scheme}",
    )
