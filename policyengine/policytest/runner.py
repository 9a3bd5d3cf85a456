"""`policyengine test`: run a policy's YAML cases, report failures and clause coverage.

A failure shows, per field, what was expected, what came out, and the rule (file:line)
that produced the value. Coverage counts which rules and table rows the cases exercised
(from the traces and findings) and which cited clauses they reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from policyengine.contract.steps import read_steps, step_rules, step_sources
from policyengine.engine import Engine, policy_dirs
from policyengine.errors import PolicyNotFound
from policyengine.policytest.cases import Outcome, iter_cases, run_case
from policyengine.prepared import Backend, LoadedPolicy

if TYPE_CHECKING:
    from policyengine.compile.module import InventoryEntry
    from policyengine.contract.results import ResultDict
    from policyengine.contract.trace import Citation


@dataclass
class Coverage:
    """What a policy's cases exercised. `own` is the policy's name: the rules and rows of
    the layers it uses (national) are the layers' to test, and are not counted against it."""

    inventory: tuple[InventoryEntry, ...]
    own: str = ""
    used: set[str] = field(default_factory=set)
    clauses_used: set[tuple[str, str]] = field(default_factory=set)

    def record(self, result: ResultDict) -> None:
        for finding in result["findings"]:
            self.used.add(finding["rule"])
            self._clause(finding["source"])
        for step in read_steps(result).all:
            self.used.update(step_rules(step))
            for source in step_sources(step):
                self._clause(source)

    def _clause(self, source: Citation) -> None:
        if source["provenance"] == "cited":
            self.clauses_used.add((source.get("doc", ""), source.get("clause", "")))

    def _owned(self, entry: InventoryEntry) -> bool:
        return not self.own or str(entry["location"]).startswith(f"{self.own}/")

    @property
    def countable(self) -> list[InventoryEntry]:
        """The policy's own rules and rows that some claim can reach (the others are listed
        by `unreachable`, the layers' by `layers`)."""
        return [
            e
            for e in self.inventory
            if e["kind"] in ("rule", "row") and not e.get("unreachable") and self._owned(e)
        ]

    def unreachable(self) -> list[InventoryEntry]:
        return [e for e in self.inventory if e.get("unreachable") and self._owned(e)]

    def layers(self) -> dict[str, tuple[int, int]]:
        """For each layer the policy uses: its rules and rows exercised, of how many."""
        counts: dict[str, tuple[int, int]] = {}
        for entry in self.inventory:
            if self._owned(entry) or entry["kind"] not in ("rule", "row"):
                continue
            layer = str(entry["location"]).split("/", 1)[0]
            hit, total = counts.get(layer, (0, 0))
            counts[layer] = (hit + (entry["location"] in self.used), total + 1)
        return counts

    @property
    def percent(self) -> float:
        items = self.countable
        hit = sum(1 for e in items if e["location"] in self.used)
        return 100.0 * hit / len(items) if items else 100.0

    def clauses(self) -> set[tuple[str, str]]:
        return {
            (e["source"]["doc"], e["source"].get("clause", ""))
            for e in self.inventory
            if e["source"].get("provenance") == "cited" and self._owned(e)
        }

    def missed(self) -> list[InventoryEntry]:
        return [e for e in self.countable if e["location"] not in self.used]


@dataclass
class PolicyReport:
    policy: LoadedPolicy
    outcomes: list[Outcome]
    coverage: Coverage

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]


def run_directory(engine: Engine, directory: Path, keyword: str | None = None) -> PolicyReport:
    policy = engine.policy(directory.name)
    coverage = Coverage(policy.inventory, policy.name)
    outcomes = []
    for case in iter_cases(directory):
        if keyword and keyword not in case.name:
            continue
        outcome = run_case(engine, case, trace=True)
        if outcome.result is not None:
            coverage.record(outcome.result)
        outcomes.append(outcome)
    return PolicyReport(policy, outcomes, coverage)


def run_policies(
    roots: Iterable[Path], keyword: str | None = None, backend: Backend = "compiled"
) -> list[PolicyReport]:
    """Run the cases of every policy with a tests/ folder under each root, on the compiled
    evaluator or the reference interpreter (`backend`)."""
    reports: list[PolicyReport] = []
    for root in roots:
        directories = [d for d in policy_dirs(root) if (d / "tests").is_dir()]
        if not directories:
            raise PolicyNotFound(f"no policy with a tests/ folder in {root}")
        engine = Engine.load(root if len(directories) > 1 else directories[0], backend=backend)
        reports.extend(run_directory(engine, d, keyword) for d in directories)
    return reports
