"""NHSA 3101/3102 requests settled as claims; their findings answered as `output.result[]`.

Each patient's current encounter (`curr_mdtrt_id`) becomes one claim: its orders under
review (`curr_drord_flag` 1) the claim's lines, every earlier order (flag 0, or from another
encounter) its history — drugs as dispensing, services as services. The claim is settled
at the moment the trigger scene implies (`trig_scen`, nhsa_codes.json), and each finding
becomes a violation: `rule_id` our rule (file:line), `vola_cont` its message, `vola_evid`
the clause and quote it rests on, `vola_amt` the money concerned, and the orders — the
offending one (`vola_item_type` 1) and, for a finding on the whole visit, every order under
review (2). The field and code mapping is the table in docs/service.md; a code the tables
do not hold is an error at its JSON path, and a contract error in the claim built is
reported at the NHSA field it came from.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from policyengine.contract.claims import ClaimRejected, ContractError, json_path, parse_json
from policyengine.explain.words import kind_word
from policyengine.service.nhsa_models import (
    Codes,
    Encounter,
    NhsaFeedback,
    NhsaRequest,
    NhsaResponse,
    Order,
    Patient,
    load_codes,
)

if TYPE_CHECKING:
    from policyengine.contract.results import FindingDict, ResultDict
    from policyengine.engine import Engine

__all__ = ["Codes", "NhsaFeedback", "NhsaRequest", "NhsaResponse", "load_codes"]

log = logging.getLogger("policyengine.service.nhsa")
DATA = "input.data"


class NhsaRejected(Exception):
    """The request cannot be analysed: every problem, at its path in the request."""

    def __init__(self, errors: list[ContractError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the request")
        self.errors = errors


@dataclass
class Mapped:
    """One patient's current encounter as a claim, and where each of its fields came from."""

    claim: dict[str, Any]
    moment: str
    patient: Patient
    encounter: Encounter
    orders: dict[int, Order] = field(default_factory=dict)  # line → order under review
    paths: dict[str, str] = field(default_factory=dict)  # claim path → request path

    def request_path(self, claim_path: str) -> str:
        """The request field a claim path came from (the longest mapped prefix, with the
        claim's own path beside it when only a prefix is mapped)."""
        if claim_path in self.paths:
            return self.paths[claim_path]
        cut = claim_path
        while (at := max(cut.rfind("."), cut.rfind("["))) > 0:
            cut = cut[:at]
            if cut in self.paths:
                return f"{self.paths[cut]} ({claim_path})"
        return f"{self.paths.get('', DATA)} ({claim_path})"


def parse_request(body: bytes, model: type[NhsaRequest] | type[NhsaFeedback]) -> Any:
    """The request's structure, every problem with its path; numbers read exactly."""
    try:
        data = parse_json(body)
    except ClaimRejected as rejected:
        raise NhsaRejected(rejected.errors) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            ContractError(json_path(tuple(item["loc"])), str(item["msg"]))
            for item in error.errors(include_url=False)
        ]
        raise NhsaRejected(problems) from None


class Mapper:
    """Maps one request's patients to claims, collecting every problem before it fails."""

    def __init__(self, codes: Codes) -> None:
        self.codes = codes
        self.errors: list[ContractError] = []

    def code(self, table: str, value: str | None, path: str) -> Any:
        known: dict[str, Any] = getattr(self.codes, table)
        if value is None:
            self.errors.append(ContractError(path, f"required: a {table} code"))
            return None
        if value not in known:
            listed = ", ".join(sorted(known)) or "none: the deployment gives its local table"
            self.errors.append(
                ContractError(path, f"unknown {table} code {value!r} (known: {listed})")
            )
            return None
        return known[value]

    def region(self, poolarea: str, path: str) -> str | None:
        matches = [p for p in self.codes.poolarea if poolarea.startswith(p)]
        if not matches:
            known = ", ".join(f"{p}…" for p in sorted(self.codes.poolarea))
            self.errors.append(
                ContractError(path, f"no policy for pool area {poolarea!r} (known: {known})")
            )
            return None
        return self.codes.poolarea[max(matches, key=len)]

    def request(self, request: NhsaRequest) -> list[Mapped]:
        data = request.input.data
        scene = self.code("trig_scen", data.trig_scen, f"{DATA}.trig_scen")
        mapped = [
            self.patient(patient, f"{DATA}.patient_dtos[{index}]", scene.moment if scene else "")
            for index, patient in enumerate(data.patient_dtos)
        ]
        if self.errors:
            raise NhsaRejected(self.errors)
        return [m for m in mapped if m is not None]

    def patient(self, patient: Patient, path: str, moment: str) -> Mapped | None:
        current = [
            (i, e)
            for i, e in enumerate(patient.fsi_encounter_dtos)
            if e.mdtrt_id == patient.curr_mdtrt_id
        ]
        if len(current) != 1:
            self.errors.append(
                ContractError(
                    f"{path}.curr_mdtrt_id",
                    f"{patient.curr_mdtrt_id!r} names {len(current)} of the encounters; "
                    "it must name exactly one",
                )
            )
            return None
        index, encounter = current[0]
        at = f"{path}.fsi_encounter_dtos[{index}]"
        scheme = self.code("insutype", encounter.insutype, f"{at}.insutype")
        person: dict[str, Any] = {
            "id": patient.patn_id,
            "scheme": scheme,
            "birth_date": patient.brdy[:10],
            "sex": self.code("gend", patient.gend, f"{path}.gend"),
            "certifications": [
                c.model_dump(mode="json", exclude_none=True) for c in patient.x_certifications
            ],
        }
        if scheme == "employee":
            if patient.x_psn_status is None:
                self.errors.append(
                    ContractError(
                        f"{path}.x_psn_status",
                        "an employee (insutype 310) is working or retired; 3101 carries no "
                        "such field, so send x_psn_status",
                    )
                )
            person["status"] = patient.x_psn_status
        mapped = Mapped({}, moment, patient, encounter)
        mapped.paths.update(
            {
                "": at,
                "id": f"{at}.mdtrt_id",
                "region": f"{path}.poolarea",
                "person.id": f"{path}.patn_id",
                "person.scheme": f"{at}.insutype",
                "person.status": f"{path}.x_psn_status",
                "person.birth_date": f"{path}.brdy",
                "person.sex": f"{path}.gend",
                "person.certifications": f"{path}.x_certifications",
            }
        )
        region = self.region(patient.poolarea, f"{path}.poolarea")
        visit = self.visit(encounter, at, mapped)
        items = self.items(encounter, at, mapped)
        history = self.history(patient, path, index, mapped)
        mapped.claim = {
            "id": encounter.mdtrt_id,
            "region": region,
            "person": person,
            "visit": visit,
            "items": items,
            "history": history,
        }
        return mapped

    def visit(self, encounter: Encounter, at: str, mapped: Mapped) -> dict[str, Any]:
        kind = self.code("med_type", encounter.med_type, f"{at}.med_type")
        self.code("med_mdtrt_type", encounter.med_mdtrt_type, f"{at}.med_mdtrt_type")
        current = [
            (i, o) for i, o in enumerate(encounter.fsi_order_dtos) if o.curr_drord_flag == "1"
        ]
        date, date_path = _visit_date(encounter, current, at)
        doctor = self.doctor(encounter, current, at, mapped)
        diagnoses = sorted(
            enumerate(encounter.fsi_diagnose_dtos), key=lambda pair: pair[1].maindise_flag != "1"
        )
        for position, (index, _d) in enumerate(diagnoses):
            mapped.paths[f"visit.diagnoses[{position}]"] = (
                f"{at}.fsi_diagnose_dtos[{index}].dise_codg"
            )
        mapped.paths.update(
            {
                "visit.type": f"{at}.med_type",
                "visit.date": date_path,
                "visit.admitted": f"{at}.adm_date",
                "visit.hospital.id": f"{at}.medins_id",
                "visit.hospital.level": f"{at}.medins_lv",
                "visit.hospital.kind": f"{at}.medins_type",
            }
        )
        visit: dict[str, Any] = {
            "type": kind,
            "date": date,
            "hospital": {
                "id": encounter.medins_id,
                "level": self.code("medins_lv", encounter.medins_lv, f"{at}.medins_lv"),
                "kind": self.code("medins_type", encounter.medins_type, f"{at}.medins_type"),
            },
            "doctor": doctor,
            "diagnoses": [d.dise_codg for _i, d in diagnoses],
        }
        if kind == "inpatient" and encounter.adm_date:
            visit["admitted"] = encounter.adm_date[:10]
        return visit

    def doctor(
        self, encounter: Encounter, current: list[tuple[int, Order]], at: str, mapped: Mapped
    ) -> dict[str, Any]:
        """The visit's doctor: the one who wrote the orders under review (one claim has one
        doctor, whose title the prescriber restrictions read)."""
        doctors: dict[str | None, int] = {}
        for index, order in current:
            doctors.setdefault(order.drord_dr_codg, index)
        if len(doctors) > 1:
            second = sorted(doctors.values())[1]
            self.errors.append(
                ContractError(
                    f"{at}.fsi_order_dtos[{second}].drord_dr_codg",
                    "the orders under review are by several doctors; analyse each doctor's "
                    "orders in a request of their own",
                )
            )
        if not current:
            self.errors.append(
                ContractError(f"{at}.fsi_order_dtos", "no order under review (curr_drord_flag 1)")
            )
            return {"id": encounter.dr_codg, "title": None}
        index, first = current[0]
        order_at = f"{at}.fsi_order_dtos[{index}]"
        mapped.paths["visit.doctor.id"] = f"{order_at}.drord_dr_codg"
        mapped.paths["visit.doctor.title"] = f"{order_at}.drord_dr_profttl"
        title = self.code(
            "drord_dr_profttl", first.drord_dr_profttl, f"{order_at}.drord_dr_profttl"
        )
        return {"id": first.drord_dr_codg or encounter.dr_codg, "title": title}

    def items(self, encounter: Encounter, at: str, mapped: Mapped) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for index, order in enumerate(encounter.fsi_order_dtos):
            flag = self.code(
                "curr_drord_flag",
                order.curr_drord_flag,
                f"{at}.fsi_order_dtos[{index}].curr_drord_flag",
            )
            if flag != "current":
                continue
            order_at = f"{at}.fsi_order_dtos[{index}]"
            if order.hilist_lv is not None:  # checked; the catalogue decides the class
                self.code("hilist_lv", order.hilist_lv, f"{order_at}.hilist_lv")
            line = len(items) + 1
            claim_at = f"items[{line - 1}]"
            mapped.orders[line] = order
            mapped.paths.update(
                {
                    claim_at: order_at,
                    f"{claim_at}.code": f"{order_at}.hilist_code",
                    f"{claim_at}.kind": f"{order_at}.hilist_type",
                    f"{claim_at}.quantity": f"{order_at}.cnt",
                    f"{claim_at}.unit_price": f"{order_at}.pric",
                    f"{claim_at}.amount": f"{order_at}.sumamt",
                    f"{claim_at}.days_supply": f"{order_at}.medc_days",
                    f"{claim_at}.name": f"{order_at}.hilist_name",
                }
            )
            item: dict[str, Any] = {
                "line": line,
                "code": order.hilist_code,
                "kind": self.code("hilist_type", order.hilist_type, f"{order_at}.hilist_type"),
                "quantity": order.cnt,
                "unit_price": order.pric,
                "amount": order.sumamt,
            }
            if order.hilist_name:
                item["name"] = order.hilist_name
            if order.medc_days is not None:
                item["days_supply"] = order.medc_days
            items.append(item)
        return items

    def history(self, patient: Patient, path: str, current: int, mapped: Mapped) -> dict[str, Any]:
        """Every earlier order: drugs as dispensing (with their days of supply), services
        as services; earlier materials have no place in a claim's history."""
        dispensed: list[dict[str, Any]] = []
        services: list[dict[str, Any]] = []
        for e_index, encounter in enumerate(patient.fsi_encounter_dtos):
            for o_index, order in enumerate(encounter.fsi_order_dtos):
                if e_index == current and order.curr_drord_flag == "1":
                    continue
                order_at = f"{path}.fsi_encounter_dtos[{e_index}].fsi_order_dtos[{o_index}]"
                kind = self.code("hilist_type", order.hilist_type, f"{order_at}.hilist_type")
                day = order.drord_begn_date[:10]
                if kind == "drug":
                    if order.medc_days is None:
                        self.errors.append(
                            ContractError(
                                f"{order_at}.medc_days",
                                "an earlier drug order needs its days of supply to be checked "
                                "for duplicates",
                            )
                        )
                        continue
                    at = f"history.dispensed[{len(dispensed)}]"
                    mapped.paths.update(
                        {
                            at: order_at,
                            f"{at}.date": f"{order_at}.drord_begn_date",
                            f"{at}.days_supply": f"{order_at}.medc_days",
                            f"{at}.code": f"{order_at}.hilist_code",
                        }
                    )
                    dispensed.append(
                        {"code": order.hilist_code, "date": day, "days_supply": order.medc_days}
                    )
                elif kind == "service":
                    at = f"history.services[{len(services)}]"
                    mapped.paths.update(
                        {
                            at: order_at,
                            f"{at}.date": f"{order_at}.drord_begn_date",
                            f"{at}.code": f"{order_at}.hilist_code",
                        }
                    )
                    services.append({"code": order.hilist_code, "date": day})
        return {"dispensed": dispensed, "services": services}


def _visit_date(
    encounter: Encounter, current: list[tuple[int, Order]], at: str
) -> tuple[str | None, str]:
    """The visit's date: the discharge date when there is one (an inpatient claim is the
    whole admission), else the latest date of the orders under review, else admission."""
    if encounter.dscg_date:
        return encounter.dscg_date[:10], f"{at}.dscg_date"
    if current:
        index, latest = max(current, key=lambda pair: pair[1].drord_begn_date[:10])
        return latest.drord_begn_date[:10], f"{at}.fsi_order_dtos[{index}].drord_begn_date"
    return (encounter.adm_date or "")[:10] or None, f"{at}.adm_date"


# ------------------------------------------------------------------ answering


def analyse(
    engine: Engine, codes: Codes, request: NhsaRequest
) -> tuple[dict[str, Any], list[ResultDict]]:
    """The response to a 3101/3102 request, and the results behind it."""
    mapped = Mapper(codes).request(request)
    rules = {
        entry["location"]: entry["what"]
        for policy in engine.describe()
        for entry in policy.inventory
        if entry["kind"] == "rule"
    }
    wanted = request.input.data.rule_ids
    unknown = [
        ContractError(f"{DATA}.rule_ids[{i}]", f"no rule {rule!r} in the loaded policies")
        for i, rule in enumerate(wanted)
        if rule not in rules
    ]
    if unknown:
        raise NhsaRejected(unknown)
    violations: list[dict[str, Any]] = []
    results: list[ResultDict] = []
    problems: list[ContractError] = []
    for one in mapped:
        try:
            result = engine.settle(one.claim, moment=one.moment)
        except ClaimRejected as rejected:
            problems += [
                ContractError(one.request_path(e.path), e.message) for e in rejected.errors
            ]
            continue
        results.append(result)
        violations += [
            violation(one, result, finding, rules)
            for finding in result["findings"]
            if not wanted or finding["rule"] in wanted
        ]
    if problems:
        raise NhsaRejected(problems)
    return {"infcode": 0, "err_msg": None, "output": {"result": violations}}, results


def violation(
    one: Mapped, result: ResultDict, finding: FindingDict, rules: dict[str, str]
) -> dict[str, Any]:
    lines = {line["line"]: line for line in result["lines"]}
    if finding["line"] is not None:
        offending = [finding["line"]]
        involved: list[int] = []
    else:  # a finding on the whole visit concerns every order under review
        offending = []
        involved = sorted(one.orders)
    amount = sum((Decimal(lines[n]["billed"]) for n in offending or involved), Decimal("0.00"))
    base = f"{one.patient.patn_id}|{one.encounter.mdtrt_id}|{finding['rule']}|{finding['line']}"
    jr_id = hashlib.sha256(base.encode()).hexdigest()[:24]
    details = [
        {
            "jrd_id": f"{jr_id}-{n}",
            "rx_id": one.orders[n].rx_id,
            "vola_item_type": "1" if n in offending else "2",
            "vola_amt": Decimal(lines[n]["billed"]),
        }
        for n in [*offending, *involved]
    ]
    return {
        "jr_id": jr_id,
        "rule_id": finding["rule"],
        "rule_name": rule_name(finding, rules),
        "vola_cont": finding["message"],
        "patn_id": one.patient.patn_id,
        "mdtrt_id": one.encounter.mdtrt_id,
        "vola_amt": amount,
        "sev_deg": finding["action"],
        "vola_evid": evidence(finding),
        "vola_bhvr_type": finding["kind"],
        "judge_result_detail_dtos": details,
    }


def rule_name(finding: FindingDict, rules: dict[str, str]) -> str:
    """The kind in Chinese, and the rule's own name where it has one (`重复开药`,
    `限定支付范围 two_disease_visit`)."""
    kind = kind_word(finding["kind"], "zh")
    name = rules.get(finding["rule"], "").split(" ", 1)[-1]
    return kind if not name or name == finding["kind"] else f"{kind} {name}"


def evidence(finding: FindingDict) -> str:
    """The basis: the document, clause and quoted words (or why the rule is provisional)."""
    source = finding["source"]
    if source["provenance"] == "provisional":
        return f"暂定(provisional): {source.get('note', '')}"
    text = " ".join(p for p in (source.get("doc", ""), source.get("clause", "")) if p)
    if source.get("quote"):
        text += f"「{source.get('quote')}」"
    return text if source["provenance"] == "cited" else f"转引(secondary): {text}"


def feedback(request: NhsaFeedback) -> dict[str, Any]:
    """3103: check each response (continuing needs a reason) and log it."""
    data = request.input.data
    errors = []
    if data.warn_type not in ("1", "2"):
        errors.append(ContractError(f"{DATA}.warn_type", "1 (事前) or 2 (事中)"))
    for index, warn in enumerate(data.warns):
        at = f"{DATA}.warns[{index}]"
        if warn.dspo_way not in ("1", "2"):
            errors.append(ContractError(f"{at}.dspo_way", "1 (continue) or 2 (change the order)"))
        elif warn.dspo_way == "1" and not (warn.dspo_way_rea or "").strip():
            errors.append(ContractError(f"{at}.dspo_way_rea", "continuing needs a reason"))
    if errors:
        raise NhsaRejected(errors)
    for warn in data.warns:
        log.info(
            "3103 feedback warn_type=%s warn_rslt_id=%s dspo_way=%s reason=%r",
            data.warn_type,
            warn.warn_rslt_id,
            warn.dspo_way,
            warn.dspo_way_rea,
        )
    return {"infcode": 0, "err_msg": None, "output": {"accepted": len(data.warns)}}
