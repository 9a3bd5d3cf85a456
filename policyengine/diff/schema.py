"""The JSON report of `policyengine diff` (schema `policyengine.diff/1`) as pydantic
models: `validate` checks a report, `diff_schema()` is their JSON Schema
(`policyengine diff --schema`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DIFF_SCHEMA = "policyengine.diff/1"

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["-1234.50"])]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VersionModel(_Model):
    label: str
    policy: str = Field(description="the policy directory, or its path in the repository")
    ref: str | None = Field(description="the git ref the policies were exported from")
    as_of: str | None = Field(description="the date whose rules apply (null: each visit's)")


class PerSide(_Model):
    base: int
    amended: int


class ClaimCounts(_Model):
    total: int
    settled: PerSide
    errors: PerSide
    changed: int = Field(description="claims whose fund, second layer, patient or denied moved")
    increased: int = Field(description="claims the payers (fund + second layer) pay more on")
    decreased: int


class PersonCounts(_Model):
    total: int
    changed: int
    increased: int
    decreased: int


class TotalRow(_Model):
    measure: Literal["fund", "critical_illness", "payers", "patient", "denied"]
    base: Money
    amended: Money
    change: Money
    change_percent: str | None = Field(description="change / base × 100, 2 places")


class ChangeModel(_Model):
    fund: Money
    critical_illness: Money
    payers: Money = Field(description="fund + critical_illness")
    patient: Money
    denied: Money


class Band(_Model):
    label: str
    low: Money | None = Field(alias="from")
    high: Money | None = Field(alias="to")
    count: int
    change: Money


class Bin(_Model):
    low: Money = Field(alias="from")
    high: Money = Field(alias="to")
    count: int


class Spread(_Model):
    changed: int
    min: Money | None
    median: Money | None
    max: Money | None
    mean: Money | None = Field(description="mean over the changed ones")
    bands: list[Band]
    histogram: list[Bin]


class Distribution(_Model):
    measure: Literal["payers"]
    claims: Spread
    persons: Spread


class Because(_Model):
    label: str
    kind: Literal["rule", "ledger", "one_version", "unexplained"]
    step: str
    rule: str | None
    payers: Money


class Payments(_Model):
    fund: Money
    critical_illness: Money
    patient: Money


class Largest(_Model):
    line: int = Field(description="input line")
    claim_id: str | None
    base: Payments | None
    amended: Payments | None
    change: ChangeModel
    because: list[Because]


class RuleRow(_Model):
    kind: Literal["rule", "ledger", "one_version", "unexplained"]
    step: str
    rule: str | None
    version: Literal["base", "amended"] | None
    what: str | None
    detail: str | None
    source: dict[str, str] | None
    label: str
    claims: int
    change: ChangeModel


class ClauseRow(_Model):
    label: str
    doc: str | None
    clause: str | None
    quote: str | None
    provenance: str | None
    note: str | None
    rules: list[str]
    claims: int
    change: ChangeModel


class NoteModel(_Model):
    line: int
    claim_id: str | None
    note: str


class NotDecomposed(_Model):
    claims: int
    examples: list[NoteModel]


class AttributionModel(_Model):
    by_rule: list[RuleRow]
    by_clause: list[ClauseRow]
    total: ChangeModel
    reconciled: bool = Field(description="the parts sum exactly to the change in the totals")
    not_decomposed: NotDecomposed


class ErrorExample(_Model):
    line: int
    claim_id: str | None
    failed_under: Literal["base", "amended"]
    error: str
    message: str


class DiffReport(_Model):
    schema_: Literal["policyengine.diff/1"] = Field(alias="schema")
    generator: str
    input: str
    base: VersionModel
    amended: VersionModel
    claims: ClaimCounts
    persons: PersonCounts
    totals: list[TotalRow]
    distribution: Distribution
    largest: list[Largest]
    attribution: AttributionModel
    one_version_errors: list[ErrorExample]


def diff_schema() -> dict[str, Any]:
    schema = DiffReport.model_json_schema(mode="validation", by_alias=True)
    schema["$id"] = "https://policyengine.local/schema/diff/1"
    schema["title"] = "policyengine diff report (policyengine.diff/1)"
    return schema


def validate(report: dict[str, Any]) -> DiffReport:
    return DiffReport.model_validate(report)
