"""`policyengine test`: run a policy's YAML cases, report failures and clause coverage.

A failure shows, per field, what was expected, what came out, and the rule (file:line)
that produced the value. Coverage counts which rules and table rows the cases exercised
(from the traces and findings) and which cited clauses they reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policyengine.engine import Engine, policy_dirs
from policyengine.errors import PolicyNotFound
from policyengine.policytest.cases import Outcome, iter_cases, run_case
from policyengine.prepared import LoadedPolicy

# Which trace steps produce which result fields (to name the rule behind a mismatch).
_FIELD_STEPS = {
    "totals.deductible": ("deductible",),
    "totals.payers.critical_illness": ("critical_illness",),
}


@dataclass
class Coverage:
    inventory: tuple[dict[str, Any], ...]
    used: set[str] = field(default_factory=set)
    clauses_used: set[tuple[str, str]] = field(default_factory=set)

    def record(self, result: dict[str, Any]) -> None:
        for finding in result.get("findings", []):
            self.used.add(finding["rule"])
            self._clause(finding.get("source"))
        for step in result.get("trace", []):
            for location in _step_rules(step):
                self.used.add(location)
            for source in _step_sources(step):
                self._clause(source)

    def _clause(self, source: dict[str, Any] | None) -> None:
        if source and source.get("provenance") == "cited":
            self.clauses_used.add((source["doc"], source.get("clause", "")))

    @property
    def countable(self) -> list[dict[str, Any]]:
        """The rules and rows some claim can reach (the others are listed by `unreachable`)."""
        return [
            e for e in self.inventory if e["kind"] in ("rule", "row") and not e.get("unreachable")
        ]

    def unreachable(self) -> list[dict[str, Any]]:
        return [e for e in self.inventory if e.get("unreachable")]

    @property
    def percent(self) -> float:
        items = self.countable
        hit = sum(1 for e in items if e["location"] in self.used)
        return 100.0 * hit / len(items) if items else 100.0

    def clauses(self) -> set[tuple[str, str]]:
        return {
            (e["source"]["doc"], e["source"].get("clause", ""))
            for e in self.inventory
            if e["source"].get("provenance") == "cited"
        }

    def missed(self) -> list[dict[str, Any]]:
        return [e for e in self.countable if e["location"] not in self.used]


def _step_rules(step: dict[str, Any]) -> Iterable[str]:
    for key in ("rule", "selfpay_rule"):
        if step.get(key):
            yield step[key]
    figures = step.get("figures") or {}
    for adjustment in figures.get("adjustments") or ():
        yield adjustment["rule"]
    if figures.get("alias"):
        yield figures["alias"]["rule"]
    yield from figures.get("rows") or ()


def _step_sources(step: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for key in ("source", "selfpay_source"):
        if step.get(key):
            yield step[key]
    for adjustment in (step.get("figures") or {}).get("adjustments") or ():
        yield adjustment["source"]


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
    coverage = Coverage(policy.inventory)
    outcomes = []
    for case in iter_cases(directory):
        if keyword and keyword not in case.name:
            continue
        outcome = run_case(engine, case, trace=True)
        if outcome.result is not None:
            coverage.record(outcome.result)
        outcomes.append(outcome)
    return PolicyReport(policy, outcomes, coverage)


def producing_rule(result: dict[str, Any] | None, path: str) -> str | None:
    """The rule(s) behind a result field, read from the trace: for the fund, the ratio row
    and any cap or limit that actually bound it."""
    if result is None or path.startswith("findings"):
        return None
    steps = {step.get("step"): step for step in result.get("trace", [])}
    if path == "totals.payers.fund" and "ratio" in steps:
        rules = [f"ratio {steps['ratio']['rule']}"]
        computed = steps.get("fund", {}).get("value")
        for name in ("cap", "limit"):
            step = steps.get(name)
            if step and computed is not None and step.get("value") != computed:
                rules.append(f"{name} {step['rule']} (binding)")
                computed = step["value"]
        return "; ".join(rules)
    for name in _FIELD_STEPS.get(path, ()):
        if steps.get(name, {}).get("rule"):
            return str(steps[name]["rule"])
    return None


def run_policies(roots: Iterable[Path], keyword: str | None = None) -> list[PolicyReport]:
    """Run the cases of every policy with a tests/ folder under each root."""
    reports: list[PolicyReport] = []
    for root in roots:
        directories = [d for d in policy_dirs(root) if (d / "tests").is_dir()]
        if not directories:
            raise PolicyNotFound(f"no policy with a tests/ folder in {root}")
        engine = Engine.load(root if len(directories) > 1 else directories[0])
        reports.extend(run_directory(engine, d, keyword) for d in directories)
    return reports
