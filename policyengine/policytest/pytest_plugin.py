"""pytest collects the YAML policy cases: every `policies/<city>/tests/*.yaml` file is a
test module and each of its cases a test item per back end, named after the case:
`001 在职职工…[compiled]` and `001 在职职工…[interpreted]` (the compiled evaluator and the
reference interpreter must both give what the case expects).

`--policy-backend compiled` (or `interpreted`) runs one back end only.

The plugin is loaded into every pytest run of a project that has policyengine installed
(the `pytest11` entry point), so this module imports nothing of the engine: the engine,
the claim contract and the YAML reader are imported when a policy case file is collected.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from policyengine.prepared import BACKENDS, Backend  # a dataclass and two names: no engine

if TYPE_CHECKING:
    from policyengine.engine import Engine
    from policyengine.policytest.cases import Case, Mismatch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--policy-backend",
        choices=(*BACKENDS, "both"),
        default="both",
        help="policy cases: run them on the compiled evaluator, the reference interpreter, "
        "or both (default)",
    )


@functools.cache
def _engine(root: Path, backend: Backend) -> Engine:
    from policyengine.engine import Engine

    return Engine.load(root, backend=backend)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and file_path.parent.name == "tests":
        policy_dir = file_path.parent.parent
        if any(policy_dir.glob("*.policy")):
            return PolicyCaseFile.from_parent(parent, path=file_path)
    return None


class PolicyCaseFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from policyengine.policytest.cases import read_cases
        from policyengine.policytest.caseyaml import CaseFileError

        try:
            cases = read_cases(self.path)
        except CaseFileError as error:
            raise self.CollectError(str(error)) from None
        chosen = self.config.getoption("policy_backend", default="both")
        backends = [b for b in BACKENDS if chosen in ("both", b)]
        for case in cases:
            for backend in backends:
                yield PolicyCaseItem.from_parent(
                    self,
                    name=f"{case.index + 1:03d} {case.name}[{backend}]",
                    case=case,
                    backend=backend,
                )


class PolicyCaseItem(pytest.Item):
    def __init__(self, *, case: Case, backend: Backend, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.backend = backend

    def runtest(self) -> None:
        from policyengine.policytest.cases import run_case

        engine = _engine(self.case.file.parent.parent.parent, self.backend)
        outcome = run_case(engine, self.case)
        if not outcome.passed:
            raise CaseFailed(outcome.mismatches)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            lines = [f"{self.case.location}: {self.case.name} ({self.backend})"]
            for m in excinfo.value.mismatches:
                lines.append(f"  {m.path}: expected {m.expected!r}, got {m.got!r}")
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"{self.case.name} [{self.backend}]"


class CaseFailed(Exception):
    def __init__(self, mismatches: list[Mismatch]) -> None:
        super().__init__(f"{len(mismatches)} mismatch(es)")
        self.mismatches = mismatches
