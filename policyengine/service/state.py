"""What a worker holds while it serves: its settings, policies, metrics, ledger store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request

    from policyengine.service.config import ServiceConfig
    from policyengine.service.metrics import Metrics
    from policyengine.service.nhsa import Codes
    from policyengine.service.policies import PolicyHolder
    from policyengine.service.sources import SourceLibrary
    from policyengine.service.store import LedgerStore


@dataclass
class ServiceState:
    config: ServiceConfig
    policies: PolicyHolder
    metrics: Metrics
    store: LedgerStore | None = None
    codes: Codes | None = None
    # each policy's documents and rule files, by (policy generation, region)
    libraries: dict[tuple[int, str], SourceLibrary] = field(default_factory=dict)


def state_of(request: Request) -> ServiceState:
    service: ServiceState = request.app.state.service
    return service
