"""pytest collects the YAML policy cases: every `policies/<city>/tests/*.yaml` file is a
test module and each of its cases a test item, named after the case."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policyengine.engine import Engine
from policyengine.policytest.cases import Case, read_cases, run_case
from policyengine.policytest.caseyaml import CaseFileError


@functools.cache
def _engine(root: Path) -> Engine:
    return Engine.load(root)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and file_path.parent.name == "tests":
        policy_dir = file_path.parent.parent
        if any(policy_dir.glob("*.policy")):
            return PolicyCaseFile.from_parent(parent, path=file_path)
    return None


class PolicyCaseFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            cases = read_cases(self.path)
        except CaseFileError as error:
            raise self.CollectError(str(error)) from None
        for case in cases:
            yield PolicyCaseItem.from_parent(
                self, name=f"{case.index + 1:03d} {case.name}", case=case
            )


class PolicyCaseItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        engine = _engine(self.case.file.parent.parent.parent)
        outcome = run_case(engine, self.case)
        if not outcome.passed:
            raise CaseFailed(outcome.mismatches)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            lines = [f"{self.case.location}: {self.case.name}"]
            for m in excinfo.value.mismatches:
                lines.append(f"  {m.path}: expected {m.expected!r}, got {m.got!r}")
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, self.case.name


class CaseFailed(Exception):
    def __init__(self, mismatches: list[Any]) -> None:
        super().__init__(f"{len(mismatches)} mismatch(es)")
        self.mismatches = mismatches
