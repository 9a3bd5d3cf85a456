"""The auditors' page's forms and views: the claim form, a refusal, a document with its
clause and quote marked, a rule file with its line marked (page.py puts them in a page)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from policyengine.contract.claims import ClaimRejected
from policyengine.explain import escape
from policyengine.semantics.vocabulary import MOMENTS
from policyengine.service.page_style import PAGE_WORDS
from policyengine.service.problems import ServiceProblem
from policyengine.service.reading import TooLarge
from policyengine.service.sources import Document, mark

if TYPE_CHECKING:
    from starlette.requests import Request

    from policyengine.service.state import ServiceState


def _raw(text: str) -> str:
    """A value given back to the form as it was typed, or a line of the policy's own files
    (escaped for HTML, nothing else)."""
    return html.escape(text, quote=True)


def _e(text: object) -> str:
    """Text shown on the page: escaped, its control characters visible (explain/escape.py)."""
    return escape.html(str(text))


@dataclass(frozen=True)
class Entered:
    """What the form sent (or nothing yet)."""

    claim: str = ""
    region: str | None = None
    moment: str = "during"
    as_of: str = ""
    lang: str = "zh"

    def as_of_date(self) -> dt.date | None:
        if not self.as_of.strip():
            return None
        try:
            return dt.date.fromisoformat(self.as_of.strip())
        except ValueError:
            raise ValueError(f"as_of: {self.as_of!r} is not a date YYYY-MM-DD") from None


async def read(request: Request, body: bytes, limit: int) -> Entered:
    """The form's fields, from a urlencoded or a multipart body (an uploaded claim file
    wins over the text area)."""
    kind = request.headers.get("content-type", "")
    fields: dict[str, str] = {}
    if kind.startswith("multipart/form-data"):
        from starlette.datastructures import UploadFile
        from starlette.formparsers import MultiPartException, MultiPartParser

        async def stream() -> AsyncGenerator[bytes, None]:
            yield body

        parser = MultiPartParser(
            request.headers, stream(), max_files=1, max_fields=10, max_part_size=limit
        )
        try:
            form = await parser.parse()
        except MultiPartException as error:
            raise ServiceProblem(422, "invalid_form", f"the form cannot be read: {error}") from None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                if data.strip():
                    fields["claim_file"] = data.decode("utf-8", errors="replace")
            else:
                fields[key] = value
    else:
        text = body.decode("utf-8", errors="replace")
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=10)
        except ValueError as error:
            raise ServiceProblem(422, "invalid_form", f"the form cannot be read: {error}") from None
        fields = {key: values[0] for key, values in parsed.items()}
    claim = fields.get("claim_file") or fields.get("claim", "")
    moment = fields.get("moment", "during")
    lang = fields.get("lang", "zh")
    return Entered(
        claim=claim,
        region=fields.get("region") or None,
        moment=moment if moment in MOMENTS else "during",
        as_of=fields.get("as_of", ""),
        lang=lang if lang in PAGE_WORDS else "zh",
    )


def claim_form(service: ServiceState, lang: str, entered: Entered) -> str:
    words = PAGE_WORDS[lang]
    regions = service.policies.current.engine.regions
    region_options = [f'<option value="">{words["region_any"]}</option>'] + [
        f'<option value="{_e(r)}"{" selected" if r == entered.region else ""}>{_e(r)}</option>'
        for r in regions
    ]
    moments = "".join(
        f'<option value="{m}"{" selected" if m == entered.moment else ""}>'
        f"{words['moment_' + m]}</option>"
        for m in MOMENTS
    )
    settled = (
        f"""<form class="settled" method="get" action="/explain">
<h2>{words["settled_title"]}</h2>
<input type="hidden" name="lang" value="{lang}">
<div class="row"><div><label for="settled-region">{words["settled_region"]}</label>
<select id="settled-region" name="region">{"".join(region_options[1:])}</select></div>
<div><label for="settled-id">{words["claim_id"]}</label>
<input id="settled-id" name="claim_id" required maxlength="128"></div></div>
<button type="submit">{words["open"]}</button></form>"""
        if service.store is not None
        else ""
    )
    return f"""<form class="claim" method="post" action="/explain" enctype="multipart/form-data">
<input type="hidden" name="lang" value="{lang}">
<label for="claim">{words["paste"]}</label>
<textarea id="claim" name="claim" spellcheck="false">{_raw(entered.claim)}</textarea>
<label for="claim-file">{words["upload"]}</label>
<input id="claim-file" name="claim_file" type="file" accept=".json,application/json">
<div class="row">
<div><label for="region">{words["region"]}</label>
<select id="region" name="region">{"".join(region_options)}</select></div>
<div><label for="moment">{words["moment"]}</label>
<select id="moment" name="moment">{moments}</select></div>
<div><label for="as-of">{words["as_of"]}</label>
<input id="as-of" name="as_of" value="{_e(entered.as_of)}" pattern="\\d{{4}}-\\d{{2}}-\\d{{2}}"
 placeholder="2024-03-05"></div></div>
<button type="submit">{words["explain"]}</button>
<p class="no-print">{words["print"]}</p></form>
{settled}"""


def switch_form(entered: Entered) -> str:
    """The language switch of a posted claim: the same claim, posted again."""
    other = PAGE_WORDS[entered.lang]["switch_lang"]
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{_raw(value)}">'
        for name, value in (
            ("claim", entered.claim),
            ("region", entered.region or ""),
            ("moment", entered.moment),
            ("as_of", entered.as_of),
            ("lang", other),
        )
    )
    label = PAGE_WORDS[entered.lang]["switch"]
    return (
        f'<form method="post" action="/explain" class="switch">{hidden}'
        f'<button type="submit" lang="{"en" if other == "en" else "zh-CN"}">{label}</button></form>'
    )


def refused(error: Exception, lang: str) -> str:
    words = PAGE_WORDS[lang]
    if isinstance(error, ClaimRejected):
        items = "".join(
            f"<li><code>{_e(e.path or '(claim)')}</code>: {_e(e.message)}</li>"
            for e in error.errors
        )
        return (
            f'<section class="alert" role="alert"><h2>{words["refused"]}</h2>'
            f"<p>{words['refused_intro']}</p><ul>{items}</ul></section>"
        )
    message = f"{error.path}: {error.message}" if isinstance(error, TooLarge) else str(error)
    return (
        f'<section class="alert" role="alert"><h2>{words["refused"]}</h2>'
        f"<p>{_e(message)}</p></section>"
    )


def document_view(document: Document, clause: str | None, quote: str | None, lang: str) -> str:
    words = PAGE_WORDS[lang]
    meta = [f"<h1>{_e(document.title)}</h1>", "<dl>"]
    if document.number:
        meta.append(f"<dt>{words['number']}</dt><dd>{_e(document.number)}</dd>")
    if document.date:
        meta.append(f"<dt>{words['date']}</dt><dd>{_e(document.date)}</dd>")
    if clause:
        meta.append(f"<dt>{words['cited_clause']}</dt><dd>{_e(clause)}</dd>")
    if quote:
        meta.append(f"<dt>{words['quote']}</dt><dd>「{_e(quote)}」</dd>")
    meta.append("</dl>")
    if document.text is None:
        return "\n".join([*meta, f'<p class="alert">{words["not_held"]}</p>'])
    marked = mark(document, clause, quote)
    notes = []
    if clause and not marked.clause_found:
        notes.append(f'<p class="alert" role="alert">{words["clause_missing"]}</p>')
    if quote and not marked.quote:
        notes.append(f'<p class="alert" role="alert">{words["quote_missing"]}</p>')
    by_line: dict[int, list[tuple[int, int]]] = {}
    for span in marked.quote:
        by_line.setdefault(span.line, []).append((span.start, span.end))
    first_hit = min(by_line) if by_line else None
    first_clause = min(marked.clause_lines) if marked.clause_lines else None
    out = []
    for number, line in enumerate(marked.lines):
        classes = "doc-line in-clause" if number in marked.clause_lines else "doc-line"
        anchor = ' id="clause"' if number == first_clause else ""
        marked_line = _highlight(line, by_line.get(number, []), number == first_hit)
        out.append(f'<p class="{classes}"{anchor}>{marked_line}</p>')
    region = (
        f'<section class="document" aria-label="{words["document"]}">'
        + "\n".join(out)
        + "</section>"
    )
    return "\n".join([*meta, *notes, region])


def _highlight(line: str, spans: list[tuple[int, int]], first: bool) -> str:
    out, at = [], 0
    for index, (start, end) in enumerate(sorted(spans)):
        if start < at:
            continue
        anchor = ' id="hit"' if first and index == 0 else ""
        out += [_raw(line[at:start]), f"<mark{anchor}>{_raw(line[start:end])}</mark>"]
        at = end
    out.append(_raw(line[at:]))
    return "".join(out)


def rule_view(file: str, text: str, line: int, lang: str) -> str:
    words = PAGE_WORDS[lang]
    rows = []
    for number, content in enumerate(text.splitlines(), start=1):
        hit = " hit" if number == line else ""
        rows.append(
            f'<p class="source-line{hit}" id="line-{number}"><span aria-hidden="true">'
            f"{number:>4}  </span>{_raw(content)}</p>"
        )
    return (
        f"<h1>{words['rule_file']} {_e(file)}:{line}</h1>\n"
        f'<section class="document">{"".join(rows)}</section>'
    )
