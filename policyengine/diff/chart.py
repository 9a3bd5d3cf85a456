"""The chart of `policyengine diff --chart`: an SVG histogram of the per-person change,
written by hand (no plotting dependency)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal
from xml.sax.saxutils import escape

from policyengine.diff.render import amount

if TYPE_CHECKING:
    from policyengine.diff.schema import DiffReport, Spread


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    negative: bool  # a fall in what the payers pay (drawn red)


def chart_bars(spread: Spread) -> tuple[Literal["bands", "linear"], list[Bar]]:
    """The chart's bars: the linear histogram, or — when one bin holds most persons and the
    changes span more than two orders of magnitude — the table's bands (by decade)."""
    bins = spread["histogram"]
    values = [abs(Decimal(v)) for v in (spread["min"], spread["max"]) if v is not None]
    peak = max((b["count"] for b in bins), default=0)
    small = min((v for v in values if v), default=Decimal(0))
    wide = bool(values) and small > 0 and max(values) / small > 100
    if bins and wide and peak * 2 > spread["changed"]:
        bands = spread["bands"]
        used = [i for i, b in enumerate(bands) if b["count"]]
        chosen = bands[used[0] : used[-1] + 1]
        return "bands", [
            Bar(
                b["label"],
                b["count"],
                negative=b["to"] is not None and Decimal(b["to"]) <= 0 and b["from"] != "0.00",
            )
            for b in chosen
        ]
    return "linear", [
        Bar(
            f"{amount(b['from'])} to {amount(b['to'])}",
            b["count"],
            negative=Decimal(b["to"]) <= 0,
        )
        for b in bins
    ]


def render_svg(report: DiffReport) -> str:
    """A histogram of the per-person change paid by the fund and the second layer."""
    persons_spread = report["distribution"]["persons"]
    mode, bars = chart_bars(persons_spread)
    width, height = 760, 440
    left, right, top, bottom = 70, 20, 56, 104
    plot_w, plot_h = width - left - right, height - top - bottom
    persons = report["persons"]
    title = (
        f"Change per person, fund + critical illness: {persons['changed']:,} of "
        f"{persons['total']:,} persons changed"
    )
    subtitle = f"{report['base']['label']} → {report['amended']['label']}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="{left}" y="40" fill="#555">{escape(subtitle)}</text>',
    ]
    if not bars:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no person changed</text>'
        )
        return "\n".join([*parts, "</svg>"]) + "\n"
    ticks = _count_ticks(max(b.count for b in bars))
    top_count = ticks[-1]
    bar_w = plot_w / len(bars)
    base_y = top + plot_h
    for tick in ticks:
        y = base_y - plot_h * tick / top_count
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>')
    for index, bar in enumerate(bars):
        h = plot_h * bar.count / top_count
        x = left + index * bar_w
        fill = "#c0504d" if bar.negative else "#4f81bd"
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{base_y - h:.1f}" width="{max(bar_w - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="{fill}"><title>{escape(bar.label)}: '
            f"{bar.count:,} persons</title></rect>"
        )
        if mode == "bands":
            centre = x + bar_w / 2
            label_y = base_y + 16
            # narrow bars: labels slanted so that they do not run into each other
            slant = (
                f' text-anchor="end" transform="rotate(-30 {centre:.1f} {label_y})"'
                if bar_w < 6 * len(bar.label)
                else ' text-anchor="middle"'
            )
            parts.append(
                f'<text x="{centre:.1f}" y="{label_y}"{slant} font-size="10">'
                f"{escape(bar.label)}</text>"
            )
            parts.append(
                f'<text x="{centre:.1f}" y="{base_y - h - 4:.1f}" text-anchor="middle" '
                f'font-size="10">{bar.count:,}</text>'
            )
    if mode == "linear":
        step = max(1, len(bars) // 8)
        bins = persons_spread["histogram"]  # the bars, one a bin
        edges = [b["from"] for b in bins] + [bins[-1]["to"]]
        for index in range(0, len(edges), step):
            x = left + index * bar_w
            parts.append(
                f'<line x1="{x:.1f}" y1="{base_y}" x2="{x:.1f}" y2="{base_y + 4}" stroke="#333"/>'
            )
            parts.append(
                f'<text x="{x:.1f}" y="{base_y + 18}" text-anchor="middle">'
                f"{escape(_short(edges[index]))}</text>"
            )
    axis = "change in what the fund and the second layer pay per person (元)"
    if mode == "bands":
        axis += ", in bands by order of magnitude"
    parts += [
        f'<line x1="{left}" y1="{base_y}" x2="{left + plot_w}" y2="{base_y}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base_y}" stroke="#333"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 24}" text-anchor="middle">'
        f"{escape(axis)}</text>",
        f'<text x="16" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + plot_h / 2})">persons</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _short(text: str) -> str:
    value = Decimal(text)
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _count_ticks(peak: int) -> list[int]:
    step = 1
    while peak / step > 5:
        for factor in (2, 5, 10):
            if peak / (step * factor) <= 5:
                step *= factor
                break
        else:
            step *= 10
    top = -(-peak // step) * step
    return list(range(0, top + 1, step))
