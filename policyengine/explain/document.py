"""The stored form of an explanation: a `policyengine.trace/1` document (explain --format json),
which `explain --replay` checks and renders again without re-adjudicating."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from policyengine._version import __version__
from policyengine.contract.claims import ClaimRejected, load_claim
from policyengine.contract.results import ResultProblem, result_from_json
from policyengine.contract.steps import TraceError, read_steps
from policyengine.contract.trace import TRACE_SCHEMA, PolicyWords

if TYPE_CHECKING:
    from policyengine.contract.results import ResultDict

_RATE = re.compile(r"-?[0-9]+(\.[0-9]+)?").fullmatch  # a rate as decimal text


def trace_document(
    claim: dict[str, Any], result: ResultDict, words: PolicyWords | None = None
) -> dict[str, Any]:
    """The stored form of an explanation; `words` (LoadedPolicy.words()) lets a replay name
    the region and conditions as the policy does."""
    document: dict[str, Any] = {
        "schema": TRACE_SCHEMA,
        "generator": f"policyengine {__version__}",
        "claim": claim,
        "result": result,
    }
    if words is not None:
        document["policy"] = words
    return document


def words_of(document: dict[str, Any]) -> PolicyWords | None:
    """The policy's names a trace document carries, if it carries them whole."""
    words = document.get("policy")
    if not isinstance(words, dict):
        return None
    name, title, conditions = words.get("name"), words.get("title"), words.get("conditions")
    if not isinstance(name, str) or not isinstance(title, str) or not isinstance(conditions, dict):
        return None
    named = {k: v for k, v in conditions.items() if isinstance(k, str) and isinstance(v, str)}
    return {"name": name, "title": title, "conditions": named}


def check_document(document: Any) -> tuple[dict[str, Any], ResultDict]:
    """The claim and the result of a stored trace document, the result checked against the
    declared result and step types (contract/results.py, contract/trace.py)."""
    if not isinstance(document, dict) or document.get("schema") != TRACE_SCHEMA:
        raise ValueError(f"not a {TRACE_SCHEMA} document (its `schema` field must say so)")
    claim, result = document.get("claim"), document.get("result")
    if (
        not isinstance(claim, dict)
        or not isinstance(result, dict)
        or not isinstance(result.get("trace"), list)
    ):
        raise ValueError(f"a {TRACE_SCHEMA} document holds `claim` and a `result` with its `trace`")
    try:
        checked = result_from_json(result)
    except ResultProblem as problem:
        raise ValueError(f"not a {TRACE_SCHEMA} document: {problem}") from None
    try:  # the claim as it was adjudicated: within the claim contract
        load_claim(claim, region=checked["policy"]["region"])
    except ClaimRejected as rejected:
        problems = [f"claim.{e.path}" if e.path else "claim" for e in rejected.errors[:5]]
        messages = [
            f"{where}: {e.message}" for where, e in zip(problems, rejected.errors, strict=False)
        ]
        raise ValueError(
            f"not a {TRACE_SCHEMA} document: the claim breaks the claim contract: "
            + "; ".join(messages)
        ) from None
    try:
        read_steps(checked)  # at most one step of each single kind
    except TraceError as error:
        raise ValueError(f"not a {TRACE_SCHEMA} document: result.trace: {error}") from None
    for index, step in enumerate(checked.get("trace", [])):
        if step["step"] == "ratio" and step["form"] == "rate":
            for where, text in (
                ("value", step["value"]),
                ("figures.base", step["figures"]["base"]),
            ):
                if not _RATE(text):
                    raise ValueError(
                        f"not a {TRACE_SCHEMA} document: result.trace[{index}].{where}: "
                        f"{text!r} is not a rate, as the step's form `rate` says"
                    )
    return claim, checked
