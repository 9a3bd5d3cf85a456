"""The FastAPI application a worker serves (`create_app`, uvicorn's factory).

FastAPI on Starlette: routing, parameters checked and documented from their types, and an
OpenAPI document; the claim itself is read by the engine's own contract code (so its errors
are the CLI's), and the document's schemas are the published ones (documents.py). The
interactive documentation pages are off: they load scripts from a CDN, and nothing here
may reach the network; `/openapi.json` is served.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from policyengine._version import __version__
from policyengine.service import documents, problems
from policyengine.service.config import ServiceConfig
from policyengine.service.metrics import Metrics, Observe
from policyengine.service.policies import PolicyHolder
from policyengine.service.reading import TooLarge, TooSlow
from policyengine.service.state import ServiceState

log = logging.getLogger("policyengine.service")
ADJUDICATE = "/v1/adjudicate"

DESCRIPTION = """Rules as code for Chinese basic medical insurance, as a service: adjudicate
and explain claims, settle streams of claims with a ledger per person, keep a person's year
in a ledger store, answer NHSA 3101/3102 analyses and FHIR ClaimResponses. Every response
names the rules it used (`X-Policy-Hashes`; one claim's `X-Policy-Region`,
`X-Policy-Version`, `X-Policy-Hash`). See docs/service.md."""


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    """The application of one worker: its config from the argument or the environment."""
    settings = config or ServiceConfig.from_environment()
    holder = PolicyHolder(settings.policy)
    metrics = Metrics()
    service = ServiceState(settings, holder, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        import asyncio

        from policyengine.service.nhsa_models import load_codes

        holder.load()
        holder.on_reload = lambda outcome: metrics.reloads.labels(outcome).inc()
        service.codes = load_codes(settings.nhsa_codes)
        if settings.ledger is not None:
            from policyengine.service.store import LedgerStore

            service.store = LedgerStore(settings.ledger)
        watcher = (
            asyncio.create_task(holder.watch(settings.reload_seconds))
            if settings.reload_seconds > 0
            else None
        )
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if service.store is not None:
                service.store.close()

    app = ServiceApp(
        title="policyengine",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    _routes(app)
    _handlers(app)
    app.add_middleware(
        Observe,
        metrics=metrics,
        policies=lambda: holder.current.header if holder.ready else "",
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.fast = Observe(
        _plain_adjudicate(app, service),
        metrics=metrics,
        policies=lambda: holder.current.header if holder.ready else "",
    )
    return app


class ServiceApp(FastAPI):
    """The application, with one fast path: `POST /v1/adjudicate` without parameters — one
    claim in, its result JSON out, what claim systems send most — skips FastAPI's middleware,
    routing and parameter solving, which cost a claim twice what settling it does
    (docs/service.md, Performance). The route's own function answers it (routes.adjudicated:
    the same limits, errors and headers), inside the same `Observe` middleware (request id,
    policy hashes, metrics, a bug answered as JSON 500); a request with any parameter takes
    the documented FastAPI route, which checks them."""

    fast: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.fast is not None
            and scope["type"] == "http"
            and scope["path"] == ADJUDICATE
            and scope["method"] == "POST"
            and not scope["query_string"]
        ):
            await self.fast(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _plain_adjudicate(app: FastAPI, service: ServiceState) -> ASGIApp:
    from starlette.requests import Request

    from policyengine.service.routes import adjudicated, router

    route = next(r for r in router.routes if getattr(r, "path", None) == ADJUDICATE)

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app
        scope["route"] = route  # the metrics' endpoint label, as the route's requests have
        request = Request(scope, receive)
        try:
            response = await adjudicated(service, request)
        except TooLarge as large:
            response = await problems.too_large(request, large)
        except TooSlow as slow:
            response = await problems.too_slow(request, slow)
        await response(scope, receive, send)

    return answer


def _routes(app: FastAPI) -> None:
    from policyengine.service import ledger_routes, nhsa_routes, page, routes

    app.include_router(routes.router)
    app.include_router(ledger_routes.router)
    app.include_router(nhsa_routes.router)
    app.include_router(page.router)


def _handlers(app: FastAPI) -> None:
    app.add_exception_handler(problems.ServiceProblem, problems.service_problem)
    app.add_exception_handler(TooLarge, problems.too_large)
    app.add_exception_handler(TooSlow, problems.too_slow)
    app.add_exception_handler(RequestValidationError, problems.invalid_parameters)
    app.add_exception_handler(HTTPException, problems.not_found)
    app.add_exception_handler(Exception, problems.internal_error)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in documents.components().items():
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"two different schemas named {name} in the OpenAPI document")
            schemas[name] = schema
        app.openapi_schema = document
    return app.openapi_schema
