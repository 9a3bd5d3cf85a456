"""The claim size limits (contract/limits.py): documented, enforced while reading, refused at
the JSON path — in bounded memory.

Found by an adversarial run: a 243 MB claim reached 2.16 GB of memory before it was refused,
and `adjudicate - </dev/zero` reached 2.6 GB, then MemoryError.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policyengine import Engine
from policyengine.cli.main import main
from policyengine.contract import limits
from policyengine.contract.claims import ClaimRejected
from tests.support import ROOT, claim

MEMORY_CAP = 1 << 30  # address space for the subprocesses: a runaway read fails fast


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


# runs the command line, then reports the process's peak memory (VmHWM, KiB) on stderr
MEASURED = (
    "import sys; from policyengine.cli.main import main; code = main(sys.argv[1:]);"
    "peak = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'));"
    "sys.stderr.write('\\npeak %s\\n' % peak); sys.exit(code)"
)


def peak_kib(done: subprocess.CompletedProcess[bytes]) -> int:
    return int(done.stderr.decode().rsplit("peak ", 1)[1])


def _cli(*args: str, stdin: Any = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        stdin=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        preexec_fn=_capped,
        check=False,
    )


def padded(size: int) -> str:
    """A valid claim whose JSON text is exactly `size` bytes (an ignored `note`)."""
    data = claim()
    data["note"] = ""
    text = json.dumps(data)
    data["note"] = "x" * (size - len(text))
    text = json.dumps(data)
    assert len(text.encode()) == size
    return text


def test_adjudicate_stops_reading_an_endless_stdin() -> None:
    with open("/dev/zero", "rb") as zeros:
        done = _cli("adjudicate", "-", stdin=zeros)
    assert done.returncode == 2, done.stderr.decode()
    refusal = json.loads(done.stdout)
    assert refusal["errors"] == [
        {"path": "", "message": "the claim is more than the contract's limit of 4,194,304 bytes"}
    ]


def test_a_claim_file_over_the_limit_is_refused_and_one_at_it_settles(tmp_path: Path) -> None:
    path = tmp_path / "claim.json"
    path.write_text(padded(limits.MAX_CLAIM_BYTES))
    assert main(["adjudicate", str(path)]) == 0
    path.write_text(padded(limits.MAX_CLAIM_BYTES + 1))
    done = _cli("explain", str(path))
    assert done.returncode == 2 and b"more than the contract's limit" in done.stdout


def test_settle_refuses_text_over_the_limit(engine: Engine) -> None:
    text = padded(limits.MAX_CLAIM_BYTES + 1)
    for form in (text, text.encode()):
        with pytest.raises(ClaimRejected, match="contract error") as raised:
            engine.settle(form)
        assert raised.value.errors[0].path == ""
    wide = '{"note": "' + "元" * (limits.MAX_CLAIM_BYTES // 3 + 1) + '"}'
    assert len(wide) < limits.MAX_CLAIM_BYTES < len(wide.encode())  # 3 bytes a character
    with pytest.raises(ClaimRejected, match="contract error") as raised:
        engine.settle(wide)
    assert "more than the contract's limit" in raised.value.errors[0].message


def test_a_batch_line_over_the_limit_is_one_error_record_read_in_bounded_memory(
    tmp_path: Path,
) -> None:
    """A 64 MB line among claims: its record says it is too large; the others settle; the
    batch never holds it (its peak memory is that of the same batch without it, give or
    take far less than the line)."""
    good = json.dumps(claim(id="small"))
    huge = '{"id": "huge", "note": "' + "x" * (64 << 20) + '"}\n'
    lines = [good + "\n", padded(limits.MAX_CLAIM_BYTES - 1) + "\n"]  # with its "\n": at the limit
    lines.append(good.replace('"small"', '"last"') + "\n")
    peaks = []
    for name, content in (("without", lines), ("with", [lines[0], huge, *lines[1:]])):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(content), encoding="utf-8")
        done = _cli("batch", str(path), "-o", str(tmp_path / f"{name}-out.jsonl"), "--no-progress")
        assert done.returncode == (1 if name == "with" else 0), done.stderr.decode()
        peaks.append(peak_kib(done))
    records = [json.loads(line) for line in (tmp_path / "with-out.jsonl").read_text().splitlines()]
    assert [r.get("claim_id") for r in records] == ["small", None, claim()["id"], "last"]
    assert records[1]["errors"] == [
        {
            "path": "",
            "message": f"the claim is {len(huge):,} bytes, more than the contract's limit of "
            "4,194,304 bytes",
        }
    ]
    assert peaks[1] < peaks[0] + 16 * 1024, peaks  # KiB: the 64 MB line was never held


@pytest.mark.parametrize(
    ("path", "count", "limit"),
    [
        ("items", limits.MAX_ITEMS + 1, "10000"),
        ("visit.diagnoses", limits.MAX_DIAGNOSES + 1, "100"),
        ("history.dispensed", limits.MAX_HISTORY_ENTRIES + 1, "20000"),
        ("history.services", limits.MAX_HISTORY_ENTRIES + 1, "20000"),
    ],
)
def test_counts_over_the_limits_are_refused_at_their_path(
    engine: Engine, path: str, count: int, limit: str
) -> None:
    data = claim()
    entry: Any = {
        "items": data["items"][0],
        "visit.diagnoses": "E11.900",
        "history.dispensed": {"code": "XA10BAE054A001010001005", "date": "2024-01-02"},
        "history.services": {"code": "001101000010000", "date": "2024-01-02"},
    }[path]
    values = [entry] * count
    if path == "items":
        values = [{**entry, "line": n} for n in range(1, count + 1)]
    if path == "history.dispensed":
        values = [{**entry, "days_supply": 1} for _ in range(count)]
    head, _, tail = path.partition(".")
    if tail:
        data.setdefault(head, {})[tail] = values
    else:
        data[head] = values
    with pytest.raises(ClaimRejected) as raised:
        engine.settle(data)
    (error,) = raised.value.errors
    assert error.path == path and limit in error.message.replace(",", "")
    values.pop()
    engine.settle(data)  # at the limit: settled


def test_the_documented_limits_are_the_enforced_ones() -> None:
    text = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    for number in (
        limits.MAX_CLAIM_BYTES,
        limits.MAX_ITEMS,
        limits.MAX_DIAGNOSES,
        limits.MAX_HISTORY_ENTRIES,
    ):
        assert f"{number:,}" in text, number
    assert os.path.exists(ROOT / "policyengine" / "contract" / "limits.py")
