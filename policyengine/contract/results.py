"""The result contract (../spec/claims.md §3): declared once as TypedDicts, and as pydantic
models for the API and the JSON Schema.

The engine builds a result as a plain dict — the fast path — and `ResultDict` with its
parts (`LineDict`, `TotalsDict`, `FindingDict`, …) is that dict's declared type: mypy
checks every producer (runtime.finish, the interpreter) and consumer (explain, diff, the
ledger, batch, the policy tests, the CLI) against it. `Result.settled` turns one into the
typed model the API returns, without validating the engine's own output again (its parts
are built when first read); tests/test_contract_types.py proves the two
declarations agree field by field, and the model's `trace` is typed by the TypedDicts of
contract/trace.py themselves. Money is a string with two decimals.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    model_serializer,
)
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


# A result as the API returns it. `Result.settled` makes one from the engine's own output
# without validating it again: its parts are built from that output when first read; it
# equals, dumps, copies and prints as the validated model does. (A comment, not a docstring:
# pydantic would publish a docstring in the JSON Schema.)
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

    @classmethod
    def settled(cls, data: ResultDict) -> Result:
        """The typed result of `data`, a result the engine has just built: its scalar fields
        now, the models of its parts on first access (validating them costs more than
        settling a claim, and most callers read a few fields)."""
        result = cls.__new__(cls)
        fields = {
            "claim_id": data["claim_id"],
            "decision": data["decision"],
            "provisional": list(data["provisional"]),
        }
        _set(result, "__dict__", fields)
        _set(result, "__pydantic_fields_set__", set(data))
        _set(result, "__pydantic_extra__", None)
        _set(result, "__pydantic_private__", {_PENDING: data})
        return result

    def _complete(self) -> None:
        """Build every field still pending (then nothing tells this result from a validated one)."""
        private = self.__pydantic_private__
        if private is not None and _PENDING in private:
            for name in _LAZY_FIELDS:
                if name not in self.__dict__:
                    self._build(name, private[_PENDING])

    def _build(self, name: str, data: ResultDict) -> Any:
        raw = data.get(name)
        # pydantic-core's validator itself: the adapter's own call adds a microsecond or two
        value = None if raw is None else _field_adapter(name).validator.validate_python(raw)
        fields = self.__dict__
        fields[name] = value
        if all(field in fields for field in _LAZY_FIELDS):  # complete: in the fields' order
            _set(self, "__dict__", {field: fields[field] for field in type(self).model_fields})
            _set(self, "__pydantic_private__", None)
        return value

    if not TYPE_CHECKING:  # mypy keeps checking attribute names against the fields

        def __getattr__(self, name: str) -> Any:
            private = object.__getattribute__(self, "__pydantic_private__")
            if private is not None and _PENDING in private and name in _LAZY_FIELDS:
                return self._build(name, private[_PENDING])
            return super().__getattr__(name)

    # everything pydantic does with the whole model reads __dict__: complete it first (the
    # serializer too, wherever the result is dumped: on its own or inside another model).
    # No return annotation: pydantic would publish it as the serialized schema.
    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        self._complete()
        return handler(self)

    def __eq__(self, other: object) -> bool:
        self._complete()
        if isinstance(other, Result):
            other._complete()
        return super().__eq__(other)

    def __hash__(self) -> int:
        self._complete()
        return super().__hash__()

    def __iter__(self) -> Any:
        self._complete()
        return super().__iter__()

    def __repr_args__(self) -> Any:
        self._complete()
        return super().__repr_args__()

    def __copy__(self) -> Result:
        self._complete()
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Result:
        self._complete()
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[Any, Any]:
        self._complete()
        return super().__getstate__()


_set = object.__setattr__
# where a Result.settled keeps the engine's output until every field is built
_PENDING = "settled"
_LAZY_FIELDS = ("policy", "totals", "lines", "findings", "trace")


@cache
def _field_adapter(name: str) -> TypeAdapter[Any]:
    """The validator of one of Result's fields on its own."""
    field = Result.model_fields[name]
    if field.metadata or field.annotation is None:
        raise TypeError(f"Result.{name}: a constraint on the field would be lost here")
    return TypeAdapter(field.annotation)


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
