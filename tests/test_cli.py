"""The command line: every command, its help, its exit codes, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from policyengine.cli.main import main
from tests.support import EXAMPLES, ROOT, claim

COMMANDS = (
    "check",
    "compile",
    "adjudicate",
    "explain",
    "batch",
    "test",
    "schema",
    "list",
    "generate",
)


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policyengine", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == "policyengine 0.1.0"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"policyengine {command}" in out


def test_adjudicate_prints_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["adjudicate", str(EXAMPLES / "claim.json")])
    result = json.loads(capsys.readouterr().out)
    assert code == 1  # the claim has a finding
    assert result["decision"] == "partial"


def test_adjudicate_a_clean_claim_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(claim()), encoding="utf-8")
    assert main(["adjudicate", str(path), "--pretty"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "pay"


def test_a_malformed_claim_exits_2_with_every_error() -> None:
    bad = claim()
    bad["items"][0]["amount"] = "999.99"
    bad["visit"]["hospital"]["level"] = 5
    done = run("adjudicate", "-", stdin=json.dumps(bad))
    assert done.returncode == 2
    record = json.loads(done.stdout)
    assert record["claim_id"] == "TJ-2024-000001"
    assert [e["path"] for e in record["errors"]] == ["visit.hospital.level", "items[0].amount"]
    assert "Traceback" not in done.stderr


def test_unknown_region_and_dates_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(claim(region="beijing")), encoding="utf-8")
    done = run("adjudicate", str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: no policy for region `beijing` (loaded: chengdu, quanzhou, tianjin, weihai)"
    )
    done = run("adjudicate", str(path), "--region", "tianjin", "--as-of", "2024-13-01")
    assert done.returncode == 2 and "as_of must be a date" in done.stderr
    done = run("adjudicate", str(tmp_path / "missing.json"))
    assert done.returncode == 2 and done.stderr.startswith("error: claim file")


def test_check_bundled_is_clean_and_lists_provisional_figures() -> None:
    done = run("check")
    assert done.returncode == 0
    assert done.stdout.splitlines()[:5] == [
        "chengdu: ok — versions from 2014-01-01, 2019-01-01, 2020-01-01; "
        "36 provisional figures and rules (--provisional lists them)",
        "national: ok — versions from 2014-01-01; 1 provisional figure or rule "
        "(--provisional lists them)",
        "quanzhou: ok — versions from 2014-01-01, 2020-01-24, 2021-11-25, 2023-01-08; "
        "37 provisional figures and rules (--provisional lists them); "
        "2 cited figures checked against their quotes (2 derived)",
        "tianjin: ok — versions from 2014-01-01, 2014-07-01, 2019-01-01, 2023-01-01; "
        "49 provisional figures and rules (--provisional lists them); "
        "10 cited figures checked against their quotes (1 derived)",
        "weihai: ok — versions from 2014-01-01, 2019-01-01; "
        "60 provisional figures and rules (--provisional lists them); "
        "14 cited figures checked against their quotes (4 derived)",
    ]
    assert "tianjin/audit.policy:7" not in done.stdout  # counted, not listed
    # every derived figure is listed, with its note and its quote
    assert (
        "\nquanzhou: derived figures (2):\n"
        "  quanzhou/audit.policy:11:10 60 days — derived: 2个月按60天计\n"
        "    QZ2021 三(六) “对病情稳定的“两病”患者可开具2个月长处方用药量”\n"
        "  quanzhou/audit.policy:14:10 90 days — derived: 3个月按90天计\n"
        "    QZ2021 三(六) “疫情防控期间可放宽处方用药量至3个月”\n"
        "\ntianjin: derived figures (1):\n"
        "  tianjin/benefits.policy:54:55 0 pt — derived: 一级医院不提高:0个百分点\n"
        "    TJ14 一(一) “居民医保住院报销比例三级医院提高10个百分点、二级医院提高5个百分点”\n"
    ) in done.stdout
    done = run("check", "--provisional")
    assert done.returncode == 0
    assert "tianjin: provisional figures and rules (49):" in done.stdout
    assert "tianjin/audit.policy:7 duplicate_dispensing tolerance 3 days" in done.stdout


def test_check_json() -> None:
    done = run("check", "policies/quanzhou", "--format", "json")
    data = json.loads(done.stdout)
    assert done.returncode == 0 and data["errors"] == 0
    assert data["policies"][0]["policy"] == "quanzhou" and data["policies"][0]["provisional"]
    assert data["policies"][0]["cited_figures"] == [
        {
            "location": "quanzhou/audit.policy:11:10",
            "figure": "60 days",
            "doc": "QZ2021",
            "clause": "三(六)",
            "quote": "对病情稳定的“两病”患者可开具2个月长处方用药量",
            "derived": "2个月按60天计",
        },
        {
            "location": "quanzhou/audit.policy:14:10",
            "figure": "90 days",
            "doc": "QZ2021",
            "clause": "三(六)",
            "quote": "疫情防控期间可放宽处方用药量至3个月",
            "derived": "3个月按90天计",
        },
    ]


def test_compile_emit_python_is_valid_python() -> None:
    done = run("compile", "policies/tianjin", "--emit-python")
    assert done.returncode == 0
    compile(done.stdout, "generated", "exec")
    assert "def _settle_0(c, day, before, tr):" in done.stdout


def test_schema_commands() -> None:
    for which in ("claim", "result", "trace"):
        done = run("schema", which)
        assert done.returncode == 0
        assert json.loads(done.stdout)["title"].startswith("policyengine")


def test_list_json() -> None:
    done = run("list", "--format", "json")
    data = {p["region"]: p for p in json.loads(done.stdout)}
    assert data["tianjin"]["versions"] == ["2014-01-01", "2014-07-01", "2019-01-01", "2023-01-01"]
    assert data["quanzhou"]["effective_from"] == "2014-01-01"
    assert data["quanzhou"]["versions"][0] == "2014-01-01"


def test_no_command_prints_help_and_exits_2() -> None:
    done = run()
    assert done.returncode == 2 and "usage:" in done.stdout
