"""The HTTP service's core (docs/service.md): adjudicate, explain, settle a stream, policies,
schemas, health and metrics; contract errors as the CLI's; limits; no traceback; reload.

In process, through Starlette's test client (the application with its lifespan: the engine
loaded, the reload watcher running); tests/test_service_server.py runs `policyengine serve`.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from policyengine import Engine
from policyengine.cli.main import main
from policyengine.contract import schemas
from policyengine.explain import render as explaining
from policyengine.explain.document import words_of
from policyengine.service.app import create_app
from policyengine.service.config import Limits, ServiceConfig
from tests.support import EXAMPLES, POLICIES, claim, example_claim

CLAIM = (EXAMPLES / "claim.json").read_bytes()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(ServiceConfig(reload_seconds=0))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(list(args))
    return code, json.loads(capsys.readouterr().out)


# ------------------------------------------------------------------ adjudicate


def test_adjudicate_answers_the_engines_result_and_names_the_rules(
    client: TestClient, engine: Engine
) -> None:
    answer = client.post("/v1/adjudicate", content=CLAIM)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == json.loads(json.dumps(engine.settle(CLAIM)))
    tianjin = engine.policy("tianjin")
    assert answer.headers["x-policy-region"] == "tianjin"
    assert answer.headers["x-policy-version"] == "2023-01-01"
    assert answer.headers["x-policy-hash"] == tianjin.content_hash
    assert len(tianjin.content_hash) == 64
    hashes = dict(part.split("=") for part in answer.headers["x-policy-hashes"].split(","))
    assert hashes == {r: engine.policy(r).content_hash for r in engine.regions}
    assert answer.headers["x-request-id"]


def test_adjudicate_options_are_the_cli_options(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    for query, flags in (
        ("moment=before&trace=true", ["--moment", "before", "--trace"]),
        ("as_of=2018-06-30", ["--as-of", "2018-06-30"]),
    ):
        answer = client.post(f"/v1/adjudicate?{query}", content=CLAIM)
        _code, printed = cli_json(capsys, "adjudicate", str(EXAMPLES / "claim.json"), *flags)
        assert answer.json() == printed


def test_a_malformed_claim_gets_the_clis_contract_errors(
    client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = example_claim()
    broken["visit"]["hospital"]["level"] = "3"
    broken["items"][0]["amount"] = "999.99"
    del broken["person"]["sex"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    answer = client.post("/v1/adjudicate", content=path.read_bytes())
    code, printed = cli_json(capsys, "adjudicate", str(path))
    assert (answer.status_code, code) == (422, 2)
    assert answer.json() == printed
    assert {e["path"] for e in printed["errors"]} == {
        "visit.hospital.level",
        "items[0].amount",
        "person.sex",
    }


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"{not json", ""),
        (b"[1, 2]", ""),
        (b'{"id": "A", "id": "B"}', ""),
        ("\ufeff".encode() + b"{}", "id"),  # a byte-order mark is read past, as the CLI does
    ],
)
def test_what_is_not_a_claim_is_refused_with_a_path(
    client: TestClient, body: bytes, path: str
) -> None:
    answer = client.post("/v1/adjudicate", content=body)
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert errors and all(isinstance(e["message"], str) for e in errors)
    assert path in {e["path"] for e in errors}


def test_dates_and_regions_the_policies_do_not_cover_are_refused_at_their_path(
    client: TestClient,
) -> None:
    early = example_claim()
    early["visit"]["date"] = "2013-12-31"
    early.pop("history")
    answer = client.post("/v1/adjudicate", json=early)
    assert answer.status_code == 422
    assert [e["path"] for e in answer.json()["errors"]] == ["visit.date"]
    answer = client.post("/v1/adjudicate?as_of=2010-01-01", content=CLAIM)
    assert [e["path"] for e in answer.json()["errors"]] == ["as_of"]
    answer = client.post("/v1/adjudicate?region=atlantis", json=claim(region=None))
    assert answer.status_code == 422
    assert answer.json()["claim_id"] == "TJ-2024-000001"
    assert [e["path"] for e in answer.json()["errors"]] == ["region"]
    assert "atlantis" in answer.json()["errors"][0]["message"]


def test_parameters_are_checked_and_answered_in_the_same_shape(client: TestClient) -> None:
    answer = client.post("/v1/adjudicate?moment=never&as_of=2024-02-30", content=CLAIM)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_parameters"
    assert {e["path"] for e in body["errors"]} == {"query.moment", "query.as_of"}


def test_no_request_can_name_a_file_on_the_server(client: TestClient) -> None:
    """Regions, documents and rule files are looked up among what is loaded, by name."""
    answer = client.post("/v1/adjudicate?region=../../etc", json=claim(region=None))
    assert answer.status_code == 422
    for url in (
        "/explain/source?region=tianjin&doc=../../../etc/passwd",
        "/explain/source?region=../tianjin&doc=TJ2018",
        "/explain/rule?region=tianjin&file=/etc/passwd&line=1",
        "/explain/rule?region=tianjin&file=tianjin/../../pyproject.toml&line=1",
    ):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert "root:" not in answer.text and "[project]" not in answer.text
    assert "policy" not in {p.name for p in ServiceConfig.__dataclass_fields__.values()} - {
        "policy"
    }  # the policy directory is the operator's setting, no request parameter names it


def test_an_internal_error_is_json_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug, with a secret path /srv/x")

    app = create_app(ServiceConfig(reload_seconds=0))
    with TestClient(app, raise_server_exceptions=False) as failing:
        generation = app.state.service.policies.current
        monkeypatch.setattr(generation.engine, "settle", broken)
        answer = failing.post("/v1/adjudicate", content=CLAIM, headers={"X-Request-Id": "abc-123"})
    assert answer.status_code == 500
    body = answer.json()
    assert body["error"] == "internal_error"
    assert "abc-123" in body["message"]
    assert "Traceback" not in answer.text and "/srv/x" not in answer.text
    assert answer.headers["x-request-id"] == "abc-123"


def test_the_fast_path_answers_as_the_route_does(small: TestClient) -> None:
    """`POST /v1/adjudicate` without parameters is answered before FastAPI (app.py); with
    `?format=json` (the default, spelled out) the FastAPI route answers: the same status,
    body, headers and metrics for a settled claim, a refused one and one over a limit."""
    many = claim(items=[{**claim()["items"][0], "line": n} for n in range(1, 5)])
    bodies = (json.dumps(claim()).encode(), b"{}", b"[1", json.dumps(many).encode(), CLAIM)
    counted = _adjudications(small)
    statuses = set()
    for body in bodies:
        fast = small.post("/v1/adjudicate", content=body)
        routed = small.post("/v1/adjudicate?format=json", content=body)
        assert (fast.status_code, fast.content) == (routed.status_code, routed.content)
        assert _headers(fast) == _headers(routed)
        statuses.add(fast.status_code)
    assert statuses == {200, 413, 422}
    # every request counted under the route's template, whichever path answered it
    assert _adjudications(small) == counted + 2 * len(bodies)


def _headers(answer: Any) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k not in ("x-request-id", "date")}


def _adjudications(client: TestClient) -> float:
    prefix = 'policyengine_requests_total{endpoint="/v1/adjudicate",method="POST"'
    lines = client.get("/metrics").text.splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith(prefix))


# ------------------------------------------------------------------ limits


@pytest.fixture(scope="module")
def small() -> Iterator[TestClient]:
    limits = Limits(claim_bytes=4_000, stream_bytes=20_000, stream_claims=3, items=3, history=2)
    with TestClient(create_app(ServiceConfig(reload_seconds=0, limits=limits))) as test_client:
        yield test_client


def test_a_body_over_the_limit_is_refused_while_it_is_read(small: TestClient) -> None:
    big = b" " * 5_000 + CLAIM
    answer = small.post("/v1/adjudicate", content=big)
    assert answer.status_code == 413
    assert answer.json()["error"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b" " * 1_000

    # (that it is refused before it is read whole: test_service_server.py, over a socket)
    answer = small.post("/v1/adjudicate", content=chunks())
    assert answer.status_code == 413


def test_items_and_history_over_the_limits_are_refused_at_their_path(small: TestClient) -> None:
    many = claim(items=[{**claim()["items"][0], "line": n} for n in range(1, 5)])
    answer = small.post("/v1/adjudicate", json=many)
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["path"] == "items"
    long = claim(history={"services": [{"code": "X", "date": f"2024-01-0{d}"} for d in (1, 2, 3)]})
    answer = small.post("/v1/adjudicate", json=long)
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["path"] == "history"


def test_a_stream_over_its_claim_count_is_refused(small: TestClient) -> None:
    lines = (EXAMPLES / "claims.jsonl").read_bytes().splitlines()[:4]
    answer = small.post("/v1/settle", content=b"\n".join(lines))
    assert answer.status_code == 413
    assert "3 claims" in answer.json()["message"]


# ------------------------------------------------------------------ explain, settle


def test_explain_in_every_format_is_explain_of_the_cli(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = client.post("/v1/explain", content=CLAIM)
    _code, printed = cli_json(capsys, "explain", str(EXAMPLES / "claim.json"), "--format", "json")
    document = answer.json()
    assert document["schema"] == "policyengine.trace/1"
    assert {k: v for k, v in document.items() if k != "generator"} == {
        k: v for k, v in printed.items() if k != "generator"
    }
    answer = client.post("/v1/explain?format=markdown&lang=en", content=CLAIM)
    assert answer.headers["content-type"].startswith("text/markdown")
    claim_document = json.loads(CLAIM)
    account = explaining.build(claim_document, document["result"], "en", words_of(document))
    assert answer.text == explaining.render_markdown(account) + "\n"
    assert answer.text.startswith("### claim TJ-2024-000001: Tianjin")  # the policy's own name
    page = client.post("/v1/explain?format=html", content=CLAIM)
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text
    assert "部分拒付" in page.text and "tianjin/audit.policy:4" in page.text
    assert "/explain/source?region=tianjin&amp;doc=TJ2018" in page.text


def test_a_stream_settles_as_batch_does(client: TestClient, tmp_path: Path) -> None:
    source = EXAMPLES / "claims.jsonl"
    lines = source.read_bytes().splitlines()
    mixed = b"\n".join([*lines[:150], b"", b'{"id": "broken"}', *lines[150:300]]) + b"\n"
    given = tmp_path / "claims.jsonl"
    given.write_bytes(mixed)
    out = tmp_path / "results.jsonl"
    assert main(["batch", str(given), "-o", str(out)]) in (0, 1)
    answer = client.post("/v1/settle", content=mixed)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-ndjson"
    assert answer.text == out.read_text(encoding="utf-8")
    records = [json.loads(line) for line in answer.text.splitlines()]
    assert len(records) == 301
    assert records[150]["error"] == "malformed_claim" and records[150]["line"] == 152


def test_a_claim_over_the_limits_in_a_stream_is_its_own_error_record(small: TestClient) -> None:
    many = claim(items=[{**claim()["items"][0], "line": n} for n in range(1, 5)])
    body = json.dumps(claim()) + "\n" + json.dumps({**many, "id": "BIG"}) + "\n"
    answer = small.post("/v1/settle", content=body.encode())
    records = [json.loads(line) for line in answer.text.splitlines()]
    assert "decision" in records[0]
    assert records[1]["claim_id"] == "BIG" and records[1]["error"] == "ClaimTooLarge"
    assert records[1]["errors"][0]["message"].startswith("items:")


# ------------------------------------------------------------------ policies, schemas


def test_policies_list_versions_ranges_hashes_and_provisional_figures(
    client: TestClient, engine: Engine
) -> None:
    body = client.get("/v1/policies").json()
    listed = {p["region"]: p for p in body["policies"]}
    assert set(listed) == set(engine.regions)
    tianjin, loaded = listed["tianjin"], engine.policy("tianjin")
    assert [v["start"] for v in tianjin["versions"]] == list(loaded.versions)
    assert tianjin["versions"][0] == {"start": "2014-01-01", "end": "2014-06-30"}
    assert tianjin["versions"][-1] == {"start": "2023-01-01", "end": None}
    assert tianjin["provisional"] == list(loaded.notes) and tianjin["provisional"]
    assert tianjin["content_hash"] == loaded.content_hash
    assert "directory" not in tianjin  # no server path is shown


def test_schemas_are_the_clis_and_the_openapi_document_is_built_from_them(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("claim", "result", "trace"):
        _code, printed = cli_json(capsys, "schema", name)
        assert client.get(f"/v1/schemas/{name}").json() == printed
    assert client.get("/v1/schemas/passwd").status_code == 422
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    published = schemas.claim_schema()
    hoisted = components["Claim"]
    assert hoisted["properties"].keys() == published["properties"].keys()
    assert hoisted["required"] == published["required"]
    for name, definition in published["$defs"].items():
        assert json.dumps(components[name]).replace("#/components/schemas/", "#/$defs/") == (
            json.dumps(definition)
        )
    assert "HTTPValidationError" not in components  # every error answer is ours
    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        assert ref.removeprefix("#/components/schemas/") in components, ref
    body = document["paths"]["/v1/adjudicate"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Claim"}


# ------------------------------------------------------------------ health, metrics


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"policies": True}
    before = client.get("/metrics").text
    client.post("/v1/adjudicate", content=CLAIM)
    client.post("/v1/adjudicate", content=b"{}")
    after = client.get("/metrics").text

    def sample(text: str, name: str) -> float:
        found = [line for line in text.splitlines() if line.startswith(name + " ")]
        return float(found[0].split()[-1]) if found else 0.0

    pay = 'policyengine_decisions_total{decision="partial",region="tianjin"}'
    assert sample(after, pay) == sample(before, pay) + 1
    ok = 'policyengine_requests_total{endpoint="/v1/adjudicate",method="POST",status="200"}'
    assert sample(after, ok) == sample(before, ok) + 1
    bad = 'policyengine_errors_total{endpoint="/v1/adjudicate",error="malformed_claim"}'
    assert sample(after, bad) == sample(before, bad) + 1
    assert "policyengine_request_seconds_bucket" in after


# ------------------------------------------------------------------ reload


def test_rules_reload_without_a_restart(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies, ignore=shutil.ignore_patterns("tests"))
    config = ServiceConfig(policy=str(policies), reload_seconds=0.05)
    with TestClient(create_app(config)) as reloading:
        first = reloading.post("/v1/adjudicate", json=claim())
        assert first.json()["totals"]["deductible"] == "800.00"
        rules = policies / "tianjin" / "benefits.policy"
        text = rules.read_text(encoding="utf-8")
        assert "status working => 800 元" in text
        rules.write_text(text.replace("status working => 800 元", "status working => 900 元"),
                         encoding="utf-8")  # fmt: skip
        second = _until(lambda: reloading.post("/v1/adjudicate", json=claim()),
                        lambda a: a.headers["x-policy-hash"] != first.headers["x-policy-hash"])  # fmt: skip
        assert second.json()["totals"]["deductible"] == "900.00"
        assert reloading.get("/v1/policies").json()["generation"] == 2
        rules.write_text(text.replace("=> 800 元", "=> 800 元 元"), encoding="utf-8")  # broken
        failed = _until(lambda: reloading.get("/readyz"), lambda a: "reload_error" in a.json())
        assert failed.status_code == 200  # still serving the rules it had
        third = reloading.post("/v1/adjudicate", json=claim())
        assert third.headers["x-policy-hash"] == second.headers["x-policy-hash"]
        assert third.json()["totals"]["deductible"] == "900.00"
        metrics = reloading.get("/metrics").text
        assert 'policyengine_policy_reloads_total{outcome="reloaded"} 1.0' in metrics
        assert 'policyengine_policy_reloads_total{outcome="failed"} 1.0' in metrics


def _until(call: Any, done: Any, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        answer = call()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)
