"""Every error a client can get, as JSON — never a traceback.

A claim that breaks the contract gets exactly what `policyengine adjudicate` prints, the
`Rejection` (`{"claim_id", "errors": [{"path", "message"}]}`), with status 422; so does a
claim dated before its policy's start (path `visit.date`, or `as_of` when the date was
given) and a region with no policy (path `region`). Everything else is a `Problem`:
`{"error": kind, "message", "errors": [...]}` — 413 over a limit, 408 too slow, 404, 409,
500 for a rule failure or a bug (logged with its traceback and the request id the response
names, never sent).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from policyengine.contract.results import ContractErrorModel
from policyengine.errors import NotInForce, PolicyEngineError, PolicyNotFound, RuleFailure
from policyengine.service.reading import TooLarge

if TYPE_CHECKING:
    from fastapi.exceptions import RequestValidationError
    from starlette.requests import Request

    from policyengine.contract.claims import ClaimRejected

log = logging.getLogger("policyengine.service")
JSON = "application/json"
ERROR_KIND = "X-Error-Kind"  # the error's kind, for the metrics and for log readers


class Rejection(BaseModel):
    """A claim refused at the contract: every problem with its JSON path (as the CLI)."""

    model_config = ConfigDict(frozen=True)
    claim_id: str | None
    errors: list[ContractErrorModel]


class Problem(BaseModel):
    """Any other error: its kind, a sentence, and where in the request when known."""

    model_config = ConfigDict(frozen=True)
    error: str
    message: str
    errors: list[ContractErrorModel] = []


class ServiceProblem(Exception):
    """An error a route raises to answer with a Problem."""

    def __init__(self, status: int, error: str, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.path = path


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type=JSON)


def rejection(rejected: ClaimRejected) -> Response:
    return json_response(rejected.as_json(), 422, {ERROR_KIND: "malformed_claim"})


def problem(status: int, error: str, message: str, path: str | None = None) -> Response:
    errors = [] if path is None else [{"path": path, "message": message}]
    body = {"error": error, "message": message, "errors": errors}
    return json_response(body, status, {ERROR_KIND: error})


def engine_error(error: PolicyEngineError, claim_id: str | None, dated_by: str) -> Response:
    """An engine error for one claim: bad input in the contract's shape (422), a rule
    failure as a Problem (500). `dated_by` is where the date came from (`visit.date` or
    the `as_of` parameter)."""
    if isinstance(error, NotInForce):
        path = dated_by
    elif isinstance(error, PolicyNotFound):
        path = "region"
    elif isinstance(error, RuleFailure):
        return problem(500, "RuleFailure", str(error))
    else:
        return problem(422, type(error).__name__, str(error))
    body = {"claim_id": claim_id, "errors": [{"path": path, "message": str(error)}]}
    return json_response(body, 422, {ERROR_KIND: type(error).__name__})


async def service_problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceProblem)
    return problem(exc.status, exc.error, exc.message, exc.path)


async def too_large(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooLarge)
    return problem(413, "too_large", exc.message, exc.path)


async def too_slow(_request: Request, exc: Exception) -> Response:
    return problem(408, "too_slow", str(exc))


async def invalid_parameters(_request: Request, exc: Exception) -> Response:
    """FastAPI's own validation of query and path parameters, in our shape: `query.moment`."""
    validation: RequestValidationError = exc  # type: ignore[assignment]
    errors = [
        {
            "path": ".".join(str(part) for part in item["loc"]),
            "message": str(item["msg"]).removeprefix("Value error, "),
        }
        for item in validation.errors()
    ]
    message = "; ".join(f"{e['path']}: {e['message']}" for e in errors)
    body = {"error": "invalid_parameters", "message": message, "errors": errors}
    return json_response(body, 422, {ERROR_KIND: "invalid_parameters"})


async def not_found(request: Request, exc: Exception) -> Response:
    detail = getattr(exc, "detail", None)
    status = getattr(exc, "status_code", 404)
    text = detail if isinstance(detail, str) else "not found"
    return problem(status, "not_found" if status == 404 else "http_error", text)


async def internal_error(request: Request, exc: Exception) -> Response:
    reference = getattr(request.state, "request_id", "")
    log.error(
        "internal error in %s %s (request %s)",
        request.method,
        request.url.path,
        reference,
        exc_info=exc,
    )
    message = f"internal error; the service log has it as request {reference}"
    return problem(500, "internal_error", message)
