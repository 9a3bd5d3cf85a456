"""The service under load, against the in-process API and the HTTP floor (loopback only).

`policyengine serve` with 1 and with 2 worker processes on 127.0.0.1; the same 10-item
outpatient claims settled in process (`Engine.adjudicate_json`: JSON text in, result JSON
out — the work the service does per claim — and `Engine.adjudicate`, the pydantic
`Result`). Reported, never asserted, as ratios measured in the same run:

- p50 and p99 latency of one claim per request (sequential, one kept-alive connection)
  through a bare socket client (`RawClient`: the request bytes written, the answer read by
  its length — a client that adds next to nothing, so that what is measured is the service
  and the loopback, not the client's own HTTP stack), and through httpx;
- **the HTTP floor** (benchmarks/floor.py): a raw ASGI application answering constant bytes
  (a real result) under the same uvicorn settings and worker count — what a request costs
  before any framework, routing or settling. The floor and the service are timed taking
  turns claim by claim, between two loops of the in-process call, so that the ratios share
  the machine's moment: the best any service on this stack could do per request is
  in process + floor;
- throughput with as many client threads (bare socket clients) as 2 × workers, of the
  service and of the floor;
- the per-claim cost of the NDJSON stream endpoint (STREAM claims in one request) against
  the same stream settled in process by the endpoint's own function (`settle_lines`: batch's
  per-person ledger, the records written as the endpoint writes them), round by round in
  turn — what the service adds per claim when a claim system sends its claims together.

Bounded: a fixed number of requests (COUNT claims × ROUNDS), servers stopped at the end.
Short mode (CI): 12 claims, one round. Full: POLICYENGINE_BENCH=full, 200 claims × 5.
The load average is printed with the figures: the ratios move with what else runs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
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
from tests.servers import ROOT, free_port, serve, started

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
    started_at = time.perf_counter()
    for _ in range(ROUNDS):
        for claim in claims:
            begin = time.perf_counter()
            call(claim)
            latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started_at
    return {**percentiles(latencies), "throughput": len(latencies) / elapsed}


def interleaved(calls: dict[str, Callable[[bytes], Any]], claims: list[bytes]) -> dict[str, Any]:
    """p50 and p99 of each call, the calls taking turns on every claim."""
    latencies: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(ROUNDS):
        for claim in claims:
            for name, call in calls.items():
                begin = time.perf_counter()
                call(claim)
                latencies[name].append(time.perf_counter() - begin)
    return {name: percentiles(seconds) for name, seconds in latencies.items()}


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


@contextlib.contextmanager
def floor(workers: int, body: str) -> Iterator[str]:
    """benchmarks/floor.py under `policyengine serve`'s uvicorn settings."""
    port = free_port()
    command = [
        sys.executable, "-m", "benchmarks.floor", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--log-level", "warning",
    ]  # fmt: skip
    os.environ["FLOOR_BODY"] = body
    try:
        with started(command, f"http://127.0.0.1:{port}", Path(ROOT)) as base:
            yield base
    finally:
        del os.environ["FLOOR_BODY"]


def test_in_process(benchmark: Any) -> None:
    engine = Engine.load()
    claims = texts()
    for claim in claims:  # warm
        engine.adjudicate_json(claim)
    RESULTS["in-process adjudicate_json"] = timed(engine.adjudicate_json, claims)
    RESULTS["in-process adjudicate"] = timed(engine.adjudicate, claims)
    benchmark.group = "service"
    benchmark(lambda: [engine.adjudicate_json(c) for c in claims])


@pytest.mark.parametrize("workers", [1, 2])
def test_service(benchmark: Any, workers: int) -> None:
    engine = Engine.load()
    claims = texts()
    name = f"service {workers} worker(s)"
    answer = engine.adjudicate_json(claims[0])
    with (
        serve("--reload-seconds", "0", workers=workers) as base,
        floor(workers, answer) as floor_base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        for claim in claims:  # warm every worker's code paths
            assert client.post("/v1/adjudicate", content=claim).status_code == 200
        load = _load()
        RESULTS[name] = _per_request(engine, base, floor_base, claims)
        RESULTS[name]["httpx_p50"] = timed(
            lambda claim: client.post("/v1/adjudicate", content=claim), claims
        )["p50"]
        RESULTS[name]["throughput"] = _throughput(base, claims, threads=2 * workers)
        RESULTS[name]["floor_throughput"] = _throughput(floor_base, claims, threads=2 * workers)
        RESULTS[name] |= _stream(engine, client)
        RESULTS[name]["load"] = (load + _load()) / 2
        benchmark.group = "service"
        benchmark(lambda: [client.post("/v1/adjudicate", content=c) for c in claims])
    _report()


def _per_request(
    engine: Engine, base: str, floor_base: str, claims: list[bytes]
) -> dict[str, float]:
    """The floor and the service taking turns claim by claim, between two runs of the
    in-process call in a loop of its own (its usual cost: interleaved with requests it runs
    on cold caches, up to twice as slow here, which would flatter the service's ratio)."""
    service, bare_floor = RawClient(base), RawClient(floor_base)
    try:

        def one(client: RawClient) -> Callable[[bytes], None]:
            def post(claim: bytes) -> None:
                assert client.post("/v1/adjudicate", claim) == 200

            return post

        one(bare_floor)(claims[0])
        first = _latencies(engine.adjudicate_json, claims)
        measured = interleaved({"floor": one(bare_floor), "raw": one(service)}, claims)
        measured["json"] = percentiles(first + _latencies(engine.adjudicate_json, claims))
    finally:
        service.close()
        bare_floor.close()
    return {f"{name}_{cut}": value[cut] for name, value in measured.items() for cut in value}


def _latencies(call: Callable[[bytes], Any], claims: list[bytes]) -> list[float]:
    latencies = []
    for _ in range(ROUNDS):
        for claim in claims:
            begin = time.perf_counter()
            call(claim)
            latencies.append(time.perf_counter() - begin)
    return latencies


def _stream(engine: Engine, client: httpx.Client) -> dict[str, float]:
    """The stream settled in process and by the service, round by round in turn."""
    lines = stream_lines()
    stream = b"\n".join(line for _index, line in lines)
    assert client.post("/v1/settle", content=stream).status_code == 200  # warm
    settle_in_process(engine, lines)
    here = there = 0.0
    for _ in range(ROUNDS):
        begin = time.perf_counter()
        settle_in_process(engine, lines)
        middle = time.perf_counter()
        assert client.post("/v1/settle", content=stream).status_code == 200
        here, there = here + middle - begin, there + time.perf_counter() - middle
    count = ROUNDS * len(lines)
    return {"stream": there / count, "stream_in_process": here / count}


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


def _load() -> float:
    """The 1-minute load average (what else the 2-core machine was doing)."""
    averages = Path("/proc/loadavg")
    return float(averages.read_text().split()[0]) if averages.exists() else 0.0


def _report() -> None:
    base = RESULTS.get("in-process adjudicate_json")
    pydantic = RESULTS.get("in-process adjudicate")
    if base is None or pydantic is None:
        return
    figure(
        "service: in process",
        f"adjudicate_json p50 {base['p50'] * 1e6:.0f} µs, p99 {base['p99'] * 1e6:.0f} µs, "
        f"{base['throughput']:,.0f} claims/s; adjudicate (Result) p50 "
        f"{pydantic['p50'] * 1e6:.0f} µs",
    )
    for name, measured in RESULTS.items():
        if name.startswith("service"):
            figure(name, _service_line(measured, base))


def _service_line(measured: dict[str, float], base: dict[str, float]) -> str:
    json, floor_p50, raw = measured["json_p50"], measured["floor_p50"], measured["raw_p50"]
    return (
        f"load average {measured['load']:.1f}; one claim per request, bare socket client: "
        f"in process {json * 1e6:.0f} µs, HTTP floor {floor_p50 * 1e6:.0f} µs "
        f"({floor_p50 / json:.2f}× in process: at best {1 + floor_p50 / json:.2f}× per "
        f"request on this stack), service p50 {raw * 1e6:.0f} µs = {raw / json:.2f}× in "
        f"process (above the floor: {(raw - floor_p50 - json) / json:+.2f}× in process), "
        f"p99 {measured['raw_p99'] * 1e6:.0f} µs (floor {measured['floor_p99'] * 1e6:.0f}); "
        f"httpx p50 {measured['httpx_p50'] * 1e6:.0f} µs; "
        f"{measured['throughput']:,.0f} claims/s "
        f"({measured['throughput'] / base['throughput']:.2f}× one in-process core; floor "
        f"{measured['floor_throughput']:,.0f} requests/s); stream "
        f"{measured['stream'] * 1e6:.0f} µs/claim = "
        f"{measured['stream'] / measured['stream_in_process']:.2f}× the stream in process "
        f"({measured['stream_in_process'] * 1e6:.0f} µs/claim)"
    )
