"""Programs the tests run that come from Debian's packages (the shells completion is tested
in, node for the VS Code extension).

Where one is missing and the tests run as root (as CI does, from `.ci/run`), its package is
installed here, once, quietly (`apt-get update` and `apt-get install`, the output in a log
file), under a lock so two test runs never install at once. Where it cannot be installed (not
root, no apt-get), the test that needs it is skipped with a message saying so — except under
CI (`CI` set, as CI services set it), where that is a failure: CI must not pass with the test
skipped. Nothing else is downloaded.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

LOCK = Path(tempfile.gettempdir()) / "policyengine-test-apt.lock"
LOG = Path(tempfile.gettempdir()) / "policyengine-test-apt.log"


def unavailable(reason: str) -> None:
    """A program a test needs is missing: skip here, fail under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the tests must not skip it)", pytrace=False)
    pytest.skip(reason)


def debian_packages(packages: list[str], present: list[Path]) -> str | None:
    """Install `packages` unless every file in `present` exists. None when ready, else why
    not (the reason a test is skipped)."""
    if all(path.exists() for path in present):
        return None
    if os.geteuid() != 0:
        return f"needs {', '.join(packages)} (Debian packages); not root, cannot install them"
    if shutil.which("apt-get") is None:
        return f"needs {', '.join(packages)} (Debian packages); no apt-get here"
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be installing them
        if all(path.exists() for path in present):
            return None
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        with LOG.open("ab") as log:
            for command in (
                ["apt-get", "update", "-qq"],
                [
                    "apt-get", "install", "-y", "-qq", "--no-install-recommends",
                    "-o", "DPkg::Lock::Timeout=600", *packages,
                ],
            ):  # fmt: skip
                done = subprocess.run(command, stdout=log, stderr=log, env=environment, check=False)
                if done.returncode != 0:
                    return f"`{' '.join(command)}` failed (see {LOG})"
    missing = [str(path) for path in present if not path.exists()]
    return (
        f"installed {', '.join(packages)} but {', '.join(missing)} is missing" if missing else None
    )


def program(name: str, package: str | None = None) -> str:
    """The path of the program `name` (from the Debian package `package`, by default its
    name), installed if need be; the calling test is skipped (failed under CI) without it."""
    found = shutil.which(name)
    if found is None:
        reason = debian_packages([package or name], [Path("/usr/bin") / name])
        found = shutil.which(name)
        if found is None:
            unavailable(reason or f"{name} is not on PATH")
    assert found is not None
    return found
