"""The grammar and the bundled policies are found from a checkout and from a built wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from policyengine.engine import bundled_policies
from policyengine.grammar import grammar_path
from tests.support import ROOT


def test_checkout_layout() -> None:
    assert grammar_path() == ROOT / "grammar" / "policy.lark"
    assert bundled_policies() == ROOT / "policies"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    return next(out.glob("policyengine-*.whl"))


def test_the_wheel_carries_grammar_and_policies(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "policyengine/_grammar/policy.lark" in names
    for city in ("national/national.policy", "tianjin/benefits.policy", "quanzhou/benefits.policy"):
        assert f"policyengine/_policies/{city}" in names
    assert "policyengine/_policies/tianjin/sources/tianjin-2018-drug-supply.md" in names
    assert "policyengine/_policies/national/catalogue.csv" in names


# Test-only packages: the installed engine runs with none of them importable.
TEST_ONLY = ("pytest", "_pytest", "pytest_benchmark", "hypothesis", "jsonschema")


def test_test_tools_are_not_runtime_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    runtime = [r for r in requires if "extra ==" not in r]
    assert runtime and not [r for r in runtime if r.startswith(("pytest", "hypothesis", "json"))]
    dev = [r for r in requires if r.replace('"', "'").endswith("extra == 'dev'")]
    assert any(r.startswith("pytest-benchmark") for r in dev)


def test_an_installed_wheel_finds_everything(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        # as if the test-only packages were not installed: importing one raises ImportError
        f"import sys; sys.modules.update(dict.fromkeys({TEST_ONLY!r}));"
        "from policyengine.grammar import grammar_path; from policyengine import Engine;"
        "from policyengine.cli.main import main;"
        "import json; e = Engine.load();"
        "print(grammar_path()); print(','.join(e.regions));"
        "print(e.settle(json.load(open(sys.argv[1])))['decision']);"
        "sys.exit(main(['test', '--format', 'json']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "examples" / "claim.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(site), "POLICYENGINE_CACHE_DIR": "", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    grammar, regions, decision, report = done.stdout.split(maxsplit=3)
    assert grammar == str(site / "policyengine" / "_grammar" / "policy.lark")
    assert regions == "chengdu,quanzhou,tianjin,weihai" and decision == "partial"
    # the policy tests run from the installed wheel too, without pytest
    assert [(r["policy"], r["failed"]) for r in json.loads(report)] == [
        ("chengdu", []),
        ("quanzhou", []),
        ("tianjin", []),
        ("weihai", []),
    ]
