"""The published JSON Schemas (`policyengine schema claim|result|trace`), each derived from
the declarations of the contract — the pydantic models, whose result trace is typed by the
step TypedDicts of contract/trace.py — never written beside them."""

from __future__ import annotations

from typing import Any

from policyengine.contract.claims import Claim
from policyengine.contract.results import Result
from policyengine.contract.trace import TRACE_SCHEMA

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def claim_schema() -> dict[str, Any]:
    schema = Claim.model_json_schema(mode="validation")
    schema["$id"] = "https://policyengine.local/schema/claim/1"
    schema["title"] = "policyengine claim (contract version 1)"
    return schema


def result_schema() -> dict[str, Any]:
    schema = Result.model_json_schema(mode="serialization")
    schema["$id"] = "https://policyengine.local/schema/result/1"
    schema["title"] = "policyengine result (contract version 1)"
    return schema


def trace_schema() -> dict[str, Any]:
    """A trace document (explain --format json): the claim, and the result with its trace."""
    result = Result.model_json_schema(mode="serialization")
    definitions = result.pop("$defs")
    # a document's result always carries its trace: the array, never null
    (steps,) = [s for s in result["properties"]["trace"]["anyOf"] if s.get("type") == "array"]
    result["properties"]["trace"] = steps
    result["required"] = [*result["required"], "trace"]
    result["description"] = "the result, its `trace` holding the steps"
    # the claim as the claim contract has it (`policyengine schema claim`), beside the
    # result's declarations: one set of definitions, none named twice
    claim = Claim.model_json_schema(mode="validation")
    for name, definition in claim.pop("$defs", {}).items():
        if definitions.setdefault(name, definition) != definition:
            raise ValueError(f"the claim and the result both define {name!r}")
    definitions["Claim"] = claim | {"description": "the claim as adjudicated"}
    return {
        "$schema": DRAFT,
        "$id": "https://policyengine.local/schema/trace/1",
        "title": f"policyengine trace ({TRACE_SCHEMA})",
        "type": "object",
        "properties": {
            "schema": {"const": TRACE_SCHEMA},
            "generator": {"type": "string", "description": "the engine that wrote it"},
            "claim": {"$ref": "#/$defs/Claim"},
            "result": result,
            "policy": {
                "type": "object",
                "description": "the policy's own names for its region and conditions",
                "properties": {
                    "name": {"type": "string"},
                    "title": {"type": "string"},
                    "conditions": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "required": ["name", "title", "conditions"],
            },
        },
        "required": ["schema", "claim", "result"],
        "$defs": definitions,
    }
