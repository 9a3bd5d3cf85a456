"""The ledger store's endpoints: settle and commit, cancel (撤销结算), read (docs/service.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import anyio
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from policyengine.contract.claims import ClaimRejected
from policyengine.errors import PolicyEngineError
from policyengine.service import documents
from policyengine.service.problems import ServiceProblem, json_response
from policyengine.service.reading import read_body
from policyengine.service.settling import Moment, Region, Trace, refusal, settlement_headers
from policyengine.service.state import state_of
from policyengine.service.store import Conflict, NotSettled

if TYPE_CHECKING:
    from policyengine.service.state import ServiceState
    from policyengine.service.store import LedgerStore

router = APIRouter(prefix="/v1/ledger", tags=["ledger"], responses=documents.errors(422))
RegionPath = Annotated[str, Path(max_length=64, description="the claim's policy region")]
ClaimId = Annotated[str, Path(max_length=128, description="the claim's id")]


def _store(service: ServiceState) -> LedgerStore:
    if service.store is None:
        raise ServiceProblem(
            503, "no_ledger", "this service keeps no ledger (start it with --ledger URL)"
        )
    return service.store


@router.post(
    "/claims",
    summary="Settle a claim with its person's year and commit it",
    description="Idempotent by claim id: the same claim again answers the stored settlement "
    "(`replayed: true`) and counts nothing twice; the same id with other content is 409.",
    openapi_extra=documents.claim_body(),
    responses=documents.model_responses("SettlementModel", 408, 409, 413, 422, 500, 503),
    response_class=Response,
)
async def commit(
    request: Request, region: Region = None, moment: Moment = "during", trace: Trace = False
) -> Response:
    service = state_of(request)
    store = _store(service)
    limits = service.config.limits
    body = await read_body(request, limits.claim_bytes, limits.read_seconds)
    generation = service.policies.current

    def settle() -> object:
        from policyengine.contract.claims import load_claim
        from policyengine.service.reading import check_claim_size

        check_claim_size(load_claim(body, region=region), limits)
        return store.commit(generation.engine, body, region=region, moment=moment)

    try:
        settled = await anyio.to_thread.run_sync(settle)
    except Conflict as conflict:
        raise ServiceProblem(409, "conflict", str(conflict)) from None
    except (ClaimRejected, PolicyEngineError) as error:
        return refusal(error, body, None)
    from policyengine.service.store import Settlement

    assert isinstance(settled, Settlement)
    if not settled.replayed:
        result = settled.result
        service.metrics.decided(result["policy"]["region"], result["decision"])
    return json_response(settled.as_json(trace=trace), 200, settlement_headers(settled))


@router.get(
    "/claims/{region}/{claim_id}",
    summary="A settled (or cancelled) claim",
    responses=documents.model_responses("SettlementModel", 404, 503),
    response_class=Response,
)
async def read_claim(
    request: Request, region: RegionPath, claim_id: ClaimId, trace: Trace = False
) -> Response:
    store = _store(state_of(request))
    found = await anyio.to_thread.run_sync(store.settlement, region, claim_id)
    if found is None:
        raise ServiceProblem(404, "not_found", f"no settlement of claim {claim_id} in {region}")
    return json_response(found.as_json(trace=trace), 200, settlement_headers(found))


@router.post(
    "/claims/{region}/{claim_id}/cancel",
    summary="Cancel a settled claim (撤销结算)",
    description="The claim no longer counts in its person's year: the year is restored "
    "exactly. Claims settled after it can be cancelled and settled again; the cancelled "
    "claim id can be settled again (a new revision). Cancelling twice changes nothing.",
    responses=documents.model_responses("SettlementModel", 404, 503),
    response_class=Response,
)
async def cancel(request: Request, region: RegionPath, claim_id: ClaimId) -> Response:
    store = _store(state_of(request))
    try:
        cancelled = await anyio.to_thread.run_sync(store.cancel, region, claim_id)
    except NotSettled as missing:
        raise ServiceProblem(404, "not_found", str(missing)) from None
    return json_response(cancelled.as_json(trace=False), 200, settlement_headers(cancelled))


@router.get(
    "/persons/{region}/{person_id}/{year}",
    summary="A person's year: opening, history now, every settlement",
    description="The policy's benefit year named by the calendar year it begins in (the "
    "calendar year, or with `benefit year from 10-01` the year from 1 October).",
    responses=documents.model_responses("PersonYearModel", 503),
    response_class=Response,
)
async def person_year(
    request: Request,
    region: RegionPath,
    person_id: Annotated[str, Path(max_length=128)],
    year: Annotated[int, Path(ge=1900, le=9999)],
) -> Response:
    store = _store(state_of(request))
    found = await anyio.to_thread.run_sync(store.year, region, person_id, year)
    return json_response(found.model_dump(mode="json"))


__all__ = ["Query", "router"]
