"""Batch against an unlucky operator: resuming under edited rules, one claim the engine fails
on, a lone surrogate, output paths that must not be written, full disks (a real tmpfs), and
the command-line slips that used to end as internal errors."""

from __future__ import annotations

import contextlib
import decimal
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policyengine.batch import index as batch_index
from policyengine.batch import local as batch
from policyengine.cli.main import main
from policyengine.engine import Engine
from policyengine.tools.generate import generate
from tests.support import POLICIES


def claims_file(directory: Path, persons: int = 20, extra: list[str] | None = None) -> Path:
    lines = [json.dumps(c, ensure_ascii=False) for c in generate("tianjin", persons, seed=4)]
    path = directory / "claims.jsonl"
    path.write_text("\n".join(lines + (extra or [])) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> int:
    return main(["batch", *args, "--no-progress"])


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    for name in ("national", "tianjin"):
        shutil.copytree(
            POLICIES / name, tmp_path / "policies" / name, ignore=shutil.ignore_patterns("tests")
        )
    return tmp_path / "policies" / "tianjin"


def interrupt_after(monkeypatch: pytest.MonkeyPatch, tasks: int) -> dict[str, int]:
    """Small tasks, and a KeyboardInterrupt once `tasks` have run (until `flaky["tasks"]`
    is raised again, for the --resume)."""
    monkeypatch.setattr(batch_index, "TASK_CLAIMS", 10)
    real = batch.settle_task
    calls = {"n": 0, "tasks": tasks}

    def flaky(number: int, task: list, work: Path, *write: Any) -> dict:
        calls["n"] += 1
        if calls["n"] > calls["tasks"]:
            raise KeyboardInterrupt
        return real(number, task, work, *write)

    monkeypatch.setattr(batch, "settle_task", flaky)
    return calls


# ------------------------------------------------------------------ --resume (14.2)


def test_resume_refuses_rules_edited_since_the_interrupt(
    tmp_path: Path, policy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The fingerprint held the --policy path, not its content: an edit between the interrupt
    and --resume mixed two rule versions in one output, and the batch exited 0."""
    path, out = claims_file(tmp_path), tmp_path / "out.jsonl"
    flaky = interrupt_after(monkeypatch, 2)
    assert run(str(path), "-o", str(out), "--policy", str(policy)) == 3
    flaky["tasks"] = 1000
    benefits = policy / "benefits.policy"
    benefits.write_text(benefits.read_text(encoding="utf-8").replace("=> 800 元", "=> 900 元"))
    capsys.readouterr()
    assert run(str(path), "-o", str(out), "--policy", str(policy), "--resume") == 2
    err = capsys.readouterr().err
    assert "--resume refused: the rules changed" in err and "tianjin" in err
    assert f"remove {out}.work" in err
    assert not out.exists()
    shutil.rmtree(f"{out}.work")  # as the hint says: settle afresh under the new rules
    assert run(str(path), "-o", str(out), "--policy", str(policy)) == 0


def test_resume_names_the_option_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path, out = claims_file(tmp_path), tmp_path / "out.jsonl"
    flaky = interrupt_after(monkeypatch, 1)
    assert run(str(path), "-o", str(out)) == 3
    flaky["tasks"] = 1000
    capsys.readouterr()
    assert run(str(path), "-o", str(out), "--resume", "--moment", "before") == 2
    assert "the options changed" in capsys.readouterr().err


# ------------------------------------------------------------------ one claim fails (14.3)


def test_a_claim_the_engine_fails_on_is_its_own_error_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`price_cap 1e9999` made runtime.fen raise decimal.InvalidOperation for every claim
    using the item, and the batch ended with exit 3 and no output."""
    path, out = claims_file(tmp_path), tmp_path / "out.jsonl"
    whole = tmp_path / "whole.jsonl"
    assert run(str(path), "-o", str(whole)) == 0
    victim = records(whole)[3]["claim_id"]
    real = Engine.settle

    def failing(self: Engine, claim: object, **options: object) -> dict:
        if getattr(claim, "id", None) == victim:
            raise decimal.InvalidOperation([decimal.InvalidOperation])
        return real(self, claim, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "settle", failing)
    assert run(str(path), "-o", str(out)) == 1  # some claims failed, the batch completed
    results = records(out)
    assert len(results) == len(records(whole))
    failed = [r for r in results if "error" in r]
    assert [(r["claim_id"], r["error"]) for r in failed] == [(victim, "internal_error")]
    assert "InvalidOperation while settling" in failed[0]["errors"][0]["message"]


def test_a_claim_the_engine_fails_on_does_not_end_a_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path = claims_file(tmp_path)
    victim = json.loads(path.read_text(encoding="utf-8").splitlines()[2])["id"]
    real = Engine.settle

    def failing(self: Engine, claim: object, **options: object) -> dict:
        if getattr(claim, "id", None) == victim:
            raise ZeroDivisionError("a bug")
        return real(self, claim, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "settle", failing)
    code = main(
        [
            "diff",
            "--policy",
            str(POLICIES / "tianjin"),
            "--base-as-of",
            "2018-12-31",
            "--as-of",
            "2019-01-01",
            str(path),
            "--format",
            "json",
            "--no-progress",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    assert report["claims"]["total"] == len(path.read_text().splitlines())
    assert report["claims"]["errors"] == {"base": 1, "amended": 1}


# ------------------------------------------------------------------ a lone surrogate (14.4)


def test_a_lone_surrogate_is_one_error_record_and_resume_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """orjson refused to write `"id": "\\ud800X"`: the whole batch ended, and --resume
    failed the same way forever."""
    good = next(generate("tianjin", 1, seed=8))
    hostile = json.dumps(good, ensure_ascii=False).replace(json.dumps(good["id"]), '"\\ud800X"', 1)
    person = dict(good, id="other")
    person["person"] = dict(good["person"], id="\\udfff")
    in_person = json.dumps(person, ensure_ascii=False).replace('"\\\\udfff"', '"\\udfff"')
    path = claims_file(tmp_path, extra=[hostile, in_person])
    out = tmp_path / "out.jsonl"
    flaky = interrupt_after(monkeypatch, 1)
    assert run(str(path), "-o", str(out)) == 3
    flaky["tasks"] = 1000
    assert run(str(path), "-o", str(out), "--resume") == 1
    failed = [r for r in records(out) if "error" in r]
    assert [(r["claim_id"], r["errors"][0]["path"]) for r in failed] == [
        ("\\ud800X", "id"),
        ("other", "person.id"),
    ]
    assert all("unicode string" in r["errors"][0]["message"] for r in failed)


def test_adjudicate_refuses_a_lone_surrogate_at_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = next(generate("tianjin", 1, seed=8))
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps(good).replace(json.dumps(good["id"]), '"A\\udc00"', 1))
    assert main(["adjudicate", str(claim)]) == 2
    refusal = json.loads(capsys.readouterr().out)
    assert refusal["claim_id"] == "A\\udc00" and refusal["errors"][0]["path"] == "id"


# ------------------------------------------------------------------ output paths (14.7)


def test_the_output_cannot_be_the_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = claims_file(tmp_path)
    before = path.read_bytes()
    (tmp_path / "linked.jsonl").hardlink_to(path)
    for output in (path, tmp_path / "." / "claims.jsonl", tmp_path / "linked.jsonl"):
        assert run(str(path), "-o", str(output)) == 2
        assert "is the input file" in capsys.readouterr().err
    assert run(str(path), "-o", str(tmp_path / "out.jsonl"), "--summary-json", str(path)) == 2
    assert path.read_bytes() == before


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _device(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a null device of our own


def _link(path: Path) -> None:
    (path.parent / "target.jsonl").write_text("keep me\n")
    path.symlink_to(path.parent / "target.jsonl")


def _directory(path: Path) -> None:
    path.mkdir()


@pytest.mark.parametrize("make", [_fifo, _device, _link, _directory])
def test_only_regular_files_are_written(
    tmp_path: Path, make: object, capsys: pytest.CaptureFixture
) -> None:
    """A FIFO, a device node or a link given as -o was replaced by a regular file, and
    `<output>.work` was created beside it (`-o /dev/null` as root: /dev/null.work)."""
    path = claims_file(tmp_path)
    output = tmp_path / "out"
    assert callable(make)
    make(output)
    kind = stat.S_IFMT(os.lstat(output).st_mode)
    assert run(str(path), "-o", str(output)) == 2
    assert stat.S_IFMT(os.lstat(output).st_mode) == kind  # untouched
    assert not (tmp_path / "out.work").exists()
    assert "-o" in capsys.readouterr().err
    if make is _link:
        assert (tmp_path / "target.jsonl").read_text() == "keep me\n"


def test_results_on_standard_output(tmp_path: Path, capfdbinary: pytest.CaptureFixture) -> None:
    path = claims_file(tmp_path)
    assert run(str(path), "-o", str(tmp_path / "file.jsonl")) == 0
    capfdbinary.readouterr()
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    with _environment(env):
        assert run(str(path), "-o", "-") == 0
    assert capfdbinary.readouterr().out == (tmp_path / "file.jsonl").read_bytes()
    assert list((tmp_path / "state" / "policyengine" / "batch").iterdir()) == []


def test_a_directory_the_batch_did_not_make_is_never_used_or_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """--resume removed `<output>.work` when it held no manifest, whoever had made it."""
    path = claims_file(tmp_path)
    theirs = tmp_path / "out.jsonl.work"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    for extra in ([], ["--resume"]):
        assert run(str(path), "-o", str(tmp_path / "out.jsonl"), *extra) == 2
        assert "is not a work directory of `policyengine batch`" in capsys.readouterr().err
    assert (theirs / "notes.txt").read_text() == "mine"


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in values.items():
            patch.setenv(key, value)
        yield


# ------------------------------------------------------------------ full disks (14.13)


@contextlib.contextmanager
def tmpfs(directory: Path, size: int) -> Iterator[Path]:
    """A real small file system (root only; skipped elsewhere)."""
    directory.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True)


def _resize(directory: Path, size: int) -> None:
    subprocess.run(
        ["mount", "-o", f"remount,size={size}", str(directory)], check=True, capture_output=True
    )


def test_a_full_disk_during_the_merge_exits_3_leaves_no_temporary_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A full disk gave exit 2 (bad input) with no hint, and a failed merge left a partial
    `.out.jsonl.tmp`."""
    path = claims_file(tmp_path, persons=40)
    whole = tmp_path / "whole.jsonl"
    assert run(str(path), "-o", str(whole), "--keep-work") == 0
    work_size = sum(f.stat().st_size for f in Path(f"{whole}.work").rglob("*") if f.is_file())
    # room for the work directory, not for the merged output as well
    size = (work_size + whole.stat().st_size // 2) // 4096 * 4096 + 8 * 4096
    with tmpfs(tmp_path / "disk", size) as disk:
        out = disk / "out.jsonl"
        capsys.readouterr()
        assert run(str(path), "-o", str(out)) == 3
        err = capsys.readouterr().err
        assert "No space left on device" in err and "--resume" in err
        assert sorted(p.name for p in disk.iterdir()) == ["out.jsonl.work"]  # no .tmp, no output
        tasks = len(list(Path(f"{whole}.work", "done").glob("*.json")))
        assert len(list((disk / "out.jsonl.work" / "done").glob("*.json"))) == tasks  # merging
        _resize(disk, 8 * size)
        assert run(str(path), "-o", str(out), "--resume") == 0
        assert out.read_bytes() == whole.read_bytes()


def test_a_summary_on_a_full_disk_leaves_no_empty_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = claims_file(tmp_path, persons=2)
    with tmpfs(tmp_path / "disk", 64 * 1024) as disk:
        (disk / "filler").write_bytes(b"x" * (64 * 1024 - 16))  # the disk is now full
        summary = disk / "summary.json"
        assert (
            run(str(path), "-o", str(tmp_path / "out.jsonl"), "--summary-json", str(summary)) == 3
        )
        assert "summary could not be written" in capsys.readouterr().err
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]
    assert (tmp_path / "out.jsonl").exists()  # the results themselves are complete


# ------------------------------------------------------------------ command-line slips (14.13)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diff", "--base=--", "--base-as-of", "2019-01-01", "x.jsonl"], "--base --: give"),
        (["diff", "--base=-x", "x.jsonl"], "give a policy directory or a git ref"),
        (["generate", "--region", "tianjin", "--persons", "2", "--year", "9999"], "1900–2100"),
        (["generate", "--region", "tianjin", "--persons", "2", "--year", "0"], "1900–2100"),
        (["generate", "--region", "tianjin", "--persons", "0"], "--persons must be"),
    ],
)
def test_slips_on_the_command_line_are_input_errors(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    claims = claims_file(tmp_path, persons=1)
    argv = [str(claims) if a == "x.jsonl" else a for a in argv]
    if argv[0] == "generate":
        argv += ["-o", str(tmp_path / "generated.jsonl")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "internal error" not in err
    assert not (tmp_path / "generated.jsonl").exists()
