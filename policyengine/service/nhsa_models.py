"""The NHSA 3101/3102/3103 shapes as pydantic models, and the code tables.

Field names are the interface's own (../shared/design/integration.md). The models check
structure only — which fields are there, text or number — and ignore fields they do not
use, as the claim contract does; the codes are checked where they are mapped (nhsa.py), so
an unknown code is reported at its own JSON path. Three fields are this service's
extensions, named `x_…`, for facts a claim needs and 3101 does not carry (docs/service.md).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from policyengine.contract.claims import Certification
from policyengine.contract.results import ContractErrorModel
from policyengine.semantics.vocabulary import (
    HospitalKind,
    ItemKind,
    Level,
    Moment,
    Scheme,
    Sex,
    Status,
    Title,
    VisitType,
)


def _code(value: Any) -> Any:
    """A code sent as a JSON number (`"gend": 1`) is the same code as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Code = Annotated[str, BeforeValidator(_code), Field(min_length=1, max_length=64)]
Text = Annotated[str, BeforeValidator(_code), Field(min_length=1, max_length=128)]
# amounts and counts stay as sent (text, or an exact decimal from the JSON number) for the
# claim contract to check, so that its errors name these fields
Amount = str | int | Decimal


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Diagnosis(_Model):
    dise_codg: Annotated[str, Field(min_length=1, max_length=32)]
    maindise_flag: Code | None = None
    inout_dise_type: Code | None = None
    dise_date: str | None = None


class Order(_Model):
    rx_id: Text
    rxno: Text | None = None
    hilist_type: Code
    hilist_code: Code
    hilist_name: str | None = None
    hilist_lv: Code | None = None
    chrg_type: Code | None = None
    cnt: Amount
    pric: Amount
    sumamt: Amount
    drord_begn_date: str
    drord_dept_codg: Text | None = None
    drord_dr_codg: Text | None = None
    drord_dr_profttl: Code | None = None
    curr_drord_flag: Code
    drord_bhvr: Code | None = None
    medc_days: int | None = Field(
        default=None,
        description="用药天数 (as the 2204 fee detail names it): a drug's days of supply",
    )


class Encounter(_Model):
    mdtrt_id: Text
    medins_id: Text
    medins_type: Code | None = None
    medins_lv: Code | None = None
    adm_date: str | None = None
    dscg_date: str | None = None
    dscg_main_dise_codg: str | None = None
    adm_dept_codg: Text | None = None
    dr_codg: Text | None = None
    med_mdtrt_type: Code
    med_type: Code
    insutype: Code
    matn_stas: Code | None = None
    medfee_sumamt: Amount | None = None
    out_setl_flag: Code | None = None
    fsi_diagnose_dtos: list[Diagnosis] = []
    fsi_order_dtos: list[Order] = []


class Patient(_Model):
    patn_id: Text
    patn_name: str | None = None
    gend: Code
    brdy: str
    poolarea: Code
    curr_mdtrt_id: Text
    fsi_encounter_dtos: list[Encounter] = Field(min_length=1)
    x_psn_status: Status | None = Field(
        default=None,
        description="extension: an employee's status (在职/退休), which 3101 does not carry",
    )
    x_certifications: list[Certification] = Field(
        default=[],
        description="extension: the person's 门特/两病 certifications (the claim contract's "
        "`person.certifications`), which 3101 does not carry",
    )


class AnalysisData(_Model):
    trig_scen: Code
    rule_ids: list[Text] = []
    patient_dtos: list[Patient] = Field(min_length=1)


class AnalysisInput(_Model):
    data: AnalysisData


class NhsaRequest(_Model):
    """A 3101 (事前) or 3102 (事中) request: the envelope, `input.data`."""

    infno: Code | None = None
    msgid: Text | None = None
    input: AnalysisInput


class Detail(_Model):
    jrd_id: str
    rx_id: str
    vola_item_type: Literal["1", "2"]  # 1 the offending order, 2 an order involved
    vola_amt: Decimal


class Violation(_Model):
    jr_id: str
    rule_id: str
    rule_name: str
    vola_cont: str
    patn_id: str
    mdtrt_id: str
    vola_amt: Decimal
    sev_deg: str
    vola_evid: str
    vola_bhvr_type: str
    judge_result_detail_dtos: list[Detail]


class AnalysisOutput(_Model):
    result: list[Violation]


class NhsaResponse(_Model):
    """The answer to 3101/3102: one `output.result[]` entry per violation."""

    infcode: int
    err_msg: str | None
    output: AnalysisOutput | None
    errors: list[ContractErrorModel] = []


class Warn(_Model):
    warn_rslt_id: Text
    dspo_way: Code
    dspo_way_rea: str | None = None


class FeedbackData(_Model):
    warn_type: Code
    warns: list[Warn] = Field(min_length=1)


class FeedbackInput(_Model):
    data: FeedbackData


class NhsaFeedback(_Model):
    """3103: the doctor's response to the violations (continue, with a reason; or change)."""

    infno: Code | None = None
    msgid: Text | None = None
    input: FeedbackInput


class Scene(_Model):
    moment: Moment
    name: str


class Codes(_Model):
    """The code tables: NHSA code → the claim contract's word (nhsa_codes.json)."""

    trig_scen: dict[str, Scene]
    gend: dict[str, Sex]
    insutype: dict[str, Scheme]
    med_type: dict[str, VisitType]
    med_mdtrt_type: dict[str, str]
    hilist_type: dict[str, ItemKind]
    hilist_lv: dict[str, str]
    drord_dr_profttl: dict[str, Title]
    curr_drord_flag: dict[str, Literal["current", "history"]]
    poolarea: dict[str, str]
    medins_lv: dict[str, Level]
    medins_type: dict[str, HospitalKind]


def _tables(data: dict[str, Any]) -> dict[str, Any]:
    """The tables without their `_about`/`_source` notes."""
    return {
        name: {code: value for code, value in table.items() if not code.startswith("_")}
        for name, table in data.items()
        if not name.startswith("_")
    }


@cache
def bundled_codes() -> dict[str, Any]:
    text = resources.files("policyengine.service").joinpath("nhsa_codes.json").read_text("utf-8")
    tables: dict[str, Any] = _tables(json.loads(text))
    return tables


def load_codes(local: str | None) -> Codes:
    """The bundled tables, with a deployment's local tables added (its codes win)."""
    tables = {name: dict(table) for name, table in bundled_codes().items()}
    if local is not None:
        extra = _tables(json.loads(Path(local).read_text(encoding="utf-8")))
        for name, table in extra.items():
            if name not in tables:
                raise ValueError(f"{local}: no code table named {name!r}")
            tables[name].update(table)
    return Codes.model_validate(tables)
