"""The result contract (../spec/claims.md §3): declared once as TypedDicts, and as pydantic
models for the API and the JSON Schema.

The engine builds a result as a plain dict — the fast path — and `ResultDict` with its
parts (`LineDict`, `TotalsDict`, `FindingDict`, …) is that dict's declared type: mypy
checks every producer (runtime.finish, the interpreter) and consumer (explain, diff, the
ledger, batch, the policy tests, the CLI) against it. `Result.model_validate` turns one
into the typed model the API returns; tests/test_contract_types.py proves the two
declarations agree field by field, and the model's `trace` is typed by the TypedDicts of
contract/trace.py themselves. Money is a string with two decimals.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from policyengine.contract.trace import Citation, Money, Step
from policyengine.semantics.vocabulary import (
    Action,
    Decision,
    FindingKind,
    ItemClass,
    Provenance,
)

# a trace step, told apart by its `step` tag (what pydantic validates and the schema states)
TraceStep = Annotated[Step, Field(discriminator="step")]
MoneyText = Annotated[str, Field(pattern=r"^\d+\.\d{2}$", examples=["1.68"])]


# ------------------------------------------------------------------ the result as built


class PolicyDict(TypedDict):
    region: str
    version: str  # start date of the rule set in force
    as_of: str  # the date whose rules were applied


class PayersDict(TypedDict):
    fund: Money
    critical_illness: Money


class TotalsDict(TypedDict):
    billed: Money
    denied: Money
    excluded: Money
    over_limit: Money
    pre_self_pay: Money
    covered: Money
    deductible: Money
    payers: PayersDict
    patient: Money


LineDict = TypedDict(
    "LineDict",
    {
        "line": int,
        "billed": Money,
        "class": ItemClass | None,
        "denied": Money,
        "excluded": Money,
        "over_limit": Money,
        "pre_self_pay": Money,
        "covered": Money,
        "findings": list[str],
        "payers": PayersDict,  # each payer's claim payment allocated pro rata to `covered`
        "patient": Money,
    },
)


class FindingDict(TypedDict):
    id: str
    kind: FindingKind
    action: Action
    line: int | None  # None: a claim-level finding
    rule: str  # file:line of the rule that made the finding
    message: str
    message_en: str
    source: Citation


class ResultDict(TypedDict):
    claim_id: str
    policy: PolicyDict
    decision: Decision
    totals: TotalsDict
    lines: list[LineDict]
    findings: list[FindingDict]
    provisional: list[str]
    trace: NotRequired[list[TraceStep]]  # only when settled with a trace


class ContractErrorDict(TypedDict):
    path: str  # the JSON path of the problem in the claim ("" for the claim as a whole)
    message: str


class ErrorRecordDict(TypedDict):
    """A claim's line in batch output when it has no result (docs/batch.md)."""

    claim_id: str | None
    line: int  # the claim's line in the input, from 1
    error: str  # malformed_claim, NotInForce, RuleFailure, PolicyNotFound, internal_error
    errors: list[ContractErrorDict]


# ------------------------------------------------------------------ the pydantic models


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
    item_class: ItemClass | None = Field(alias="class")
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
    derived: str | None = Field(
        default=None, description="how a cited figure follows from the quote's numbers"
    )


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
    decision: Decision
    totals: Totals
    lines: list[Line]
    findings: list[Finding]
    provisional: list[str]
    trace: list[TraceStep] | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=False, by_alias=True)


class ContractErrorModel(_Model):
    path: str
    message: str


class ErrorRecord(_Model):
    """What a malformed claim yields instead of a result."""

    claim_id: str | None
    errors: list[ContractErrorModel]


# ------------------------------------------------------------------ reading a result back


class ResultProblem(ValueError):
    """A result read back from JSON that is not what the engine writes."""


@cache
def _result_adapter() -> TypeAdapter[ResultDict]:
    return TypeAdapter(ResultDict)


def result_from_json(data: object) -> ResultDict:
    """A result read back from JSON (a stored trace document), checked against the declared
    types — strictly: nothing is converted — and returned as it was read. Raises
    ResultProblem naming each problem's path, e.g. `trace[9].form: Field required`."""
    try:
        _result_adapter().validate_python(data, strict=True)
    except ValidationError as error:
        problems = [f"{_path(problem['loc'])}: {problem['msg']}" for problem in error.errors()[:5]]
        more = error.error_count() - len(problems)
        raise ResultProblem(
            "the result does not match the result contract: "
            + "; ".join(problems)
            + (f" (and {more} more)" if more > 0 else "")
        ) from None
    checked: ResultDict = data  # type: ignore[assignment]  # validated just above
    return checked


def _path(location: tuple[int | str, ...]) -> str:
    """pydantic's error location as a JSON path (the step kind pydantic names after a trace
    index, the tag of the union, is left out)."""
    out = "result"
    for index, part in enumerate(location):
        if isinstance(part, int):
            out += f"[{part}]"
        elif index >= 2 and location[index - 2] == "trace" and isinstance(location[index - 1], int):
            continue
        else:
            out += f".{part}"
    return out
