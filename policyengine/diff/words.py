"""The words of a diff report, in English and Chinese (`policyengine diff --lang`), and how
the report's labels are composed of them.

A word or template is looked up by its English text, so the renderers read as English and
a missing Chinese entry shows the English (tests/test_diff.py checks every one is there).
The JSON report holds its labels in English (diff/report.py composes them with the functions
below); the renderers compose them again, from the same fields, in the words of `--lang`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policyengine.contract.trace import Citation

Words = Callable[[str], str]

ZH: dict[str, str] = {
    # measures and steps
    "fund": "统筹基金",
    "critical illness": "大病保险",
    "payers (fund + critical illness)": "基金合计(统筹+大病)",
    "patients": "个人负担",
    "denied": "拒付",
    "lines": "明细",
    "deductible": "起付线",
    "deductible met": "起付线已计",
    "ratio": "支付比例",
    "ratio adjust.": "比例调整",
    "cap": "最高支付限额",
    "cap paid": "限额已付",
    "limit": "病种限额",
    "limit paid": "病种限额已付",
    "2nd layer": "大病保险",
    "2nd-layer S": "大病累计负担",
    "whole claim": "整单",
    # the steps in labels (STEP_WORDS)
    "line buckets": "明细分项",
    "deductible already met": "起付线已累计",
    "ratio adjustment": "支付比例调整",
    "annual cap": "年度最高支付限额",
    "paid against the annual cap": "年度限额已支付",
    "per-condition limit": "病种限额",
    "paid against the per-condition limit": "病种限额已支付",
    "second-layer schedule": "大病保险分段",
    "self-burden S and second-layer paid": "大病累计个人负担与已支付",
    "year's amount entered the fund (banded ratio)": "年度进入统筹累计(分段比例)",
    "how the ratio's adjustments combine": "支付比例调整的合并方式",
    "bounds of the ratio": "支付比例的上下限",
    "ceiling on the cost entering the fund": "进入统筹费用上限",
    "year's amount entered the fund (ceiling)": "年度进入统筹累计(费用上限)",
    "cap per visit": "每次就诊最高支付限额",
    "cap per day": "每日最高支付限额",
    "paid earlier that day (cap per day)": "当日已支付(每日限额)",
    "second layer's base (pre-self-pay included or not)": "大病保险个人负担是否含先行自付",
    "ratio pooled": "进入统筹累计",
    "ratio comb.": "调整合并",
    "ratio bounds": "比例上下限",
    "fund ceiling": "统筹费用上限",
    "pooled": "进入统筹累计",
    "cap/visit": "每次限额",
    "cap/day": "每日限额",
    "day paid": "当日已付",
    "2nd-layer base": "大病负担口径",
    "{table} share of {code}": "{code} 的{table}",
    "ratio of category {category}": "{category}类的支付比例",
    # versions, bands, targets and clauses (the labels below)
    "{policy} at {ref}": "{policy}(git 版本 {ref})",
    "{version}, as of {as_of}": "{version},按 {as_of} 施行的规则",
    "below {edge}": "{edge} 以下",
    "above {edge}": "{edge} 以上",
    "{low} to {high}": "{low} 至 {high}",
    "0 (payers unchanged)": "0(基金支付不变)",
    "{ledger}: {step}": "{ledger}:{step}",
    "settled under one version only": "仅在一个版本下结算",
    "unexplained change of the {step}": "{step}的无法解释的变化",
    "(base version; no longer applies)": "(修改前版本,已不再适用)",
    "catalogue entry": "目录条目",
    "payment standard (price cap) of {code}": "{code} 的支付标准(限价)",
    "pre-self-pay proportion of {code}": "{code} 的先行自付比例",
    "settled under the {version} version only": "仅在{version}版本下结算",
    "claims settled under one version only": "仅在一个版本下结算的理赔",
    "unexplained": "无法解释",
    "no citation": "无出处",
    "no citation ({detail})": "无出处({detail})",
    "provisional: {note}": "暂定:{note}",
    " (secondary)": "(二手来源)",
    # headline and tables
    "base": "修改前",
    "amended": "修改后",
    "claims": "理赔",
    "change": "变化",
    "persons": "参保人",
    "Totals": "合计",
    "Largest changes": "变化最大的理赔",
    "line": "行",
    "claim": "理赔",
    "payers before": "修改前基金",
    "after": "修改后",
    "mostly from": "主要来自",
    "rule": "规则",
    "step": "步骤",
    "crit. illness": "大病",
    "total": "合计",
    "clause": "条款",
    "rules": "规则",
    "payers": "基金",
    "sum": "合计",
    "Change by rule (each step's change, to the rule of that step)": (
        "按规则(各步骤的变化归于该步骤的规则)"
    ),
    "Change by rule": "按规则",
    "Change by clause": "按条款",
    "Policy change impact": "政策调整影响",
    "ledger — carried over from earlier claims of the year": "台账——承接本年度此前的理赔",
    "ledger": "台账",
    "carried over from earlier claims of the year (ledger)": "承接本年度此前的理赔(台账)",
    "{total} in {input} (settled {base} base / {amended} amended{errors})": (
        "{total} 件,来自 {input}(修改前结算 {base} 件 / 修改后 {amended} 件{errors})"
    ),
    "; errors {base} / {amended}": ";出错 {base} / {amended}",
    "{claims} ({up} up, {down} down in fund + critical illness); {persons} of {all} persons": (
        "{claims}(基金合计增加 {up} 件,减少 {down} 件);参保人 {all} 人中 {persons} 人"
    ),
    "{count} claim": "{count} 件",
    "{count} claims": "{count} 件",
    "attributed: fund {fund}, critical illness {ci}, patients {patient} — ": (
        "归因:统筹基金 {fund},大病保险 {ci},个人负担 {patient} — "
    ),
    "the parts sum exactly to the change in the totals": "各部分之和恰等于合计的变化",
    "the parts do NOT sum to the change in the totals": "各部分之和不等于合计的变化",
    (
        "; {count} claim(s) not decomposed step by step (whole change given to the first "
        "differing step)"
    ): ";{count} 件未能逐步分解(全部变化归于第一个不同的步骤)",
    "Per {who}": "每{who}",
    "person": "参保人",
    "fund + critical illness: {changed} changed; min {min}, median {median}, mean {mean}, "
    "max {max}": "基金合计:{changed} 个有变化;最小 {min},中位数 {median},平均 {mean},最大 {max}",
    "Change per {who} (payers: fund + critical illness)": "每{who}的变化(基金合计:统筹+大病)",
    "{changed} changed; min {min}, median {median}, mean {mean}, max {max}.": (
        "{changed} 个有变化;最小 {min},中位数 {median},平均 {mean},最大 {max}。"
    ),
    "line {line} {claim}: failed under the {version} version only ({error}: {message})": (
        "第{line}行 {claim}:仅在{version}版本下失败({error}:{message})"
    ),
}

LANGS = ("en", "zh")


def words(lang: str) -> Words:
    """The word for an English word or template in `lang` (English where none is given)."""
    if lang == "zh":
        return lambda text: ZH.get(text, text)
    return _english


def _english(text: str) -> str:
    return text


# ------------------------------------------------------------------ labels

STEP_WORDS = {
    "lines": "line buckets",
    "deductible": "deductible",
    "deductible_met": "deductible already met",
    "ratio": "ratio",
    "ratio_adjustment": "ratio adjustment",
    "cap": "annual cap",
    "cap_paid": "paid against the annual cap",
    "limit": "per-condition limit",
    "limit_paid": "paid against the per-condition limit",
    "second_layer": "second-layer schedule",
    "second_layer_history": "self-burden S and second-layer paid",
    "ratio_pooled": "year's amount entered the fund (banded ratio)",
    "ratio_combination": "how the ratio's adjustments combine",
    "ratio_bounds": "bounds of the ratio",
    "fund_ceiling": "ceiling on the cost entering the fund",
    "fund_ceiling_pooled": "year's amount entered the fund (ceiling)",
    "cap_per_visit": "cap per visit",
    "cap_per_day": "cap per day",
    "cap_per_day_paid": "paid earlier that day (cap per day)",
    "second_layer_base": "second layer's base (pre-self-pay included or not)",
    "claim": "whole claim",
}
LEDGER_WORDS = "carried over from earlier claims of the year (ledger)"
CATALOGUE_ENTRY = "catalogue entry"  # what a catalogue row is, where the inventory has none

# the details the attribution gives a change (Target.detail): each a template, so that the
# renderers can word a detail of the JSON report again (detail_words)
PRICE_CAP_OF = "payment standard (price cap) of {code}"
SELFPAY_OF = "pre-self-pay proportion of {code}"
ONE_VERSION_ONLY = "settled under the {version} version only"
EXTRA_SHARE_OF = "{table} share of {code}"  # an extra pre-self-pay table's (异地就医先行自付)
CATEGORY_RATIO_OF = "ratio of category {category}"  # a per-category ratio row's
_DETAILS = tuple(
    (template, re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+)", re.escape(template))))
    for template in (PRICE_CAP_OF, SELFPAY_OF, ONE_VERSION_ONLY, EXTRA_SHARE_OF, CATEGORY_RATIO_OF)
)


def detail_words(detail: str, w: Words = _english) -> str:
    """A target's detail in the words `w`: one of the templates above, else as it is (a
    finding's kind, named as the rule files name it)."""
    for template, pattern in _DETAILS:
        found = pattern.fullmatch(detail)
        if found is not None:
            fields = found.groupdict()
            if "version" in fields:
                fields["version"] = w(fields["version"])
            return w(template).format(**fields)
    return detail


def version_label(policy: str, ref: str | None, as_of: str | None, w: Words = _english) -> str:
    """A version as the report names it: `policies/tianjin at HEAD~3, as of 2019-01-01`."""
    where = policy if ref is None else w("{policy} at {ref}").format(policy=policy, ref=ref)
    return w("{version}, as of {as_of}").format(version=where, as_of=as_of) if as_of else where


def band_label(low: Decimal | None, high: Decimal | None, w: Words = _english) -> str:
    """A band of the distribution: `below -10,000`, `10 to 100`, `0 (payers unchanged)`."""
    if low is None:
        return w("below {edge}").format(edge=f"{high:,}")
    if high is None:
        return w("above {edge}").format(edge=f"{low:,}")
    if low == high:
        return w("0 (payers unchanged)")
    return w("{low} to {high}").format(low=f"{low:,}", high=f"{high:,}")


def step_label(step: str, w: Words = _english) -> str:
    return w(STEP_WORDS.get(step, step))


def target_label(
    kind: str,
    step: str,
    rule: str | None,
    what: str | None,
    detail: str | None,
    version: str | None,
    w: Words = _english,
) -> str:
    """Where a change went (a rule row of the attribution, a part of a large change):
    `tianjin/benefits.policy:8 deductible outpatient (scheme employee)`."""
    if kind == "ledger":
        return w("{ledger}: {step}").format(ledger=w(LEDGER_WORDS), step=step_label(step, w))
    if kind == "one_version":
        return detail_words(detail, w) if detail else w("settled under one version only")
    if kind == "unexplained":
        return w("unexplained change of the {step}").format(step=step_label(step, w))
    parts = [rule or step_label(step, w)]
    if what:
        parts.append(w(what) if what == CATALOGUE_ENTRY else what)
    if detail and detail not in (what or ""):
        parts.append(f"[{detail_words(detail, w)}]")
    if version == "base":
        parts.append(w("(base version; no longer applies)"))
    return " ".join(parts)


def clause_label(
    source: Citation | None, kind: str, detail: str | None, w: Words = _english
) -> str:
    """The clause a change went to: the document, its clause and quote — or the engine's
    words where there is none (the ledger, a claim settled under one version only)."""
    if kind == "ledger":
        return w(LEDGER_WORDS)
    if kind == "one_version":
        return w("claims settled under one version only")
    if kind == "unexplained":
        return w("unexplained")
    if source is None:
        if detail:
            return w("no citation ({detail})").format(detail=detail_words(detail, w))
        return w("no citation")
    if source.get("provenance") == "provisional":
        return w("provisional: {note}").format(note=source.get("note", ""))
    text = str(source.get("doc", ""))
    if source.get("clause"):
        text += f" {source['clause']}"
    if source.get("quote"):
        text += f"「{source['quote']}」"
    if source.get("provenance") == "secondary":
        text += w(" (secondary)")
    return text
