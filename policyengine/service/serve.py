"""`policyengine serve`: the service on uvicorn, with several worker processes.

uvicorn starts each worker by importing the application factory (`app.create_app`), which
reads the settings from the environment (config.py): so the command writes them there,
creates the ledger's tables once before the workers start, and points prometheus_client's
multiprocess mode at a fresh directory so `/metrics` sums every worker's samples.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from policyengine.service.config import ENVIRONMENT, Limits, ServiceConfig


def register(add: Any) -> None:
    serve = add(
        "serve",
        run,
        "serve the engine over HTTP: adjudicate, explain, settle, ledger, NHSA 3101/3102, FHIR",
        """
        policyengine serve                                  # http://127.0.0.1:8000, 2 workers
        policyengine serve --host 0.0.0.0 --port 8080 --workers 4
        policyengine serve --ledger ledger.db               # keep persons' years in SQLite
        policyengine serve --ledger postgresql://user@db/claims
        policyengine serve --policy my-policies --nhsa-codes local-codes.json
        policyengine serve --access-log                     # a log line per request
        """,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    serve.add_argument("--policy", help="a policy directory or directory of policies")
    serve.add_argument("--ledger", help="ledger store: an SQLite file path or a PostgreSQL URL")
    serve.add_argument("--nhsa-codes", help="a JSON file of local NHSA code tables")
    serve.add_argument(
        "--reload-seconds",
        type=float,
        default=2.0,
        help="how often to look for changed rule files (0: never)",
    )
    defaults = Limits()
    for name, value in vars(defaults).items():
        serve.add_argument(
            f"--limit-{name.replace('_', '-')}",
            dest=f"limit_{name}",
            type=type(value),
            default=value,
            help=argparse.SUPPRESS,
        )
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning"))
    # off by default: a line written per request costs a tenth of a one-claim request
    # (docs/service.md, Performance); the request counts and latencies are in /metrics
    serve.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="a line per request in the log (uvicorn's access log; default off)",
    )


def config_from(args: argparse.Namespace) -> ServiceConfig:
    limits = Limits(**{name: getattr(args, f"limit_{name}") for name in vars(Limits())})
    ledger = args.ledger
    if ledger is not None and "://" not in ledger:
        ledger = str(Path(ledger).resolve())  # workers may start elsewhere
    return ServiceConfig(
        policy=str(Path(args.policy).resolve()) if args.policy else None,
        ledger=ledger,
        nhsa_codes=str(Path(args.nhsa_codes).resolve()) if args.nhsa_codes else None,
        reload_seconds=args.reload_seconds,
        limits=limits,
    )


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        from policyengine.errors import PolicyEngineError

        raise PolicyEngineError(
            "the service needs its extra: pip install 'policyengine[service]'"
        ) from None
    config = config_from(args)
    _prepare(config)
    os.environ[ENVIRONMENT] = config.to_json()
    metrics = tempfile.mkdtemp(prefix="policyengine-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics
    try:
        uvicorn.run("policyengine.service.app:create_app", factory=True, **uvicorn_settings(args))
    finally:
        shutil.rmtree(metrics, ignore_errors=True)
    return 0


def uvicorn_settings(args: argparse.Namespace) -> dict[str, Any]:
    """How uvicorn serves the application: the one home of these settings, which the
    service benchmark's HTTP floor (benchmarks/floor.py) serves its constant answer under.
    uvicorn picks uvloop and httptools (its `standard` extra) when they are installed."""
    return {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "log_level": args.log_level,
        "access_log": args.access_log,
        "timeout_keep_alive": 10,
        "timeout_graceful_shutdown": 30,
        "server_header": False,
    }


def _prepare(config: ServiceConfig) -> None:
    """Fail before starting workers on what would fail in each: the policies (and warm the
    compile cache), the code tables, the ledger's tables."""
    from policyengine.engine import Engine
    from policyengine.service.nhsa_models import load_codes

    Engine.load(config.policy)
    load_codes(config.nhsa_codes)
    if config.ledger is not None:
        from policyengine.service.store import LedgerStore

        LedgerStore(config.ledger).close()
