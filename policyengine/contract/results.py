"""The result contract (../spec/claims.md §3) as pydantic models, for the API and the schema.

Money is written as a string with two decimals. The engine itself builds results as plain
dicts (the fast path); `Result.model_validate` turns one into this typed model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MoneyText = Annotated[str, Field(pattern=r"^\d+\.\d{2}$", examples=["1.68"])]
Provenance = Literal["cited", "secondary", "provisional"]
Action = Literal["reject", "exclude", "review", "warn"]
FindingKind = Literal[
    "not_covered",
    "restricted_use",
    "duplicate_dispensing",
    "excess_supply",
    "contraindication",
    "duplicate_service",
    "certification_required",
    "prescriber_qualification",
    "designated_use",
    "non_selected_drug",
    "malformed_claim",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)


class PolicyInfo(_Model):
    region: str
    version: str = Field(description="start date of the rule set in force")
    as_of: str = Field(description="the date whose rules were applied")


class Payers(_Model):
    fund: MoneyText
    critical_illness: MoneyText


class Totals(_Model):
    billed: MoneyText
    denied: MoneyText
    excluded: MoneyText
    over_limit: MoneyText
    pre_self_pay: MoneyText
    covered: MoneyText
    deductible: MoneyText
    payers: Payers
    patient: MoneyText


class Line(_Model):
    line: int
    billed: MoneyText
    item_class: Literal["A", "B", "C"] | None = Field(alias="class")
    denied: MoneyText
    excluded: MoneyText
    over_limit: MoneyText
    pre_self_pay: MoneyText
    covered: MoneyText
    findings: list[str]
    payers: Payers = Field(description="each payer's claim payment allocated pro rata to `covered`")
    patient: MoneyText


class Source(_Model):
    doc: str | None = Field(default=None, description="文号, or the title where there is none")
    clause: str | None = None
    quote: str | None = None
    provenance: Provenance
    note: str | None = Field(default=None, description="why a provisional rule is provisional")


class Finding(_Model):
    id: str
    kind: FindingKind
    action: Action
    line: int | None
    rule: str = Field(description="file:line of the rule that made the finding")
    message: str
    message_en: str
    source: Source


class Result(_Model):
    claim_id: str
    policy: PolicyInfo
    decision: Literal["reject", "partial", "review", "pay"]
    totals: Totals
    lines: list[Line]
    findings: list[Finding]
    provisional: list[str]
    trace: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=False, by_alias=True)


class ContractErrorModel(_Model):
    path: str
    message: str


class ErrorRecord(_Model):
    """What a malformed claim yields instead of a result."""

    claim_id: str | None
    errors: list[ContractErrorModel]


def claim_schema() -> dict[str, Any]:
    from policyengine.contract.claims import Claim

    schema = Claim.model_json_schema(mode="validation")
    schema["$id"] = "https://policyengine.local/schema/claim/1"
    schema["title"] = "policyengine claim (contract version 1)"
    return schema


def result_schema() -> dict[str, Any]:
    schema = Result.model_json_schema(mode="serialization")
    schema["$id"] = "https://policyengine.local/schema/result/1"
    schema["title"] = "policyengine result (contract version 1)"
    return schema
