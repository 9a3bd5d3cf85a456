"""The pytest plugin (policytest/pytest_plugin.py), as a host project meets it: pytest loads it
into every test run once policyengine is installed, so it must cost nothing until it collects
a policy case; then each case runs on both back ends, or on the one `--policy-backend` names.

Each run is a pytest of its own in a subprocess, in a project directory of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import POLICIES

# A host project's test: which parts of policyengine its run has imported so far.
PROBE = """
import sys

def test_probe():
    loaded = sorted(m for m in sys.modules if m.startswith("policyengine"))
    print("\\nPROBE", " ".join(loaded))
"""

CASES = """
defaults:
  id: T1
  region: tianjin
  person: {id: P1, scheme: employee, status: working, birth_date: "1970-01-01", sex: male}
  visit: {type: outpatient, date: "2024-03-05", hospital: {id: H1, level: 3, kind: general},
          doctor: {id: D1, title: attending}, diagnoses: [J06.900]}
  items:
    - {line: 1, code: "001101000010000", kind: service, quantity: "1", unit_price: "1000.00",
       amount: "1000.00"}
cases:
  - name: right
    expect: {decision: pay, totals: {deductible: "800.00", payers: {fund: "110.00"}}}
  - name: wrong
    expect: {totals: {deductible: "700.00"}}
"""


def host_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # the project's root
    env = {**os.environ, "POLICYENGINE_CACHE_DIR": str(project / "cache")}
    env.pop("PYTEST_ADDOPTS", None)
    # -rN: no short summary, whose length pytest changes when CI is set (it then repeats
    # each failure's message in full).
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-rN", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def probe(out: str) -> list[str]:
    return next(line.split()[1:] for line in out.splitlines() if line.startswith("PROBE"))


def test_a_project_without_policy_cases_imports_nothing_of_the_engine(tmp_path: Path) -> None:
    (tmp_path / "test_host.py").write_text(PROBE, encoding="utf-8")
    (tmp_path / "config.yaml").write_text("a: 1\n", encoding="utf-8")  # YAML, not a case
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data.yaml").write_text("a: 1\n", encoding="utf-8")
    done = host_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = probe(done.stdout)
    assert "policyengine.policytest.pytest_plugin" in loaded  # the plugin is active
    assert [m for m in loaded if m.startswith(("policyengine.engine", "policyengine.cont"))] == []
    assert "policyengine.policytest.cases" not in loaded


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A host project: a copy of national and tianjin, with one right and one wrong case
    (and a cache of its own, so that only the first run compiles)."""
    tmp_path = tmp_path_factory.mktemp("host")
    shutil.copytree(POLICIES / "national", tmp_path / "policies" / "national")
    shutil.copytree(
        POLICIES / "tianjin",
        tmp_path / "policies" / "tianjin",
        ignore=shutil.ignore_patterns("tests"),
    )
    (tmp_path / "policies" / "tianjin" / "tests").mkdir()
    (tmp_path / "policies" / "tianjin" / "tests" / "cases.yaml").write_text(CASES, encoding="utf-8")
    (tmp_path / "test_zz_after.py").write_text(PROBE, encoding="utf-8")
    return tmp_path


def test_each_case_runs_on_both_back_ends(project: Path) -> None:
    done = host_pytest(project, "-v", "policies", "test_zz_after.py")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    for backend in ("compiled", "interpreted"):
        assert f"cases.yaml::001 right[{backend}] PASSED" in out
        assert f"cases.yaml::002 wrong[{backend}] FAILED" in out
        assert f"tianjin/tests/cases.yaml:14: wrong ({backend})\n" in out
    assert out.count("totals.deductible: expected '700.00', got '800.00'") == 2
    assert "policyengine.engine" in probe(out)  # imported once it collected the cases


def test_one_back_end_by_option(project: Path) -> None:
    backend = "interpreted"  # (`compiled` takes the same path)
    done = host_pytest(project, "--collect-only", "-q", "--policy-backend", backend, "policies")
    assert done.returncode == 0, done.stdout + done.stderr
    items = [line for line in done.stdout.splitlines() if "cases.yaml::" in line]
    assert items == [
        f"policies/tianjin/tests/cases.yaml::001 right[{backend}]",
        f"policies/tianjin/tests/cases.yaml::002 wrong[{backend}]",
    ]
