"""Rule files cannot execute code, and hostile or broken rule files never produce a traceback.

1. **No code execution.** Rule files whose strings (titles, quotes, provisional reasons,
   source titles and numbers), comments, names, row labels, file names, `file` paths and
   catalogue cells carry Python either check and compile cleanly — the hostile text is then
   only ever inside string literals (or escaped comments) of the generated module, never
   code, and settling a claim runs nothing (a sentinel file never appears) — or fail with
   diagnostics. A cited file outside the policy directory is refused (C005), not read.
2. **Fuzzing.** Token soup (hypothesis) and a seeded mutation fuzzer over the bundled rule
   files (tests/rulefuzz.py): every outcome is a clean check or diagnostics whose spans
   point into the policy's files; a mutant that checks clean compiles, and settling the
   example claims gives a result or a documented error — the same one from the compiled
   code and from the reference interpreter (as for every hostile policy that settles).
3. **Resource bounds.** Deep nesting, huge numbers, tables, files, catalogues and documents
   each end in a diagnostic (or a clean check) in a process of their own, within a timeout.

What the fuzzers and the hostile inputs found — each a regression test below, marked
`# found:` with its minimal reproduction:

- a rule file's *name* reached the generated code in a `#` comment; a name holding a line
  break ran code at settlement (code execution) — comments are now escaped, names shown
  escaped;
- an undecodable file name (surrogates) crashed the content hash (UnicodeEncodeError);
- `file "a\\x00b"` (ValueError) or a 5,000-character `file` name (OSError) crashed the check;
- a catalogue cell over 131,072 characters crashed the check (csv.Error);
- `when age 99…9` (5,000 digits) crashed the builder (int() refuses > 4,300 digits);
- `1 元 + 1 元 + …` (10,000 terms, no parentheses) and a chain of 5,000 figures crashed with
  RecursionError; figures doubling (`let a2 = a1 + a1`, …) hung the check (exponential);
- `until 9999-12-31` on a figure crashed the lowering (OverflowError);
- products of huge numbers overflowed Decimal in the units pass (decimal.Overflow);
- a figure ending before a row that uses it starts checked clean, and Engine.load then
  raised LookupError (mutation fuzzer);
- a `when` over 20+ diagnoses or groups built 2ⁿ classes of claims before refusing them
  (minutes, gigabytes); a rule's `when` over 24 hung the conflict check, which also had
  no guard for too many classes;
- a table whose rows all overlap took minutes and gave n²/2 diagnostics;
- a 2 MB rule file of figures took minutes (every number re-split the whole text);
  a long cited document was indexed in quadratic time, and a quote search over a
  document of many items was quadratic;
- did-you-mean compared every unknown name with every known one: 1,500 unknown figures
  among 1,500 took 37 s, 5,000 some minutes;
- rule files that declare nothing checked clean with no policy (no I002);
- the rows of a rule of an unknown kind were read as `always` (spurious R001);
- the nesting limit ended a string at `\\"`: `"\\"((((…"` was "nested too deeply" (P006);
- a figure's text was taken from str.splitlines(), which splits at \\u2028 and \\x0c where
  the parser does not: a comment holding one made the notes quote another line.

Examples: POLICYENGINE_FUZZ_EXAMPLES, the variable of the other fuzz tests. By default 100
token-soup files and 200 mutations, of which the first 10 that check clean are compiled and
settled (some 4 s; the resource scenarios take some 10 s more, two processes at a time).
The long mode runs that many of each and compiles and settles every mutant that checks
clean:

    POLICYENGINE_FUZZ_EXAMPLES=5000 python -m pytest tests/test_hostile_rules.py -q
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from rulefuzz import (
    REGIONS,
    SCENARIOS,
    CachedParsing,
    bad_spans,
    code_tokens,
    codes,
    copy_policies,
    engines_of,
    example_claim,
    inpatient_claim,
    iter_mutations,
    policy_texts,
    soup,
    standalone,
)

from policyengine import Engine
from policyengine.check import CheckResult, check, check_loaded
from policyengine.compile import compile_policy
from policyengine.contract.claims import ClaimRejected
from policyengine.engine import interpreted
from policyengine.errors import PolicyEngineError
from policyengine.loader import load
from tests.support import first_difference

LONG = os.environ.get("POLICYENGINE_FUZZ_EXAMPLES")
SOUP_EXAMPLES = int(LONG or 100)
MUTATIONS = int(LONG or 200)
COMPILES = None if LONG else 10  # clean mutants compiled and settled (None: every one)
SCENARIO_TIMEOUT = 60.0  # seconds; a guard against a hang, not a benchmark
RULEFUZZ = Path(__file__).resolve().parent / "rulefuzz.py"

SENTINEL = "SENTINEL"
# Python that would leave a sentinel file in the working directory if it ever ran.
PAYLOADS = (
    f"__import__('os').system('touch {SENTINEL}')",
    f"\"); import os; os.system('touch {SENTINEL}') #",
    f"''' + open('{SENTINEL}', 'w').write('x') + '''",
    f'""" + __import__("os").system("touch {SENTINEL}") + """',
    f"\\n__import__('os').system('touch {SENTINEL}')\\n#",
    f"C:\\evil\\{SENTINEL}\\",
    f"nul\x00byte {SENTINEL} \x07\x1b[31m",
    f"𠀀 😀 \u202e\u2028{SENTINEL}\u2029 exec(compile('1','x','exec'))",
)
# Names that would be dangerous, or clash with the generated module's, if they became code.
BANNED_IDENTIFIERS = {"__import__", "os", "system", "open", "exec", "eval", "write", SENTINEL}


def rule_string(text: str) -> str:
    """`text` as a rule-file string literal (a backslash and a quote escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory (where a payload would leave its sentinel), no cache."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", "")
    return work


def settle_all(engine: Engine, region: str, claims: list[dict[str, Any]]) -> list[Any]:
    """Each claim settled plainly and traced: a result, or a documented error."""
    outcomes: list[Any] = []
    for claim in claims:
        for trace in (False, True):
            try:
                outcomes.append(engine.settle(claim, region=region, trace=trace))
            except (PolicyEngineError, ClaimRejected) as error:
                outcomes.append(error)
    return outcomes


def differences(
    engines: tuple[Engine, Engine], region: str, claims: list[dict[str, Any]]
) -> tuple[list[Any], list[str]]:
    """settle_all on the compiled code and on the reference interpreter: the compiled
    outcomes, and where the interpreter's differ (a result, or an error's type and text)."""
    compiled, reference = (settle_all(engine, region, claims) for engine in engines)
    found = []
    for index, pair in enumerate(zip(compiled, reference, strict=True)):
        mine, theirs = (f"{type(o).__name__}: {o}" if isinstance(o, Exception) else o for o in pair)
        if mine != theirs:
            where = f"claim {index // 2 + 1} ({'traced' if index % 2 else 'plain'})"
            found.append(f"{where}: {first_difference(theirs, mine, 'result')}")
    return compiled, found


def settle_on_both(
    engines: tuple[Engine, Engine], region: str, claims: list[dict[str, Any]]
) -> list[Any]:
    """settle_all on both back ends, which must agree; the outcomes."""
    outcomes, found = differences(engines, region, claims)
    assert found == [], "the compiled code and the interpreter differ (interpreter first)"
    return outcomes


def loaded_on_both(directory: Path, checked: CheckResult) -> tuple[Engine, Engine]:
    """Engine.load's compiled policy (the whole load path, no cache), and the reference
    interpreter over the IR the test checked already (one compile, not two)."""
    compiled = Engine.load(directory, cache=False)
    policy = compiled.policy("tianjin")
    assert checked.policy is not None
    return compiled, Engine({policy.name: interpreted(policy, checked.policy)}, "interpreted")


def assert_only_data(result: CheckResult, markers: tuple[str, ...]) -> str:
    """Compile the checked policy; the markers occur only in its string literals and
    comments, and it names none of the banned identifiers. Its source."""
    assert result.ok and result.policy is not None, [d.headline() for d in result.diagnostics]
    source = compile_policy(result.policy).source
    tokens = code_tokens(source)
    for marker in markers:
        assert not [t for t in tokens.code if marker in t], marker
    names = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute)}
    assert not names & BANNED_IDENTIFIERS
    return source


def hostile_declarations(index: int, payload: str) -> str:
    s = rule_string(payload)
    comment = payload.replace("\n", " ").replace("\r", " ").replace("\u2028", " ")
    return f"""
# {comment}
source EVIL_{index} {{
  title {s}   # {comment}
  number {s}
}}
let hostile_figure_{index} {s} = 1 元
  secondary EVIL_{index} 三(二)5 {s}
let hostile_provisional_{index} {s} = 2 元 provisional {s}
condition hostile_condition_{index} {s} = Z99.9 provisional {s}
rule restricted_use hostile_rule_{index} {s} secondary EVIL_{index} {s} {{
  action warn
  scope claim
  when visit outpatient
}}
"""


# Names of the generated module's own (settle, _K0, _CAT, _D, …) and Python's (__import__,
# exec, __builtins__), as figure, condition, rule and row names.
HOSTILE_NAMES = """
let __import__ = 1 元 provisional "x"
let _K0 = __import__ + 1 元 provisional "x"
let settle = 1 元 provisional "x"
let __builtins__ = _K0 provisional "x"
let exec = 3 days provisional "x"
let _D = 1 元 provisional "x"
condition _CAT = Z99.8 provisional "x"
rule restricted_use _settle_0 "t" provisional "x" {
  action warn
  scope claim
  when visit outpatient, diagnosis _CAT
}
"""


# ------------------------------------------------------------------ 1. no code execution


def test_hostile_strings_comments_and_names_are_only_data(workdir: Path, tmp_path: Path) -> None:
    directory = copy_policies(tmp_path / "policies")
    (directory / "hostile.policy").write_text(
        "".join(hostile_declarations(i, p) for i, p in enumerate(PAYLOADS)) + HOSTILE_NAMES,
        encoding="utf-8",
    )
    benefits = directory / "benefits.policy"  # row labels
    benefits.write_text(
        benefits.read_text(encoding="utf-8")
        .replace(
            "  when scheme employee, status working => by level 65%",
            "  __import__: when scheme employee, status working => by level 65%",
        )
        .replace(
            "  when scheme employee, status retired => by level 70%",
            "  _T0: when scheme employee, status retired => by level 70%",
        ),
        encoding="utf-8",
    )
    result = check(directory)
    source = assert_only_data(result, ("os.system", "open(", "__import__(", SENTINEL))
    assert all(repr(p) in source for p in PAYLOADS)  # they are there, as literals
    outcomes = settle_on_both(
        engines_of(result.policy, directory),  # type: ignore[arg-type]
        "tianjin",
        [example_claim(), inpatient_claim()],
    )
    findings = orjson.dumps(outcomes[0]).decode()
    assert all(orjson.dumps(p).decode()[1:-1] in findings for p in PAYLOADS)  # titles, as data
    assert not (workdir / SENTINEL).exists()


def test_hostile_catalogue_cells_are_only_data(workdir: Path, tmp_path: Path) -> None:
    directory = copy_policies(tmp_path / "policies")
    header = (directory.parent / "national" / "catalogue.csv").read_text(encoding="utf-8")
    rows = []
    for index, payload in enumerate(PAYLOADS):
        cell = '"' + payload.replace('"', '""') + '"'
        code = '"' + f"X{index}'); {payload}".replace('"', '""') + '"'
        rows.append(f"{code},{cell},{cell},drug,A,,,,,,{cell},{cell};I10," + "," * 9)
    rows.append('"multi\nline\x00 code",name,g,service,A' + "," * 17)
    (directory / "hostile.csv").write_text(
        header.split("\n", 1)[0] + "\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    (directory / "hostile.policy").write_text(
        f'catalogue hostile {rule_string(PAYLOADS[0])} {{ file "hostile.csv" '
        f"provisional {rule_string(PAYLOADS[1])} }}\n",
        encoding="utf-8",
    )
    result = check(directory)
    assert_only_data(result, ("os.system", "open(", "__import__(", SENTINEL))
    engines = engines_of(result.policy, directory)  # type: ignore[arg-type]
    claim = example_claim()
    claim["items"][0]["code"] = f"X0'); {PAYLOADS[0]}"
    settle_on_both(engines, "tianjin", [claim, example_claim()])
    assert not (workdir / SENTINEL).exists()


# found: a rule file's name went into `# kind `name` — file:line` comments of the generated
# module unescaped; `x\n        __import__('os').system('touch SENTINEL')\n#.policy` holding
# a rule ran the command at settlement. And b"bad\xff.policy" (surrogates once decoded)
# crashed the content hash with UnicodeEncodeError.
@pytest.mark.parametrize(
    "name",
    [
        f"x\n        __import__('os').system('touch {SENTINEL}')\n#.policy",
        f"x\r            __import__('os').system('touch {SENTINEL}')\r#.policy",
        os.fsdecode(b"bad\xff\xfe name\x1b.policy"),
        "'; exec('x') #.policy",
    ],
    ids=["newline", "carriage-return", "undecodable", "quote"],
)
def test_rule_file_names_are_only_data(workdir: Path, tmp_path: Path, name: str) -> None:
    directory = copy_policies(tmp_path / "policies")
    (directory / name).write_text(
        'rule restricted_use named "t" provisional "x" {\n'
        "  action warn\n  scope claim\n  when visit outpatient\n}\n",
        encoding="utf-8",
    )
    result = check(directory)
    source = assert_only_data(result, (f"system('touch {SENTINEL}')", "exec('x')"))
    assert "\n        __import__" not in source
    outcomes = settle_on_both(loaded_on_both(directory, result), "tianjin", [example_claim()])
    orjson.dumps(outcomes)  # printable, valid UTF-8 locations
    assert not (workdir / SENTINEL).exists()


def test_a_real_line_break_in_a_string_is_a_diagnostic(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path / "policies")
    (directory / "x.policy").write_text(
        f'let x "{PAYLOADS[0]}\n{PAYLOADS[1]}" = 1 元 provisional "x"\n', encoding="utf-8"
    )
    result = check(directory)
    assert codes(result) == ["P005"]
    assert bad_spans(result, policy_texts(directory)) == []


def test_strings_of_a_megabyte_and_beyond_the_basic_plane(workdir: Path, tmp_path: Path) -> None:
    directory = copy_policies(tmp_path / "policies")
    big = "𠀀😀\\" * 100_000 + PAYLOADS[0] + "字" * 200_000  # ~1.6 MB as UTF-8
    (directory / "big.policy").write_text(
        f"# {big}\n"
        f"let big_title {rule_string(big)} = 1 元 provisional {rule_string(big)}\n"
        f'rule restricted_use big_rule {rule_string(big)} provisional "x" {{\n'
        "  action warn\n  scope claim\n  when visit outpatient\n}\n",
        encoding="utf-8",
    )
    result = check(directory)
    assert codes(result) == ["P006"]  # over MAX_FILE_BYTES: refused before parsing
    smaller = "𠀀😀\\" * 30_000 + PAYLOADS[0]  # ~0.3 MB per string: checks
    (directory / "big.policy").write_text(
        f"let big_title {rule_string(smaller)} = 1 元 provisional {rule_string(smaller)}\n"
        f'rule restricted_use big_rule {rule_string(smaller)} provisional "x" {{\n'
        "  action warn\n  scope claim\n  when visit outpatient\n}\n",
        encoding="utf-8",
    )
    result = check(directory)
    assert_only_data(result, (f"system('touch {SENTINEL}')",))
    outcomes = settle_on_both(loaded_on_both(directory, result), "tianjin", [example_claim()])
    assert smaller in orjson.dumps(outcomes[0]).decode().replace("\\\\", "\\")
    assert not (workdir / SENTINEL).exists()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A document outside every policy directory, with a recognisable text."""
    secret = tmp_path / "outside" / "secret.md"
    secret.parent.mkdir()
    secret.write_text("一、秘密\nOUTSIDE-SECRET 不应读取\n", encoding="utf-8")
    return secret


def _file_paths(outside: Path) -> Iterator[str]:
    yield "../../etc/passwd"
    yield "/etc/hostname"
    yield str(outside)  # absolute
    yield f"../../outside/{outside.name}"
    yield f"sources/../../outside/{outside.name}"
    yield "sources/" + "../" * 40 + str(outside).lstrip("/")
    yield "../national/catalogue.csv"  # another layer's file: not this layer's
    yield "sources/link.md"  # a symbolic link out of the directory
    yield "sources"  # a directory
    yield ""
    yield "a\x00b"  # found: ValueError (embedded null byte) from Path.resolve()
    yield "x" * 5_000  # found: OSError (File name too long) from Path.is_file()
    yield "~/.bashrc"


@pytest.mark.parametrize("index", range(13))
def test_a_file_outside_the_policy_is_refused_not_read(
    tmp_path: Path, outside: Path, index: int
) -> None:
    path = list(_file_paths(outside))[index]
    directory = copy_policies(tmp_path / "policies")
    (directory / "sources" / "link.md").symlink_to(outside)
    (directory / "x.policy").write_text(
        f'source OUT {{ title "t" file {rule_string(path)} }}\n'
        f'let out_figure = 1 元 cite OUT 一 "秘密"\n'
        f'catalogue out {{ file {rule_string(path)} provisional "x" }}\n',
        encoding="utf-8",
    )
    loaded = load(directory)
    result = check_loaded(loaded)
    assert {"C005", "I001"} <= set(codes(result))
    c005 = next(d for d in result.diagnostics if d.code == "C005")
    assert c005.span.file == "tianjin/x.policy" and c005.span.line == 1
    assert bad_spans(result, policy_texts(directory)) == []
    assert outside.resolve() not in loaded.deps
    assert all(b"OUTSIDE-SECRET" not in data for _name, data in loaded.content)
    assert not any(name.endswith(("passwd", "hostname", "bashrc")) for name, _ in loaded.content)


def test_a_rule_file_linked_from_outside_the_policy_is_refused_not_read(
    tmp_path: Path, outside: Path
) -> None:
    directory = copy_policies(tmp_path / "policies")
    rules = outside.with_name("outside.policy")
    rules.write_text('let out_figure = 1 元 provisional "OUTSIDE-SECRET"\n', encoding="utf-8")
    (directory / "linked.policy").symlink_to(rules)
    loaded = load(directory)
    result = check_loaded(loaded)
    refused = [d for d in result.diagnostics if d.code == "I002"]
    assert [(d.span.file, d.span.line) for d in refused] == [("tianjin/linked.policy", 1)]
    assert "symbolic link" in refused[0].message
    assert rules.resolve() not in loaded.deps
    assert all(b"OUTSIDE-SECRET" not in data for _name, data in loaded.content)
    assert "out_figure" not in str(result.diagnostics)


# ------------------------------------------------------------------ 2. fuzzing

FUZZ = settings(
    max_examples=SOUP_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def soup_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("soup")


@FUZZ
@given(text=soup())
def test_token_soup_checks_or_gives_located_diagnostics(soup_root: Path, text: str) -> None:
    directory = standalone(soup_root / str(abs(hash(text))), text)
    result = check(directory)
    written = (directory / "fuzz.policy").read_bytes().decode("utf-8", errors="replace")
    texts = {"fuzz/fuzz.policy": written}
    assert bad_spans(result, texts) == []
    assert result.ok == (result.policy is not None)
    if result.policy is not None:
        compile_policy(result.policy).namespace()


def test_mutated_policies_check_compile_and_settle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", "")
    CachedParsing().install(monkeypatch)
    directories = {region: copy_policies(tmp_path / region, region) for region in REGIONS}
    originals = {
        path: path.read_text(encoding="utf-8")
        for directory in directories.values()
        for path in directory.parent.glob("*/*.policy")
    }
    texts = {region: policy_texts(directories[region]) for region in REGIONS}
    compiled = 0
    failures: list[str] = []
    for region, mutation in iter_mutations(seed=20240305, count=MUTATIONS):
        directory = directories[region]
        target = directory.parent / mutation.path
        target.write_text(mutation.text, encoding="utf-8")
        texts[region][mutation.path] = mutation.text
        try:
            where = f"{mutation.path} after {list(mutation.steps)}"
            try:
                result = check(directory)
            except Exception as error:  # the point: never a traceback
                failures.append(f"{where}: check raised {error!r}")
                continue
            failures += [f"{where}: {p}" for p in bad_spans(result, texts[region])]
            if result.ok != (result.policy is not None):
                failures.append(f"{where}: ok={result.ok} but policy={result.policy}")
            if result.policy is None or (COMPILES is not None and compiled >= COMPILES):
                continue
            compiled += 1
            try:
                engines = engines_of(result.policy, directory)
                claims = [example_claim(region), inpatient_claim(region)]
                failures += [f"{where}: {d}" for d in differences(engines, region, claims)[1]]
            except Exception as error:
                failures.append(f"{where}: compile or settle raised {error!r}")
        finally:
            target.write_text(originals[target], encoding="utf-8")
            texts[region][mutation.path] = originals[target]
    assert failures == []
    assert compiled > 0  # some mutants do check clean: the compile path ran


# ------------------------------------------------------------------ 2b. regressions


def _checked(tmp_path: Path, text: str, name: str = "x.policy") -> CheckResult:
    directory = copy_policies(tmp_path / "policies")
    (directory / name).write_text(text, encoding="utf-8")
    result = check(directory)
    assert bad_spans(result, policy_texts(directory)) == []
    return result


def test_found_until_the_last_day_there_is(tmp_path: Path) -> None:
    # found: `until 9999-12-31` made the lowering add a day past date.max (OverflowError)
    result = _checked(tmp_path, 'let x = 1 元 from 0001-01-01 until 9999-12-31 provisional "x"\n')
    assert result.ok
    compile_policy(result.policy).namespace()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "dates", ["until 2013-12-31", "from 2020-01-01", "from 2014-01-01 until 2018-12-31"]
)
def test_found_a_figure_not_in_force_when_its_row_is(tmp_path: Path, dates: str) -> None:
    # found (mutation fuzzer, `insert 'until 2013-12-31'` after a figure of quanzhou): the
    # figure a deductible row uses had no version from the policy's start; the check passed
    # and compiling raised LookupError (`… has no value on 2019-01-01`) from Engine.load
    directory = copy_policies(tmp_path / "policies")
    benefits = directory / "benefits.policy"
    text = benefits.read_text(encoding="utf-8")
    figure = "= by level 500 元 / 800 元 / 1300 元\n"
    assert figure in text
    benefits.write_text(text.replace(figure, figure[:-1] + f" {dates}\n"), encoding="utf-8")
    result = check(directory)
    assert codes(result) == ["D002"]
    assert "`employee_inpatient_deductible` has no version in force" in str(result.diagnostics)
    assert bad_spans(result, policy_texts(directory)) == []


def test_found_products_of_huge_numbers_overflowed(tmp_path: Path) -> None:
    # found: `let a0 = 9…9` (5,000 digits), `let a1 = a0 × a0`, … `a8`: decimal.Overflow
    # from the units pass (a traceback); numbers now have at most 20 digits (P004)
    squares = "".join(f'let a{i} = a{i - 1} × a{i - 1} provisional "x"\n' for i in range(1, 9))
    result = _checked(tmp_path, "let a0 = 9" + "9" * 5_000 + ' provisional "x"\n' + squares)
    assert codes(result) == ["P004"]


def test_found_a_row_of_too_many_terms_overflowed(tmp_path: Path) -> None:
    # found: with 20-digit numbers, figures squared 13 times stay within the figures' limit
    # (8,192 terms each), but a row multiplying 7 of them overflowed Decimal's exponent
    # (decimal.Overflow); a row's or parameter's value has the figures' limit too (P006)
    squares = "".join(f'let a{i} = a{i - 1} × a{i - 1} provisional "x"\n' for i in range(1, 14))
    product = " × ".join(["a13"] * 7)
    result = _checked(
        tmp_path,
        'let a0 = 99999999999999999999 provisional "x"\n'
        + squares
        + 'audit duplicate_dispensing again "t" provisional "x" {\n  action warn\n'
        + "  when visit inpatient\n"
        + f'  tolerance {product} × 1 days provisional "x"\n}}\n',
    )
    assert "P006" in codes(result)
    assert "more than 10,000 terms" in str(result.diagnostics)


def test_found_rule_files_that_declare_nothing(tmp_path: Path) -> None:
    # found (token soup): an empty rule file checked clean, with no policy and no diagnostic
    directory = standalone(tmp_path, "# nothing but a comment\n")
    result = check(directory)
    assert codes(result) == ["I002"] and result.policy is None


def test_found_rows_of_an_unknown_rule_kind_are_not_overlaps(tmp_path: Path) -> None:
    # found: the rows of `audit excess_suply …` were left unresolved and read as `always`:
    # every pair was reported as overlapping (R001) besides the unknown kind (N001)
    result = _checked(
        tmp_path,
        'audit excess_suply x "t" provisional "x" { action warn\n  max_days {\n'
        '    when visit outpatient => 7 days provisional "x"\n'
        '    when visit inpatient => 30 days provisional "x"\n  }\n}\n',
    )
    assert codes(result) == ["N001"]


@pytest.mark.parametrize("complete", ["sceme", "inpatient", "cite"])
def test_found_an_unknown_key_after_complete_over_is_a_diagnostic(
    tmp_path: Path, complete: str
) -> None:
    # found (long mutation run, 3,000 mutants): `complete over sceme` raised KeyError in the
    # table check once facts could depend on another fact (filed on place)
    result = _checked(
        tmp_path,
        f'cap outpatient "t" {{\n  pools outpatient\n  complete over {complete}\n'
        '  when scheme employee => 7500 元 provisional "x"\n}\n',
    )
    assert "N001" in codes(result) or "P001" in codes(result), codes(result)
    assert result.policy is None


def test_found_strings_with_escaped_quotes_do_not_fool_the_nesting_limit(tmp_path: Path) -> None:
    # found: the nesting scanner ended a string at `\"`: `"\"((((…"` counted as nesting (P006)
    result = _checked(
        tmp_path, f'let x {rule_string(chr(34) + "(" * 100)} = 1 元 provisional "x"\n'
    )
    assert result.ok


# found (issue 13): the compiled code rounded a deductible to the fen half-even
# (compile/payers._fen under the engine's ROUND_HALF_EVEN context), the interpreter half-up:
# a deductible of `1 元 × 0.5%` (0.005 元) was 0.00 compiled and 0.01 interpreted. Either the
# back ends agree or `check` refuses a money figure finer than the fen, at the figure (it now
# does both: T004, and one fen() in semantics/money.py — tests/test_money.py).
def test_found_a_sub_fen_deductible_settles_alike_or_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", "")
    directory = copy_policies(tmp_path / "policies")
    benefits = directory / "benefits.policy"
    text = benefits.read_text(encoding="utf-8")
    working = "  when scheme employee, status working => 800 元\n"
    assert text.count(working) == 1
    benefits.write_text(
        text.replace(working, working.replace("800 元", "1 元 × 0.5%")), encoding="utf-8"
    )
    line = text[: text.index(working)].count("\n") + 1
    result = check(directory)
    if not result.ok:
        assert [(d.span.file, d.span.line) for d in result.diagnostics] == [
            ("tianjin/benefits.policy", line)
        ]
        return
    assert result.policy is not None
    settle_on_both(engines_of(result.policy, directory), "tianjin", [example_claim()])


def test_found_a_line_separator_in_a_comment_keeps_figures_right(tmp_path: Path) -> None:
    # found: the builder quoted a figure from text.splitlines(), which also splits at
    # \u2028 and \x0c: Lark's line numbers then picked another line's text for the note
    result = _checked(tmp_path, '# a\u2028b\x0cc\nlet x = 17 元 provisional "note"\n')
    assert result.ok and result.policy is not None
    assert any("x = 17 元" in note.subject for note in result.policy.notes)


def test_found_a_long_clause_is_indexed_in_linear_time() -> None:
    # found: a document's clause text grew by `+=` line by line, copied every time (a cited
    # document of 2 MB under one heading took 5 s, 20 MB would take minutes); the index
    # of an 8 MB document, past the size a policy may cite, is bounded by a timeout here
    code = (
        "from policyengine.clauses import index_document\n"
        "index = index_document('一、总则\\n' + '条款文字。\\n' * 500_000)\n"
        "assert index.contains('一', '条款文字。条款文字。')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=SCENARIO_TIMEOUT)


# ------------------------------------------------------------------ 3. resource bounds

# scenario → the error codes it must give (none: it checks clean), and at most how many
# diagnostics (a handful, not one per pair of rows)
EXPECTED: dict[str, tuple[set[str], int]] = {
    "parentheses 10,000 deep": ({"P006"}, 1),
    "braces 10,000 deep": ({"P006"}, 1),
    "a number of 5,000 digits": ({"P004"}, 1),
    "an age of 5,000 digits": ({"P004"}, 3),
    "a sum of 10,000 terms": ({"P006"}, 3),
    "a chain of 5,000 figures": ({"P006"}, 1),
    "figures doubling 60 times": ({"P006"}, 1),
    "5,000 figures": (set(), 0),
    "3,000 unknown figures among 3,000": ({"N001"}, 3_000),
    "a table of 5,000 rows": ({"P006"}, 3),
    "a table of 500 rows that all overlap": ({"R001"}, 25),
    "a table over 40 conditions": ({"R002"}, 3),
    "a rule over 40 conditions": ({"R003"}, 3),
    "300 versions": ({"P006"}, 1),
    "a rule file of 10 MB": ({"P006"}, 1),
    "a rule file of 150,000 tokens": ({"P006"}, 1),
    "a catalogue of 300,000 rows": ({"I001"}, 1),
    "a catalogue cell of 1 MB": ({"I001"}, 1),
    "a source document of 20 MB": ({"C005"}, 1),
    "a source document of 100,000 items": ({"C003"}, 1),
}


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every scenario in a process of its own, as many at once as there are processors;
    each outcome, or the reason there is none (a timeout, a traceback)."""
    root = tmp_path_factory.mktemp("scenarios")
    env = {**os.environ, "POLICYENGINE_CACHE_DIR": "", "PYTHONHASHSEED": "0"}

    def run(index: int, name: str) -> Any:
        command = [sys.executable, str(RULEFUZZ), name, str(root / str(index))]
        try:
            done = subprocess.run(
                command,
                check=False,
                capture_output=True,
                text=True,
                env=env,
                timeout=SCENARIO_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return f"no outcome within {SCENARIO_TIMEOUT:.0f} s"
        return orjson.loads(done.stdout) if done.returncode == 0 else done.stderr[-3000:]

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {name: pool.submit(run, i, name) for i, name in enumerate(SCENARIOS)}
        return {name: future.result() for name, future in futures.items()}


def test_every_scenario_is_expected() -> None:
    assert set(EXPECTED) == set(SCENARIOS)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_resource_bounds(scenarios: dict[str, Any], name: str) -> None:
    outcome = scenarios[name]
    assert isinstance(outcome, dict), outcome  # else a timeout or a traceback
    expected, most = EXPECTED[name]
    assert outcome["bad_spans"] == []
    assert expected <= set(outcome["codes"]), outcome["errors"]
    assert outcome["ok"] == (not expected), outcome["errors"]
    assert outcome["diagnostics"] <= most, outcome["errors"]
