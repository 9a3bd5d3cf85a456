"""FHIR R4 ClaimResponse (docs/service.md, FHIR): valid against HL7's FHIR R4 JSON Schema
(tests/fhir/, from PyPI), the buckets adding up, findings as notes and reasons, contract
errors with their path; the API and `adjudicate --format fhir` give the same document."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from policyengine import Engine
from policyengine.cli.main import main
from policyengine.contract.claims import load_claim
from policyengine.service import fhir
from policyengine.service.app import create_app
from policyengine.service.config import ServiceConfig
from tests.support import EXAMPLES, example_claim

SCHEMA = Path(__file__).parent / "fhir" / "fhir.schema.json.gz"
SCHEMA_SHA256 = "574dea8798a92e6b77f66243d052b40152636d4b6aa0873a0224da1cef9c4809"
CREATED = dt.datetime(2024, 3, 5, 10, 0, tzinfo=dt.UTC)


@functools.cache
def validator() -> jsonschema.Draft6Validator:
    data = gzip.decompress(SCHEMA.read_bytes())
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256  # HL7's file, unchanged
    schema = json.loads(data)
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    wrapper = {"$ref": "#/definitions/ClaimResponse", "definitions": schema["definitions"]}
    return jsonschema.Draft6Validator(wrapper)


def valid(document: dict[str, Any]) -> None:
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(ServiceConfig(reload_seconds=0))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def written(engine: Engine, text: str | bytes) -> bytes:
    """The ClaimResponse of a claim, as the service writes it."""
    result = engine.settle(text)
    return fhir.dumps(fhir.claim_response(load_claim(text), result, created=CREATED))


def response_of(engine: Engine, text: str | bytes) -> dict[str, Any]:
    """The ClaimResponse read back with its amounts as exact decimals."""
    parsed: dict[str, Any] = json.loads(written(engine, text), parse_float=Decimal)
    return parsed


def test_the_schema_catches_what_is_not_a_claim_response() -> None:
    with pytest.raises(AssertionError):
        valid({"resourceType": "ClaimResponse", "status": "active", "outcome": 5})


def test_claim_responses_are_valid_fhir_r4(engine: Engine) -> None:
    texts = [
        (EXAMPLES / "claim.json").read_text(encoding="utf-8"),
        (EXAMPLES / "claim-inpatient.json").read_text(encoding="utf-8"),
        *(EXAMPLES / "claims.jsonl").read_text(encoding="utf-8").splitlines()[:60],
    ]
    decisions = set()
    for text in texts:
        document = json.loads(written(engine, text))
        valid(document)
        decisions.add(document["extension"][0]["valueCode"])
    assert {"pay", "partial", "reject"} <= decisions


def test_the_buckets_add_up_and_findings_are_notes_and_reasons(engine: Engine) -> None:
    document = response_of(engine, (EXAMPLES / "claim.json").read_bytes())
    assert document["outcome"] == "complete"
    totals = {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in document["total"]}
    assert totals["submitted"] == Decimal("3.68") and totals["denied"] == Decimal("1.68")
    for code in ("submitted", "denied", "ownpay", "overlimit", "preselfpay", "eligible", "fund"):
        lines = sum(
            a["amount"]["value"]
            for item in document["item"]
            for a in item["adjudication"]
            if a["category"]["coding"][0]["code"] == code
        )
        assert lines == totals[code], code
    assert totals["submitted"] == totals["denied"] + totals["benefit"] + totals["patient"]
    first = document["item"][0]
    denied = next(
        a for a in first["adjudication"] if a["category"]["coding"][0]["code"] == "denied"
    )
    assert denied["reason"]["coding"][0]["code"] == "duplicate_dispensing"
    notes = {n["number"]: n for n in document["processNote"]}
    assert [notes[n]["language"]["coding"][0]["code"] for n in first["noteNumber"]] == [
        "zh-CN",
        "en",
    ]
    assert "tianjin/audit.policy:4" in notes[first["noteNumber"][0]]["text"]


def test_the_example_claim_response_is_the_reviewed_one(engine: Engine) -> None:
    """examples/claim-response.fhir.json: the example claim's ClaimResponse, reviewed."""
    document = response_of(engine, (EXAMPLES / "claim.json").read_bytes())
    golden = json.loads(
        (EXAMPLES / "claim-response.fhir.json").read_text(encoding="utf-8"), parse_float=Decimal
    )
    assert document == golden


def test_a_refused_claim_is_an_error_outcome_with_paths(client: TestClient) -> None:
    broken = example_claim()
    broken["items"][1]["amount"] = "2.01"
    broken["visit"]["hospital"]["level"] = 7
    answer = client.post("/v1/adjudicate?format=fhir", json=broken)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/fhir+json"
    document = answer.json()
    valid(document)
    assert document["outcome"] == "error"
    errors = {e["extension"][0]["valueString"]: e for e in document["error"]}
    assert set(errors) == {"items[1].amount", "visit.hospital.level"}
    assert errors["items[1].amount"]["itemSequence"] == 2
    assert "itemSequence" not in errors["visit.hospital.level"]
    assert document["patient"]["identifier"]["value"] == "P000001"


def test_the_api_and_the_command_line_give_the_same_document(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = client.post(
        "/v1/adjudicate?format=fhir", content=(EXAMPLES / "claim.json").read_bytes()
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/fhir+json"
    assert main(["adjudicate", str(EXAMPLES / "claim.json"), "--format", "fhir"]) == 1
    printed = json.loads(capsys.readouterr().out)
    api = answer.json()
    for document in (api, printed):
        valid(document)
        document.pop("created")
    assert api == printed
