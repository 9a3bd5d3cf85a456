"""The two versions `policyengine diff` compares: a policy directory, the same directory at
a git ref (exported to a temporary directory, never touching the working tree), or one
policy at two dates."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal, overload

from policyengine.diff.words import version_label
from policyengine.engine import Engine
from policyengine.errors import PolicyEngineError, PolicyNotFound
from policyengine.layout import policy_files

if TYPE_CHECKING:
    from policyengine.diff.schema import DescribedVersion


class BaseNotFound(PolicyEngineError):
    """--base is neither a directory nor a git ref of the policy's repository."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Version:
    """One side of a diff: the engine, the date its rules are taken at, and how it is named."""

    engine: Engine
    as_of: str | None
    policy: str  # the directory, or `REF:path` for a git ref
    ref: str | None = None

    @property
    def label(self) -> str:
        return version_label(self.policy, self.ref, self.as_of)

    def describe(self) -> DescribedVersion:
        return {"policy": self.policy, "ref": self.ref, "as_of": self.as_of, "label": self.label}


def load(path: Path, *, cache: bool = True) -> Engine:
    return Engine.load(path, cache=cache)


def base_version(
    base: str, policy: Path, as_of: str | None, stack: ExitStack, *, cache: bool = True
) -> Version:
    """`base` as a directory if one exists by that name, else as a git ref of the
    repository holding `policy`, whose policies at that ref are exported to a temporary
    directory (removed when `stack` closes)."""
    candidate = Path(base)
    if candidate.is_dir():
        return Version(load(candidate, cache=cache), as_of, str(candidate))
    directory = export(base, policy, stack)
    relative = _relative(policy)
    return Version(load(directory, cache=False), as_of, relative, ref=base)


@overload
def _git(args: list[str], cwd: Path, *, binary: Literal[False] = False) -> str | None: ...
@overload
def _git(args: list[str], cwd: Path, *, binary: Literal[True]) -> bytes | None: ...
def _git(args: list[str], cwd: Path, *, binary: bool = False) -> str | bytes | None:
    """git's output (text, or bytes when `binary`), None when git fails."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=False, text=not binary
        )
    except FileNotFoundError:
        raise BaseNotFound("--base is not a directory, and git is not installed") from None
    if done.returncode != 0:
        return None
    output: str | bytes = done.stdout
    return output


def _top(policy: Path) -> Path:
    top = _git(["rev-parse", "--show-toplevel"], policy)
    if top is None:
        raise BaseNotFound(
            f"--base: no directory of that name, and {policy} is not in a git repository",
            hint="give --base a policy directory, or a git ref of the repository holding --policy",
        )
    return Path(top.strip()).resolve()


def _relative(policy: Path) -> str:
    policy = policy.resolve()
    return policy.relative_to(_top(policy)).as_posix() or "."


def export(ref: str, policy: Path, stack: ExitStack) -> Path:
    """The policy directory (or directory of policies) `policy` as it was at `ref`, with
    the sibling layers it may use, in a fresh temporary directory."""
    policy = policy.resolve()
    top = _top(policy)
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top) is None:
        raise BaseNotFound(
            f"--base {ref}: no such directory, and not a git ref of {top}",
            hint="a directory of policies, or a commit, tag or branch (e.g. HEAD~3, main)",
        )
    relative = PurePosixPath(policy.relative_to(top).as_posix())
    single = bool(policy_files(policy))
    # a policy's layers are its sibling directories (`uses national` → ../national)
    scope = relative.parent if single else relative
    listing = _git(["ls-tree", "-r", "--name-only", ref, "--", f"{scope}/"], top) or ""
    depth = 0 if str(scope) == "." else len(scope.parts)
    directories = sorted(
        {
            str(PurePosixPath(*PurePosixPath(name).parts[: depth + 1]))
            for name in listing.splitlines()
            if name.endswith(".policy") and len(PurePosixPath(name).parts) == depth + 2
        }
    )
    if single and str(relative) not in directories:
        raise BaseNotFound(f"--base {ref}: {relative} holds no policy at {ref}")
    if not directories:
        raise BaseNotFound(f"--base {ref}: no policies under {scope} at {ref}")
    archive = _git(["archive", "--format=tar", ref, "--", *directories], top, binary=True)
    if archive is None:
        raise BaseNotFound(f"--base {ref}: git archive failed")
    target = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="policyengine-diff-")))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    exported = target / relative
    if not exported.is_dir():
        raise PolicyNotFound(f"--base {ref}: {relative} does not exist at {ref}")
    return exported
