"""The service's core endpoints: adjudicate, explain, settle a stream, policies, schemas,
health and metrics (docs/service.md). Each reads its body within the limits, settles with
the worker's current engine, and names the rules it used in its headers."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from policyengine.batch.index import sort_key
from policyengine.batch.worker import record_text, settle_claims
from policyengine.contract.claims import ClaimRejected
from policyengine.errors import PolicyEngineError
from policyengine.ledger import Settled, error_record
from policyengine.service import documents
from policyengine.service.problems import JSON, json_response
from policyengine.service.reading import TooLarge, check_claim_size, read_body, read_stream
from policyengine.service.settling import (
    AsOf,
    ClaimTooLarge,
    Moment,
    Region,
    Trace,
    claim_document,
    claim_headers,
    claim_id_of,
    refusal,
    settle_one,
)
from policyengine.service.state import state_of

if TYPE_CHECKING:
    from policyengine.contract.fastclaim import Claim
    from policyengine.service.config import Limits
    from policyengine.service.policies import Generation
    from policyengine.service.state import ServiceState

router = APIRouter(responses=documents.errors(422))
NDJSON = "application/x-ndjson"
FHIR_JSON = "application/fhir+json"


@router.post(
    "/v1/adjudicate",
    summary="Adjudicate one claim",
    description="The claim (contract version 1) in, the result out — or, with "
    "`format=fhir`, a FHIR R4 ClaimResponse. A claim that breaks the contract gets every "
    "problem with its JSON path (422), exactly as `policyengine adjudicate` prints it.",
    openapi_extra=documents.claim_body(),
    responses=documents.result_responses(fhir=True),
    response_class=Response,
)
async def adjudicate(
    request: Request,
    region: Region = None,
    as_of: AsOf = None,
    moment: Moment = "during",
    trace: Trace = False,
    format: Annotated[
        Literal["json", "fhir"], Query(description="the result, or a FHIR R4 ClaimResponse")
    ] = "json",
) -> Response:
    return await adjudicated(state_of(request), request, region, as_of, moment, trace, format)


async def adjudicated(
    service: ServiceState,
    request: Request,
    region: str | None = None,
    as_of: dt.date | None = None,
    moment: str = "during",
    trace: bool = False,
    format: str = "json",
) -> Response:
    """One claim adjudicated: the route's work, which the application's fast path for a
    request without parameters (app.py) calls too."""
    limits = service.config.limits
    body = await read_body(request, limits.claim_bytes, limits.read_seconds)
    try:
        generation, claim, result = settle_one(
            service, body, region=region, as_of=as_of, moment=moment, trace=trace
        )
    except (ClaimRejected, PolicyEngineError) as error:
        if format == "fhir":
            return _fhir_refusal(error, body, as_of)
        return refusal(error, body, as_of)
    headers = claim_headers(generation, result)
    if format == "fhir":
        from policyengine.service.fhir import claim_response

        document = claim_response(claim, result)
        return Response(orjson.dumps(document), 200, headers, media_type=FHIR_JSON)
    # orjson's bytes as they are: the same as `engine.dumps`, without a decode and encode
    return Response(orjson.dumps(result), 200, headers, media_type=JSON)


def _fhir_refusal(error: Exception, body: bytes, as_of: dt.date | None) -> Response:
    from policyengine.service.fhir import error_response

    answer = refusal(error, body, as_of)
    if answer.status_code != 422:
        return answer
    refused = orjson.loads(answer.body)
    document = error_response(refused["claim_id"], refused["errors"], _raw(body))
    return Response(orjson.dumps(document), 422, media_type=FHIR_JSON)


def _raw(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


@router.post(
    "/v1/explain",
    summary="Explain one claim's decision step by step",
    description="The claim in; its decision with every step, rule (file:line) and clause "
    "out: the `policyengine.trace/1` document (`format=json`, as `policyengine explain "
    "--format json`), markdown, or an HTML page.",
    openapi_extra=documents.claim_body(),
    responses=documents.explain_responses(),
    response_class=Response,
)
async def explain(
    request: Request,
    region: Region = None,
    as_of: AsOf = None,
    moment: Moment = "during",
    lang: Annotated[Literal["zh", "en"], Query(description="the language of the text")] = "zh",
    format: Annotated[Literal["json", "markdown", "html"], Query()] = "json",
) -> Response:
    from policyengine.explain import document as stored
    from policyengine.explain import render as explaining

    service = state_of(request)
    limits = service.config.limits
    body = await read_body(request, limits.claim_bytes, limits.read_seconds)
    try:
        generation, _claim, result = settle_one(
            service, body, region=region, as_of=as_of, moment=moment, trace=True
        )
    except (ClaimRejected, PolicyEngineError) as error:
        return refusal(error, body, as_of)
    headers = claim_headers(generation, result)
    shown = claim_document(body)
    words = generation.words(result)
    if format == "json":
        document = stored.trace_document(shown, result, words)
        return Response(orjson.dumps(document), 200, headers, media_type=JSON)
    account = explaining.build(shown, result, lang, words)
    if format == "markdown":
        text = explaining.render_markdown(account) + "\n"
        return Response(text, 200, headers, media_type="text/markdown; charset=utf-8")
    from policyengine.service.page import explanation_page

    page = explanation_page(service, generation, account, result, lang)
    return Response(page, 200, headers, media_type="text/html; charset=utf-8")


@router.post(
    "/v1/settle",
    summary="Settle a stream of claims with a ledger per person (NDJSON)",
    description="One claim per line in; one record per claim out, in input order: the "
    "result, or the claim's error record (as `policyengine batch` writes them). Each "
    "person's claims are settled in date order with the person's ledger.",
    openapi_extra=documents.stream_body(),
    responses=documents.stream_responses(),
    response_class=Response,
)
async def settle_stream(
    request: Request,
    region: Region = None,
    as_of: AsOf = None,
    moment: Moment = "during",
    trace: Trace = False,
) -> Response:
    service = state_of(request)
    limits = service.config.limits
    lines = await read_stream(
        request, limits.stream_bytes, limits.stream_claims, limits.read_seconds
    )
    generation = service.policies.current
    day = as_of.isoformat() if as_of is not None else None
    records = await anyio.to_thread.run_sync(
        lambda: settle_lines(generation, lines, limits, region, day, moment, trace)
    )
    for settled in records:
        if settled.result is not None:
            service.metrics.decided(settled.result["policy"]["region"], settled.result["decision"])
    text = "".join(record_text(settled)[0] + "\n" for settled in records)
    return Response(text, 200, media_type=NDJSON)


def settle_lines(
    generation: Generation,
    lines: list[tuple[int, bytes]],
    limits: Limits,
    region: str | None,
    as_of: str | None,
    moment: str,
    trace: bool,
) -> list[Settled]:
    """Each person's claims with the person's ledger (batch's own code), persons in the
    order they first appear, within the stream's deadline; records in input order."""
    persons: dict[str, list[tuple[int, bytes]]] = {}
    for index, line in lines:
        persons.setdefault(sort_key(line, index + 1)[0], []).append((index, line))
    deadline = time.monotonic() + limits.stream_seconds
    out: list[Settled] = []

    def check(claim: Claim) -> None:
        try:
            check_claim_size(claim, limits)
        except TooLarge as large:
            raise ClaimTooLarge(f"{large.path}: {large.message}") from None

    for group in persons.values():
        if time.monotonic() > deadline:
            out += [_timed_out(index, line, limits) for index, line in group]
            continue
        out += settle_claims(
            generation.engine,
            group,  # settle_person orders a person's claims by date, then input order
            region=region,
            as_of=as_of,
            moment=moment,
            trace=trace,
            check=check,
        )
    return sorted(out, key=lambda settled: settled.index)


def _timed_out(index: int, line: bytes, limits: Limits) -> Settled:
    message = f"not settled: the stream took over {limits.stream_seconds:g} s; send it again"
    claim_id = claim_id_of(line)
    failure = error_record(claim_id, [{"path": "", "message": message}], index, kind="timeout")
    return Settled(index, None, failure)


@router.get(
    "/v1/policies",
    summary="The loaded policies",
    description="Each policy's rule-set versions with their effective ranges, its layers, "
    "content hash and every provisional figure.",
    responses=documents.listing_responses(),
)
async def policies(request: Request) -> Response:
    service = state_of(request)
    generation = service.policies.current
    return json_response(
        {
            "generation": generation.number,
            "loaded_at": dt.datetime.fromtimestamp(generation.loaded_at, dt.UTC).isoformat(),
            "reload_error": service.policies.reload_error,
            "policies": generation.listing(),
        }
    )


@router.get(
    "/v1/schemas/{name}",
    summary="A JSON Schema of the contract",
    description="`claim`, `result` and `trace` are what `policyengine schema` prints; "
    "`rejection` and `problem` the error bodies; `nhsa-request` and `nhsa-response` the "
    "NHSA 3101/3102 shapes this service reads and writes.",
)
async def schema(name: documents.SchemaName) -> Response:
    return json_response(documents.schema(name))


@router.get("/healthz", summary="Alive", include_in_schema=True)
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz", summary="Ready to settle claims")
async def readyz(request: Request) -> Response:
    service = state_of(request)
    checks: dict[str, Any] = {"policies": service.policies.ready}
    if service.store is not None:
        checks["ledger"] = await anyio.to_thread.run_sync(service.store.ping)
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    if service.policies.reload_error:
        body["reload_error"] = service.policies.reload_error
    return json_response(body, 200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=True)
async def metrics(request: Request) -> Response:
    data, media = state_of(request).metrics.exposition()
    return Response(data, media_type=media)
