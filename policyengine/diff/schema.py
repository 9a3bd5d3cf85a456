"""The JSON report of `policyengine diff` (schema `policyengine.diff/1`), declared once as
TypedDicts: at run time the report is a plain dict (what `--format json` writes), and mypy
checks the builder (diff/report.py) and every reader (diff/render.py, diff/chart.py, the CLI)
against these declarations. pydantic reads the same declarations, as contract/results.py has
it for the result: `validate` checks a report, `diff_schema()` is their JSON Schema
(`policyengine diff --schema`) — derived from them, never written beside them."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Final, Literal

from pydantic import ConfigDict, Field, TypeAdapter, with_config

# typing_extensions, not typing: pydantic reads these declarations and needs its TypedDict on
# Python < 3.12 (as contract/trace.py)
from typing_extensions import TypedDict

from policyengine.contract.trace import Citation
from policyengine.diff.components import Side, TargetKind
from policyengine.semantics.vocabulary import Provenance

DIFF_SCHEMA: Final = "policyengine.diff/1"

# money as the report writes it: signed, two places
Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["-1234.50"])]
Measure = Literal["fund", "critical_illness", "payers", "patient", "denied"]

# a report holds exactly the declared keys (validate refuses any other)
_CLOSED = with_config(ConfigDict(extra="forbid"))


@_CLOSED
class DescribedVersion(TypedDict):
    label: str
    policy: Annotated[str, Field(description="the policy directory, or its path in the repository")]
    ref: Annotated[str | None, Field(description="the git ref the policies were exported from")]
    as_of: Annotated[
        str | None, Field(description="the date whose rules apply (null: each visit's)")
    ]


@_CLOSED
class PerSide(TypedDict):
    base: int
    amended: int


@_CLOSED
class ClaimCounts(TypedDict):
    total: int
    settled: PerSide
    errors: PerSide
    changed: Annotated[
        int, Field(description="claims whose fund, second layer, patient or denied moved")
    ]
    increased: Annotated[
        int, Field(description="claims the payers (fund + second layer) pay more on")
    ]
    decreased: int


@_CLOSED
class PersonCounts(TypedDict):
    total: int
    changed: int
    increased: int
    decreased: int


@_CLOSED
class TotalRow(TypedDict):
    measure: Measure
    base: Money
    amended: Money
    change: Money
    change_percent: Annotated[str | None, Field(description="change / base × 100, 2 places")]


@_CLOSED
class ChangeAmounts(TypedDict):
    """A change (amended − base) in what each party pays, and in denied money."""

    fund: Money
    critical_illness: Money
    payers: Annotated[Money, Field(description="fund + critical_illness")]
    patient: Money
    denied: Money


# a band of the distribution table; `from`/`to` null: open below / above
Band = TypedDict(
    "Band",
    {"label": str, "from": Money | None, "to": Money | None, "count": int, "change": Money},
)
_CLOSED(Band)
Bin = TypedDict("Bin", {"from": Money, "to": Money, "count": int})  # a histogram bin
_CLOSED(Bin)


@_CLOSED
class Spread(TypedDict):
    changed: int
    min: Money | None
    median: Money | None
    max: Money | None
    mean: Annotated[Money | None, Field(description="mean over the changed ones")]
    bands: list[Band]
    histogram: list[Bin]


@_CLOSED
class Distribution(TypedDict):
    measure: Literal["payers"]
    claims: Spread
    persons: Spread


@_CLOSED
class Because(TypedDict):
    label: str
    kind: TargetKind
    step: str
    rule: str | None
    payers: Money


@_CLOSED
class Payments(TypedDict):
    fund: Money
    critical_illness: Money
    patient: Money


@_CLOSED
class Largest(TypedDict):
    line: Annotated[int, Field(description="input line")]
    claim_id: str | None
    base: Payments | None
    amended: Payments | None
    change: ChangeAmounts
    because: list[Because]


@_CLOSED
class RuleRow(TypedDict):
    kind: TargetKind
    step: str
    rule: str | None
    version: Side | None
    what: str | None
    detail: str | None
    source: Citation | None
    label: str
    claims: int
    change: ChangeAmounts


@_CLOSED
class ClauseRow(TypedDict):
    label: str
    doc: str | None
    clause: str | None
    quote: str | None
    provenance: Provenance | None
    note: str | None
    rules: list[str]
    claims: int
    change: ChangeAmounts


@_CLOSED
class NoteExample(TypedDict):
    """A claim whose change was not decomposed step by step, and why."""

    line: int
    claim_id: str | None
    note: str


@_CLOSED
class NotDecomposed(TypedDict):
    claims: int
    examples: list[NoteExample]


@_CLOSED
class AttributionSection(TypedDict):
    by_rule: list[RuleRow]
    by_clause: list[ClauseRow]
    total: ChangeAmounts
    reconciled: Annotated[
        bool, Field(description="the parts sum exactly to the change in the totals")
    ]
    not_decomposed: NotDecomposed


@_CLOSED
class ErrorExample(TypedDict):
    line: int
    claim_id: str | None
    failed_under: Side
    error: str
    message: str


@_CLOSED
class DiffReport(TypedDict):
    schema: Literal["policyengine.diff/1"]
    generator: str
    input: str
    base: DescribedVersion
    amended: DescribedVersion
    claims: ClaimCounts
    persons: PersonCounts
    totals: list[TotalRow]
    distribution: Distribution
    largest: list[Largest]
    attribution: AttributionSection
    one_version_errors: list[ErrorExample]


@cache
def _adapter() -> TypeAdapter[DiffReport]:
    return TypeAdapter(DiffReport)


def diff_schema() -> dict[str, Any]:
    schema = _adapter().json_schema(mode="validation", by_alias=True)
    schema["$id"] = "https://policyengine.local/schema/diff/1"
    schema["title"] = "policyengine diff report (policyengine.diff/1)"
    return schema


def validate(report: object) -> DiffReport:
    """The report checked against its declaration (a pydantic ValidationError, a ValueError,
    naming what does not match)."""
    return _adapter().validate_python(report)
