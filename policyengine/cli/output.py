"""What every command shares: exit codes, error lines, JSON output, reading a claim.

Exit status: 0 ok; 1 findings or failures; 2 bad input; 3 internal error (cli/main.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine.errors import PolicyNotFound

if TYPE_CHECKING:
    from policyengine.engine import Engine

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def report_error(message: str, hint: str | None, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return code


def write_json(data: Any, *, pretty: bool = False) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2 if pretty else None)
    sys.stdout.write(text + "\n")


def read_claim_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        raise PolicyNotFound(f"claim file {source} not found")
    return path.read_text(encoding="utf-8")


def engine_for(policy: Path | None) -> Engine:
    from policyengine.engine import Engine

    return Engine.load(policy)
