"""The compile cache executes only code this very build wrote for this very policy.

Each test plants a code object that writes a sentinel file where the cache would find it:
written by another Python or another engine, tampered with after the fact, or left in a
directory other users can write. The engine must compile afresh (never run the planted
code) and never fail because of the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from policyengine import Engine, cache
from tests.support import POLICIES, claim


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    shutil.copytree(POLICIES / "national", tmp_path / "policies" / "national")
    shutil.copytree(
        POLICIES / "tianjin",
        tmp_path / "policies" / "tianjin",
        ignore=shutil.ignore_patterns("tests"),
    )
    return tmp_path / "policies" / "tianjin"


@pytest.fixture
def cache_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "cache"
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", str(base))
    return base


def _sentinel_code(sentinel: Path) -> bytes:
    code = compile(
        f"import pathlib; pathlib.Path({str(sentinel)!r}).write_text('ran')", "<p>", "exec"
    )
    return marshal.dumps(code)


def _files(base: Path, pattern: str) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in base.glob(pattern)}


def _plant(paths: list[Path], sentinel: Path, base: Path, *, vouch: bool = True) -> None:
    """Replace code files with the sentinel's code; with `vouch`, make every manifest vouch
    for it too (its recorded digest, if it keeps one, becomes the planted code's)."""
    planted = _sentinel_code(sentinel)
    for path in paths:
        old = hashlib.sha256(path.read_bytes()).hexdigest()
        path.write_bytes(planted)
        new = hashlib.sha256(planted).hexdigest()
        for manifest in base.glob("*.json") if vouch else ():
            manifest.write_text(manifest.read_text(encoding="utf-8").replace(old, new))


def _load_and_settle(policy: Path) -> bool:
    """Load, settle a claim (the policy works), and say whether the load was warm."""
    engine = Engine.load(policy)
    assert engine.settle(claim())["totals"]["deductible"] == "800.00"
    return engine.policy("tianjin").cached


@contextlib.contextmanager
def _another_build(kind: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        if kind == "python":
            patch.setattr(sys, "version", "3.12.9 (main) [GCC 14.2.0]")
            patch.setattr(sys.implementation, "cache_tag", "cpython-312")
            patch.setattr(sys, "hexversion", 0x030C09F0)
        else:  # an engine whose compiler was edited
            patch.setattr(cache, "engine_hash", lambda: "e" * 64)
        yield


@pytest.mark.parametrize("other", ["python", "engine"])
def test_code_cached_by_another_build_is_never_loaded(
    policy: Path, cache_base: Path, tmp_path: Path, other: str
) -> None:
    """Python 3.12's marshal data crashed 3.11 (it shared the code file's name), and an
    edited compiler loaded the other engine's code. Each build now has its own artefacts."""
    sentinel = tmp_path / "sentinel"
    assert not _load_and_settle(policy)  # this build's cache, cold
    before = _files(cache_base, "*.marshal")
    with _another_build(other):
        Engine.load(policy)  # the other build compiles and stores its code
        written = [p for p, key in _files(cache_base, "*.marshal").items() if before.get(p) != key]
        assert written
        # what the other build left is foreign code to this one (here: the same bytes as this
        # build's own code, so the manifests are left alone)
        _plant(written, sentinel, cache_base, vouch=False)
    assert _load_and_settle(policy)  # this build's own cache is still warm and intact
    assert not sentinel.exists()


def test_tampered_code_fails_its_integrity_check(
    policy: Path, cache_base: Path, tmp_path: Path
) -> None:
    sentinel = tmp_path / "sentinel"
    _load_and_settle(policy)
    for path in cache_base.glob("*.marshal"):
        path.write_bytes(_sentinel_code(sentinel))  # the manifest is left as it was
    assert not _load_and_settle(policy)  # compiled afresh
    assert not sentinel.exists()
    assert _load_and_settle(policy)  # and the cache repaired


def _world_writable_directory(base: Path) -> None:
    base.chmod(0o777)


def _files_of_another_user(base: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give files to another user")
    for path in base.iterdir():
        os.chown(path, 65534, 65534)


def _links_to_planted_files(base: Path) -> None:
    for path in [*base.glob("*.marshal"), *base.glob("*.json")]:
        planted = base.parent / f"planted-{path.name}"
        path.rename(planted)
        path.symlink_to(planted)


@pytest.mark.parametrize(
    "share", [_world_writable_directory, _files_of_another_user, _links_to_planted_files]
)
def test_a_cache_another_user_could_write_is_not_executed(
    policy: Path, cache_base: Path, tmp_path: Path, share: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A manifest and code planted in a shared cache directory (POLICYENGINE_CACHE_DIR on a
    world-writable folder) were executed as root. Complete and self-consistent plants —
    the recorded digests match — are still refused for who could have written them."""
    sentinel = tmp_path / "sentinel"
    _load_and_settle(policy)
    _plant(list(cache_base.glob("*.marshal")), sentinel, cache_base)
    assert callable(share)
    share(cache_base)
    assert not _load_and_settle(policy)
    assert not sentinel.exists()
    if share is _world_writable_directory:
        assert "writable by other users" in caplog.text


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:100]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(marshal.dumps(5)), id="not-code"),
        pytest.param(lambda p: p.write_bytes(b"\xff" * 64), id="garbage"),
    ],
)
def test_a_damaged_cache_recompiles_and_never_fails(
    policy: Path, cache_base: Path, damage: object
) -> None:
    _load_and_settle(policy)
    assert callable(damage)
    for path in cache_base.glob("*.marshal"):
        old = hashlib.sha256(path.read_bytes()).hexdigest()
        damage(path)
        new = hashlib.sha256(path.read_bytes()).hexdigest()
        for manifest in cache_base.glob("*.json"):  # even when the manifest vouches for it
            manifest.write_text(manifest.read_text(encoding="utf-8").replace(old, new))
    assert not _load_and_settle(policy)
    for manifest in cache_base.glob("*.json"):
        manifest.write_text("[1, 2")
    assert not _load_and_settle(policy)


def test_a_new_cache_directory_is_private(cache_base: Path, policy: Path) -> None:
    _load_and_settle(policy)
    assert cache_base.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o077 == 0 for p in cache_base.iterdir())
