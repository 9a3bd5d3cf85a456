"""Loading claims: the claim contract (contract/models.py) applied at the JSON boundary.

Money and quantities are exact Decimals: a JSON string `^\\d+(\\.\\d+)?$` or a JSON number
(read as a decimal, never through binary float). A claim that breaks the contract is not
adjudicated: `load_claim` reports every problem with its JSON path (`items[2].amount`) at once.
Plainly valid claims take the fast path (contract/fastclaim.py, msgspec structs derived from the
models); anything it doubts is validated by the pydantic models, which name every problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from policyengine.contract import fastclaim
from policyengine.contract.limits import MAX_CLAIM_BYTES, Oversized, oversized
from policyengine.contract.models import (
    MAX_DIGITS_BEFORE_POINT,
    Certification,
    Claim,
    Dispensed,
    Doctor,
    History,
    Hospital,
    Item,
    NotANumber,
    Person,
    Referral,
    ReferringHospital,
    SelfBurden,
    ServiceRecord,
    Visit,
    exact_decimal,
)
from policyengine.semantics.matching import year_start

__all__ = [
    "MAX_DIGITS_BEFORE_POINT",
    "Certification",
    "Claim",
    "ClaimRejected",
    "ContractError",
    "Dispensed",
    "Doctor",
    "History",
    "Hospital",
    "Item",
    "Person",
    "Referral",
    "ReferringHospital",
    "SelfBurden",
    "ServiceRecord",
    "Visit",
    "exact_decimal",
    "json_path",
    "load_claim",
    "parse_json",
    "policy_errors",
]


@dataclass(frozen=True)
class ContractError:
    path: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class ClaimRejected(Exception):
    """The claim breaks the contract; `errors` lists every problem with its JSON path."""

    def __init__(self, claim_id: str | None, errors: list[ContractError]) -> None:
        super().__init__(f"claim {claim_id or '?'}: {len(errors)} contract error(s)")
        self.claim_id = claim_id
        self.errors = errors

    def as_json(self) -> dict[str, Any]:
        """The refusal as JSON; texts quoting the input keep any lone surrogate as its escape
        (the claim's own text cannot be written as UTF-8)."""
        claim_id = None if self.claim_id is None else fastclaim.escape_surrogates(self.claim_id)
        errors = [
            {
                "path": fastclaim.escape_surrogates(e.path),
                "message": fastclaim.escape_surrogates(e.message),
            }
            for e in self.errors
        ]
        return {"claim_id": claim_id, "errors": errors}


def parse_json(text: str | bytes) -> Any:
    """JSON with exact decimals: numbers with a fraction or exponent become Decimal."""

    def reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise _DuplicateKey(key)
            out[key] = value
        return out

    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=NotANumber,
            object_pairs_hook=reject_duplicates,
        )
    except RecursionError as error:
        raise ClaimRejected(None, [ContractError("", "JSON nested too deeply")]) from error
    except _DuplicateKey as error:
        raise ClaimRejected(
            None, [ContractError("", f"key '{error.key}' appears twice in one object")]
        ) from error
    except (ValueError, UnicodeDecodeError) as error:
        raise ClaimRejected(None, [ContractError("", f"not valid JSON: {error}")]) from error


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def json_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


# a JSON text of at most this many characters (or bytes) is within MAX_CLAIM_BYTES in UTF-8
_SURELY_WITHIN = MAX_CLAIM_BYTES // 4


def load_claim(data: Any, *, region: str | None = None) -> fastclaim.Claim:
    """Validate one claim (dict, JSON text or model); raise ClaimRejected listing every problem.

    Returns the claim as the engine reads it: immutable records (fastclaim.py). Valid claims
    take the fast path; anything doubtful is validated by the pydantic models, which report
    every problem with its JSON path."""
    if isinstance(data, (str, bytes)):  # first: JSON text is what most callers hand over
        too_large = oversized(data) if len(data) > _SURELY_WITHIN else None
        if too_large is not None:
            raise ClaimRejected(None, [ContractError("", too_large.message)])
        fast = fastclaim.fast_claim_from_json(data)
        if fast is not None:
            return fast if region is None else _with_region(fast, region)
        data = parse_json(data)
    elif isinstance(data, fastclaim.Claim):
        return _with_region(data, region)
    elif isinstance(data, Claim):
        return _with_region(fastclaim.from_model(data), region)
    elif isinstance(data, Oversized):
        raise ClaimRejected(None, [ContractError("", data.message)])
    fast = fastclaim.fast_claim(data)
    if fast is not None:
        return _with_region(fast, region)
    if not isinstance(data, Mapping):
        raise ClaimRejected(None, [ContractError("", "a claim is a JSON object")])
    claim_id = data.get("id") if isinstance(data.get("id"), str) else None
    errors = _raw_checks(data)
    try:
        claim = Claim.model_validate(data)
    except ValidationError as error:
        errors = _pydantic_errors(error) + errors
        raise ClaimRejected(claim_id, errors) from None
    errors += _consistency(claim)
    if errors:
        raise ClaimRejected(claim_id, errors)
    return _with_region(fastclaim.from_model(claim), region)


def _with_region(claim: fastclaim.Claim, region: str | None) -> fastclaim.Claim:
    if region is None or claim.region is not None:
        return claim
    return claim._replace(region=region)


def _pydantic_errors(error: ValidationError) -> list[ContractError]:
    out = []
    for item in error.errors(include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        out.append(ContractError(json_path(tuple(item["loc"])), message))
    return out


def _consistency(claim: Claim) -> list[ContractError]:
    """Checks across fields, each reported at the field that is wrong."""
    errors = []
    if claim.person.birth_date > claim.visit.date:
        errors.append(
            ContractError(
                "person.birth_date",
                f"{claim.person.birth_date} is after the visit date {claim.visit.date}",
            )
        )
    return errors


def policy_errors(
    claim: fastclaim.Claim, tiers: tuple[str, ...], benefit_year: tuple[int, int]
) -> list[ContractError]:
    """What a claim breaks of the policy that settles it: a tier the policy does not declare
    (a policy declaring no tiers ignores `person.tier`), or a history whose benefit year is
    not the policy's (spec §5)."""
    errors = []
    tier = claim.person.tier
    if tiers and tier is not None and tier not in tiers:
        errors.append(
            ContractError(
                "person.tier", f"'{tier}' is not a tier of this policy (tiers: {', '.join(tiers)})"
            )
        )
    given = claim.history.benefit_year_start
    if given is not None:
        begins = year_start(claim.visit.date, benefit_year)
        if given != begins:
            errors.append(
                ContractError(
                    "history.benefit_year_start",
                    f"{given} is not the start of this policy's benefit year holding the visit "
                    f"date {claim.visit.date}: {begins}",
                )
            )
    return errors


def _raw_checks(data: Mapping[str, Any]) -> list[ContractError]:
    """What pydantic cannot point at precisely: an empty items list, repeated line numbers."""
    items = data.get("items")
    if isinstance(items, list | tuple) and not items:
        return [ContractError("items", "a claim has at least one item")]
    if not isinstance(items, list | tuple):
        return []
    first: dict[int, int] = {}
    errors = []
    for index, item in enumerate(items):
        line = item.get("line") if isinstance(item, Mapping) else None
        if isinstance(line, int) and not isinstance(line, bool):
            if line in first:
                errors.append(
                    ContractError(
                        f"items[{index}].line", f"line {line} repeats items[{first[line]}].line"
                    )
                )
            else:
                first[line] = index
    return errors
