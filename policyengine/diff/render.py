"""Rendering a diff report: a rich table for people, markdown for a report (the chart:
diff/chart.py)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING

from policyengine.diff.words import (
    Words,
    band_label,
    clause_label,
    target_label,
    version_label,
    words,
)
from policyengine.explain.escape import markdown, visible

if TYPE_CHECKING:
    from rich.console import Console

    from policyengine.diff.schema import (
        Band,
        Because,
        ClauseRow,
        DescribedVersion,
        DiffReport,
        Largest,
        Measure,
        Payments,
        RuleRow,
        Spread,
        TotalRow,
    )

_EN = words("en")

MEASURE_WORDS: dict[Measure, str] = {
    "fund": "fund",
    "critical_illness": "critical illness",
    "payers": "payers (fund + critical illness)",
    "patient": "patients",
    "denied": "denied",
}
STEP_SHORT = {
    "lines": "lines",
    "deductible": "deductible",
    "deductible_met": "deductible met",
    "ratio": "ratio",
    "ratio_adjustment": "ratio adjust.",
    "cap": "cap",
    "cap_paid": "cap paid",
    "limit": "limit",
    "limit_paid": "limit paid",
    "second_layer": "2nd layer",
    "second_layer_history": "2nd-layer S",
    "ratio_pooled": "ratio pooled",
    "ratio_combination": "ratio comb.",
    "ratio_bounds": "ratio bounds",
    "fund_ceiling": "fund ceiling",
    "fund_ceiling_pooled": "pooled",
    "cap_per_visit": "cap/visit",
    "cap_per_day": "cap/day",
    "cap_per_day_paid": "day paid",
    "second_layer_base": "2nd-layer base",
    "claim": "whole claim",
}


def amount(text: str | None, signed: bool = False) -> str:
    if text is None:
        return "—"
    value = Decimal(text)
    shown = f"{value:,.2f}"
    return f"+{shown}" if signed and value > 0 else shown


def percent(row: TotalRow) -> str:
    text = row["change_percent"]
    if text is None:
        return "—"
    value, change = Decimal(text), Decimal(row["change"])
    if value == 0 and change:
        return f"{'+' if change > 0 else '-'}<0.01%"
    return f"{'+' if value > 0 else ''}{value}%"


def plural(count: int, word: str, w: Words = _EN) -> str:
    return w(f"{{count}} {word}{'' if count == 1 else 's'}").format(count=f"{count:,}")


def headline(report: DiffReport, w: Words = _EN) -> list[tuple[str, str]]:
    """The report's first lines, as (what, said)."""
    claims, persons = report["claims"], report["persons"]
    settled = claims["settled"]
    errors = claims["errors"]
    failed = ""
    if any(errors.values()):
        failed = w("; errors {base} / {amended}").format(
            base=f"{errors['base']:,}", amended=f"{errors['amended']:,}"
        )
    counted = w("{total} in {input} (settled {base} base / {amended} amended{errors})").format(
        total=f"{claims['total']:,}",
        input=report["input"],
        base=f"{settled['base']:,}",
        amended=f"{settled['amended']:,}",
        errors=failed,
    )
    template = (
        "{claims} ({up} up, {down} down in fund + critical illness); {persons} of {all} persons"
    )
    changed = w(template).format(
        claims=plural(claims["changed"], "claim", w),
        up=f"{claims['increased']:,}",
        down=f"{claims['decreased']:,}",
        persons=f"{persons['changed']:,}",
        all=f"{persons['total']:,}",
    )
    return [
        (w("base"), _version(report["base"], w)),
        (w("amended"), _version(report["amended"], w)),
        (w("claims"), counted),
        (w("change"), changed),
    ]


def check_line(report: DiffReport, w: Words = _EN) -> str:
    attribution = report["attribution"]
    total = attribution["total"]
    text = w("attributed: fund {fund}, critical illness {ci}, patients {patient} — ").format(
        fund=amount(total["fund"], True),
        ci=amount(total["critical_illness"], True),
        patient=amount(total["patient"], True),
    )
    text += w(
        "the parts sum exactly to the change in the totals"
        if attribution["reconciled"]
        else "the parts do NOT sum to the change in the totals"
    )
    skipped = attribution["not_decomposed"]["claims"]
    if skipped:
        text += w(
            "; {count} claim(s) not decomposed step by step (whole change given to the first "
            "differing step)"
        ).format(count=f"{skipped:,}")
    return text


def _clause_cell(row: ClauseRow, w: Words = _EN) -> str:
    return w(row["label"])  # a clause's own words, or the engine's for the ledger


def short(row: RuleRow | Because, w: Words = _EN) -> str:
    """A target in few words: its rule, else `ledger: cap paid`, else its label."""
    if row["rule"]:
        return str(row["rule"])
    if row["kind"] == "ledger":
        return f"{w('ledger')}: {step_word(row['step'], w)}"
    return w(row["label"])


def step_word(step: str, w: Words = _EN) -> str:
    return w(STEP_SHORT.get(step, step))


def rule_cell(row: RuleRow, w: Words = _EN) -> str:
    if row["kind"] == "ledger":
        return w("ledger — carried over from earlier claims of the year")
    return w(row["label"])


def _because(entry: Largest, w: Words = _EN) -> str:
    return "; ".join(f"{short(p, w)} {amount(p['payers'], True)}" for p in entry["because"])


def _payers(payments: Payments | None) -> str | None:
    if payments is None:
        return None
    return str(Decimal(payments["fund"]) + Decimal(payments["critical_illness"]))


def report_words(report: DiffReport, lang: str) -> Words:
    """The words of `lang`, and the report's labels (English in the JSON) composed again in
    them, from the fields they were composed of (diff/words.py)."""
    w = words(lang)
    labels: dict[str, str] = {}
    for row in report["attribution"]["by_rule"]:
        fields = (row["kind"], row["step"], row["rule"], row["what"], row["detail"], row["version"])
        labels[row["label"]] = target_label(*fields, w)
        clause = (row["source"], row["kind"], row["detail"])
        labels[clause_label(*clause)] = clause_label(*clause, w)
    return lambda text: labels[text] if text in labels else w(text)


def _version(version: DescribedVersion, w: Words) -> str:
    return version_label(version["policy"], version["ref"], version["as_of"], w)


def _band(band: Band, w: Words) -> str:
    return band_label(_edge(band["from"]), _edge(band["to"]), w)


def _edge(text: str | None) -> Decimal | None:
    """A band's edge as the label shows it: `1,000`, not `1,000.00`."""
    if text is None:
        return None
    value = Decimal(text)
    whole = value.to_integral_value()  # exponent 0: `1000`, not `1000.00`
    return whole if whole == value else value


# ------------------------------------------------------------------ table (rich)


def render_table(
    report: DiffReport, width: int | None = None, color: bool = False, lang: str = "en"
) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(
        width=width or 120,
        record=True,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        soft_wrap=False,
        file=io.StringIO(),
    )
    w = report_words(report, lang)
    console.print("[bold]policyengine diff[/]")
    lines = headline(report, w)
    wide = max(len(what) for what, _said in lines) + 2
    for what, said in lines:
        console.print(f"  {what:<{wide}}{said}", markup=False)

    totals = Table(title=w("Totals"), box=box.SIMPLE_HEAD, title_justify="left")
    for name, justify in (("", "left"), (w("base"), "right"), (w("amended"), "right")):
        totals.add_column(name, justify=justify)  # type: ignore[arg-type]
    totals.add_column(w("change"), justify="right")
    totals.add_column("%", justify="right")
    for row in report["totals"]:
        totals.add_row(
            w(MEASURE_WORDS[row["measure"]]),
            amount(row["base"]),
            amount(row["amended"]),
            amount(row["change"], True),
            percent(row),
        )
    console.print(totals)

    _attribution_tables(console, report, w)
    _distribution_tables(console, report, w)

    largest = Table(title=w("Largest changes"), box=box.SIMPLE_HEAD, title_justify="left")
    largest.add_column(w("line"), justify="right")
    largest.add_column(w("claim"))
    largest.add_column(w("payers before"), justify="right")
    largest.add_column(w("after"), justify="right")
    largest.add_column(w("change"), justify="right")
    largest.add_column(w("mostly from"), overflow="fold", ratio=2)
    for entry in report["largest"]:
        largest.add_row(
            str(entry["line"]),
            Text(visible(entry["claim_id"] or "")),  # claim text: never markup or control codes
            amount(_payers(entry["base"])),
            amount(_payers(entry["amended"])),
            amount(entry["change"]["payers"], True),
            _because(entry, w),
        )
    console.print(largest)
    console.print(check_line(report, w), markup=False)
    template = "line {line} {claim}: failed under the {version} version only ({error}: {message})"
    for error in report["one_version_errors"][:5]:
        said = w(template).format(
            line=error["line"],
            claim=error["claim_id"],
            version=w(error["failed_under"]),
            error=error["error"],
            message=error["message"],
        )
        console.print(visible("  " + said), markup=False)
    text = console.export_text(styles=color)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _attribution_tables(console: Console, report: DiffReport, w: Words) -> None:
    from rich import box
    from rich.table import Table

    attribution = report["attribution"]
    rules = Table(
        title=w("Change by rule (each step's change, to the rule of that step)"),
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    longest = max((len(r["rule"] or "") for r in attribution["by_rule"]), default=0)
    rules.add_column(w("rule"), overflow="fold", ratio=3, min_width=min(longest, 30))
    rules.add_column(w("step"))
    rules.add_column(w("claims"), justify="right")
    rules.add_column(w("fund"), justify="right")
    rules.add_column(w("crit. illness"), justify="right")
    rules.add_column(w("patients"), justify="right")
    for row in attribution["by_rule"]:
        change = row["change"]
        rules.add_row(
            rule_cell(row, w),
            step_word(row["step"], w),
            f"{row['claims']:,}",
            amount(change["fund"], True),
            amount(change["critical_illness"], True),
            amount(change["patient"], True),
        )
    total = attribution["total"]
    rules.add_row(
        w("total"), "", "", amount(total["fund"], True), amount(total["critical_illness"], True),
        amount(total["patient"], True), style="bold",
    )  # fmt: skip
    console.print(rules)

    clauses = Table(title=w("Change by clause"), box=box.SIMPLE_HEAD, title_justify="left")
    clauses.add_column(w("clause"), overflow="fold", ratio=3)
    clauses.add_column(w("rules"), no_wrap=True)
    clauses.add_column(w("claims"), justify="right")
    clauses.add_column(w("payers"), justify="right")
    clauses.add_column(w("patients"), justify="right")
    for clause in attribution["by_clause"]:
        clauses.add_row(
            _clause_cell(clause, w),
            "\n".join(clause["rules"]) or "—",
            f"{clause['claims']:,}",
            amount(clause["change"]["payers"], True),
            amount(clause["change"]["patient"], True),
        )
    console.print(clauses)


def _distribution_tables(console: Console, report: DiffReport, w: Words) -> None:
    from rich import box
    from rich.table import Table

    for who in ("persons", "claims"):
        spread = report["distribution"][who]
        per = w("Per {who}").format(who=w(who[:-1]))
        console.print(
            f"[italic]{per}[/], "
            + w(
                "fund + critical illness: {changed} changed; min {min}, median {median}, "
                "mean {mean}, max {max}"
            ).format(**_spread(spread)),
        )
        bands = Table(box=box.SIMPLE_HEAD)
        bands.add_column(w("change"), justify="right")
        bands.add_column(w(who), justify="right")
        bands.add_column(w("sum"), justify="right")
        for band in spread["bands"]:
            if band["count"]:
                bands.add_row(_band(band, w), f"{band['count']:,}", amount(band["change"], True))
        console.print(bands)


def _spread(spread: Spread) -> dict[str, str]:
    """The template fields of a spread's sentence."""
    return {
        "changed": f"{spread['changed']:,}",
        "min": amount(spread["min"], True),
        "median": amount(spread["median"], True),
        "mean": amount(spread["mean"], True),
        "max": amount(spread["max"], True),
    }


# ------------------------------------------------------------------ markdown


def _md(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _md_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    rule = ["---:" if i in right else "---" for i in range(len(header))]
    return [_md(header), "|" + "|".join(rule) + "|", *(_md(r) for r in rows)]


def render_markdown(report: DiffReport, lang: str = "en") -> str:
    w = report_words(report, lang)
    out = [f"# {w('Policy change impact')}", ""]
    out += [f"- {what}: {said}" for what, said in headline(report, w)]
    out += ["", f"## {w('Totals')}", ""]
    out += _md_table(
        ["", w("base"), w("amended"), w("change"), "%"],
        [
            [
                w(MEASURE_WORDS[r["measure"]]),
                amount(r["base"]),
                amount(r["amended"]),
                amount(r["change"], True),
                percent(r),
            ]
            for r in report["totals"]
        ],
        {1, 2, 3, 4},
    )
    attribution = report["attribution"]
    out += ["", f"## {w('Change by rule')}", ""]
    rows = [
        [
            f"`{r['rule']}` {w(r['label'])[len(r['rule']) + 1 :]}"
            if r["rule"]
            else rule_cell(r, w),
            step_word(r["step"], w),
            f"{r['claims']:,}",
            amount(r["change"]["fund"], True),
            amount(r["change"]["critical_illness"], True),
            amount(r["change"]["patient"], True),
        ]
        for r in attribution["by_rule"]
    ]
    total = attribution["total"]
    rows.append(
        [
            f"**{w('total')}**",
            "",
            "",
            f"**{amount(total['fund'], True)}**",
            f"**{amount(total['critical_illness'], True)}**",
            f"**{amount(total['patient'], True)}**",
        ]
    )
    header = ["rule", "step", "claims", "fund", "critical illness", "patients"]
    out += _md_table([w(h) for h in header], rows, {2, 3, 4, 5})
    out += ["", f"## {w('Change by clause')}", ""]
    out += _md_table(
        [w(h) for h in ("clause", "rules", "claims", "payers", "patients")],
        [
            [
                _clause_cell(r, w),
                ", ".join(f"`{x}`" for x in r["rules"]) or "—",
                f"{r['claims']:,}",
                amount(r["change"]["payers"], True),
                amount(r["change"]["patient"], True),
            ]
            for r in attribution["by_clause"]
        ],
        {2, 3, 4},
    )
    for who in ("persons", "claims"):
        spread = report["distribution"][who]
        out += [
            "",
            "## " + w("Change per {who} (payers: fund + critical illness)").format(who=w(who[:-1])),
            "",
            w("{changed} changed; min {min}, median {median}, mean {mean}, max {max}.").format(
                **_spread(spread)
            ),
            "",
        ]
        out += _md_table(
            [w("change"), w(who), w("sum")],
            [
                [_band(b, w), f"{b['count']:,}", amount(b["change"], True)]
                for b in spread["bands"]
                if b["count"]
            ],
            {0, 1, 2},
        )
    out += ["", f"## {w('Largest changes')}", ""]
    out += _md_table(
        [w(h) for h in ("line", "claim", "payers before", "after", "change", "mostly from")],
        [
            [
                str(e["line"]),
                markdown(e["claim_id"] or ""),
                amount(_payers(e["base"])),
                amount(_payers(e["amended"])),
                amount(e["change"]["payers"], True),
                _because(e, w),
            ]
            for e in report["largest"]
        ],
        {0, 2, 3, 4},
    )
    out += ["", check_line(report, w) + ("。" if lang == "zh" else ".")]
    return "\n".join(out) + "\n"
