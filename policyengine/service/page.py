"""`/explain`: the auditors' page, rendered on the server (no script, no network).

Paste or upload a claim, or open a claim settled in the ledger; the page shows the
decision, the money split, the findings and every step with its rule (file:line, a link to
the rule file) and its clause (a link to the document, the clause marked and the quoted
words highlighted). Chinese by default, English with `lang=en`. A Content-Security-Policy
forbids every script and every request to anywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from policyengine.contract.claims import ClaimRejected
from policyengine.errors import PolicyEngineError
from policyengine.explain import escape
from policyengine.explain.html import Links, render_html
from policyengine.explain.words import WORDS
from policyengine.service import forms, sources
from policyengine.service.page_style import PAGE_WORDS, STYLE
from policyengine.service.problems import ServiceProblem
from policyengine.service.reading import TooLarge, read_body
from policyengine.service.state import state_of

if TYPE_CHECKING:
    from policyengine.contract.results import ResultDict
    from policyengine.contract.trace import Citation
    from policyengine.explain.account import Doc
    from policyengine.service.policies import Generation
    from policyengine.service.state import ServiceState

router = APIRouter(prefix="/explain", tags=["page"], include_in_schema=False)
Lang = Annotated[Literal["zh", "en"], Query()]
HTML = "text/html; charset=utf-8"
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
MONEY_ROWS = (
    "billed", "denied", "excluded", "over_limit", "pre_self_pay", "covered", "deductible",
    "fund", "critical_illness", "patient",
)  # fmt: skip


def _e(text: object) -> str:
    """Text shown on the page: escaped, its control characters visible (explain/escape.py)."""
    return escape.html(str(text))


def page(title: str, body: str, lang: str, switch: str, footer: str = "") -> Response:
    words = PAGE_WORDS[lang]
    document = f"""<!doctype html>
<html lang="{words["html_lang"]}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{STYLE}</style></head>
<body>
<a class="skip" href="#main">{words["skip"]}</a>
<header class="site"><p>{words["brand"]}</p>
<nav aria-label="{words["languages"]}">{switch}</nav></header>
<main id="main">
{body}
</main>
<footer>{footer}</footer>
</body></html>
"""
    return Response(document, 200, {"Content-Security-Policy": POLICY}, media_type=HTML)


def switch_link(request: Request, lang: str) -> str:
    words = PAGE_WORDS[lang]
    other = words["switch_lang"]
    query = dict(request.query_params)
    query["lang"] = other
    href = f"{request.url.path}?{urlencode(query)}"
    hreflang = "en" if other == "en" else "zh-CN"
    return f'<a href="{_e(href)}" hreflang="{hreflang}" lang="{hreflang}">{words["switch"]}</a>'


def links(service: ServiceState, generation: Generation, region: str, lang: str) -> Links:
    library = source_library(service, generation, region)

    def rule(location: str) -> str | None:
        file, _, line = location.rpartition(":")
        if file not in library.rule_files:
            return None
        query = urlencode({"region": region, "file": file, "line": line, "lang": lang})
        return f"/explain/rule?{query}#line-{line}"

    def source(citation: Citation) -> str | None:
        document = library.by_shown(citation.get("doc", ""))
        if document is None or document.text is None:
            return None
        fields = {"region": region, "doc": document.name, "lang": lang}
        if "clause" in citation:
            fields["clause"] = citation["clause"]
        if "quote" in citation:
            fields["quote"] = citation["quote"]
        return f"/explain/source?{urlencode(fields)}#hit"

    return Links(rule, source)


def source_library(
    service: ServiceState, generation: Generation, region: str
) -> sources.SourceLibrary:
    key = (generation.number, region)
    if key not in service.libraries:
        service.libraries[key] = sources.library(generation.engine.policy(region))
    return service.libraries[key]


def money_table(result: ResultDict, lang: str) -> str:
    words, page_words = WORDS[lang], PAGE_WORDS[lang]
    totals = result["totals"]
    amounts = {**{k: v for k, v in totals.items() if isinstance(v, str)}, **totals["payers"]}
    rows = "".join(
        f'<tr><th scope="row">{_e(words.get(key, key))}</th><td>{_e(amounts[key])}</td></tr>'
        for key in MONEY_ROWS
    )
    return (
        f'<table class="money"><caption>{page_words["money_caption"]}</caption>'
        f'<thead><tr><th scope="col">{page_words["item"]}</th>'
        f'<th scope="col">{page_words["amount"]}</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def explanation(
    service: ServiceState, generation: Generation, account: Doc, result: ResultDict, lang: str
) -> str:
    region = result["policy"]["region"]
    article = render_html(account, result["decision"], links(service, generation, region, lang))
    head, rest = article.split("</p>", 1)  # the money split right after the decision
    return f"{head}</p>\n{money_table(result, lang)}\n{rest}"


def policy_footer(generation: Generation, result: ResultDict | None, lang: str) -> str:
    words = PAGE_WORDS[lang]
    if result is None:
        return f"{words['rules_used']}: {_e(generation.header)}"
    policy = result["policy"]
    region = policy["region"]
    digest = generation.hashes.get(region, "")
    return f"{words['rules_used']}: {_e(region)} {_e(policy['version'])} · sha256 {_e(digest)}"


def explanation_page(
    service: ServiceState, generation: Generation, account: Doc, result: ResultDict, lang: str
) -> bytes:
    """A standalone page of one explanation (`/v1/explain?format=html`)."""
    body = explanation(service, generation, account, result, lang)
    answer = page(
        PAGE_WORDS[lang]["title"], body, lang, "", policy_footer(generation, result, lang)
    )
    return bytes(answer.body)


# ------------------------------------------------------------------ the routes


@router.get("")
async def explain_page(
    request: Request,
    lang: Lang = "zh",
    region: Annotated[str | None, Query(max_length=64)] = None,
    claim_id: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    service = state_of(request)
    generation = service.policies.current
    form = forms.claim_form(service, lang, forms.Entered())
    if claim_id and region:
        shown = await settled_claim(service, generation, region, claim_id, lang)
        body = f"{shown}\n{form}"
    else:
        body = f"<h1>{PAGE_WORDS[lang]['title']}</h1>\n<p>{PAGE_WORDS[lang]['intro']}</p>\n{form}"
    return page(
        PAGE_WORDS[lang]["title"],
        body,
        lang,
        switch_link(request, lang),
        policy_footer(generation, None, lang),
    )


async def settled_claim(
    service: ServiceState, generation: Generation, region: str, claim_id: str, lang: str
) -> str:
    from policyengine.explain import render as explaining

    words = PAGE_WORDS[lang]
    if service.store is None:
        return f'<p class="alert" role="alert">{words["no_ledger"]}</p>'
    found = await anyio.to_thread.run_sync(service.store.settlement, region, claim_id)
    if found is None:
        return (
            f'<p class="alert" role="alert">{words["not_found"]}: {_e(region)} {_e(claim_id)}</p>'
        )
    status = words[f"status_{found.status}"]
    account = explaining.build(found.claim, found.result, lang, generation.words(found.result))
    shown = explanation(service, generation, account, found.result, lang)
    return f"<p>{words['status']}: <strong>{_e(status)}</strong></p>\n{shown}"


@router.post("")
async def explain_posted(request: Request) -> Response:
    from policyengine.explain import render as explaining
    from policyengine.service.settling import claim_document, settle_one

    service = state_of(request)
    limits = service.config.limits
    body = await read_body(request, limits.claim_bytes, limits.read_seconds)
    entered = await forms.read(request, body, limits.claim_bytes)
    lang = entered.lang
    generation = service.policies.current
    result = None
    try:
        claim_bytes = entered.claim.encode("utf-8")
        generation, _claim, result = settle_one(
            service,
            claim_bytes,
            region=entered.region,
            as_of=entered.as_of_date(),
            moment=entered.moment,
            trace=True,
        )
    except (ClaimRejected, PolicyEngineError, TooLarge, ValueError) as error:
        shown = forms.refused(error, lang)
    else:
        words = generation.words(result)
        account = explaining.build(claim_document(claim_bytes), result, lang, words)
        shown = explanation(service, generation, account, result, lang)
    body_html = f"{shown}\n{forms.claim_form(service, lang, entered)}"
    switch = forms.switch_form(entered)
    return page(
        PAGE_WORDS[lang]["title"], body_html, lang, switch, policy_footer(generation, result, lang)
    )


async def _library_of(request: Request, region: str) -> tuple[Generation, sources.SourceLibrary]:
    """The current policies and `region`'s documents and rule files (404 if none)."""
    service = state_of(request)
    generation = service.policies.current
    if region not in generation.engine.regions:
        raise ServiceProblem(404, "not_found", f"no policy {region}")
    library = await anyio.to_thread.run_sync(source_library, service, generation, region)
    return generation, library


@router.get("/source")
async def source_page(
    request: Request,
    region: Annotated[str, Query(max_length=64)],
    doc: Annotated[str, Query(max_length=64)],
    clause: Annotated[str | None, Query(max_length=64)] = None,
    quote: Annotated[str | None, Query(max_length=2000)] = None,
    lang: Lang = "zh",
) -> Response:
    generation, library = await _library_of(request, region)
    document = library.documents.get(doc)
    if document is None:
        raise ServiceProblem(404, "not_found", f"no document {doc} in {region}")
    body = forms.document_view(document, clause, quote, lang)
    return page(
        f"{document.title}",
        body,
        lang,
        switch_link(request, lang),
        policy_footer(generation, None, lang),
    )


@router.get("/rule")
async def rule_page(
    request: Request,
    region: Annotated[str, Query(max_length=64)],
    file: Annotated[str, Query(max_length=200)],
    line: Annotated[int, Query(ge=1, le=1_000_000)],
    lang: Lang = "zh",
) -> Response:
    generation, library = await _library_of(request, region)
    text = library.rule_files.get(file)
    if text is None:
        raise ServiceProblem(404, "not_found", f"no rule file {file} in {region}")
    body = forms.rule_view(file, text, line, lang)
    return page(
        f"{file}:{line}",
        body,
        lang,
        switch_link(request, lang),
        policy_footer(generation, None, lang),
    )
