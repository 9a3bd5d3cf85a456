"""The words of a diff report, in English and Chinese (`policyengine diff --lang`).

A word or template is looked up by its English text, so the renderers read as English and
a missing Chinese entry shows the English (tests/test_diff.py checks every one is there).
"""

from __future__ import annotations

from collections.abc import Callable

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


def words(lang: str) -> Callable[[str], str]:
    """The word for an English word or template in `lang` (English where none is given)."""
    if lang == "zh":
        return lambda text: ZH.get(text, text)
    return lambda text: text
