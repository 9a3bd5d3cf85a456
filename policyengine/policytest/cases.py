"""Policy test cases as data: YAML files under `policies/<city>/tests/`.

A file holds `defaults` (a base claim) and `cases`; each case's `claim` is deep-merged
onto the defaults (mappings merge, lists replace), then adjudicated and compared with
`expect`. Only the fields written in `expect` are compared:

    defaults:
      region: tianjin
      person: {id: P1, scheme: employee, status: working, birth_date: 1970-01-01, sex: male}
      ...
    cases:
      - name: 在职职工三级医院门诊,未过起付线
        claim: {items: [...]}
        as_of: 2024-01-01          # optional; moment: before|during|after also
        expect:
          decision: pay
          totals: {covered: "100.00", deductible: "100.00", payers: {fund: "0.00"}}
          lines: [{line: 1, excluded: "0.00"}]
          findings: [{kind: duplicate_dispensing, action: reject, line: 2}]
          provisional_count: 3
          provisional_rules: [tianjin/benefits.policy:8]   # the notes' rules, as a set
        # or, for a claim the engine must refuse:
        expect: {error: not_in_force}      # contract | not_in_force | rule_failure | unknown_region
        expect: {error: contract, error_paths: [person.tier]}   # and the JSON paths it names
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine.contract.claims import ClaimRejected
from policyengine.contract.notes import read_note
from policyengine.errors import NotInForce, PolicyNotFound, RuleFailure
from policyengine.policytest.caseyaml import (
    LINE,
    CaseFileError,
    load_case_yaml,
    located,
    strip_lines,
)
from policyengine.semantics.vocabulary import MOMENTS

if TYPE_CHECKING:
    from policyengine.contract.results import ResultDict
    from policyengine.engine import Engine  # either back end: the caller's

ERROR_KINDS = {
    ClaimRejected: "contract",
    NotInForce: "not_in_force",
    RuleFailure: "rule_failure",
    PolicyNotFound: "unknown_region",
}


@dataclass(frozen=True)
class Case:
    file: Path
    index: int
    line: int
    name: str
    claim: dict[str, Any]
    expect: dict[str, Any]
    as_of: str | None = None
    moment: str = "during"

    @property
    def location(self) -> str:
        return located(self.file, self.line)


@dataclass
class Mismatch:
    path: str
    expected: Any
    got: Any


@dataclass
class Outcome:
    case: Case
    mismatches: list[Mismatch] = field(default_factory=list)
    result: ResultDict | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.mismatches


def merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(patch)


def read_cases(path: Path) -> list[Case]:
    """The cases of a YAML file; CaseFileError with file:line for anything but well-formed
    cases (caseyaml.py bounds and checks the YAML itself)."""
    document = load_case_yaml(path)
    if not isinstance(document, dict) or not isinstance(document.get("cases"), list):
        raise CaseFileError(f"{located(path, 1)}: expected a mapping with a `cases` list")
    raw_defaults = document.get("defaults") or {}
    if not isinstance(raw_defaults, dict):
        line = document.get(LINE, 1)
        raise CaseFileError(f"{located(path, line)}: `defaults` must be a mapping (a claim)")
    defaults = strip_lines(raw_defaults)
    cases = []
    for index, raw in enumerate(document["cases"]):
        line = raw.get(LINE, 0) if isinstance(raw, dict) else document.get(LINE, 1)
        problem = _case_problem(raw)
        if problem is not None:
            raise CaseFileError(f"{located(path, line)}: case {index + 1}: {problem}")
        data = strip_lines(raw)
        as_of = data.get("as_of")
        cases.append(
            Case(
                file=path,
                index=index,
                line=line,
                name=str(data["name"]),
                claim=merge(defaults, data.get("claim") or {}),
                expect=data["expect"],
                as_of=str(as_of) if as_of is not None else None,
                moment=str(data.get("moment", "during")),
            )
        )
    return cases


def _case_problem(raw: Any) -> str | None:
    """What makes a case unusable, or None: a case is a mapping with a `name`, an `expect`
    mapping, and optionally a `claim` mapping, an `as_of` date and a `moment`."""
    if not isinstance(raw, dict):
        return f"a case is a mapping with `name` and `expect`, not {_kind(raw)}"
    missing = [key for key in ("name", "expect") if key not in raw]
    if missing:
        return f"needs {' and '.join(f'`{key}`' for key in missing)}"
    if not isinstance(raw["name"], str | int | float):
        return f"`name` must be text, not {_kind(raw['name'])}"
    if not isinstance(raw["expect"], dict):
        return f"`expect` must be a mapping of the result's fields, not {_kind(raw['expect'])}"
    if not isinstance(raw.get("claim") or {}, dict):
        return f"`claim` must be a mapping, not {_kind(raw['claim'])}"
    if raw.get("moment", "during") not in MOMENTS:
        return f"`moment` must be one of {', '.join(MOMENTS)}"
    as_of = raw.get("as_of")
    if as_of is not None and not _is_date(as_of):
        return f"`as_of` must be a date YYYY-MM-DD, not {as_of!r}"
    for key in ("lines", "findings"):
        records = raw["expect"].get(key)
        if records is not None and (
            not isinstance(records, list) or not all(isinstance(r, dict) for r in records)
        ):
            return f"`expect.{key}` must be a list of mappings"
    return None


def _is_date(value: Any) -> bool:
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:60]


def case_files(policy_dir: Path) -> list[Path]:
    tests = policy_dir / "tests"
    return sorted(tests.glob("*.yaml")) + sorted(tests.glob("*.yml")) if tests.is_dir() else []


def run_case(engine: Engine, case: Case, *, trace: bool = False) -> Outcome:
    outcome = Outcome(case)
    expected_error = case.expect.get("error")
    try:
        options: dict[str, Any] = {"moment": case.moment, "trace": trace}
        if case.as_of:
            options["as_of"] = dt.date.fromisoformat(case.as_of)
        outcome.result = engine.settle(case.claim, **options)
    except (ClaimRejected, NotInForce, RuleFailure, PolicyNotFound) as error:
        kind = ERROR_KINDS[type(error)]
        outcome.error = kind
        if expected_error != kind:
            detail = error.as_json() if isinstance(error, ClaimRejected) else str(error)
            outcome.mismatches.append(Mismatch("error", expected_error, f"{kind}: {detail}"))
        elif "error_paths" in case.expect:
            paths = [e.path for e in error.errors] if isinstance(error, ClaimRejected) else []
            wanted = case.expect["error_paths"]
            if paths != wanted:
                outcome.mismatches.append(Mismatch("error_paths", wanted, paths))
        return outcome
    if expected_error is not None:
        outcome.mismatches.append(Mismatch("error", expected_error, "a result"))
        return outcome
    compare(case.expect, outcome.result, "", outcome.mismatches)
    return outcome


def compare(expected: Any, got: Any, path: str, out: list[Mismatch]) -> None:
    if path == "" and isinstance(expected, dict):
        for key, value in expected.items():
            if key == "provisional_count":
                count = len(got.get("provisional", []))
                if count != value:
                    out.append(Mismatch("provisional_count", value, count))
            elif key == "provisional_rules":
                rules = provisional_rules(got)
                if not isinstance(value, list) or sorted(map(str, value)) != rules:
                    out.append(Mismatch("provisional_rules", value, rules))
            else:
                compare(value, got.get(key), key, out)
        return
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            out.append(Mismatch(path, expected, got))
            return
        for key, value in expected.items():
            compare(value, got.get(key), f"{path}.{key}", out)
    elif isinstance(expected, list) and path in ("lines", "findings"):
        _compare_records(expected, got, path, out)
    elif isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            out.append(Mismatch(path, expected, got))
            return
        for index, (want, have) in enumerate(zip(expected, got, strict=True)):
            compare(want, have, f"{path}[{index}]", out)
    elif _normal(expected) != _normal(got):
        out.append(Mismatch(path, expected, got))


def provisional_rules(result: ResultDict) -> list[str]:
    """The rules (file:line) whose provisional figures or dates shaped a result, sorted."""
    found = {note.location for text in result["provisional"] if (note := read_note(text))}
    return sorted(found)


def _compare_records(expected: list[Any], got: Any, path: str, out: list[Mismatch]) -> None:
    """Lines are matched by `line` number; findings must match in number and order."""
    if not isinstance(got, list):
        out.append(Mismatch(path, expected, got))
        return
    if path == "lines":
        by_line = {record.get("line"): record for record in got}
        for want in expected:
            have = by_line.get(want.get("line"))
            compare(want, have, f"lines[line={want.get('line')}]", out)
        return
    if len(got) != len(expected):
        shown = [{k: f.get(k) for k in ("kind", "action", "line")} for f in got]
        out.append(Mismatch(f"{path} (count)", len(expected), f"{len(got)}: {shown}"))
        return
    for index, (want, have) in enumerate(zip(expected, got, strict=True)):
        compare(want, have, f"{path}[{index}]", out)


def _normal(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def iter_cases(policy_dir: Path) -> Iterator[Case]:
    for path in case_files(policy_dir):
        yield from read_cases(path)
