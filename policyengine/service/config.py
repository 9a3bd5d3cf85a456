"""The service's settings: where the policies and the ledger are, and the request limits.

`policyengine serve` builds one `ServiceConfig` from its options and hands it to every
worker process through the environment (`POLICYENGINE_SERVICE_CONFIG`, JSON), since uvicorn
starts each worker by importing the application factory. Nothing a request sends can change
a setting: the policy directory, the ledger database and the code tables are the operator's.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

ENVIRONMENT = "POLICYENGINE_SERVICE_CONFIG"


@dataclass(frozen=True)
class Limits:
    """What one request may carry. Bytes are counted while the body is read: a request over
    its limit is refused with 413 before it is read whole (docs/service.md, Limits)."""

    claim_bytes: int = 2_000_000  # one claim, an NHSA request, an explain request
    stream_bytes: int = 32_000_000  # an NDJSON stream of claims
    stream_claims: int = 20_000  # claims in one stream
    items: int = 2_000  # lines of one claim (the contract's own ceiling is 10,000)
    history: int = 20_000  # history entries of one claim (dispensed + services)
    nhsa_patients: int = 100  # patients in one 3101/3102 request
    nhsa_orders: int = 5_000  # orders in one 3101/3102 request, current and earlier
    read_seconds: float = 30.0  # to receive a whole request body (a slow sender gets 408)
    stream_seconds: float = 120.0  # to settle one stream (the rest are error records)

    def __post_init__(self) -> None:
        for name, value in dataclasses.asdict(self).items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"limit {name} must be a positive number, not {value!r}")


@dataclass(frozen=True)
class ServiceConfig:
    policy: str | None = None  # a policy directory (or directory of policies); None: bundled
    ledger: str | None = None  # a database URL or an SQLite file path; None: no ledger store
    nhsa_codes: str | None = None  # a JSON file extending the bundled NHSA code tables
    reload_seconds: float = 2.0  # how often a worker looks for changed rule files; 0: never
    limits: Limits = field(default_factory=Limits)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServiceConfig:
        data: dict[str, Any] = json.loads(text)
        limits = Limits(**data.pop("limits", {}))
        return cls(**data, limits=limits)

    @classmethod
    def from_environment(cls) -> ServiceConfig:
        text = os.environ.get(ENVIRONMENT)
        return cls() if not text else cls.from_json(text)
