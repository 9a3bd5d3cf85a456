"""Which files make up a policy directory: shared by the loader and the warm (cached) path,
which must not import the parser or the checker."""

from __future__ import annotations

from pathlib import Path


def policy_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.policy") if p.is_file())
