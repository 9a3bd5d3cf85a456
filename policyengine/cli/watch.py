"""`check --watch` and `test --watch`: run, then run again each time a file of the policies
changes (a rule file, a cited document, the catalogue, a case file), until Ctrl-C.

The files are polled (their size and modification time, twice a second): a policy is a few
dozen files, so polling costs nothing and needs no library, and it sees every editor's way of
saving (in place, or a new file renamed over the old).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from policyengine.cli.output import report_error
from policyengine.errors import PolicyEngineError

POLL_SECONDS = 0.5
WATCHED = frozenset({".policy", ".md", ".txt", ".csv", ".yaml", ".yml"})
Snapshot = dict[Path, tuple[int, int]]


def watched_directories(paths: Iterable[Path]) -> list[Path]:
    """The policy directories to watch for these paths: each one's and those beside it (the
    layers it uses are its siblings)."""
    from policyengine.engine import policy_dirs

    found: set[Path] = set()
    for path in paths:
        directory = path if path.is_dir() else path.parent
        found.update(policy_dirs(directory))
        if directory.parent != directory:
            found.update(p for p in policy_dirs(directory.parent) if p.is_dir())
    return sorted(found)


def snapshot(directories: Iterable[Path]) -> Snapshot:
    state: Snapshot = {}
    for directory in directories:
        for path in directory.rglob("*"):
            if path.suffix in WATCHED and not any(p.startswith(".") for p in path.parts[-3:]):
                try:
                    info = path.stat()
                except OSError:  # removed while we looked
                    continue
                state[path] = (info.st_mtime_ns, info.st_size)
    return state


def watch(run: Callable[[], int], directories: list[Path], poll: float = POLL_SECONDS) -> int:
    """Run `run` now and after every change; Ctrl-C ends it (exit status 130)."""
    shown = ", ".join(str(d) for d in directories)
    while True:
        before = snapshot(directories)
        try:
            run()
        except PolicyEngineError as error:  # a policy directory gone: say so, keep watching
            report_error(str(error), error.hint, error.exit_code)
        sys.stdout.flush()
        print(f"— watching {shown} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        now = before
        while now == before:
            time.sleep(poll)
            now = snapshot(directories)
        changed = sorted(p for p in set(now) | set(before) if now.get(p) != before.get(p))
        names = ", ".join(p.name for p in changed[:5]) + (" …" if len(changed) > 5 else "")
        print(f"— changed: {names}; running again\n", file=sys.stderr, flush=True)
