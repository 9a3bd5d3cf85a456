"""Small conveniences (issue 18.5): `check --watch` and `test --watch` run again on save;
shell completion for bash, zsh and fish (shtab), exercised in the shells themselves (Debian's
packages, installed by tests/debian.py where missing); `generate -o -`; progress bars that count claims; `schema bogus`.
"""

from __future__ import annotations

import io
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from policyengine.cli.main import main
from policyengine.cli.progress import Progress
from tests.debian import program
from tests.support import POLICIES

COMMAND = [sys.executable, "-m", "policyengine.cli.main"]


class Running:
    """A command left running, its output collected line by line as it comes."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, wanted: Callable[[list[str]], bool], seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while not wanted(self.lines):
            assert time.monotonic() < deadline, self.lines
            assert self.process.poll() is None, self.lines
            time.sleep(0.1)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        self.reader.join(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code


def watching(lines: list[str], times: int) -> bool:
    return sum(1 for line in lines if line.startswith("— watching")) >= times


@pytest.fixture
def quanzhou(tmp_path: Path) -> Path:
    for name in ("national", "quanzhou"):
        shutil.copytree(POLICIES / name, tmp_path / name)
    for case_file in (tmp_path / "quanzhou" / "tests").glob("*.yaml"):
        if case_file.name != "critical_illness.yaml":
            case_file.unlink()
    return tmp_path / "quanzhou"


def test_check_watch_checks_again_on_save(quanzhou: Path) -> None:
    running = Running("check", "--watch", str(quanzhou))
    try:
        running.wait_for(lambda lines: watching(lines, 1))
        assert running.lines[0].startswith("quanzhou: ok")
        benefits = quanzhou / "benefits.policy"
        benefits.write_text(
            benefits.read_text("utf-8").replace("=> 700 元", "=> 7,000 元"), "utf-8"
        )
        running.wait_for(lambda lines: watching(lines, 2))
        assert "— changed: benefits.policy; running again" in running.lines
        assert "quanzhou: FAILED — 1 error(s)" in running.lines
        layer = quanzhou.parent / "national" / "national.policy"  # the layer is watched too
        layer.write_text(layer.read_text("utf-8") + "\n# a note\n", "utf-8")
        running.wait_for(lambda lines: watching(lines, 3))
        assert "— changed: national.policy; running again" in running.lines
    finally:
        assert running.interrupt() == 130


def test_test_watch_runs_the_cases_again_on_save(quanzhou: Path) -> None:
    running = Running("test", "--watch", str(quanzhou))
    try:
        running.wait_for(lambda lines: watching(lines, 1))
        passed = next(line for line in running.lines if "cases passed" in line)
        total = int(passed.split("/")[1].split()[0])
        assert passed == f"quanzhou: {total}/{total} cases passed"
        cases = quanzhou / "tests" / "critical_illness.yaml"
        text = cases.read_text("utf-8")
        cases.write_text(
            text.replace("  - name:", "  - name: broken", 1).replace(
                "decision: pay", "decision: reject", 1
            ),
            "utf-8",
        )
        running.wait_for(lambda lines: watching(lines, 2))
        assert f"quanzhou: {total - 1}/{total} cases passed" in running.lines
    finally:
        assert running.interrupt() == 130


# ------------------------------------------------------------------ shell completion


def script(shell: str, tmp_path: Path) -> Path:
    done = subprocess.run(
        [*COMMAND, "completion", shell], capture_output=True, text=True, check=True
    )
    path = tmp_path / f"policyengine.{shell}"
    path.write_text(done.stdout, encoding="utf-8")
    return path


def test_bash_completes_commands_options_and_choices(tmp_path: Path) -> None:
    bash = program("bash")
    completions = script("bash", tmp_path)

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in ("policyengine", *words))
        asked = (
            f"source {completions}; COMP_WORDS=({line}); COMP_CWORD={len(words)}; "
            '_shtab_policyengine; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        done = subprocess.run([bash, "-c", asked], capture_output=True, text=True, check=True)
        return sorted(done.stdout.split())

    assert complete("ch") == ["check"]
    assert complete("fm") == ["fmt"]
    assert complete("check", "--pro") == ["--provisional"]
    assert complete("schema", "") == ["claim", "result", "trace"]
    assert complete("render", "policies/tianjin", "--format", "") == ["html", "markdown", "text"]


def test_fish_completes_commands_and_choices(tmp_path: Path) -> None:
    fish = program("fish")
    completions = script("fish", tmp_path)

    def complete(line: str) -> list[str]:
        done = subprocess.run(
            [fish, "--no-config", "-c", f"source {completions}; complete -C'{line}'"],
            capture_output=True,
            text=True,
            check=True,
        )
        return sorted(row.split("\t")[0] for row in done.stdout.splitlines())

    assert complete("policyengine ch") == ["check"]
    assert complete("policyengine schema ") == ["claim", "result", "trace"]


def test_zsh_completion_is_a_valid_script(tmp_path: Path) -> None:
    zsh = program("zsh")
    completions = script("zsh", tmp_path)
    subprocess.run([zsh, "-n", str(completions)], check=True)
    assert "#compdef policyengine" in completions.read_text("utf-8")


# ------------------------------------------------------------------ the rest


def test_generate_writes_to_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--region", "tianjin", "--persons", "2", "-o", "-"]) == 0
    out = capsys.readouterr()
    claims = [json.loads(line) for line in out.out.splitlines()]
    assert "to standard output" in out.err
    written = tmp_path / "claims.jsonl"
    assert main(["generate", "--region", "tianjin", "--persons", "2", "-o", str(written)]) == 0
    assert [json.loads(line) for line in written.read_text("utf-8").splitlines()] == claims
    assert not (tmp_path / "-").exists()  # once a file named `-`


def test_progress_bars_count_claims_not_bytes() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    progress = Progress(True, 4_000_000, console=console)
    progress.indexed(1_200, 2_000_000)
    progress.indexed(1_300, 2_000_000)
    progress.start_settling(2_500)
    progress.advance_claims(1_000)
    progress.bar.refresh()
    progress.stop()
    shown = screen.getvalue()
    assert "2,500 claims" in shown and "1,000/2,500 claims" in shown
    assert "4000000" not in shown and "2000000" not in shown


def test_an_unknown_schema_names_the_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "resutl"]) == 2
    assert capsys.readouterr().err == (
        "error: no schema `resutl`: the schemas are claim, result, trace\n"
        "hint: did you mean `result`?\n"
    )
