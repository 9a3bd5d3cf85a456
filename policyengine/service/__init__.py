"""`policyengine serve`: the engine as an HTTP service claim systems call (docs/service.md).

    config.py     the settings (limits, ledger URL, policy directory), passed to every worker
    policies.py   the engine of a worker: loaded once, reloaded when the rule files change
    reading.py    request bodies read within their limits (413) and deadlines (408)
    problems.py   every error a client can get, as JSON, never a traceback
    metrics.py    Prometheus metrics and the ASGI middleware that records them
    app.py        the FastAPI application and its OpenAPI document (from the contract models)
    routes.py     adjudicate, explain, settle a stream, policies, schemas, health
    store.py      the ledger store: a person's year in SQLite or PostgreSQL
    ledger_routes.py  settle-and-commit, cancel (撤销结算), read a person's year
    nhsa.py       NHSA 3101/3102/3103 requests mapped to claims (codes in nhsa_codes.json)
    fhir.py       results as FHIR R4 ClaimResponse (also `adjudicate --format fhir`)
    page.py, sources.py  the auditors' page at /explain
    serve.py      the command: uvicorn with several worker processes

Only config.py, fhir.py and store.py are free of the web framework, so the CLI can use them
without the `service` extra installed.
"""
