"""NHSA endpoints: 3101 (事前 analysis), 3102 (事中 analysis), 3103 (feedback)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from policyengine.service import documents, nhsa
from policyengine.service.nhsa_models import NhsaFeedback, NhsaRequest
from policyengine.service.problems import ERROR_KIND, JSON
from policyengine.service.reading import read_body
from policyengine.service.state import state_of

if TYPE_CHECKING:
    from policyengine.contract.claims import ContractError

router = APIRouter(prefix="/v1/nhsa", tags=["NHSA"])


def _dumps(data: object) -> bytes:
    """NHSA amounts are JSON numbers: decimals are written exactly, as their text."""

    def exact(value: object) -> object:
        from decimal import Decimal

        if isinstance(value, Decimal):
            return orjson.Fragment(str(value).encode())
        raise TypeError(f"{type(value).__name__} is not JSON")

    return orjson.dumps(data, default=exact)


def _rejected(errors: list[ContractError]) -> Response:
    body = {
        "infcode": -1,
        "err_msg": "; ".join(f"{e.path}: {e.message}" for e in errors[:5]),
        "output": None,
        "errors": [e.as_json() for e in errors],
    }
    return Response(_dumps(body), 422, {ERROR_KIND: "nhsa_request"}, media_type=JSON)


async def _analysis(request: Request) -> Response:
    service = state_of(request)
    limits = service.config.limits
    body = await read_body(request, limits.claim_bytes, limits.read_seconds)
    assert service.codes is not None
    generation = service.policies.current
    try:
        parsed = nhsa.parse_request(body, NhsaRequest)
        _check_sizes(parsed, limits.nhsa_patients, limits.nhsa_orders)
        answer, results = nhsa.analyse(generation.engine, service.codes, parsed)
    except nhsa.NhsaRejected as rejected:
        return _rejected(rejected.errors)
    for result in results:
        service.metrics.decided(result["policy"]["region"], result["decision"])
    headers = {}
    if len(results) == 1:
        policy = results[0]["policy"]
        headers = {
            "X-Policy-Region": policy["region"],
            "X-Policy-Version": policy["version"],
            "X-Policy-Hash": generation.hashes.get(policy["region"], ""),
        }
    return Response(_dumps(answer), 200, headers, media_type=JSON)


def _check_sizes(parsed: NhsaRequest, patients: int, orders: int) -> None:
    from policyengine.service.reading import TooLarge

    data = parsed.input.data
    if len(data.patient_dtos) > patients:
        raise TooLarge(
            "input.data.patient_dtos", f"{len(data.patient_dtos):,} patients; at most {patients:,}"
        )
    count = sum(
        len(encounter.fsi_order_dtos)
        for patient in data.patient_dtos
        for encounter in patient.fsi_encounter_dtos
    )
    if count > orders:
        raise TooLarge("input.data.patient_dtos", f"{count:,} orders; at most {orders:,}")


ANALYSIS = {
    "openapi_extra": documents.model_body("NhsaRequest", "the NHSA request: `input.data`"),
    "responses": {
        200: {
            "description": "the violations found",
            "content": {"application/json": {"schema": documents.ref("NhsaResponse")}},
        },
        422: {
            "description": "the request cannot be analysed: every problem at its path",
            "content": {"application/json": {"schema": documents.ref("NhsaResponse")}},
        },
        **documents.errors(408, 413, 500),
    },
    "response_class": Response,
}


@router.post(
    "/3101",
    summary="3101 明细审核事前分析 (before)",
    description="The patients, encounters and orders of a HIS in; the violations the audit "
    "rules find, at the moment the trigger scene implies, out (docs/service.md, NHSA).",
    **ANALYSIS,  # type: ignore[arg-type]
)
async def analysis_before(request: Request) -> Response:
    return await _analysis(request)


@router.post(
    "/3102",
    summary="3102 明细审核事中分析 (during)",
    description="As 3101; the trigger scene decides the moment.",
    **ANALYSIS,  # type: ignore[arg-type]
)
async def analysis_during(request: Request) -> Response:
    return await _analysis(request)


@router.post(
    "/3103",
    summary="3103 feedback on violations",
    description="The doctor's response to each violation (continue with a reason, or change "
    "the order): checked, accepted and logged with its reason.",
    openapi_extra=documents.model_body("NhsaFeedback", "the NHSA 3103 request"),
    response_class=Response,
)
async def feedback(request: Request) -> Response:
    service = state_of(request)
    limits = service.config.limits
    body = await read_body(request, limits.claim_bytes, limits.read_seconds)
    try:
        parsed = nhsa.parse_request(body, NhsaFeedback)
        answer = nhsa.feedback(parsed)
    except nhsa.NhsaRejected as rejected:
        return _rejected(rejected.errors)
    return Response(_dumps(answer), 200, media_type=JSON)
