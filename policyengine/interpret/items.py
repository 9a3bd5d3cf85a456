"""What the reference interpreter's finding checks ask of a claim line: whether its item is in
this region's catalogue, and its effective kind (the catalogue's, else the claim's; spec §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policyengine.interpret.evaluator import Run


def in_catalogue(run: Run, entry: Any) -> bool:
    return entry is not None and entry.local_region in ("", run.policy.name)


def kind_of(item: Any, entry: Any) -> str:
    return str(entry.kind) if entry is not None else str(item.kind)
