"""Rendering a diff report: a rich table for people, markdown for a report (the chart:
diff_chart.py)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from policyengine.explain.escape import markdown, visible

MEASURE_WORDS = {
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
    "claim": "whole claim",
}


def amount(text: str | None, signed: bool = False) -> str:
    if text is None:
        return "—"
    value = Decimal(text)
    shown = f"{value:,.2f}"
    return f"+{shown}" if signed and value > 0 else shown


def percent(row: dict[str, Any]) -> str:
    text = row["change_percent"]
    if text is None:
        return "—"
    value, change = Decimal(text), Decimal(row["change"])
    if value == 0 and change:
        return f"{'+' if change > 0 else '-'}<0.01%"
    return f"{'+' if value > 0 else ''}{value}%"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def headline(report: dict[str, Any]) -> list[str]:
    claims, persons = report["claims"], report["persons"]
    settled = claims["settled"]
    errors = claims["errors"]
    lines = [
        f"base     {report['base']['label']}",
        f"amended  {report['amended']['label']}",
        f"claims   {claims['total']:,} in {report['input']} "
        f"(settled {settled['base']:,} base / {settled['amended']:,} amended"
        + (f"; errors {errors['base']:,} / {errors['amended']:,}" if any(errors.values()) else "")
        + ")",
        f"changed  {plural(claims['changed'], 'claim')} ({claims['increased']:,} up, "
        f"{claims['decreased']:,} down in fund + critical illness); "
        f"{persons['changed']:,} of {persons['total']:,} persons",
    ]
    return lines


def check_line(report: dict[str, Any]) -> str:
    attribution = report["attribution"]
    total = attribution["total"]
    text = (
        f"attributed: fund {amount(total['fund'], True)}, critical illness "
        f"{amount(total['critical_illness'], True)}, patients {amount(total['patient'], True)} — "
    )
    text += (
        "the parts sum exactly to the change in the totals"
        if attribution["reconciled"]
        else "the parts do NOT sum to the change in the totals"
    )
    skipped = attribution["not_decomposed"]["claims"]
    if skipped:
        text += (
            f"; {skipped:,} claim(s) not decomposed step by step (whole change given to the "
            "first differing step)"
        )
    return text


def _clause_cell(row: dict[str, Any]) -> str:
    return str(row["label"])


def short(row: dict[str, Any]) -> str:
    """A target in few words: its rule, else `ledger: cap paid`, else its label."""
    if row["rule"]:
        return str(row["rule"])
    if row["kind"] == "ledger":
        return f"ledger: {STEP_SHORT.get(row['step'], row['step'])}"
    return str(row["label"])


def rule_cell(row: dict[str, Any]) -> str:
    if row["kind"] == "ledger":
        return "ledger — carried over from earlier claims of the year"
    return str(row["label"])


def _because(entry: dict[str, Any]) -> str:
    return "; ".join(f"{short(p)} {amount(p['payers'], True)}" for p in entry["because"])


def _payers(payments: dict[str, str] | None) -> str | None:
    if payments is None:
        return None
    return str(Decimal(payments["fund"]) + Decimal(payments["critical_illness"]))


# ------------------------------------------------------------------ table (rich)


def render_table(report: dict[str, Any], width: int | None = None, color: bool = False) -> str:
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
    console.print("[bold]policyengine diff[/]")
    for line in headline(report):
        console.print("  " + line, markup=False)

    totals = Table(title="Totals", box=box.SIMPLE_HEAD, title_justify="left")
    for name, justify in (("", "left"), ("base", "right"), ("amended", "right")):
        totals.add_column(name, justify=justify)  # type: ignore[arg-type]
    totals.add_column("change", justify="right")
    totals.add_column("%", justify="right")
    for row in report["totals"]:
        totals.add_row(
            MEASURE_WORDS[row["measure"]],
            amount(row["base"]),
            amount(row["amended"]),
            amount(row["change"], True),
            percent(row),
        )
    console.print(totals)

    _attribution_tables(console, report)
    _distribution_tables(console, report)

    largest = Table(title="Largest changes", box=box.SIMPLE_HEAD, title_justify="left")
    largest.add_column("line", justify="right")
    largest.add_column("claim")
    largest.add_column("payers before", justify="right")
    largest.add_column("after", justify="right")
    largest.add_column("change", justify="right")
    largest.add_column("mostly from", overflow="fold", ratio=2)
    for entry in report["largest"]:
        largest.add_row(
            str(entry["line"]),
            Text(visible(entry["claim_id"] or "")),  # claim text: never markup or control codes
            amount(_payers(entry["base"])),
            amount(_payers(entry["amended"])),
            amount(entry["change"]["payers"], True),
            _because(entry),
        )
    console.print(largest)
    console.print(check_line(report), markup=False)
    for error in report["one_version_errors"][:5]:
        console.print(
            visible(
                f"  line {error['line']} {error['claim_id']}: failed under the "
                f"{error['failed_under']} version only ({error['error']}: {error['message']})"
            ),
            markup=False,
        )
    text = console.export_text(styles=color)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _attribution_tables(console: Any, report: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    attribution = report["attribution"]
    rules = Table(
        title="Change by rule (each step's change, to the rule of that step)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    longest = max((len(r["rule"] or "") for r in attribution["by_rule"]), default=0)
    rules.add_column("rule", overflow="fold", ratio=3, min_width=min(longest, 30))
    rules.add_column("step")
    rules.add_column("claims", justify="right")
    rules.add_column("fund", justify="right")
    rules.add_column("crit. illness", justify="right")
    rules.add_column("patients", justify="right")
    for row in attribution["by_rule"]:
        change = row["change"]
        rules.add_row(
            rule_cell(row),
            STEP_SHORT.get(row["step"], row["step"]),
            f"{row['claims']:,}",
            amount(change["fund"], True),
            amount(change["critical_illness"], True),
            amount(change["patient"], True),
        )
    total = attribution["total"]
    rules.add_row(
        "total", "", "", amount(total["fund"], True), amount(total["critical_illness"], True),
        amount(total["patient"], True), style="bold",
    )  # fmt: skip
    console.print(rules)

    clauses = Table(title="Change by clause", box=box.SIMPLE_HEAD, title_justify="left")
    clauses.add_column("clause", overflow="fold", ratio=3)
    clauses.add_column("rules", no_wrap=True)
    clauses.add_column("claims", justify="right")
    clauses.add_column("payers", justify="right")
    clauses.add_column("patients", justify="right")
    for row in attribution["by_clause"]:
        clauses.add_row(
            _clause_cell(row),
            "\n".join(row["rules"]) or "—",
            f"{row['claims']:,}",
            amount(row["change"]["payers"], True),
            amount(row["change"]["patient"], True),
        )
    console.print(clauses)


def _distribution_tables(console: Any, report: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    for who in ("persons", "claims"):
        spread = report["distribution"][who]
        console.print(
            f"[italic]Per {who[:-1]}[/], fund + critical illness: "
            f"{spread['changed']:,} changed; min {amount(spread['min'], True)}, median "
            f"{amount(spread['median'], True)}, mean {amount(spread['mean'], True)}, max "
            f"{amount(spread['max'], True)}"
        )
        bands = Table(box=box.SIMPLE_HEAD)
        bands.add_column("change", justify="right")
        bands.add_column(who, justify="right")
        bands.add_column("sum", justify="right")
        for band in spread["bands"]:
            if band["count"]:
                bands.add_row(band["label"], f"{band['count']:,}", amount(band["change"], True))
        console.print(bands)


# ------------------------------------------------------------------ markdown


def _md(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _md_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    rule = ["---:" if i in right else "---" for i in range(len(header))]
    return [_md(header), "|" + "|".join(rule) + "|", *(_md(r) for r in rows)]


def render_markdown(report: dict[str, Any]) -> str:
    out = ["# Policy change impact", ""]
    out += [
        f"- {line.split(maxsplit=1)[0]}: {line.split(maxsplit=1)[1]}" for line in headline(report)
    ]
    out += ["", "## Totals", ""]
    out += _md_table(
        ["", "base", "amended", "change", "%"],
        [
            [
                MEASURE_WORDS[r["measure"]],
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
    out += ["", "## Change by rule", ""]
    rows = [
        [
            f"`{r['rule']}` {r['label'][len(r['rule']) + 1 :]}" if r["rule"] else rule_cell(r),
            STEP_SHORT.get(r["step"], r["step"]),
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
            "**total**",
            "",
            "",
            f"**{amount(total['fund'], True)}**",
            f"**{amount(total['critical_illness'], True)}**",
            f"**{amount(total['patient'], True)}**",
        ]
    )
    out += _md_table(
        ["rule", "step", "claims", "fund", "critical illness", "patients"], rows, {2, 3, 4, 5}
    )
    out += ["", "## Change by clause", ""]
    out += _md_table(
        ["clause", "rules", "claims", "payers", "patients"],
        [
            [
                _clause_cell(r),
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
            f"## Change per {who[:-1]} (payers: fund + critical illness)",
            "",
            f"{spread['changed']:,} changed; min {amount(spread['min'], True)}, median "
            f"{amount(spread['median'], True)}, mean {amount(spread['mean'], True)}, max "
            f"{amount(spread['max'], True)}.",
            "",
        ]
        out += _md_table(
            ["change", who, "sum"],
            [
                [b["label"], f"{b['count']:,}", amount(b["change"], True)]
                for b in spread["bands"]
                if b["count"]
            ],
            {0, 1, 2},
        )
    out += ["", "## Largest changes", ""]
    out += _md_table(
        ["line", "claim", "payers before", "after", "change", "mostly from"],
        [
            [
                str(e["line"]),
                markdown(e["claim_id"] or ""),
                amount(_payers(e["base"])),
                amount(_payers(e["amended"])),
                amount(e["change"]["payers"], True),
                _because(e),
            ]
            for e in report["largest"]
        ],
        {0, 2, 3, 4},
    )
    out += ["", check_line(report) + "."]
    return "\n".join(out) + "\n"
