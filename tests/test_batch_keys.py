"""The index's sort key reads only a claim's person id and visit date (msgspec skips the
rest): on every line, well-formed or not, it must key the claim as parsing it whole does."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from policyengine.batch.index import sort_key
from policyengine.contract.claims import ClaimRejected, parse_json
from policyengine.contract.limits import MAX_CLAIM_BYTES
from policyengine.tools.generate import generate


def parsed_whole(line: bytes, number: int) -> tuple[str, str]:
    """The key as the claim parsed whole gives it (the index's rule before msgspec)."""
    if len(line) > MAX_CLAIM_BYTES:
        return f"\x00{number}", ""
    try:
        data: Any = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            data = parse_json(line)
        except ClaimRejected:
            return f"\x00{number}", ""
    try:
        person, date = data["person"]["id"], data["visit"]["date"]
    except (TypeError, KeyError):
        return f"\x00{number}", ""
    if isinstance(person, str) and isinstance(date, str):
        return person, date
    return f"\x00{number}", ""


ODD: list[Any] = [None, 1, 1.5, "", "x", [], {}, [1], {"id": 2}, True, "2024-01-01", 10**30]


def odd_lines(rand: random.Random, claim: dict[str, Any]) -> list[bytes]:
    text = json.dumps(claim, ensure_ascii=False)
    person, visit = claim["person"], claim["visit"]
    lines = [
        text.encode(),
        text.encode()[: rand.randint(1, len(text) - 1)],  # cut short
        text.encode() + b" x",  # trailing text
        b"\xef\xbb\xbf" + text.encode(),  # a byte-order mark
        text.replace('"person": {', '"person": {"id": "DUP", ', 1).encode(),  # repeated key
        text.replace('"visit": {', '"visit": {"date": "1999-01-01", ', 1).encode(),
        json.dumps([claim]).encode(),
        b"NaN",
        text.replace('"id": "' + person["id"] + '"', '"id": "\\ud800"', 1).encode(),
    ]
    for target, key in ((claim, "person"), (claim, "visit"), (person, "id"), (visit, "date")):
        saved = target[key]
        target[key] = rand.choice(ODD)
        lines.append(json.dumps(claim).encode())
        del target[key]
        lines.append(json.dumps(claim).encode())
        target[key] = saved
    return lines


@pytest.mark.parametrize("region", ["tianjin", "quanzhou", "weihai", "chengdu"])
def test_the_key_read_alone_is_the_key_of_the_whole_claim(region: str) -> None:
    rand = random.Random(region)
    checked = 0
    for number, claim in enumerate(generate(region, 40, seed=7)):
        for line in odd_lines(rand, claim):
            assert sort_key(line, number) == parsed_whole(line, number), line[:200]
            checked += 1
    assert checked > 500


def test_a_line_too_large_to_be_a_claim_is_never_parsed() -> None:
    line = (
        b'{"person": {"id": "P"}, "visit": {"date": "2024-01-01"}, "x": "'
        + b"a" * (MAX_CLAIM_BYTES)
        + b'"}'
    )
    assert sort_key(line, 9) == ("\x009", "")


def test_a_line_of_an_input_truncated_under_the_batch_reads_short(tmp_path: Path) -> None:
    """The index holds offsets; if the input shrinks before its lines are read, a line reads
    short (then fails as that claim's error record) — it must not kill the batch, as a
    memory map of the file would (SIGBUS)."""
    from policyengine.batch.index import claim_source

    path = tmp_path / "claims.jsonl"
    path.write_bytes(b"a" * 10_000 + b"\n" + b"b" * 100 + b"\n")
    with claim_source(path) as source:
        assert source.read(10_001, 101) == b"b" * 100 + b"\n"
        with path.open("r+b") as handle:
            handle.truncate(10_050)
        assert source.read(10_001, 101) == b"b" * 49
        assert source.read(20_000, 10) == b""
