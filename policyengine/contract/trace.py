"""The trace: every step of a settlement as data (schema `policyengine.trace/1`).

Each step names its rule (`file:line`), the source it cites and the figures it used;
explain.py renders it. A stored trace renders again with `policyengine explain --replay`.
"""

from __future__ import annotations

from typing import Any

TRACE_SCHEMA = "policyengine.trace/1"
STEP_KINDS = (
    "policy",
    "audit_table",
    "line",
    "deductible",
    "ratio",
    "fund",
    "cap",
    "limit",
    "critical_illness",
    "patient",
)


def trace_schema() -> dict[str, Any]:
    source = {
        "type": "object",
        "properties": {
            "doc": {"type": "string"},
            "clause": {"type": "string"},
            "quote": {"type": "string"},
            "provenance": {"enum": ["cited", "secondary", "provisional"]},
            "note": {"type": "string"},
        },
        "required": ["provenance"],
    }
    step = {
        "type": "object",
        "properties": {
            "step": {"enum": list(STEP_KINDS)},
            "rule": {"type": ["string", "null"], "description": "file:line of the rule or row"},
            "source": {"anyOf": [source, {"type": "null"}]},
            "figures": {"type": "object"},
            "value": {},
            "provisional": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["step"],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://policyengine.local/schema/trace/1",
        "title": "policyengine trace (policyengine.trace/1)",
        "type": "object",
        "properties": {
            "schema": {"const": TRACE_SCHEMA},
            "claim": {"type": "object", "description": "the claim as adjudicated"},
            "result": {
                "type": "object",
                "description": "the result, its `trace` holding the steps",
            },
            "steps": {"type": "array", "items": step},
        },
        "required": ["schema", "claim", "result"],
    }
