"""A worker's engine: loaded once, replaced when the rule files change.

Every worker process loads the policies at start (`Engine.load`, warm from the compile cache
after the first). A background task then looks every `reload_seconds` at the files the
policies are read from — the policy directory tree and the layers each policy `uses` — by
their size, modification time and inode (cheap: no file is read). When they change, the
worker loads the policies again in a thread and swaps the engine in one assignment: a
request takes `holder.current` once and settles with that engine throughout, so no request
ever mixes two rule versions. A reload that fails (a rule file with errors mid-edit) keeps
the running engine, is counted and logged, and is retried when the files change again.

Polling rather than file-system events: it works the same on every file system (network
mounts, a Kubernetes ConfigMap swapped by symbolic link) and costs a few hundred `stat`s.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from policyengine.contract.results import ResultDict
    from policyengine.contract.trace import PolicyWords
    from policyengine.engine import Engine
    from policyengine.prepared import LoadedPolicy

log = logging.getLogger("policyengine.service")

Signature = tuple[tuple[str, int, int, int], ...]  # (path, size, mtime_ns, inode) per file


class VersionRange(TypedDict):
    """One rule set: in force from `from` to `to` inclusive (`to` null: still in force)."""

    start: str
    end: str | None


class PolicyListing(TypedDict):
    region: str
    title: str
    effective_from: str
    versions: list[VersionRange]
    layers: list[str]
    content_hash: str
    fingerprint: str
    provisional: list[str]


@dataclass(frozen=True)
class Generation:
    """One loaded set of policies and what identifies it."""

    engine: Engine
    signature: Signature
    number: int
    loaded_at: float
    hashes: dict[str, str] = field(default_factory=dict)  # region → content hash

    @functools.cached_property
    def header(self) -> str:
        """`X-Policy-Hashes`: every loaded policy's content hash, `region=hash` by region."""
        return ",".join(f"{region}={digest}" for region, digest in sorted(self.hashes.items()))

    def listing(self) -> list[PolicyListing]:
        return [listing(policy) for policy in self.engine.describe()]

    def words(self, result: ResultDict) -> PolicyWords | None:
        """The names the settling policy gives itself and its conditions (explain's words);
        None when it is no longer loaded (a stored settlement of a removed region)."""
        region = result["policy"]["region"]
        return self.engine.policy(region).words() if region in self.engine.regions else None


def listing(policy: LoadedPolicy) -> PolicyListing:
    starts = list(policy.versions)
    ends: list[str | None] = [_day_before(day) for day in starts[1:]]
    ends.append(None)
    return {
        "region": policy.name,
        "title": policy.title,
        "effective_from": policy.start,
        "versions": [{"start": s, "end": e} for s, e in zip(starts, ends, strict=True)],
        "layers": list(policy.layers),
        "content_hash": policy.content_hash,
        "fingerprint": policy.fingerprint,
        "provisional": list(policy.notes),
    }


def _day_before(day: str) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()


class PolicyHolder:
    """The current generation of a worker's policies, and the reloading of them."""

    def __init__(self, path: str | None, load: Callable[[str | None], Engine] | None = None):
        self.path = path
        self._load = load or _load_engine
        self._current: Generation | None = None
        self.reload_error: str | None = None
        self._failed_signature: Signature | None = None
        self.on_reload: Callable[[str], None] = lambda outcome: None

    @property
    def current(self) -> Generation:
        if self._current is None:
            raise RuntimeError("the policies are not loaded yet")
        return self._current

    @property
    def ready(self) -> bool:
        return self._current is not None

    def load(self) -> Generation:
        """Load the policies now (at start: a failure here stops the worker)."""
        engine = self._load(self.path)
        generation = Generation(
            engine,
            self.signature(engine),
            1,
            time.time(),
            {p.name: p.content_hash for p in engine.describe()},
        )
        self._current = generation
        return generation

    def changed(self) -> bool:
        signature = self.signature(self.current.engine)
        return signature not in (self.current.signature, self._failed_signature)

    def reload(self) -> str:
        """Load again if the files changed: `unchanged`, `reloaded`, `same` (the files
        changed but not the rules: a touched file) or `failed` (the old engine stays)."""
        if not self.changed():
            return "unchanged"
        old = self.current
        signature = self.signature(old.engine)  # taken before loading: a later edit shows
        try:
            engine = self._load(self.path)
        except Exception as error:  # a rule file mid-edit: keep serving the rules we have
            self._failed_signature = signature
            self.reload_error = f"{type(error).__name__}: {error}"
            log.warning("policy reload failed, still serving the rules loaded before: %s", error)
            return "failed"
        self._failed_signature = None
        self.reload_error = None
        hashes = {p.name: p.content_hash for p in engine.describe()}
        same = hashes == old.hashes and engine.fingerprint() == old.engine.fingerprint()
        self._current = Generation(
            old.engine if same else engine,
            signature,
            old.number if same else old.number + 1,
            old.loaded_at if same else time.time(),
            hashes,
        )
        if not same:
            log.info("policies reloaded: %s", self._current.header)
        return "same" if same else "reloaded"

    async def watch(self, seconds: float) -> None:
        """Reload whenever the files change, until cancelled."""
        while True:
            await asyncio.sleep(seconds)
            try:
                outcome = await asyncio.to_thread(self.reload)
            except Exception:  # never let the watcher die: log, and look again later
                log.exception("looking for changed policy files failed")
                continue
            if outcome != "unchanged":
                self.on_reload(outcome)

    def signature(self, engine: Engine | None) -> Signature:
        return tuple(sorted(_stats(self.watched(engine))))

    def watched(self, engine: Engine | None) -> list[Path]:
        """The policy root, and the layer directories of each loaded policy (a policy given
        alone reads its `uses` layers from beside it)."""
        from policyengine.engine import bundled_policies

        root = Path(self.path) if self.path is not None else bundled_policies()
        folders = {root.resolve()}
        if engine is not None:
            for policy in engine.describe():
                folders.add(policy.directory.resolve())
                for layer in policy.layers:
                    folders.add((policy.directory.parent / layer).resolve())
        return sorted(folders)


def _stats(folders: list[Path]) -> Iterator[tuple[str, int, int, int]]:
    seen: set[str] = set()
    for folder in folders:
        for path in _walk(folder):
            if path in seen:
                continue
            seen.add(path)
            try:
                stat = os.stat(path)
            except OSError:  # removed while we looked: the next look sees the change
                continue
            yield path, stat.st_size, stat.st_mtime_ns, stat.st_ino


def _walk(folder: Path) -> Iterator[str]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():  # follows links: a ConfigMap's `..data` swap shows as a change
            yield from _walk(Path(entry.path))
        else:
            yield entry.path


def _load_engine(path: str | None) -> Engine:
    from policyengine.engine import Engine

    return Engine.load(path)
