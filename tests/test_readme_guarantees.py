"""The README's Guarantees table names the tests that prove each promise: every test it names
must exist, so a renamed or deleted test cannot leave a promise resting on nothing."""

from __future__ import annotations

import re

from tests.support import ROOT

# `tests/test_x.py::test_name`, `tests/test_x.py`, or `…::test_name` (the last file named before it)
_NAMED = re.compile(r"`(tests/[\w/]+\.py|…)(?:::(\w+))?`")


def _guarantee_rows() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Guarantees\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]


def _named_tests(row: str) -> list[tuple[str, str | None]]:
    named: list[tuple[str, str | None]] = []
    current = ""
    for file, test in _NAMED.findall(row.rsplit(" | ", 1)[-1]):
        current = current if file == "…" else file
        named.append((current, test or None))
    return named


def test_every_test_the_guarantees_name_exists() -> None:
    rows = _guarantee_rows()
    assert len(rows) > 10  # the header and every promise
    checked = 0
    for row in rows[1:]:
        for file, test in _named_tests(row):
            path = ROOT / file
            assert path.is_file(), f"{file} (named in the Guarantees table) does not exist"
            if test is not None:
                source = path.read_text(encoding="utf-8")
                assert re.search(rf"^def {test}\(", source, re.MULTILINE), f"{file}::{test}"
                checked += 1
    assert checked >= 20


def test_the_promises_of_issue_14_each_name_their_tests() -> None:
    promises = {
        "compile cache": "tests/test_cache.py",
        "`--resume` never mixes": "tests/test_batch_hardening.py",
        "Batch isolates claims": "tests/test_batch_hardening.py",
        "Input limits": "tests/test_claim_limits.py",
        "Output is escaped": "tests/test_replay_fuzz.py",
    }
    rows = _guarantee_rows()
    for words, file in promises.items():
        (row,) = [r for r in rows if words in r.split(" | ")[0]]
        assert any(f == file and t for f, t in _named_tests(row)), words
