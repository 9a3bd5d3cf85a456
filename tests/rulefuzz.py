"""Helpers of the hostile-rule-file tests (tests/test_hostile_rules.py): copies of the bundled
policies to break, a mutation fuzzer over rule files, a token-soup strategy, the validity of a
diagnostic's span, and an engine built straight from a compiled policy.

Nothing here asserts; the tests do.
"""

from __future__ import annotations

import copy
import functools
import json
import random
import re
import shutil
import stat
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine import loader as loader_module
from policyengine.build import build
from policyengine.check import CheckResult
from policyengine.compile import Compiled
from policyengine.diagnostics import Diagnostic, Diagnostics
from policyengine.grammar import keywords
from policyengine.parse import ParseResult, parse
from policyengine.span import SourceText, Span

if TYPE_CHECKING:  # imported where used: the scenario processes start faster without them
    from hypothesis import strategies as st

    from policyengine import Engine
    from policyengine.ir import PolicyIR

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
REGIONS = ("tianjin", "quanzhou", "weihai", "chengdu")


# ------------------------------------------------------------------ policy copies


def copy_policies(target: Path, region: str = "tianjin") -> Path:
    """`national/` and `region/` (without their YAML tests) under `target`, writable;
    the region's directory."""
    for name in ("national", region):
        destination = target / name
        shutil.copytree(POLICIES / name, destination, ignore=shutil.ignore_patterns("tests"))
        for path in (destination, *destination.rglob("*")):
            path.chmod(stat.S_IRWXU if path.is_dir() else stat.S_IRUSR | stat.S_IWUSR)
    return target / region


def example_claim(region: str = "tianjin") -> dict[str, Any]:
    claim = json.loads((ROOT / "examples" / "claim.json").read_text(encoding="utf-8"))
    claim["region"] = region
    claim["id"] = f"{region.upper()}-FUZZ-1"
    return claim


def inpatient_claim(region: str = "tianjin") -> dict[str, Any]:
    """The example claim as a resident's inpatient stay (other tables, the second layer)."""
    claim = copy.deepcopy(example_claim(region))
    claim["person"].update(scheme="resident", status=None)
    claim["visit"].update(type="inpatient", admitted="2024-03-01")
    claim["items"][1].update(quantity="1", unit_price="60000.00", amount="60000.00")
    claim.pop("history")
    return claim


def engine_of(compiled: Compiled, directory: Path) -> Engine:
    """The Engine of one compiled policy, without checking and compiling it again."""
    from policyengine import Engine
    from policyengine.prepared import loaded_policy

    policy = loaded_policy(
        directory, compiled.namespace(), compiled.source, cached=False, fingerprint=compiled.name
    )
    return Engine({policy.name: policy})


def engines_of(checked: PolicyIR, directory: Path) -> tuple[Engine, Engine]:
    """The Engines of one checked policy: its compiled code, and the reference interpreter
    reading its IR (the same policy metadata)."""
    from policyengine import Engine
    from policyengine.compile import compile_policy
    from policyengine.engine import interpreted

    compiled = engine_of(compile_policy(checked), directory)
    policy = compiled.policy(checked.name)
    return compiled, Engine({policy.name: interpreted(policy, checked)}, "interpreted")


# ------------------------------------------------------------------ diagnostics' spans


def lines_of(text: str) -> list[str]:
    """Lines as the parser counts them: split at "\\n" only."""
    return text.split("\n")


def span_problem(span: Span, texts: dict[str, str]) -> str | None:
    """Why `span` does not point into its file, or None. `texts`: display name → text."""
    if span.file not in texts:
        return f"{span}: not a file of the policy ({sorted(texts)})"
    lines = lines_of(texts[span.file])
    if not 1 <= span.line <= len(lines):
        return f"{span}: line {span.line} of a file of {len(lines)} lines"
    if not 1 <= span.col <= len(lines[span.line - 1]) + 1:
        return f"{span}: column {span.col} of a line of {len(lines[span.line - 1])} characters"
    if (span.end_line, span.end_col) < (span.line, span.col):
        return f"{span}: ends at {span.end_line}:{span.end_col}, before it starts"
    return None


def policy_texts(directory: Path) -> dict[str, str]:
    """Display name → text of every file a diagnostic may point into: the rule files of the
    policy and its sibling layers, and their catalogue CSVs."""
    texts = {}
    for folder in directory.parent.iterdir():
        if folder.is_dir():
            for path in (*folder.glob("*.policy"), *folder.glob("*.csv")):
                data = path.read_bytes().decode("utf-8", errors="replace")
                texts[f"{folder.name}/{path.name}"] = data
    return texts


def bad_spans(result: CheckResult, texts: dict[str, str]) -> list[str]:
    problems = []
    for diagnostic in result.diagnostics:
        spans = [diagnostic.span, *(r.span for r in diagnostic.related)]
        problems += [
            f"{diagnostic.code} {diagnostic.message[:120]!r}: {problem}"
            for problem in (span_problem(s, texts) for s in spans)
            if problem is not None
        ]
    return problems


def codes(result: CheckResult) -> list[str]:
    return sorted({d.code for d in result.diagnostics if d.is_error})


def first_errors(result: CheckResult, count: int = 5) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.is_error][:count]


# ------------------------------------------------------------------ generated code


@dataclass(frozen=True)
class CodeTokens:
    strings: list[str]  # the source of every string literal
    comments: list[str]
    code: list[str]  # every other token


def code_tokens(source: str) -> CodeTokens:
    strings, comments, code = [], [], []
    for token in tokenize.generate_tokens(StringIO(source).readline):
        if token.type == tokenize.STRING:
            strings.append(token.string)
        elif token.type == tokenize.COMMENT:
            comments.append(token.string)
        elif token.string.strip():
            code.append(token.string)
    return CodeTokens(strings, comments, code)


# ------------------------------------------------------------------ faster checks


class CachedParsing:
    """Parse and build each distinct rule file once: a mutation changes one file of a
    dozen, and Lark's parse is most of a check's time. Installed over the loader's `parse`
    and `build` (both pure: the same text gives the same tree, nodes and diagnostics)."""

    def __init__(self) -> None:
        self.parse = functools.lru_cache(maxsize=256)(self._parse)
        self.built: dict[SourceText, tuple[Any, list[Diagnostic]]] = {}

    @staticmethod
    def _parse(source: SourceText) -> ParseResult:
        return parse(source)

    def build(self, source: SourceText, tree: Any, diagnostics: Diagnostics) -> Any:
        if source not in self.built:
            if len(self.built) > 256:
                self.built.clear()
            own = Diagnostics()
            self.built[source] = (build(source, tree, own), own.sorted())
        rule_file, emitted = self.built[source]
        diagnostics.extend(emitted)
        return rule_file

    def install(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(loader_module, "parse", self.parse)
        monkeypatch.setattr(loader_module, "build", self.build)


# ------------------------------------------------------------------ the mutation fuzzer

# A rough tokenisation of a rule file: strings and comments whole, words, numbers, dates.
_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\d{4}-\d{2}-\d{2}|\d+(?:\.\d+)?|[A-Za-z_]\w*|万元|个百分点|\S'
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAME = re.compile(r"[A-Za-z_]\w*")
NUMBERS = (
    "0", "1", "3", "7", "100", "150", "151", "0.5", "99.99", "100.01", "1000000",
    "9999999999", "10000000001", "0.000000001", "9" * 60, "1" + "0" * 40, "00", "007",
)  # fmt: skip
UNITS = ("元", "万元", "%", "pt", "个百分点", "days", "天", "")
DATES = (
    "2013-12-31", "2014-01-01", "2018-12-31", "2019-01-01", "2024-02-29", "2023-02-29",
    "2024-13-01", "2024-00-10", "0001-01-01", "9999-12-31", "1900-01-01", "2100-12-31",
)  # fmt: skip
INSERTS = (
    "{", "}", "(", ")", ",", ":", "=>", "=", "+", "-", "×", "*", "..", "/", "%", "元",
    "when", "always", "not", "or", "none", "by level", "bands", "from", "until", "dates",
    "cite", "secondary", "provisional", "overrides", "adjust", "complete over", "pools",
    '"x"', '""', "1", "2014-01-01", "三(二)5", "一", "I10", "Z99.2", "\n",
    "until 9999-12-31", "from 0001-01-01", "until 2013-12-31", "from 9999-12-31",
    "when age 0..150", "when level 3", "when visit inpatient", "overrides x", "x:",
)  # fmt: skip


@dataclass(frozen=True)
class Mutation:
    path: str  # display name, e.g. "tianjin/benefits.policy"
    text: str
    steps: tuple[str, ...]


class Mutator:
    """Seeded mutations of a rule file: tokens and lines deleted, duplicated and swapped;
    numbers, units, dates and names changed; braces dropped; tokens inserted."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def mutate(self, path: str, text: str, count: int) -> Mutation:
        steps = []
        for _ in range(count):
            operation = self.random.choice(self.OPERATIONS)
            text, step = operation(self, text)
            steps.append(step)
        return Mutation(path, text, tuple(steps))

    # -------------------------------------------------------------- by token
    def _tokens(self, text: str, pattern: re.Pattern[str] | None = None) -> list[re.Match[str]]:
        found = list(_TOKEN.finditer(text))
        if pattern is not None:
            found = [m for m in found if pattern.fullmatch(m.group())]
        return found

    def _replace(self, text: str, match: re.Match[str], new: str) -> str:
        return text[: match.start()] + new + text[match.end() :]

    def _pick(self, text: str, pattern: re.Pattern[str] | None = None) -> re.Match[str] | None:
        found = self._tokens(text, pattern)
        return self.random.choice(found) if found else None

    def delete_token(self, text: str) -> tuple[str, str]:
        match = self._pick(text)
        if match is None:
            return text, "delete nothing"
        return self._replace(text, match, ""), f"delete {match.group()!r}@{match.start()}"

    def duplicate_token(self, text: str) -> tuple[str, str]:
        match = self._pick(text)
        if match is None:
            return text, "duplicate nothing"
        token = match.group()
        return self._replace(text, match, f"{token} {token}"), f"duplicate {token!r}"

    def swap_tokens(self, text: str) -> tuple[str, str]:
        found = self._tokens(text)
        if len(found) < 2:
            return text, "swap nothing"
        index = self.random.randrange(len(found) - 1)
        other = index + 1 if self.random.random() < 0.7 else self.random.randrange(len(found))
        first, second = sorted((found[index], found[other]), key=lambda m: m.start())
        if first.start() == second.start():
            return text, "swap nothing"
        swapped = (
            text[: first.start()]
            + second.group()
            + text[first.end() : second.start()]
            + first.group()
            + text[second.end() :]
        )
        return swapped, f"swap {first.group()!r} and {second.group()!r}"

    def insert_token(self, text: str) -> tuple[str, str]:
        found = self._tokens(text)
        at = self.random.choice(found).start() if found else 0
        token = self.random.choice(INSERTS)
        return f"{text[:at]}{token} {text[at:]}", f"insert {token!r}@{at}"

    def change_number(self, text: str) -> tuple[str, str]:
        match = self._pick(text, _NUMBER)
        if match is None:
            return text, "no number"
        new = self.random.choice(NUMBERS)
        return self._replace(text, match, new), f"number {match.group()} → {new}"

    def change_unit(self, text: str) -> tuple[str, str]:
        match = self._pick(text, _NUMBER)
        if match is None:
            return text, "no number"
        rest = text[match.end() :]
        unit = next((u for u in UNITS if u and rest.lstrip().startswith(u)), "")
        gap = len(rest) - len(rest.lstrip()) if unit else 0
        new = self.random.choice(UNITS)
        end = match.end() + gap + len(unit)
        changed = f"{text[: match.end()]} {new}{text[end:]}"
        return changed, f"unit of {match.group()}: {unit!r} → {new!r}"

    def change_date(self, text: str) -> tuple[str, str]:
        match = self._pick(text, _DATE)
        if match is None:
            return text, "no date"
        new = self.random.choice(DATES)
        return self._replace(text, match, new), f"date {match.group()} → {new}"

    def change_name(self, text: str) -> tuple[str, str]:
        names = self._tokens(text, _NAME)
        if not names:
            return text, "no name"
        match = self.random.choice(names)
        choice = self.random.random()
        if choice < 0.4:
            new = self.random.choice(names).group()  # another name of the file
        elif choice < 0.6:
            new = self.random.choice(sorted(keywords()))
        elif choice < 0.8:  # a typo
            word = match.group()
            at = self.random.randrange(len(word))
            new = word[:at] + word[at + 1 :] or "x"
        else:
            new = self.random.choice(("__import__", "_K0", "settle", "exec", "os", "none", "x"))
        return self._replace(text, match, new), f"name {match.group()} → {new}"

    def drop_brace(self, text: str) -> tuple[str, str]:
        braces = [m for m in self._tokens(text) if m.group() in "{}"]
        if not braces:
            return text, "no brace"
        match = self.random.choice(braces)
        return self._replace(text, match, ""), f"drop {match.group()!r}@{match.start()}"

    # -------------------------------------------------------------- by line
    def _lines(self, text: str) -> list[str]:
        return text.split("\n")

    def delete_line(self, text: str) -> tuple[str, str]:
        lines = self._lines(text)
        at = self.random.randrange(len(lines))
        del lines[at]
        return "\n".join(lines), f"delete line {at + 1}"

    def duplicate_line(self, text: str) -> tuple[str, str]:
        lines = self._lines(text)
        at = self.random.randrange(len(lines))
        lines.insert(at, lines[at])
        return "\n".join(lines), f"duplicate line {at + 1}"

    def swap_lines(self, text: str) -> tuple[str, str]:
        lines = self._lines(text)
        first, second = self.random.randrange(len(lines)), self.random.randrange(len(lines))
        lines[first], lines[second] = lines[second], lines[first]
        return "\n".join(lines), f"swap lines {first + 1} and {second + 1}"

    OPERATIONS: tuple[Callable[[Mutator, str], tuple[str, str]], ...] = (
        delete_token, duplicate_token, swap_tokens, insert_token, change_number, change_number,
        change_unit, change_date, change_date, change_name, change_name, drop_brace,
        delete_line, duplicate_line, swap_lines,
    )  # fmt: skip


# ------------------------------------------------------------------ token soup

_WORDS = sorted(keywords())
_SOUP_NAMES = ("outpatient", "inpatient", "employee", "scheme", "visit", "x", "TJ14", "national")


def soup_tokens() -> st.SearchStrategy[str]:
    """One token (or near-token) of the rule language."""
    from hypothesis import strategies as st

    return st.one_of(
        st.sampled_from(_WORDS),
        st.sampled_from(_SOUP_NAMES),
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
        st.builds(
            lambda number, unit: f"{number} {unit}",
            st.one_of(
                st.integers(0, 10**12).map(str),
                st.decimals(0, 1000, places=3, allow_nan=False).map(str),
            ),
            st.sampled_from(UNITS),
        ),
        st.dates().map(lambda d: d.isoformat()),
        st.sampled_from(DATES),
        st.text(max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False)),
        st.sampled_from(('"', '"\\', '"a\\"b"', '"\\\\"', "#", "# 注释\n")),
        st.sampled_from(("{", "}", "(", ")", ",", ":", "=>", "=", "+", "-", "×", "*", "/")),
        st.sampled_from(("..", "–", "I10", "E11.9", "Z99.2", "三(二)5", "第十九条", "一")),
        st.sampled_from(("%", "元", "万元", "pt", "个百分点", "天", "\n", "\t", "\r", "\x00")),
        st.characters(),
    )


def soup() -> st.SearchStrategy[str]:
    """A rule file of random tokens of the language, sometimes after a valid header."""
    from hypothesis import strategies as st

    header = st.sampled_from(
        (
            "",
            'policy fuzz { effective from 2014-01-01 provisional "x" }\n',
            'policy fuzz { complete effective from 2014-01-01 provisional "x" }\n'
            'source D { title "t" }\n',
        )
    )
    body = st.lists(soup_tokens(), max_size=60).map(" ".join)
    return st.builds(lambda h, b: h + b, header, body)


def standalone(directory: Path, text: str) -> Path:
    """A one-file policy directory `fuzz/` holding `text`."""
    policy = directory / "fuzz"
    policy.mkdir(parents=True, exist_ok=True)
    (policy / "fuzz.policy").write_text(text, encoding="utf-8", errors="surrogatepass")
    return policy


def iter_mutations(seed: int, count: int) -> Iterator[tuple[str, Mutation]]:
    """(region, mutation) pairs: one to three steps on one rule file of a region or of the
    national layer, the files weighted by size."""
    chooser = random.Random(seed)
    mutator = Mutator(seed)
    files = {
        region: sorted(
            [*(POLICIES / region).glob("*.policy"), *(POLICIES / "national").glob("*.policy")]
        )
        for region in REGIONS
    }
    texts = {path: path.read_text(encoding="utf-8") for paths in files.values() for path in paths}
    for _ in range(count):
        region = chooser.choice(REGIONS)
        path = chooser.choices(files[region], weights=[len(texts[p]) for p in files[region]])[0]
        display = f"{path.parent.name}/{path.name}"
        yield region, mutator.mutate(display, texts[path], chooser.choice((1, 1, 2, 3)))


# ------------------------------------------------------------------ resource scenarios
# Each builds a policy under `root` and returns its directory; `python tests/rulefuzz.py
# NAME ROOT` checks it (and compiles it if clean) in a process of its own and prints the
# outcome as JSON, so that a test can bound it with a timeout.


def _with_file(root: Path, name: str, text: str, region: str = "tianjin") -> Path:
    directory = copy_policies(root, region)
    (directory / name).write_text(text, encoding="utf-8")
    return directory


def _audit_table(rows: str) -> str:
    """An `excess_supply` audit beside tianjin's own, its `max_days` table `rows`: for two_disease
    visits, which tianjin's table has no row for (an inpatient row would be R006)."""
    return (
        'audit excess_supply many_rows "超量开药" provisional "压力测试" {\n'
        "  action warn\n  when visit two_disease\n  max_days {\n" + rows + "  }\n}\n"
    )


def _conditions(count: int) -> str:
    return "".join(f'condition c{i} = A{i % 100:02d} provisional "x"\n' for i in range(count))


def _catalogue(root: Path, rows: list[str]) -> Path:
    directory = copy_policies(root)
    header = (POLICIES / "national" / "catalogue.csv").read_text(encoding="utf-8")
    (directory / "extra.csv").write_text(
        header.split("\n", 1)[0] + "\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    (directory / "extra.policy").write_text(
        'catalogue extra { file "extra.csv" provisional "压力测试" }\n', encoding="utf-8"
    )
    return directory


_CATALOGUE_ROW = "{code},name,generic,service,A" + "," * 17


def _source(root: Path, text: str, cite: str) -> Path:
    directory = copy_policies(root)
    (directory / "sources" / "big.md").write_text(text, encoding="utf-8")
    (directory / "big.policy").write_text(
        'source BIG { title "t" file "sources/big.md" }\n'
        f"let big_figure = 1 元 cite BIG {cite}\n",
        encoding="utf-8",
    )
    return directory


def _dated_lets(count: int) -> str:
    import datetime as dt

    start = dt.date(2015, 1, 1)
    days = [start + dt.timedelta(days=i) for i in range(count + 1)]
    lets = [f'let v = {i} 元 from {d} until {d} provisional "x"\n' for i, d in enumerate(days)]
    return "".join(lets) + f'let v = 1 元 from {days[-1] + dt.timedelta(days=1)} provisional "x"\n'


SCENARIOS: dict[str, Callable[[Path], Path]] = {
    "parentheses 10,000 deep": lambda root: _with_file(
        root, "x.policy", "let x = " + "(" * 10_000 + "1 元" + ")" * 10_000 + ' provisional "x"\n'
    ),
    "braces 10,000 deep": lambda root: _with_file(
        root, "x.policy", "policy x {" + "{" * 10_000 + "}" * 10_001
    ),
    "a number of 5,000 digits": lambda root: _with_file(
        root, "x.policy", "let x = 9" + "9" * 5_000 + ' 元 provisional "x"\n'
    ),
    "an age of 5,000 digits": lambda root: _with_file(
        root, "x.policy", _audit_table(f'    when age {"9" * 5_000} => 7 days provisional "x"\n')
    ),
    "a sum of 10,000 terms": lambda root: _with_file(
        root, "x.policy", "let x = 1 元" + " + 1 元" * 10_000 + ' provisional "x"\n'
    ),
    "a chain of 5,000 figures": lambda root: _with_file(
        root,
        "x.policy",
        'let a0 = 1 元 provisional "x"\n'
        + "".join(f'let a{i} = a{i - 1} provisional "x"\n' for i in range(1, 5_000)),
    ),
    "figures doubling 60 times": lambda root: _with_file(
        root,
        "x.policy",
        'let a0 = 1 元 provisional "x"\n'
        + "".join(f'let a{i} = a{i - 1} + a{i - 1} provisional "x"\n' for i in range(1, 60)),
    ),
    "5,000 figures": lambda root: _with_file(
        root, "x.policy", "".join(f'let f{i} = {i} 元 provisional "x"\n' for i in range(5_000))
    ),
    "3,000 unknown figures among 3,000": lambda root: _with_file(
        root,
        "x.policy",
        "".join(f'let fig{i} = 1 元 provisional "x"\n' for i in range(3_000))
        + "".join(f'let use{i} = gif{i} provisional "x"\n' for i in range(3_000)),
    ),
    "a table of 5,000 rows": lambda root: _with_file(
        root,
        "x.policy",
        _audit_table(
            "".join(f'    when age {i % 151} => 7 days provisional "x"\n' for i in range(5_000))
        ),
    ),
    "a table of 500 rows that all overlap": lambda root: _with_file(
        root, "x.policy", _audit_table('    always => 7 days provisional "x"\n' * 500)
    ),
    "a table over 40 conditions": lambda root: _with_file(
        root,
        "x.policy",
        _conditions(40)
        + _audit_table(
            "".join(f'    when diagnosis c{i} => 7 days provisional "x"\n' for i in range(40))
        ),
    ),
    "a rule over 40 conditions": lambda root: _with_file(
        root,
        "x.policy",
        _conditions(40)
        + 'audit excess_supply wide "t" provisional "x" {\n  action warn\n'
        + f"  when diagnosis {' or '.join(f'c{i}' for i in range(40))}\n"
        + '  max_days { when visit outpatient => 7 days provisional "x" }\n}\n',
    ),
    "300 versions": lambda root: _with_file(root, "x.policy", _dated_lets(300)),
    "a rule file of 10 MB": lambda root: _with_file(
        root, "x.policy", "# " + "x" * 10_000_000 + "\n"
    ),
    "a rule file of 150,000 tokens": lambda root: _with_file(
        root, "x.policy", "moments before" + ", during" * 150_000 + "\n"
    ),
    "a catalogue of 300,000 rows": lambda root: _catalogue(
        root, [_CATALOGUE_ROW.format(code=f"X{i:09d}") for i in range(300_000)]
    ),
    "a catalogue cell of 1 MB": lambda root: _catalogue(
        root, [_CATALOGUE_ROW.format(code="X" + "x" * 1_000_000)]
    ),
    "a source document of 20 MB": lambda root: _source(
        root, "一、总则\n" + "条款文字。\n" * 1_250_000, '一 "不存在的引文"'
    ),
    "a source document of 100,000 items": lambda root: _source(
        root,
        "一、总则\n(一)条目\n" + "".join(f"{i}. 条款{i}\n" for i in range(1, 100_001)),
        '一(一)100001 ""',
    ),
}


def run_scenario(name: str, root: Path) -> dict[str, Any]:
    """Check the scenario's policy (and compile it if it checks clean): the outcome."""
    import time

    from policyengine.check import check
    from policyengine.compile import compile_policy

    directory = SCENARIOS[name](root)
    started = time.perf_counter()
    result = check(directory)
    outcome: dict[str, Any] = {
        "seconds": round(time.perf_counter() - started, 2),
        "ok": result.ok,
        "codes": codes(result),
        "errors": [f"{d.headline()[:300]}" for d in first_errors(result)],
        "diagnostics": len(result.diagnostics),
        "bad_spans": bad_spans(result, policy_texts(directory))[:5],
    }
    if result.ok and result.policy is not None:
        compile_policy(result.policy).namespace()
        outcome["compiled_seconds"] = round(time.perf_counter() - started, 2)
    return outcome


if __name__ == "__main__":
    import sys

    print(json.dumps(run_scenario(sys.argv[1], Path(sys.argv[2])), ensure_ascii=False))
