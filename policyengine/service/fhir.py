"""A result as a FHIR R4 ClaimResponse (`adjudicate --format fhir`, `format=fhir`).

The mapping of ../shared/design/integration.md: `outcome` complete (or error for a claim
refused at the contract, each problem an `error[]` with its JSON path as the FHIRPath
`expression`, the R5 element carried by its cross-version extension); one `item[]` per
line (`itemSequence` = the line number) whose `adjudication[]` states the buckets; the
claim's `total[]`; each finding a `processNote` (Chinese and English) that its line points
at (`noteNumber`), and the reason of the line's denied or own-pay amount.

Adjudication categories: `submitted`, `eligible`, `deductible` and `benefit` from the
HL7 `adjudication` CodeSystem; the Chinese buckets and payers from this engine's local
CodeSystem (`denied` 拒付, `ownpay` 全自费, `overlimit` 超限价, `preselfpay` 先行自付,
`fund` 统筹基金, `critical-illness` 大病保险, `patient` 个人负担). Amounts are exact JSON
numbers in CNY (written from the result's decimal text, never through binary float).

No web framework here: the command line uses it too.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from policyengine.contract.fastclaim import Claim
    from policyengine.contract.results import FindingDict, LineDict, ResultDict

HL7_ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
LOCAL = "https://policyengine.local/fhir/CodeSystem"
ADJUDICATION = f"{LOCAL}/adjudication"
FINDING = f"{LOCAL}/finding-kind"
VISIT = f"{LOCAL}/visit-type"
ERROR = f"{LOCAL}/error"
DECISION = "https://policyengine.local/fhir/StructureDefinition/decision"
CLAIM_ID = "https://policyengine.local/fhir/claim-id"
PERSON_ID = "https://policyengine.local/fhir/person-id"
EXPRESSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ClaimResponse.error.expression"
LANGUAGE = "urn:ietf:bcp:47"
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_ITEM = re.compile(r"items\[(\d+)\]")


def claim_response(
    claim: Claim, result: ResultDict, created: dt.datetime | None = None
) -> dict[str, Any]:
    findings = result["findings"]
    notes = _notes(findings)
    by_line: dict[int | None, list[FindingDict]] = {}
    for finding in findings:
        by_line.setdefault(finding["line"], []).append(finding)
    totals = result["totals"]
    payers = totals["payers"]
    benefit = Decimal(payers["fund"]) + Decimal(payers["critical_illness"])
    policy = result["policy"]
    document: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        **_identity(claim.id),
        "extension": [{"url": DECISION, "valueCode": result["decision"]}],
        "status": "active",
        "type": _claim_type(claim.visit.type),
        "subType": {"coding": [{"system": VISIT, "code": claim.visit.type}]},
        "use": "claim",
        "patient": {"identifier": {"system": PERSON_ID, "value": claim.person.id}},
        "created": _created(created),
        "insurer": {"display": f"{policy['region']} policy version {policy['version']}"},
        "request": {"identifier": {"system": CLAIM_ID, "value": claim.id}},
        "outcome": "complete",
        "disposition": f"decision: {result['decision']} (rules of {policy['as_of']})",
        "item": [
            _item(line, by_line, notes, claim_level=by_line.get(None, []))
            for line in result["lines"]
        ],
        "adjudication": [_adjudication(HL7_ADJUDICATION, "deductible", totals["deductible"])],
        "total": [
            _adjudication(HL7_ADJUDICATION, "submitted", totals["billed"]),
            _adjudication(ADJUDICATION, "denied", totals["denied"]),
            _adjudication(ADJUDICATION, "ownpay", totals["excluded"]),
            _adjudication(ADJUDICATION, "overlimit", totals["over_limit"]),
            _adjudication(ADJUDICATION, "preselfpay", totals["pre_self_pay"]),
            _adjudication(HL7_ADJUDICATION, "eligible", totals["covered"]),
            _adjudication(HL7_ADJUDICATION, "deductible", totals["deductible"]),
            _adjudication(HL7_ADJUDICATION, "benefit", f"{benefit:.2f}"),
            _adjudication(ADJUDICATION, "fund", payers["fund"]),
            _adjudication(ADJUDICATION, "critical-illness", payers["critical_illness"]),
            _adjudication(ADJUDICATION, "patient", totals["patient"]),
        ],
    }
    note_list = [note for pair in notes.values() for note in pair]
    if note_list:
        document["processNote"] = sorted(note_list, key=lambda note: note["number"])
    return document


def error_response(
    claim_id: str | None,
    errors: list[dict[str, str]],
    raw: Any,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """A claim refused at the contract: `outcome` error, every problem with its path."""
    person = raw.get("person") if isinstance(raw, dict) else None
    person_id = person.get("id") if isinstance(person, dict) else None
    visit = raw.get("visit") if isinstance(raw, dict) else None
    visit_type = visit.get("type") if isinstance(visit, dict) else None
    patient: dict[str, Any] = (
        {"identifier": {"system": PERSON_ID, "value": person_id}}
        if isinstance(person_id, str) and person_id
        else {"display": "unknown: the claim was refused before its person was read"}
    )
    document: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        **(_identity(claim_id) if claim_id else {}),
        "status": "active",
        "type": _claim_type(visit_type if isinstance(visit_type, str) else ""),
        "use": "claim",
        "patient": patient,
        "created": _created(created),
        "insurer": {"display": "policyengine"},
        "outcome": "error",
        "disposition": f"the claim breaks the contract: {len(errors)} problem(s)",
        "error": [_error(error, raw) for error in errors],
    }
    return document


def dumps(document: dict[str, Any], *, pretty: bool = False) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 if pretty else 0)


def _identity(claim_id: str) -> dict[str, Any]:
    identity: dict[str, Any] = {"identifier": [{"system": CLAIM_ID, "value": claim_id}]}
    if _FHIR_ID.fullmatch(claim_id):
        identity = {"id": claim_id, **identity}
    return identity


def _claim_type(visit_type: str) -> dict[str, Any]:
    code = "institutional" if visit_type == "inpatient" else "professional"
    return {"coding": [{"system": CLAIM_TYPE, "code": code}]}


def _created(created: dt.datetime | None) -> str:
    moment = created or dt.datetime.now(dt.UTC)
    return moment.isoformat(timespec="seconds")


def _amount(text: str) -> dict[str, Any]:
    """Money as an exact JSON number: the result's decimal text written as it is."""
    return {"value": orjson.Fragment(text.encode()), "currency": "CNY"}


def _adjudication(system: str, code: str, amount: str) -> dict[str, Any]:
    return {"category": {"coding": [{"system": system, "code": code}]}, "amount": _amount(amount)}


def _notes(findings: list[FindingDict]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each finding's notes, in Chinese and in English, numbered in finding order."""
    notes = {}
    for index, finding in enumerate(findings):
        head = f"{finding['id']} {finding['kind']} ({finding['action']}) {finding['rule']}"
        notes[finding["id"]] = (
            _note(2 * index + 1, f"{head}: {finding['message']}", "zh-CN"),
            _note(2 * index + 2, f"{head}: {finding['message_en']}", "en"),
        )
    return notes


def _note(number: int, text: str, language: str) -> dict[str, Any]:
    return {
        "number": number,
        "type": "display",
        "text": text,
        "language": {"coding": [{"system": LANGUAGE, "code": language}]},
    }


def _item(
    line: LineDict,
    by_line: dict[int | None, list[FindingDict]],
    notes: dict[str, tuple[dict[str, Any], dict[str, Any]]],
    claim_level: list[FindingDict],
) -> dict[str, Any]:
    own = by_line.get(line["line"], [])
    blocking = [f for f in [*own, *claim_level] if f["action"] in ("reject", "exclude")]
    payers = line["payers"]
    adjudication = [_adjudication(HL7_ADJUDICATION, "submitted", line["billed"])]
    for code, amount, action in (
        ("denied", line["denied"], "reject"),
        ("ownpay", line["excluded"], "exclude"),
    ):
        entry = _adjudication(ADJUDICATION, code, amount)
        reason = next((f for f in blocking if f["action"] == action), None)
        if reason is not None and Decimal(amount) > 0:
            entry["reason"] = {
                "coding": [{"system": FINDING, "code": reason["kind"]}],
                "text": reason["message"],
            }
        adjudication.append(entry)
    adjudication += [
        _adjudication(ADJUDICATION, "overlimit", line["over_limit"]),
        _adjudication(ADJUDICATION, "preselfpay", line["pre_self_pay"]),
        _adjudication(HL7_ADJUDICATION, "eligible", line["covered"]),
        _adjudication(ADJUDICATION, "fund", payers["fund"]),
        _adjudication(ADJUDICATION, "critical-illness", payers["critical_illness"]),
        _adjudication(ADJUDICATION, "patient", line["patient"]),
    ]
    item: dict[str, Any] = {"itemSequence": line["line"], "adjudication": adjudication}
    numbers = [note["number"] for f in own for note in notes[f["id"]]]
    if numbers:
        item["noteNumber"] = numbers
    return item


def _error(error: dict[str, str], raw: Any) -> dict[str, Any]:
    path, message = error["path"], error["message"]
    entry: dict[str, Any] = {
        "extension": [{"url": EXPRESSION, "valueString": path or "%resource"}],
        "code": {"coding": [{"system": ERROR, "code": "malformed_claim"}], "text": message},
    }
    match = _ITEM.match(path)
    if match and isinstance(raw, dict) and isinstance(raw.get("items"), list):
        items = raw["items"]
        index = int(match.group(1))
        line = (
            items[index].get("line")
            if index < len(items) and isinstance(items[index], dict)
            else None
        )
        if isinstance(line, int) and not isinstance(line, bool) and line > 0:
            entry["itemSequence"] = line
    return entry
