"""`policyengine test` on hostile YAML case files: a diagnostic at file:line, exit 2, in
bounded time and memory — never code run, never an internal error.

Found by an adversarial run: a billion-laughs file under 1 KB ran 42 s and then raised
MemoryError; invalid YAML and `!!python/...` tags ended as `internal error` (exit 3);
`expect: 5` and 5,000-deep nesting crashed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policyengine.cli.main import main
from policyengine.policytest.cases import read_cases
from policyengine.policytest.caseyaml import MAX_BYTES, CaseFileError
from tests.support import POLICIES


def billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for letter, previous in zip("bcdefghij", "abcdefghi", strict=True):
        lines.append(f"{letter}: &{letter} [{', '.join([f'*{previous}'] * 9)}]")
    lines.append("cases: [{name: laughs, claim: {note: *j}, expect: {decision: pay}}]")
    return "\n".join(lines) + "\n"


CASE = "cases:\n  - name: one\n    claim: {}\n"
HOSTILE = {
    "invalid-yaml": ("cases: [\n  {name: x\n", ":3:1: not valid YAML"),
    "python-tag": (
        "cases:\n  - name: x\n    expect: !!python/object/apply:os.system ['touch SENTINEL']\n",
        ":3:13: the tag `!!python/object/apply:os.system` is not allowed",
    ),
    "python-name": ("cases: !!python/name:os.system\n", ":1:8: the tag"),
    "custom-tag": ("cases:\n  - !case {name: x}\n", ":2:5: the tag `!case` is not allowed"),
    "binary-tag": ("cases: !!binary aGVsbG8=\n", ":1:8: the tag `!!binary`"),
    "expect-number": (CASE + "    expect: 5\n", ":2: case 1: `expect` must be a mapping"),
    "expect-list": (CASE + "    expect: [1]\n", ":2: case 1: `expect` must be a mapping"),
    "expect-lines-numbers": (
        CASE + "    expect: {lines: [5]}\n",
        ":2: case 1: `expect.lines` must be a list of mappings",
    ),
    "claim-number": (
        "cases:\n  - name: x\n    claim: 5\n    expect: {}\n",
        ":2: case 1: `claim` must be a mapping",
    ),
    "no-expect": (CASE, ":2: case 1: needs `expect`"),
    "case-number": ("cases:\n  - 5\n", ":1: case 1: a case is a mapping"),
    "cases-mapping": ("cases: {a: 1}\n", ":1: expected a mapping with a `cases` list"),
    "defaults-list": ("defaults: [1]\ncases: []\n", ":1: `defaults` must be a mapping"),
    "moment": (CASE + "    moment: sometimes\n    expect: {}\n", ":2: case 1: `moment`"),
    "as-of": (CASE + "    as_of: yesterday\n    expect: {}\n", ":2: case 1: `as_of`"),
    "deep-flow": ("cases: " + "[" * 5000 + "]" * 5000 + "\n", ":1:71: nested more than 64"),
    "deep-block": (
        "cases:\n" + "".join("  " * i + "- \n" for i in range(1, 300)),
        ":65:129: nested more than 64 deep",
    ),
    "billion-laughs": (billion_laughs(), ":6:4: its aliases expand to more than"),
    "alias-chain": (
        "a0: &a0 [1]\n"
        + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 100))
        + "cases: []\n",
        ":64:6: aliases nest it more than 64 deep",
    ),
    "recursive-alias": ("a: &a [1, *a]\ncases: []\n", ":1:4: an alias inside its own anchor"),
    "two-documents": ("cases: []\n---\ncases: []\n", ":2:1: not valid YAML"),
    "empty": ("", ":1: expected a mapping with a `cases` list"),
}


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cases")
    shutil.copytree(POLICIES / "national", root / "national")
    shutil.copytree(POLICIES / "tianjin", root / "tianjin", ignore=shutil.ignore_patterns("*.yaml"))
    return root / "tianjin"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_case_file_is_a_diagnostic_at_its_line(
    policy: Path, name: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, where = HOSTILE[name]
    path = policy / "tests" / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(policy)
    assert main(["test", str(policy)]) == 2
    err = capsys.readouterr().err
    assert f"bad.yaml{where}" in err, err
    assert "internal error" not in err
    assert not (policy / "SENTINEL").exists()
    with pytest.raises(CaseFileError, match=r"bad\.yaml:"):
        read_cases(path)


def test_a_case_file_too_large_or_not_utf8_is_refused(policy: Path) -> None:
    path = policy / "tests" / "bad.yaml"
    path.write_bytes(b"cases: []\n# " + b"x" * MAX_BYTES)
    with pytest.raises(CaseFileError, match=f"larger than {MAX_BYTES:,} bytes"):
        read_cases(path)
    path.write_bytes(b"cases: []\nname: \xff\n")
    with pytest.raises(CaseFileError, match=r"bad.yaml:2: not UTF-8 text"):
        read_cases(path)


def test_plain_data_still_reads(policy: Path) -> None:
    """Anchors, merge keys and dates: what the bundled files use keeps working."""
    path = policy / "tests" / "bad.yaml"
    path.write_text(
        "base: &base {decision: pay}\n"
        "cases:\n"
        "  - name: merged\n"
        "    as_of: 2024-01-01\n"
        "    claim: {visit: {date: 2024-03-01}}\n"
        "    expect: {<<: *base, totals: {billed: '1.00'}}\n",
        encoding="utf-8",
    )
    (case,) = read_cases(path)
    assert case.as_of == "2024-01-01" and case.claim["visit"]["date"] == "2024-03-01"
    assert case.expect == {"decision": "pay", "totals": {"billed": "1.00"}}
    assert case.line == 3
