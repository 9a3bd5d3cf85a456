"""What a batch is asked to do (BatchOptions) and what it reports (Summary): the data shared
by the driver (local.py), its work directory (files.py), the workers (worker.py), Spark and
the command line."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine._version import __version__
from policyengine.batch import index

if TYPE_CHECKING:
    from policyengine.contract.results import ResultDict

STDOUT = "-"  # `-o -`: the results go to standard output


@dataclass(frozen=True)
class BatchOptions:
    input: Path
    output: Path
    jobs: int = 1
    policy: str | None = None
    region: str | None = None
    moment: str = "during"
    as_of: str | None = None
    trace: bool = False
    resume: bool = False
    keep_work: bool = False

    @property
    def to_stdout(self) -> bool:
        return str(self.output) == STDOUT

    def fingerprint(self, stat: os.stat_result, rules: dict[str, str]) -> dict[str, Any]:
        """What must not change between an interrupt and `--resume`: the input file, the
        options, and the rules — each region's compiled policy content and the engine."""
        return {
            "input": str(self.input.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "policy": self.policy,
            "region": self.region,
            "moment": self.moment,
            "as_of": self.as_of,
            "trace": self.trace,
            "task_claims": index.TASK_CLAIMS,
            "task_cut": index.TASK_CUT,
            "engine": __version__,
            "rules": dict(sorted(rules.items())),
        }


@dataclass
class Summary:
    records: int = 0
    settled: int = 0
    errors: int = 0
    blank_lines: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    fund: Decimal = Decimal(0)
    critical_illness: Decimal = Decimal(0)
    patient: Decimal = Decimal(0)
    seconds: float = 0.0
    resumed_tasks: int = 0

    def add(self, other: Summary) -> None:
        self.records += other.records
        self.settled += other.settled
        self.errors += other.errors
        for decision, count in other.decisions.items():
            self.decisions[decision] = self.decisions.get(decision, 0) + count
        self.fund += other.fund
        self.critical_illness += other.critical_illness
        self.patient += other.patient

    def count(self, result: ResultDict | None) -> None:
        self.records += 1
        if result is None:
            self.errors += 1
            return
        self.settled += 1
        self.decisions[result["decision"]] = self.decisions.get(result["decision"], 0) + 1
        payers = result["totals"]["payers"]
        self.fund += Decimal(payers["fund"])
        self.critical_illness += Decimal(payers["critical_illness"])
        self.patient += Decimal(result["totals"]["patient"])

    @property
    def throughput(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("fund", "critical_illness", "patient"):
            data[key] = f"{data[key]:.2f}"
        data["claims_per_second"] = round(self.throughput, 1)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return cls(
            records=data["records"],
            settled=data["settled"],
            errors=data["errors"],
            decisions=dict(data["decisions"]),
            fund=Decimal(data["fund"]),
            critical_illness=Decimal(data["critical_illness"]),
            patient=Decimal(data["patient"]),
        )
