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
    """A claim file's text, or standard input's (`-`), read within the contract's size limit:
    ClaimRejected for a larger or non-UTF-8 claim, never more than the limit in memory."""
    from policyengine.contract.claims import ClaimRejected, ContractError
    from policyengine.contract.limits import Oversized, read_claim_bytes

    if source == "-":
        data = read_claim_bytes(sys.stdin.buffer)
    else:
        path = Path(source)
        if not path.is_file():
            raise PolicyNotFound(f"claim file {source} not found")
        with path.open("rb") as stream:
            data = read_claim_bytes(stream)
    if isinstance(data, Oversized):
        raise ClaimRejected(None, [ContractError("", data.message)])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ClaimRejected(
            None, [ContractError("", f"not UTF-8 text (byte {error.start + 1})")]
        ) from None


def engine_for(policy: Path | None) -> Engine:
    from policyengine.engine import Engine

    return Engine.load(policy)
