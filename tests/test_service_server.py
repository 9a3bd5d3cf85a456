"""`policyengine serve` itself: uvicorn with two worker processes, over a real socket.

What the in-process tests cannot see: a body refused before it is read whole, a sender
too slow, metrics summed over the workers, and a rule change picked up by every worker.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import httpx2 as httpx

from tests.servers import serve
from tests.support import EXAMPLES, POLICIES, claim

CLAIM = (EXAMPLES / "claim.json").read_bytes()


def _raw(base: str, head: bytes, parts: list[bytes], pause: float = 0.0) -> tuple[bytes, int]:
    """Send a request by hand; return the answer and how many parts the server took
    before it answered (it stops reading a body it refuses)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head)
        sent = 0
        for part in parts:
            connection.settimeout(pause or 0.001)
            try:
                if connection.recv(1, socket.MSG_PEEK):
                    break  # the server answered already
            except (TimeoutError, BlockingIOError):
                pass
            connection.settimeout(30)
            try:
                connection.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
        connection.settimeout(30)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 60:
            data = connection.recv(65536)
            if not data:
                break
            answer += data
    return answer, sent


def test_two_workers_limits_metrics_and_reload(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies, ignore=shutil.ignore_patterns("tests"))
    arguments = ("--policy", str(policies), "--reload-seconds", "0.2",
                 "--limit-claim-bytes", "20000", "--limit-read-seconds", "1")  # fmt: skip
    with serve(*arguments, workers=2) as base, httpx.Client(base_url=base, timeout=30) as http:
        # a chunked body over the limit is refused at the chunk that crosses it
        head = (b"POST /v1/adjudicate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
        chunk = b"%x\r\n%s\r\n" % (4_000, b" " * 4_000)
        answer, sent = _raw(base, head, [chunk] * 200, pause=0.05)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 150  # 200 (800 kB) were ready: the server stopped reading near 20 kB
        # a declared length over the limit is refused before anything is read
        declared = b"POST /v1/adjudicate HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
        answer, sent = _raw(base, declared, [b" " * 1000] * 5, pause=0.2)
        assert answer.startswith(b"HTTP/1.1 413") and sent == 0
        # a body that does not arrive in time
        slow = b"POST /v1/adjudicate HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(CLAIM)
        started = time.monotonic()
        answer, _sent = _raw(base, slow + CLAIM[:20], [])
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"Traceback" not in answer and time.monotonic() - started < 10

        # both workers answer; /metrics sums them (prometheus multiprocess mode)
        for _ in range(30):
            assert http.post("/v1/adjudicate", content=CLAIM).status_code == 200
        metrics = http.get("/metrics").text
        line = next(
            line
            for line in metrics.splitlines()
            if line.startswith('policyengine_requests_total{endpoint="/v1/adjudicate"')
            and 'status="200"' in line
        )
        assert float(line.split()[-1]) == 30.0
        generations = {json.loads(http.get("/v1/policies").text)["generation"] for _ in range(6)}
        assert generations == {1}

        # a rule change reaches every worker without a restart
        before = http.post("/v1/adjudicate", json=claim())
        assert before.json()["totals"]["deductible"] == "800.00"
        rules = policies / "tianjin" / "benefits.policy"
        text = rules.read_text(encoding="utf-8")
        rules.write_text(text.replace("status working => 800 元", "status working => 900 元"),
                         encoding="utf-8")  # fmt: skip
        deadline = time.monotonic() + 30
        seen: list[str] = []
        while time.monotonic() < deadline:
            seen = [http.post("/v1/adjudicate", json=claim()).json()["totals"]["deductible"]
                    for _ in range(12)]  # fmt: skip
            if set(seen) == {"900.00"}:
                break
            time.sleep(0.2)
        assert set(seen) == {"900.00"}
        after = http.post("/v1/adjudicate", json=claim())
        assert after.headers["x-policy-hash"] != before.headers["x-policy-hash"]
