"""What the endpoints share: their parameters, settling one claim within the limits, the
answer to a claim that was not settled, and the headers naming the rules used."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import Query
from starlette.responses import Response

from policyengine.contract.claims import ClaimRejected, load_claim
from policyengine.errors import PolicyEngineError
from policyengine.semantics.vocabulary import Moment as MomentWord
from policyengine.service.problems import engine_error, rejection
from policyengine.service.reading import check_claim_size

if TYPE_CHECKING:
    from policyengine.contract.fastclaim import Claim
    from policyengine.contract.results import ResultDict
    from policyengine.service.policies import Generation
    from policyengine.service.state import ServiceState
    from policyengine.service.store import Settlement

Region = Annotated[
    str | None,
    Query(max_length=64, description="the policy, when the claim does not name its region"),
]
AsOf = Annotated[
    dt.date | None,
    Query(description="apply the rules in force on this date instead of the visit's"),
]
Moment = Annotated[
    MomentWord,
    Query(description="audit moment: `before` turns blocking audit findings into warnings"),
]
Trace = Annotated[bool, Query(description="include every step of the settlement")]


class ClaimTooLarge(PolicyEngineError):
    """A claim in a stream over the per-claim limits (its error record, not the stream's)."""


def claim_headers(generation: Generation, result: ResultDict) -> dict[str, str]:
    """The rules one claim was settled with: region, rule-set version, content hash."""
    policy = result["policy"]
    region = policy["region"]
    return {
        "X-Policy-Region": region,
        "X-Policy-Version": policy["version"],
        "X-Policy-Hash": generation.hashes.get(region, ""),
    }


def settlement_headers(settled: Settlement) -> dict[str, str]:
    """The rules a stored settlement was made with."""
    policy = settled.result["policy"]
    return {
        "X-Policy-Region": policy["region"],
        "X-Policy-Version": policy["version"],
        "X-Policy-Hash": settled.policy_hash,
    }


def settle_one(
    service: ServiceState,
    body: bytes,
    *,
    region: str | None,
    as_of: dt.date | None,
    moment: str,
    trace: bool,
) -> tuple[Generation, Claim, ResultDict]:
    """Validate, check the limits and settle one claim; ClaimRejected, TooLarge and
    PolicyEngineError go to the caller, which answers them."""
    generation = service.policies.current
    claim = load_claim(body, region=region)
    check_claim_size(claim, service.config.limits)
    result = generation.engine.settle(claim, region=region, as_of=as_of, moment=moment, trace=trace)
    service.metrics.decided(result["policy"]["region"], result["decision"])
    return generation, claim, result


def refusal(error: Exception, body: bytes, as_of: dt.date | None) -> Response:
    """The answer to a claim that was not settled (ClaimRejected or an engine error)."""
    if isinstance(error, ClaimRejected):
        return rejection(error)
    assert isinstance(error, PolicyEngineError)
    return engine_error(error, claim_id_of(body), "as_of" if as_of is not None else "visit.date")


def claim_id_of(body: bytes) -> str | None:
    try:
        claim_id = orjson.loads(body).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return claim_id if isinstance(claim_id, str) else None


def claim_document(body: bytes) -> dict[str, Any]:
    """The claim as sent, for showing it (names of lines, the visit): a claim that passed
    the contract is a JSON object."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:  # what the exact parser accepts and orjson does not
        import json

        data = json.loads(body, parse_constant=str)
    return data if isinstance(data, dict) else {}
