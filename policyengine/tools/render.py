"""`policyengine render POLICY --by-clause`: the literate view (tools/literate.py) as text,
Markdown or a standalone HTML page (quoted words marked in the clause text)."""

from __future__ import annotations

import html
from collections.abc import Callable

from policyengine import nodes as n
from policyengine.tools.literate import Cited, Document, Passage, View, describe, quoted_spans

FORMATS = ("text", "markdown", "html")


def render(view: View, form: str) -> str:
    writers: dict[str, Callable[[View], str]] = {
        "text": _text,
        "markdown": _markdown,
        "html": _html,
    }
    return writers[form](view)


def summary(view: View) -> str:
    clauses = [p for d in view.documents for p in d.clauses]
    cited = sum(1 for p in clauses if p.cited)
    provisional = sum(len(items) for _, items in view.provisional)
    return (
        f"{len(view.documents)} document(s) held: {len(clauses)} clauses, {cited} cited by "
        f"the rules, {len(clauses) - cited} by nothing; {len(view.unheld)} named but not held; "
        f"{provisional} provisional figures and rules"
    )


def _provenance(item: Cited) -> str:
    """How the rule cites: the quote, the document named, or the provisional reason."""
    return describe(item.provenance)


def _heading(document: Document) -> str:
    number = f" {document.number}" if document.number else ""
    return f"{document.name}  {document.title}{number}"


# ------------------------------------------------------------------ text


def _text(view: View) -> str:
    out = [f"{view.title} ({view.name}) — the rules by clause", summary(view), ""]
    for document in view.documents:
        out += ["═" * 4 + f" {_heading(document)}", f"     {document.file}", ""]
        for passage in document.passages:
            out += _text_passage(passage)
    if view.unheld:
        out += ["═" * 4 + " documents named but not held (secondary)", ""]
        for unheld in view.unheld:
            number = f" {unheld.number}" if unheld.number else ""
            out.append(f"  {unheld.name}  {unheld.title}{number}")
            out += [f"    ← {c.location}  {c.label}" for c in unheld.cited]
            out.append("")
    out += _text_provisional(view)
    return "\n".join(out).rstrip() + "\n"


def _text_passage(passage: Passage) -> list[str]:
    label = f"[{passage.path}]" if passage.path else "[unnumbered text]"
    out = [label + ("" if passage.cited or not passage.path else "  · nothing cites this clause")]
    out += [f"    {line.strip()}" for line in passage.lines if line.strip()]
    for item in passage.cited:
        out += [f"  ← {item.location}  {item.label}", f"      {_provenance(item)}"]
    return [*out, ""]


def _text_provisional(view: View) -> list[str]:
    if not view.provisional:
        return []
    out = ["═" * 4 + " provisional figures and rules, by what they stand in for", ""]
    for title, items in view.provisional:
        out.append(f"  {title} ({len(items)})")
        for item in items:
            out += [f"    {item.location}  {item.label}", f"      — {_reason(item)}"]
        out.append("")
    return out


def _reason(item: Cited) -> str:
    provenance = item.provenance
    return provenance.reason if isinstance(provenance, n.Provisional) else ""


# ------------------------------------------------------------------ markdown


def _md(text: str) -> str:
    """Text inside Markdown: the characters that would start markup escaped."""
    return "".join(f"\\{ch}" if ch in "\\`*_[]<>|#" else ch for ch in text)


def _markdown(view: View) -> str:
    out = [f"# {_md(view.title)} ({view.name}) — the rules by clause", "", summary(view), ""]
    for document in view.documents:
        out += [f"## {_md(_heading(document))}", "", f"`{document.file}`", ""]
        for passage in document.passages:
            out += _markdown_passage(passage)
    if view.unheld:
        out += ["## Documents named but not held (secondary)", ""]
        for unheld in view.unheld:
            number = f" {unheld.number}" if unheld.number else ""
            out += [f"### {_md(unheld.name)} {_md(unheld.title)}{_md(number)}", ""]
            out += [f"- `{c.location}` {_md(c.label)}" for c in unheld.cited] + [""]
    if view.provisional:
        out += ["## Provisional figures and rules, by what they stand in for", ""]
        for title, items in view.provisional:
            out += [f"### {_md(title)} ({len(items)})", ""]
            out += [f"- `{i.location}` {_md(i.label)} — {_md(_reason(i))}" for i in items]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _markdown_passage(passage: Passage) -> list[str]:
    out = [f"### {passage.path}" if passage.path else "### (unnumbered text)", ""]
    out += [f"> {_md(line.strip())}  " for line in passage.lines if line.strip()]
    out.append("")
    if passage.cited:
        out += [f"- `{c.location}` {_md(c.label)}<br>{_md(_provenance(c))}" for c in passage.cited]
    elif passage.path:
        out.append("*Nothing cites this clause.*")
    return [*out, ""]


# ------------------------------------------------------------------ html

_STYLE = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; margin: 2em auto;
  max-width: 60em; line-height: 1.6; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
section.clause { display: grid; grid-template-columns: 7em 1fr; column-gap: 1em;
  border-top: 1px solid #eee; padding: .4em 0; }
section.clause > h3 { font-size: 1em; margin: 0; color: #555; }
section.uncited { color: #888; }
.text p { margin: 0; }
ul.cited { grid-column: 2; margin: .3em 0; padding-left: 1.2em; }
ul.cited li { font-size: .92em; }
code { font-family: "Noto Sans Mono CJK SC", monospace; background: #f4f4f4; padding: 0 .2em; }
mark { background: #fff3a8; }
.none { grid-column: 2; font-size: .85em; font-style: italic; }
.provisional { color: #8a5a00; }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html(view: View) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh">',
        "<head>",
        '<meta charset="utf-8" />',
        f"<title>{_e(view.title)} — the rules by clause</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(view.title)} ({_e(view.name)}) — the rules by clause</h1>",
        f"<p>{_e(summary(view))}</p>",
    ]
    for document in view.documents:
        out.append(f'<h2 id="{_e(document.name)}">{_e(_heading(document))}</h2>')
        out.append(f"<p><code>{_e(document.file)}</code></p>")
        out += [_html_passage(document, passage) for passage in document.passages]
    if view.unheld:
        out.append("<h2>Documents named but not held (secondary)</h2>")
        for unheld in view.unheld:
            number = f" {unheld.number}" if unheld.number else ""
            out.append(f"<h3>{_e(unheld.name)} {_e(unheld.title)}{_e(number)}</h3>")
            out.append(_html_list(unheld.cited, reasons=False))
    if view.provisional:
        out.append("<h2>Provisional figures and rules, by what they stand in for</h2>")
        for title, items in view.provisional:
            out.append(f"<h3>{_e(title)} ({len(items)})</h3>")
            out.append(_html_list(items, reasons=True))
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_passage(document: Document, passage: Passage) -> str:
    kind = "cited" if passage.cited or not passage.path else "uncited"
    anchor = _e(f"{document.name}-{passage.path or 'text'}")
    label = _e(passage.path) if passage.path else "—"
    text = "\n".join(line.strip() for line in passage.lines if line.strip())
    quotes = [q for q in (c.quote for c in passage.cited) if q]
    marked = _marked(text, quotes)
    paragraphs = "".join(f"<p>{line}</p>" for line in marked.split("\n"))
    parts = [
        f'<section class="clause {kind}" id="{anchor}">',
        f"<h3>{label}</h3>",
        f'<div class="text">{paragraphs}</div>',
    ]
    if passage.cited:
        parts.append(_html_list(passage.cited, reasons=False))
    elif passage.path:
        parts.append('<p class="none">Nothing cites this clause.</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _html_list(items: list[Cited], *, reasons: bool) -> str:
    rows = []
    for item in items:
        detail = _reason(item) if reasons else _provenance(item)
        css = ' class="provisional"' if isinstance(item.provenance, n.Provisional) else ""
        rows.append(
            f"<li{css}><code>{_e(item.location)}</code> {_e(item.label)}<br />{_e(detail)}</li>"
        )
    return '<ul class="cited">' + "".join(rows) + "</ul>"


def _marked(text: str, quotes: list[str]) -> str:
    """`text` escaped, each quoted passage in <mark> (split at line breaks, so a mark never
    spans two paragraphs)."""
    out, at = [], 0
    for start, end in quoted_spans(text, quotes):
        out.append(_e(text[at:start]))
        pieces = text[start:end].split("\n")
        out.append("\n".join(f"<mark>{_e(piece)}</mark>" if piece else "" for piece in pieces))
        at = end
    out.append(_e(text[at:]))
    return "".join(out)
