"""The JSON Schemas the service publishes and the OpenAPI document built from them.

One source: the claim, result and trace schemas are those `policyengine schema` prints
(contract/schemas.py, derived from the contract's pydantic models and step TypedDicts);
the OpenAPI document's components are those very schemas, hoisted (their `$defs` become
components, their references rewritten), never written a second time. The service's own
bodies (the rejection, the problem, the NHSA shapes, the ledger's answers) are pydantic
models declared beside the code that reads or writes them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from policyengine.contract import schemas

SchemaName = Literal[
    "claim",
    "result",
    "trace",
    "rejection",
    "problem",
    "nhsa-request",
    "nhsa-response",
    "nhsa-feedback",
    "ledger-settlement",
    "ledger-year",
]
COMPONENT = "#/components/schemas/"


def _service_models() -> dict[str, type[BaseModel]]:
    from policyengine.service import nhsa, problems, store

    return {
        "rejection": problems.Rejection,
        "problem": problems.Problem,
        "nhsa-request": nhsa.NhsaRequest,
        "nhsa-response": nhsa.NhsaResponse,
        "nhsa-feedback": nhsa.NhsaFeedback,
        "ledger-settlement": store.SettlementModel,
        "ledger-year": store.PersonYearModel,
    }


PUBLISHED: dict[str, Callable[[], dict[str, Any]]] = {
    "claim": schemas.claim_schema,
    "result": schemas.result_schema,
    "trace": schemas.trace_schema,
}
# the component each published schema becomes in the OpenAPI document
COMPONENT_NAMES = {"claim": "Claim", "result": "Result", "trace": "TraceDocument"}


def schema(name: str) -> dict[str, Any]:
    if name in PUBLISHED:
        return PUBLISHED[name]()
    model = _service_models()[name]
    published = model.model_json_schema(mode="serialization")
    published["$schema"] = schemas.DRAFT
    return published


def components() -> dict[str, Any]:
    """Every schema the routes refer to, as OpenAPI components."""
    out: dict[str, Any] = {}
    for name, build in PUBLISHED.items():
        _hoist(out, COMPONENT_NAMES[name], build())
    for model in _service_models().values():
        _hoist(out, model.__name__, model.model_json_schema(mode="serialization"))
    return out


def _hoist(out: dict[str, Any], name: str, published: dict[str, Any]) -> None:
    """Put a standalone schema into the components: its `$defs` beside it, `#/$defs/X`
    references pointing at the components, its `$id` and `$schema` dropped (an `$id` would
    make the references resolve against it)."""
    document = _rewrite(copy.deepcopy(published))
    definitions = document.pop("$defs", {})
    document.pop("$id", None)
    document.pop("$schema", None)
    for key, definition in [*definitions.items(), (name, document)]:
        if key not in out:
            out[key] = definition
        elif _core(out[key]) != _core(definition):
            raise ValueError(f"two different schemas named {key} in the OpenAPI document")


def _core(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition without the words about it (a published schema has its own title)."""
    return {k: v for k, v in definition.items() if k not in ("title", "description")}


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                COMPONENT + value.removeprefix("#/$defs/")
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                else _rewrite(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    return node


def ref(component: str) -> dict[str, Any]:
    return {"$ref": COMPONENT + component}


def _body(media: str, component: str | None, description: str) -> dict[str, Any]:
    content_schema = ref(component) if component else {"type": "string"}
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {media: {"schema": content_schema}},
        }
    }


def claim_body() -> dict[str, Any]:
    return _body("application/json", "Claim", "a claim (contract version 1, `schema claim`)")


def stream_body() -> dict[str, Any]:
    return _body(
        "application/x-ndjson", None, "claims, one JSON object per line (blank lines skipped)"
    )


def model_body(model: str, description: str) -> dict[str, Any]:
    return _body("application/json", model, description)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error answers: 422 in the contract's shape, the rest Problems."""
    described = {
        404: "not found",
        408: "the body did not arrive in time",
        409: "a conflict with what the ledger holds",
        413: "over a limit (bytes, items, history entries, claims in a stream)",
        422: "a claim that breaks the contract (Rejection: every problem with its JSON path, "
        "as the CLI prints it) or a parameter that is not valid (Problem)",
        500: "a rule failure or an internal error (no traceback; the log has the request id)",
        503: "the ledger store is not configured or unreachable",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        schema = {"oneOf": [ref("Rejection"), ref("Problem")]} if status == 422 else ref("Problem")
        out[status] = {
            "description": described[status],
            "content": {"application/json": {"schema": schema}},
        }
    return out


def result_responses(*, fhir: bool = False) -> dict[int | str, dict[str, Any]]:
    content: dict[str, Any] = {"application/json": {"schema": ref("Result")}}
    if fhir:
        content["application/fhir+json"] = {
            "schema": {
                "type": "object",
                "description": "a FHIR R4 ClaimResponse (docs/service.md, FHIR)",
            }
        }
    return {200: {"description": "the result", "content": content}, **errors(408, 413, 422, 500)}


def explain_responses() -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "the explanation",
            "content": {
                "application/json": {"schema": ref("TraceDocument")},
                "text/markdown": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
        **errors(408, 413, 422, 500),
    }


def stream_responses() -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "one record per claim, in input order: a result or an error record",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        },
        **errors(408, 413, 500),
    }


def listing_responses() -> dict[int | str, dict[str, Any]]:
    return {200: {"description": "the loaded policies"}}


def model_responses(component: str, *statuses: int) -> dict[int | str, dict[str, Any]]:
    ok = {"description": "the answer", "content": {"application/json": {"schema": ref(component)}}}
    return {200: ok, **errors(*statuses)}
