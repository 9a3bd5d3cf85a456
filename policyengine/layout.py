"""Which files make up a policy directory: shared by the loader and the warm (cached) path,
which must not import the parser or the checker."""

from __future__ import annotations

from pathlib import Path

from policyengine.errors import PolicyNotFound


def policy_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.policy") if p.is_file())


def bundled_policies() -> Path:
    """`policies/` of a checkout, or the copy an installed wheel carries."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_policies", here.parent / "policies"):
        if candidate.is_dir():
            return candidate
    raise PolicyNotFound(
        "no bundled policies found (neither policies/ nor policyengine/_policies/)"
    )
