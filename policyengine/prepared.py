"""A policy ready to settle claims: its metadata and its settle function (the compiled code,
or the reference interpreter: `Backend`).

cache.py produces one (from a cached code object or a fresh compile); engine.py holds
them by region.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from policyengine.compile.module import InventoryEntry
    from policyengine.contract.fastclaim import Claim
    from policyengine.contract.results import ResultDict
    from policyengine.contract.trace import PolicyWords

# The generated module's `settle(claim, day, before, trace)`: the claim's records, the date
# whose rules apply, whether audit rules only warn (the `before` moment), with a trace.
SettleFunction = Callable[["Claim", dt.date, bool, bool], "ResultDict"]

# What settles the claims: the generated Python (compile/), or the reference interpreter
# reading the IR row by row (interpret/). The compiled one is the product; the interpreter is
# the oracle, and the policy tests run on both (docs/architecture.md).
Backend = Literal["compiled", "interpreted"]
BACKENDS: tuple[Backend, ...] = ("compiled", "interpreted")


@dataclass(frozen=True)
class LedgerRules:
    """What a person's year in batch depends on in the policy (ledger.py): the day its
    benefit year begins (month, day), whether the second layer's self-burden counts the
    pre-self-pay (`base includes pre_self_pay`), and how many days of services a claim may
    look back on (the longest `within` of its frequency_limit rules; 1: its own day), and
    the kind of each catalogue code (a line joins the year's dispensings or services by
    the kind of the policy settling it, which prevails over the kind a claim gives)."""

    year_start: tuple[int, int] = (1, 1)
    self_burden_with_pre_self_pay: bool = False
    service_days: int = 1
    # the catalogue's (not compared: the rules of a year are the three figures above; the
    # catalogue is the policy's, the same for every year)
    kinds: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, eq=False)
class LoadedPolicy:
    """One compiled policy: its metadata and its settle function."""

    name: str
    title: str
    conditions: dict[str, str]  # condition name → its title (`condition hypertension "高血压"`)
    directory: Path
    start: str
    versions: tuple[str, ...]
    layers: tuple[str, ...]
    notes: tuple[str, ...]
    inventory: tuple[InventoryEntry, ...]
    settle: SettleFunction
    source: str
    cached: bool
    is_layer: bool
    fingerprint: str  # the compiled content under this engine (cache.policy_fingerprint)
    tiers: tuple[str, ...] = ()  # the contribution tiers a claim may name (none: any, ignored)
    ledger: LedgerRules = LedgerRules()
    # the policy's content hash (loader.Loaded.content_hash: every rule file, layer, cited
    # document and catalogue it reads): what a service names as the rules it used
    content_hash: str = ""

    @property
    def kinds(self) -> Mapping[str, str]:
        """Catalogue code → kind (the catalogue's kind prevails over a claim's): held by the
        ledger rules, which file a settled line by it."""
        return self.ledger.kinds

    def words(self) -> PolicyWords:
        """The policy's own names for itself and its conditions (explain's words)."""
        return {"name": self.name, "title": self.title, "conditions": dict(self.conditions)}


def loaded_policy(
    directory: Path,
    namespace: dict[str, Any],
    source: str,
    *,
    cached: bool,
    fingerprint: str,
    content_hash: str = "",
) -> LoadedPolicy:
    kinds = {code: item.kind for code, item in namespace["_CAT"].items()}
    year_begins, with_pre_self_pay, service_days = namespace["LEDGER"]
    return LoadedPolicy(
        name=namespace["POLICY"],
        title=namespace["TITLE"],
        conditions=namespace["CONDITIONS"],
        directory=directory,
        start=namespace["START"],
        versions=namespace["VERSIONS"],
        layers=namespace["LAYERS"],
        notes=namespace["_NOTES"],
        inventory=namespace["INVENTORY"],
        settle=namespace["settle"],
        source=source,
        cached=cached,
        is_layer=namespace["IS_LAYER"],
        fingerprint=fingerprint,
        tiers=namespace["TIERS"],
        ledger=LedgerRules(year_begins, with_pre_self_pay, service_days, kinds),
        content_hash=content_hash,
    )
