"""Real components for the service's tests: PostgreSQL, headless Chromium, `policyengine serve`.

PostgreSQL and Chromium come from Debian's packages, installed by the tests where missing
and they run as root (tests/debian.py: skipped elsewhere, a failure under CI). Nothing else
is downloaded: Selenium is given Debian's chromedriver and Chromium, so it never fetches a
driver or a browser.

PostgreSQL runs as a private cluster for the test session: its own data directory, a Unix
socket in that directory and no TCP port, stopped and removed at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.debian import debian_packages, unavailable

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(os.environ.get("POLICYENGINE_SCREENSHOTS", tempfile.gettempdir())) / (
    "policyengine-screenshots"
)


# ------------------------------------------------------------------ PostgreSQL


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A private PostgreSQL server for the session; yields its URL."""
    binaries = _postgres_bin()
    if binaries is None:
        reason = debian_packages(["postgresql"], [Path("/usr/bin/psql")])
        binaries = _postgres_bin()
        if reason is not None or binaries is None:
            unavailable(f"PostgreSQL: {reason or 'no initdb after installing postgresql'}")
    base = Path(tempfile.mkdtemp(prefix="policyengine-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data, port = base / "data", free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(
        _as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--no-locale"]),
        check=True, **quiet,
    )  # fmt: skip
    options = f"-k {base} -p {port} -c listen_addresses='' -c fsync=off -c max_connections=60"
    subprocess.run(
        _as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                      "-l", str(base / "log"), "-w", "-t", "60", "start"]),
        check=True, **quiet,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@/postgres?host={base}&port={port}"
    finally:
        subprocess.run(
            _as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False, **quiet,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ------------------------------------------------------------------ Chromium


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Headless Chromium driven through Debian's chromedriver (Selenium WebDriver)."""
    reason = debian_packages(
        ["chromium", "chromium-driver", "fonts-noto-cjk"], [CHROMIUM, CHROMEDRIVER]
    )
    if reason is not None:
        unavailable(f"Chromium: {reason}")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1200,1600", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@contextlib.contextmanager
def screenshot_on_failure(driver: object, name: str) -> Iterator[None]:
    """On a failure, save what the browser shows and say where (in the test's output)."""
    try:
        yield
    except BaseException as failure:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        with contextlib.suppress(Exception):
            driver.save_screenshot(str(path))  # type: ignore[attr-defined]
            print(f"screenshot of the page at the failure: {path}")
            failure.add_note(f"screenshot: {path}")
        raise


# ------------------------------------------------------------------ policyengine serve


@contextlib.contextmanager
def serve(*arguments: str, workers: int = 1, cwd: Path = ROOT) -> Iterator[str]:
    """`policyengine serve` on a free loopback port; yields its base URL once ready."""
    port = free_port()
    command = [
        sys.executable, "-m", "policyengine", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--log-level", "warning", *arguments,
    ]  # fmt: skip
    with started(command, f"http://127.0.0.1:{port}", cwd) as base:
        yield base


@contextlib.contextmanager
def started(command: list[str], base: str, cwd: Path = ROOT) -> Iterator[str]:
    """A server process in its own session, once `{base}/readyz` answers 200; stopped
    (the whole process group) at the end."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=log, start_new_session=True)
        yield from _running(process, log, base)


def _running(process: subprocess.Popen[bytes], log: Any, base: str) -> Iterator[str]:
    import httpx2 as httpx

    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited {process.returncode}: {log.read().decode()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{process.args!r} did not become ready in 60 s")
            time.sleep(0.1)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
