"""The service under load, against the in-process API on the same claims (loopback only).

`policyengine serve` with 1 and with 2 worker processes on 127.0.0.1; the same 10-item
outpatient claims settled in process (`Engine.adjudicate_json`: JSON text in, result JSON
out — the work the service does per claim — and `Engine.adjudicate`, the pydantic
`Result`). Reported, never asserted, as ratios measured in the same run:

- p50 and p99 latency of one claim per request (sequential, one kept-alive connection),
  through httpx and through a bare socket client (`RawClient`: the request bytes written,
  the answer read by its length — a client that adds next to nothing, so that what is
  measured is the service and the loopback, not the client's own HTTP stack);
- throughput with as many client threads (bare socket clients) as 2 × workers;
- the per-claim cost of the NDJSON stream endpoint (STREAM claims in one request) against
  the same stream settled in process by the endpoint's own function (`settle_lines`: batch's
  per-person ledger, the records written as the endpoint writes them) — what the service
  adds per claim when a claim system sends its claims together.

Bounded: a fixed number of requests (COUNT claims × ROUNDS), servers stopped at the end.
Short mode (CI): 12 claims, one round. Full: POLICYENGINE_BENCH=full, 200 claims × 5.
"""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from benchmarks.claims import FULL, claim_dicts
from benchmarks.conftest import figure
from policyengine import Engine
from policyengine.batch.worker import record_text
from policyengine.service.config import Limits
from policyengine.service.policies import Generation
from policyengine.service.routes import settle_lines
from tests.servers import serve

ROUNDS = 5 if FULL else 1
STREAM = 20  # the claims sent again this many times in one stream (each copy its own id)
RESULTS: dict[str, dict[str, float]] = {}


def texts() -> list[bytes]:
    return [t.encode() for t in claim_dicts("tianjin", 10, ("outpatient",))]


def stream_lines() -> list[tuple[int, bytes]]:
    """The claims STREAM times, each copy with its own claim and person ids (a person's
    claims settle with the person's ledger; a copy is another person, as in a day's claims
    from many persons)."""
    claims = [orjson.loads(text) for text in texts()]
    lines = []
    for copy in range(STREAM):
        for claim in claims:
            person = {**claim["person"], "id": f"{claim['person']['id']}-{copy}"}
            lines.append(orjson.dumps({**claim, "id": f"{claim['id']}-{copy}", "person": person}))
    return list(enumerate(lines))


def settle_in_process(engine: Engine, lines: list[tuple[int, bytes]]) -> str:
    generation = Generation(engine, (), 1, 0.0)
    records = settle_lines(generation, lines, Limits(), None, None, "during", False)
    return "".join(record_text(settled)[0] + "\n" for settled in records)


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
    }


def timed(call: Callable[[bytes], Any], claims: list[bytes]) -> dict[str, float]:
    latencies = []
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for claim in claims:
            begin = time.perf_counter()
            call(claim)
            latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    return {**percentiles(latencies), "throughput": len(latencies) / elapsed}


class RawClient:
    """HTTP/1.1 on one kept-alive loopback socket, nothing in between."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.socket = socket.create_connection((host, int(port)))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.answers = self.socket.makefile("rb")

    def post(self, path: str, body: bytes) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.socket.sendall(head.encode() + body)
        status = int(self.answers.readline().split()[1])
        length = 0
        while (line := self.answers.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        self.answers.read(length)
        return status

    def close(self) -> None:
        self.answers.close()
        self.socket.close()


def test_in_process(benchmark: Any) -> None:
    engine = Engine.load()
    claims = texts()
    for claim in claims:  # warm
        engine.adjudicate_json(claim)
    RESULTS["in-process adjudicate_json"] = timed(engine.adjudicate_json, claims)
    RESULTS["in-process adjudicate"] = timed(engine.adjudicate, claims)
    lines = stream_lines()
    settle_in_process(engine, lines)  # warm
    begin = time.perf_counter()
    for _ in range(ROUNDS):
        settle_in_process(engine, lines)
    RESULTS["in-process stream"] = {
        "per_claim": (time.perf_counter() - begin) / (ROUNDS * len(lines))
    }
    benchmark.group = "service"
    benchmark(lambda: [engine.adjudicate_json(c) for c in claims])


@pytest.mark.parametrize("workers", [1, 2])
def test_service(benchmark: Any, workers: int) -> None:
    claims = texts()
    name = f"service {workers} worker(s)"
    with (
        serve("--reload-seconds", "0", workers=workers) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        for claim in claims:  # warm every worker's code paths
            assert client.post("/v1/adjudicate", content=claim).status_code == 200

        def one(claim: bytes) -> None:
            assert client.post("/v1/adjudicate", content=claim).status_code == 200

        RESULTS[name] = timed(one, claims)
        raw = RawClient(base)

        def bare(claim: bytes) -> None:
            assert raw.post("/v1/adjudicate", claim) == 200

        try:
            measured = timed(bare, claims)
        finally:
            raw.close()
        RESULTS[name] |= {"raw_p50": measured["p50"], "raw_p99": measured["p99"]}
        RESULTS[name]["throughput"] = _throughput(base, claims, threads=2 * workers)
        lines = stream_lines()
        stream = b"\n".join(line for _index, line in lines)
        assert client.post("/v1/settle", content=stream).status_code == 200  # warm
        begin = time.perf_counter()
        for _ in range(ROUNDS):
            assert client.post("/v1/settle", content=stream).status_code == 200
        RESULTS[name]["stream"] = (time.perf_counter() - begin) / (ROUNDS * len(lines))
        benchmark.group = "service"
        benchmark(lambda: [client.post("/v1/adjudicate", content=c) for c in claims])
    _report()


def _throughput(base: str, claims: list[bytes], threads: int) -> float:
    def worker(_index: int) -> int:
        client = RawClient(base)  # httpx's own cost would be what is measured
        try:
            for _ in range(ROUNDS):
                for claim in claims:
                    assert client.post("/v1/adjudicate", claim) == 200
        finally:
            client.close()
        return ROUNDS * len(claims)

    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        done = sum(pool.map(worker, range(threads)))
    return done / (time.perf_counter() - begin)


def _report() -> None:
    base = RESULTS.get("in-process adjudicate_json")
    pydantic = RESULTS.get("in-process adjudicate")
    stream = RESULTS.get("in-process stream")
    if base is None or pydantic is None or stream is None:
        return
    figure(
        "service: in process",
        f"adjudicate_json p50 {base['p50'] * 1e6:.0f} µs, p99 {base['p99'] * 1e6:.0f} µs, "
        f"{base['throughput']:,.0f} claims/s; adjudicate (Result) p50 "
        f"{pydantic['p50'] * 1e6:.0f} µs; stream settled in process "
        f"{stream['per_claim'] * 1e6:.0f} µs/claim",
    )
    for name, measured in RESULTS.items():
        if not name.startswith("service"):
            continue
        figure(
            name,
            f"p50 {measured['p50'] * 1e6:.0f} µs ({measured['p50'] / base['p50']:.2f}× in-process "
            f"JSON, {measured['p50'] / pydantic['p50']:.2f}× adjudicate), p99 "
            f"{measured['p99'] * 1e6:.0f} µs ({measured['p99'] / base['p99']:.2f}×); bare "
            f"socket client p50 {measured['raw_p50'] * 1e6:.0f} µs "
            f"({measured['raw_p50'] / base['p50']:.2f}×), p99 {measured['raw_p99'] * 1e6:.0f} µs; "
            f"{measured['throughput']:,.0f} claims/s "
            f"({measured['throughput'] / base['throughput']:.2f}× one in-process core); "
            f"stream {measured['stream'] * 1e6:.0f} µs/claim "
            f"({measured['stream'] / stream['per_claim']:.2f}× the stream in process)",
        )
