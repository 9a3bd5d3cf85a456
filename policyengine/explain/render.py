"""`policyengine explain`: a readable account of one decision, built from the trace.

The account is a list of sections of lines (`Doc`), rendered as text with rich (colour on
a terminal, plain when piped or NO_COLOR, wrapped at the console width with hanging
indents), or as markdown. Every step names its rule (file:line) and quotes its clause;
provisional figures are marked ⚠. The JSON form is the trace document
(`policyengine.trace/1`, explain/document.py), which `--replay` renders again without
re-adjudicating.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine.contract.steps import read_steps
from policyengine.contract.trace import PolicyWords
from policyengine.explain import account
from policyengine.explain.account import Doc, Section, Wording
from policyengine.explain.escape import markdown, markdown_item, visible
from policyengine.explain.words import WORDS, kind_word

if TYPE_CHECKING:
    from policyengine.contract.results import FindingDict, ResultDict
    from policyengine.contract.trace import (
        AuditTableStep,
        CapStep,
        CriticalIllnessStep,
        DeductibleStep,
        FundStep,
        LimitStep,
        LineStep,
        RatioStep,
    )


# ------------------------------------------------------------------ building the account


class Builder(Wording):
    def __init__(
        self, claim: dict[str, Any], result: ResultDict, lang: str, words: PolicyWords | None
    ) -> None:
        self.claim = claim
        self.result = result
        self.w = WORDS[lang]
        self.lang = lang
        self.policy_words = words
        self.steps = read_steps(result)
        self.findings: dict[str, FindingDict] = {f["id"]: f for f in result["findings"]}

    def line_no(self, number: object) -> str:
        return self.word("line_template").format(number)

    def build(self) -> Doc:
        sections = [self.lines(), self.findings_section(), self.settlement(), self.money()]
        provisional = self.result["provisional"]
        if provisional:
            notes = Section(self.word("provisional_title"))
            for note in provisional:
                notes.add(f"⚠ {self.note(note)}", 0, "yellow")
            sections.append(notes)
        return Doc(self.header(), self.decision(), [s for s in sections if s.lines])

    def header(self) -> str:
        person, visit = self.claim.get("person", {}), self.claim.get("visit", {})
        hospital = visit.get("hospital", {})
        scheme = self.word(person.get("scheme", ""))
        if person.get("scheme") == "employee" and person.get("status"):
            scheme += f"({self.word(person['status'])})"
        policy = self.result["policy"]
        parts = [
            self.region(policy["region"]),
            scheme,
            self.word(visit.get("type", "")),
            f"{hospital.get('id', '')} {self.word('level')}{hospital.get('level', '')}"
            f"{self.word('level_suffix')} {self.word(hospital.get('kind', ''))}",
            visit.get("date", ""),
            f"{self.word('version')} {policy['version']}",
        ]
        if policy["as_of"] != visit.get("date"):
            parts.append(f"{self.word('as_of')} {policy['as_of']}")
        return f"{self.word('claim')} {self.result['claim_id']}: " + " · ".join(parts)

    def decision(self) -> str:
        decision = self.result["decision"]
        return f"{self.word('decision')}: {self.word('decision_' + decision)} ({decision})"

    def lines(self) -> Section:
        section = Section(self.word("lines_title"))
        names = {item.get("line"): item for item in self.claim.get("items", [])}
        for step in self.steps.lines:
            item = names.get(step["line"], {})
            cls = step["class"]
            label = self.word(f"class_{cls}") if cls else self.word("not_in_catalogue")
            name = f" {item['name']}" if item.get("name") else ""
            section.add(
                f"{self.line_no(step['line'])} {step['code']}{name} · {label} · {step['billed']}",
                0,
                "bold",
            )
            self.line_split(section, step, item)
        return section

    def line_split(self, section: Section, step: LineStep, item: dict[str, Any]) -> None:
        for bucket, amount in (("denied", step["denied"]), ("excluded", step["excluded"])):
            if Decimal(amount) > 0:
                reasons = "; ".join(
                    self.finding_label(fid) for fid in step["findings"]
                ) or self.word("claim_level")
                section.add(f"{self.word(bucket)} {amount} ← {reasons}", 1)
                return
        if Decimal(step["over_limit"]) > 0:
            section.add(
                f"{self.word('over_limit')} {step['over_limit']} "
                f"({self.word('price_cap')} {step['price_cap']} × {item.get('quantity', '?')})",
                1,
            )
        selfpay = step["selfpay"]
        # the extra shares (异地就医 …) are inside the line's pre-self-pay: each named apart
        extras = [
            (account.extra_label(self, extra), share["value"])
            for extra in self.steps.extra_pre_self_pay
            for share in extra["lines"]
            if share["line"] == step["line"]
        ]
        own = Decimal(step["pre_self_pay"]) - sum((Decimal(v) for _t, v in extras), Decimal(0))
        if own > 0 and selfpay is not None:
            section.add(  # it names its rule: linked to it where the page can show it
                f"{self.word('pre_self_pay')} {own:.2f} ({self.word('selfpay')} "
                f"{_percent(selfpay)}, {step['selfpay_rule']})",
                1,
                rule=step["selfpay_rule"],
            )
            if step["selfpay_source"]:
                self.cite(section, None, step["selfpay_source"], 2)
            if "selfpay_held" in step:  # a ceiling held it: the proportion it cut, beside it
                account.held_selfpay(self, section, step["selfpay_held"], selfpay)
        for label, value in extras:
            section.add(f"{label} {value}", 1)
        section.add(f"{self.word('covered')} {step['covered']}", 1)
        warnings = [
            fid
            for fid in step["findings"]
            if fid in self.findings and self.findings[fid]["action"] in ("warn", "review")
        ]
        for fid in warnings:
            section.add(f"{self.finding_label(fid)}", 1, "yellow")

    def finding_label(self, fid: str) -> str:
        finding = self.findings.get(fid)
        kind, action = (finding["kind"], finding["action"]) if finding else ("", "")
        return f"{fid} {kind_word(kind, self.lang)}({self.word('action_' + action)})"

    def findings_section(self) -> Section:
        section = Section(self.word("findings_title"))
        for finding in self.result["findings"]:
            where = (
                self.line_no(finding["line"])
                if finding["line"] is not None
                else self.word("claim_level")
            )
            style = "red" if finding["action"] in ("reject", "exclude") else "yellow"
            section.add(
                f"{finding['id']} {kind_word(finding['kind'], self.lang)} · "
                f"{self.word('action_' + finding['action'])} · {where}",
                0,
                style,
            )
            message = finding["message"] if self.lang == "zh" else finding["message_en"]
            section.add(message, 1)
            self.cite(section, finding["rule"], finding["source"], 1)
        return section

    def settlement(self) -> Section:
        """The settlement's steps in order, numbered; lines, the policy and the patient's
        share are shown in their own sections."""
        section = Section(self.word("steps_title"))
        number = 0
        for step in self.steps.all:
            if step["step"] in ("line", "policy", "patient"):
                continue
            number += 1
            if step["step"] == "audit_table":
                self.step_audit_table(section, number, step)
            elif step["step"] == "extra_pre_self_pay":
                account.extra_pre_self_pay(self, section, number, step)
            elif step["step"] == "deductible":
                self.step_deductible(section, number, step)
            elif step["step"] == "ratio":
                self.step_ratio(section, number, step)
            elif step["step"] == "category_ratios":
                account.category_ratios(self, section, number, step)
            elif step["step"] == "fund_ceiling":
                account.fund_ceiling(self, section, number, step)
            elif step["step"] == "fund":
                self.step_fund(section, number, step)
            elif step["step"] == "cap":
                self.step_cap(section, number, step)
            elif step["step"] == "period_cap":
                account.period_cap(self, section, number, step)
            elif step["step"] == "limit":
                self.step_limit(section, number, step)
            elif step["step"] == "critical_illness":
                self.step_critical_illness(section, number, step)
        return section

    def step_audit_table(self, section: Section, number: int, step: AuditTableStep) -> None:
        section.add(
            f"{number}. {self.word('audit_table')} {step['table']}: {step['value']}", 0, "bold"
        )
        self.cite(section, step["rule"], step["source"], 1)

    def step_deductible(self, section: Section, number: int, step: DeductibleStep) -> None:
        figures = step["figures"]
        detail = f"{figures['amount']}"
        if step["period"] == "year":
            left = max(Decimal(0), Decimal(figures["amount"]) - Decimal(figures["met"]))
            detail += f" − {self.word('met')} {figures['met']} = {left:.2f}"
        elif step["period"] == "visit":
            detail += f" ({self.word('per_visit')})"
        else:
            detail += f" ({self.word('admission_' + str(figures['admission']))})"
        section.add(
            f"{number}. {self.word('deductible')} {detail}; {self.word('this_claim')} "
            f"{step['value']}",
            0,
            "bold",
        )
        self.cite(section, step["rule"], step["source"], 1)
        if "derivation" in figures:  # an amount computed from the claim's facts
            account.derivation(section, figures["derivation"], 1, str)
        self.composition(section, step["composition"], 1)
        if step["period"] == "year":
            self.history(section, 1)
        self.flags(section, step["provisional"], 1, step["rule"])

    def step_ratio(self, section: Section, number: int, step: RatioStep) -> None:
        figures = step["figures"]
        # a banded ratio (分段支付比例) is stated by its schedule's words, not as a rate
        shown = _percent if step["form"] == "rate" else str
        section.add(f"{number}. {self.word('ratio')} {shown(step['value'])}", 0, "bold")
        alias = figures["alias"]
        if alias:
            section.add(f"{self.word('as_ratio_of')} {self.word(alias['of'])}", 1)
            self.cite(section, alias["rule"], alias["source"], 2)
        section.add(f"{self.word('base')} {shown(figures['base'])}", 1)
        self.cite(section, step["rule"], step["source"], 2)
        if "base_derivation" in figures:  # a base computed from the claim's facts
            account.derivation(section, figures["base_derivation"], 2, _percent)
        self.composition(section, step["composition"], 2)
        for adjustment in figures["adjustments"]:
            section.add(f"+ {_points(adjustment['points'])}", 1)
            self.cite(section, adjustment["rule"], adjustment["source"], 2)
            if "derivation" in adjustment:  # points computed from the claim's facts
                account.derivation(section, adjustment["derivation"], 2, _points)
        if "combination" in figures:
            account.combination(self, section, figures["combination"], 1)
        self.flags(section, step["provisional"], 1, step["rule"])

    def step_fund(self, section: Section, number: int, step: FundStep) -> None:
        figures = step["figures"]
        base = f"({figures['covered']} − {figures['deductible']})"
        if "entering" in figures:  # a fund ceiling left less to enter the fund
            base = f"{figures['entering']}"
        ratio = self.word("ratio")
        if self.steps.category_ratios is not None:  # each category at its own ratio
            ratio = self.word("category_ratios")
        section.add(f"{number}. {self.word('fund')} {base} × {ratio} = {step['value']}", 0, "bold")
        if "pooled" in figures:  # `bands cumulative`: F(pooled + x) − F(pooled)
            section.add(f"{self.word('pooled_bands')} {figures['pooled']}", 1)

    def step_cap(self, section: Section, number: int, step: CapStep) -> None:
        figures = step["figures"]
        pools = "+".join(self.word(p) for p in figures["pools"])
        section.add(
            f"{number}. {self.word('cap')} {figures['cap']} − {self.word('paid')}({pools}) "
            f"{figures['paid']} = {figures['left']} → {self.word('fund')} {step['value']}",
            0,
            "bold",
        )
        self.cite(section, step["rule"], step["source"], 1)
        if "derivation" in figures:  # a cap computed from the claim's facts
            account.derivation(section, figures["derivation"], 1, str)
        self.composition(section, step["composition"], 1)
        self.history(section, 1)
        self.flags(section, step["provisional"], 1, step["rule"])

    def step_limit(self, section: Section, number: int, step: LimitStep) -> None:
        figures = step["figures"]
        if figures["limit"] is None:  # cancelled (`none`): only the cancelling rows are given
            section.add(
                f"{number}. {self.word('limit')} {self.word('limit_cancelled')} → "
                f"{self.word('fund')} {step['value']}",
                0,
                "bold",
            )
        else:
            conditions = sorted(figures.get("conditions", {}).items())
            parts = " + ".join(f"{self.condition(c)} {a}" for c, a in conditions) or "0"
            section.add(
                f"{number}. {self.word('limit')} {parts} − {self.word('paid')} "
                f"{figures.get('paid')} = {figures.get('left')} → {self.word('fund')} "
                f"{step['value']}",
                0,
                "bold",
            )
            self.history(section, 1)
        self.cite(section, step["rule"], step["source"], 1)
        self.flags(section, step["provisional"], 1, step["rule"])

    def step_critical_illness(
        self, section: Section, number: int, step: CriticalIllnessStep
    ) -> None:
        figures = step["figures"]
        section.add(f"{number}. {self.word('critical_illness')} {step['value']}", 0, "bold")
        section.add(
            f"{self.word('self_burden_before')} {figures['self_burden_before']} + "
            f"{self.word('self_burden')} {figures['self_burden']}",
            1,
        )
        if "pre_self_pay" in figures:  # `base includes pre_self_pay`
            section.add(
                f"{self.word('of_which')}{self.word('pre_self_pay')} {figures['pre_self_pay']}", 1
            )
        self.history(section, 2)
        section.add(f"{self.word('bands')}: {figures['bands']}", 1)
        for band in figures.get("by_band", []):
            high = band["to"] if band["to"] is not None else "∞"
            section.add(
                f"{band['from']}–{high}: {band['self_burden']} × {_percent(band['rate'])} = "
                f"{band['paid']}",
                2,
            )
        self.composition(section, step["composition"], 2, written=False)
        if figures["payment_cap_left"] is not None:
            section.add(
                f"{self.word('payment_cap_left')} {figures['payment_cap_left']} "
                f"({self.word('computed')} {figures['computed']})",
                1,
            )
        self.cite(section, step["rule"], step["source"], 1)
        self.flags(section, step["provisional"], 1, step["rule"])

    def money(self) -> Section:
        totals = self.result["totals"]
        payers = totals["payers"]
        section = Section(self.word("money_title"))
        section.add(
            f"{self.word('billed')} {totals['billed']} = {self.word('denied')} "
            f"{totals['denied']} + "
            f"{self.word('fund')} {payers['fund']} + {self.word('critical_illness')} "
            f"{payers['critical_illness']} + {self.word('patient')} {totals['patient']}",
            0,
            "bold",
        )
        in_scope = (
            Decimal(totals["covered"])
            - Decimal(payers["fund"])
            - Decimal(payers["critical_illness"])
        )
        section.add(
            f"{self.word('patient')} {totals['patient']} = {self.word('excluded')} "
            f"{totals['excluded']} + "
            f"{self.word('over_limit')} {totals['over_limit']} + {self.word('pre_self_pay')} "
            f"{totals['pre_self_pay']} + {self.word('in_scope')} {in_scope:.2f} "
            f"({self.word('of_which')}{self.word('deductible')} {totals['deductible']})",
            1,
        )
        return section


_percent = account.percent


def _points(value: str) -> str:
    return f"{(Decimal(value) * 100).normalize():f} pt"


def build(
    claim: dict[str, Any], result: ResultDict, lang: str = "zh", words: PolicyWords | None = None
) -> Doc:
    """The account of `result`; `words` (LoadedPolicy.words(), or a trace document's
    `policy`) name the region and conditions as the policy does."""
    return Builder(claim, result, lang, words).build()


# ------------------------------------------------------------------ rendering


def render_text(doc: Doc, width: int | None = None, color: bool | None = None) -> str:
    """Rich text; plain when `color` is False (or NO_COLOR / not a terminal)."""
    from rich.console import Console
    from rich.padding import Padding
    from rich.text import Text

    console = Console(
        width=width,
        record=True,
        force_terminal=color,
        no_color=color is False,
        highlight=False,
        soft_wrap=False,
        file=io.StringIO(),
    )
    # every text passes escape.visible: claim text can neither break a line nor reach the
    # terminal as a control sequence (rich's Text is never read as markup)
    console.print(Text(visible(doc.header), style="bold"))
    console.print(Text(visible(doc.decision), style="bold"))
    for section in doc.sections:
        console.print()
        console.print(Text(visible(section.title), style="bold underline"))
        for line in section.lines:
            console.print(
                Padding(Text(visible(line.text), style=line.style), (0, 0, 0, 2 + 2 * line.indent))
            )
    text = console.export_text(styles=bool(color))
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def render_markdown(doc: Doc) -> str:
    """Markdown; every text escaped (escape.markdown): claim text is never markup or HTML."""
    out = [f"### {markdown(doc.header)}", "", f"**{markdown(doc.decision)}**", ""]
    for section in doc.sections:
        out += [f"#### {markdown(section.title)}", ""]
        for line in section.lines:
            if line.style == "bold" and line.indent == 0:
                text = f"**{markdown(line.text)}**"
            else:  # a line beginning `+ 5 pt` stays text, not a nested list
                text = markdown_item(line.text)
            out.append(f"{'  ' * line.indent}- {text}")
        out.append("")
    return "\n".join(out)
