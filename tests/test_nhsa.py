"""NHSA 3101/3102/3103 (docs/service.md, NHSA): the example request round trip, the moment
the trigger scene implies, the rule filter, unknown codes and contract errors at their
path in the request, the orders a finding concerns, and 3103 feedback logged."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from policyengine import Engine
from policyengine.service.app import create_app
from policyengine.service.config import ServiceConfig
from tests.support import EXAMPLES

REQUEST = json.loads((EXAMPLES / "nhsa-3101.json").read_text(encoding="utf-8"))
PATIENT = "input.data.patient_dtos[0]"
ENCOUNTER = f"{PATIENT}.fsi_encounter_dtos[0]"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    config = ServiceConfig(reload_seconds=0, nhsa_codes=str(EXAMPLES / "nhsa-codes.json"))
    with TestClient(create_app(config)) as test_client:
        yield test_client


def request(change: Any = None) -> dict[str, Any]:
    data = copy.deepcopy(REQUEST)
    if change is not None:
        change(data["input"]["data"])
    return data


def patient(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = data["patient_dtos"][0]
    return found


def encounter(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = patient(data)["fsi_encounter_dtos"][0]
    return found


def test_the_example_3101_finds_what_the_claim_contract_finds(client: TestClient) -> None:
    """The example request is the spec's example claim in NHSA form: the same finding."""
    answer = client.post("/v1/nhsa/3101", content=(EXAMPLES / "nhsa-3101.json").read_bytes())
    assert answer.status_code == 200
    body = answer.json()
    assert body["infcode"] == 0 and body["err_msg"] is None
    expected = Engine.load().settle((EXAMPLES / "claim.json").read_bytes())
    (finding,) = expected["findings"]
    (violation,) = body["output"]["result"]
    assert violation["rule_id"] == finding["rule"] == "tianjin/audit.policy:4"
    assert violation["vola_cont"] == finding["message"]
    assert violation["vola_bhvr_type"] == "duplicate_dispensing"
    assert violation["sev_deg"] == "reject"
    assert violation["rule_name"].startswith("重复开药")
    source = finding["source"]
    assert violation["vola_evid"] == f"{source['doc']} {source['clause']}「{source['quote']}」"
    assert violation["patn_id"] == "P000001" and violation["mdtrt_id"] == "MD-2024-0305-001"
    assert violation["vola_amt"] == 1.68 and '"vola_amt":1.68' in answer.text  # exact number
    assert violation["judge_result_detail_dtos"] == [
        {"jrd_id": f"{violation['jr_id']}-1", "rx_id": "RX-0305-1", "vola_item_type": "1",
         "vola_amt": 1.68}
    ]  # fmt: skip
    assert answer.headers["x-policy-region"] == "tianjin"
    again = client.post("/v1/nhsa/3102", json=request()).json()
    assert again["output"]["result"][0]["jr_id"] == violation["jr_id"]  # stable ids for 3103


@pytest.mark.parametrize(("scene", "action"), [("1", "warn"), ("2", "reject"), ("6", "reject")])
def test_the_trigger_scene_sets_the_moment(client: TestClient, scene: str, action: str) -> None:
    def set_scene(data: dict[str, Any]) -> None:
        data["trig_scen"] = scene

    body = client.post("/v1/nhsa/3101", json=request(set_scene)).json()
    assert [v["sev_deg"] for v in body["output"]["result"]] == [action]


def test_rule_ids_choose_the_rules_reported(client: TestClient) -> None:
    def only(rules: list[str]) -> Any:
        return lambda data: data.update(rule_ids=rules)

    chosen = client.post("/v1/nhsa/3101", json=request(only(["tianjin/audit.policy:4"])))
    assert len(chosen.json()["output"]["result"]) == 1
    other = client.post("/v1/nhsa/3101", json=request(only(["tianjin/audit.policy:11"])))
    assert other.json()["output"]["result"] == []
    unknown = client.post("/v1/nhsa/3101", json=request(only(["tianjin/audit.policy:999"])))
    assert unknown.status_code == 422
    assert [e["path"] for e in unknown.json()["errors"]] == ["input.data.rule_ids[0]"]


def test_unknown_codes_are_errors_at_their_path_all_at_once(client: TestClient) -> None:
    def break_codes(data: dict[str, Any]) -> None:
        data["trig_scen"] = "0"
        patient(data)["gend"] = "9"
        patient(data)["poolarea"] = "110000"
        encounter(data)["insutype"] = "320"
        encounter(data)["med_type"] = "99"
        order = encounter(data)["fsi_order_dtos"][0]
        order["hilist_type"] = "999"
        order["drord_dr_profttl"] = "1"

    answer = client.post("/v1/nhsa/3101", json=request(break_codes))
    assert answer.status_code == 422
    body = answer.json()
    assert body["infcode"] == -1 and body["output"] is None
    paths = {e["path"] for e in body["errors"]}
    assert paths == {
        "input.data.trig_scen",
        f"{PATIENT}.gend",
        f"{PATIENT}.poolarea",
        f"{ENCOUNTER}.insutype",
        f"{ENCOUNTER}.med_type",
        f"{ENCOUNTER}.fsi_order_dtos[0].hilist_type",
        f"{ENCOUNTER}.fsi_order_dtos[0].drord_dr_profttl",
    }
    messages = {e["path"]: e["message"] for e in body["errors"]}
    assert (
        "'320'" in messages[f"{ENCOUNTER}.insutype"] and "310" in messages[f"{ENCOUNTER}.insutype"]
    )


def test_local_tables_are_the_deployments_and_missing_ones_are_errors() -> None:
    with TestClient(create_app(ServiceConfig(reload_seconds=0))) as bare:
        answer = bare.post("/v1/nhsa/3101", json=request())
    assert answer.status_code == 422
    paths = {e["path"] for e in answer.json()["errors"]}
    assert paths == {f"{ENCOUNTER}.medins_lv", f"{ENCOUNTER}.medins_type"}
    assert "--nhsa-codes" in answer.text or "local table" in answer.text


def test_a_contract_error_is_reported_at_the_field_it_came_from(client: TestClient) -> None:
    def break_amount(data: dict[str, Any]) -> None:
        encounter(data)["fsi_order_dtos"][0]["sumamt"] = 1.69
        patient(data)["brdy"] = "1961-02-30"

    answer = client.post("/v1/nhsa/3101", json=request(break_amount))
    assert answer.status_code == 422
    paths = {e["path"] for e in answer.json()["errors"]}
    assert paths == {f"{ENCOUNTER}.fsi_order_dtos[0].sumamt", f"{PATIENT}.brdy"}


def test_facts_3101_does_not_carry_are_asked_for(client: TestClient) -> None:
    def drop(data: dict[str, Any]) -> None:
        del patient(data)["x_psn_status"]
        del patient(data)["fsi_encounter_dtos"][1]["fsi_order_dtos"][0]["medc_days"]
        encounter(data)["fsi_order_dtos"][1]["drord_dr_codg"] = "D0202"

    answer = client.post("/v1/nhsa/3101", json=request(drop))
    paths = {e["path"] for e in answer.json()["errors"]}
    assert paths == {
        f"{PATIENT}.x_psn_status",
        f"{PATIENT}.fsi_encounter_dtos[1].fsi_order_dtos[0].medc_days",
        f"{ENCOUNTER}.fsi_order_dtos[1].drord_dr_codg",
    }


def test_a_finding_on_the_whole_visit_involves_every_order(client: TestClient) -> None:
    def special(data: dict[str, Any]) -> None:
        encounter(data)["med_type"] = "14"  # 门诊慢特病, and no certification given

    body = client.post("/v1/nhsa/3101", json=request(special)).json()
    claim_level = [
        v for v in body["output"]["result"] if v["vola_bhvr_type"] == "certification_required"
    ]
    assert len(claim_level) == 1
    details = claim_level[0]["judge_result_detail_dtos"]
    assert [(d["rx_id"], d["vola_item_type"]) for d in details] == [
        ("RX-0305-1", "2"),
        ("RX-0305-2", "2"),
    ]
    assert claim_level[0]["vola_amt"] == 3.68

    def certified(data: dict[str, Any]) -> None:
        special(data)
        patient(data)["x_certifications"] = [
            {"condition": "diabetes", "programme": "special_outpatient", "since": "2022-03-01"}
        ]

    body = client.post("/v1/nhsa/3101", json=request(certified)).json()
    assert "certification_required" not in {v["vola_bhvr_type"] for v in body["output"]["result"]}


def test_structure_errors_have_their_path(client: TestClient) -> None:
    answer = client.post("/v1/nhsa/3101", json={"input": {"data": {"trig_scen": "2"}}})
    assert answer.status_code == 422
    assert [e["path"] for e in answer.json()["errors"]] == ["input.data.patient_dtos"]
    assert client.post("/v1/nhsa/3101", content=b"{").status_code == 422


def test_3103_feedback_is_checked_accepted_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    feedback = json.loads((EXAMPLES / "nhsa-3103.json").read_text(encoding="utf-8"))
    with caplog.at_level(logging.INFO, logger="policyengine.service.nhsa"):
        answer = client.post("/v1/nhsa/3103", json=feedback)
    assert answer.status_code == 200 and answer.json()["output"] == {"accepted": 1}
    logged = [r.getMessage() for r in caplog.records if "3103" in r.getMessage()]
    assert len(logged) == 1 and "上次所开药品已遗失" in logged[0]
    warn = feedback["input"]["data"]["warns"][0]
    warn["dspo_way_rea"] = " "
    refused = client.post("/v1/nhsa/3103", json=feedback)
    assert refused.status_code == 422
    assert [e["path"] for e in refused.json()["errors"]] == ["input.data.warns[0].dspo_way_rea"]
    warn["dspo_way"] = "3"
    feedback["input"]["data"]["warn_type"] = "9"
    refused = client.post("/v1/nhsa/3103", json=feedback)
    assert {e["path"] for e in refused.json()["errors"]} == {
        "input.data.warn_type",
        "input.data.warns[0].dspo_way",
    }


def test_every_bundled_policy_has_a_pool_area_and_every_pool_area_a_policy() -> None:
    from policyengine.service.nhsa_models import bundled_codes

    areas = {k: v for k, v in bundled_codes()["poolarea"].items() if not k.startswith("_")}
    cities = {p.name for p in Engine.load().describe() if not p.is_layer}
    assert set(areas.values()) == cities
