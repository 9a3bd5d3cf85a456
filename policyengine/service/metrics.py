"""Prometheus metrics, and the ASGI middleware every request passes through.

Metrics (`/metrics`, the Prometheus text format):

    policyengine_requests_total{endpoint, method, status}     requests answered
    policyengine_request_seconds{endpoint}                    latency histogram
    policyengine_decisions_total{region, decision}            claims settled, by decision
    policyengine_errors_total{endpoint, error}                error answers, by kind
    policyengine_policy_reloads_total{outcome}                reloaded, same, failed

`endpoint` is the route's path template (`/v1/ledger/claims/{region}/{claim_id}`), never
the raw path, so the label set stays small. With several worker processes every worker
writes its samples to files in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess
mode, set by `policyengine serve`) and `/metrics` sums them over the workers.

The middleware (plain ASGI: no per-request task or body copy) gives each request an id
(`X-Request-Id`, the caller's when it is a plain token), names the loaded policies on every
response (`X-Policy-Hashes`), times the request and counts it; and a bug anywhere below it
is logged with the request id and answered as a JSON 500 — never a traceback.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("policyengine.service")
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"
_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,64}")
# settling one claim takes from a tenth of a millisecond to tens of milliseconds
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self) -> None:
        # one registry per application (tests build several); in multiprocess mode the
        # samples go to the shared files whatever the registry
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "policyengine_requests",
            "Requests answered",
            ("endpoint", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "policyengine_request_seconds",
            "Time to answer a request",
            ("endpoint",),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "policyengine_decisions",
            "Claims settled, by decision",
            ("region", "decision"),
            registry=self.registry,
        )
        self.errors = Counter(
            "policyengine_errors",
            "Error answers, by kind",
            ("endpoint", "error"),
            registry=self.registry,
        )
        self.reloads = Counter(
            "policyengine_policy_reloads",
            "Policy reloads after the rule files changed",
            ("outcome",),
            registry=self.registry,
        )
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}

    def child(self, metric: MetricWrapperBase, *values: str) -> Any:
        """The metric's sample for these label values, kept: prometheus_client's `labels`
        takes a lock and checks its arguments on every call, a few microseconds each on the
        hot path, where a dictionary look-up does. The label sets are small (route
        templates, statuses, regions, decisions, error kinds)."""
        key = (metric, values)
        sample = self._children.get(key)
        if sample is None:
            sample = self._children[key] = metric.labels(*values)
        return sample

    def decided(self, region: str, decision: str) -> None:
        """One claim settled (every endpoint that settles counts here)."""
        self.child(self.decisions, region, decision).inc()

    def exposition(self) -> tuple[bytes, str]:
        if os.environ.get(MULTIPROCESS):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class Observe:
    """ASGI middleware: request id, policy header, timing and counting."""

    def __init__(self, app: ASGIApp, metrics: Metrics, policies: Callable[[], str]) -> None:
        self.app = app
        self.metrics = metrics
        self.policies = policies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        error: str | None = None

        async def answer(message: Message) -> None:
            nonlocal status, error
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                header = self.policies()
                if header:
                    headers.append((b"x-policy-hashes", header.encode()))
                error = _error_kind(headers, status)
                message["headers"] = headers
            await send(message)

        started_answer = False

        async def tracked(message: Message) -> None:
            nonlocal started_answer
            started_answer = started_answer or message["type"] == "http.response.start"
            await answer(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as bug:  # a bug: logged with the request id, answered as JSON
            log.error(
                "internal error in %s %s (request %s)",
                scope["method"],
                scope["path"],
                request_id,
                exc_info=bug,
            )
            if started_answer:
                raise  # too late to answer: the server closes the connection
            await _internal_error(request_id, tracked)
        finally:
            endpoint = _endpoint(scope)
            elapsed = time.perf_counter() - started
            metrics = self.metrics
            metrics.child(metrics.requests, endpoint, scope["method"], str(status)).inc()
            metrics.child(metrics.latency, endpoint).observe(elapsed)
            if status >= 400:
                metrics.child(metrics.errors, endpoint, error or str(status)).inc()


async def _internal_error(request_id: str, send: Send) -> None:
    body = orjson.dumps(
        {
            "error": "internal_error",
            "message": f"internal error; the service log has it as request {request_id}",
            "errors": [],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"x-error-kind", b"internal_error"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _TOKEN.fullmatch(text):
                return text
    return os.urandom(16).hex()  # as random as uuid4().hex, without building a UUID


def _endpoint(scope: Scope) -> str:
    route = scope.get("route") or scope.get("endpoint")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "unmatched" if route is None else "other"


def _error_kind(headers: list[tuple[bytes, bytes]], status: int) -> str | None:
    for name, value in headers:
        if name == b"x-error-kind":
            return value.decode("latin-1")
    return None if status < 400 else str(status)
