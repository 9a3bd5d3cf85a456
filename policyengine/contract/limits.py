"""The claim contract's size limits: the one home of the numbers.

Every reader of claims enforces them while reading — `adjudicate` and `explain` (a file or
standard input), `batch`, `diff`, Spark and the HTTP service — so that an oversized claim is
refused before it is held in memory, with the error at its JSON path (docs/claims.md):

    MAX_CLAIM_BYTES      the JSON text of one claim (a batch line with its line ending)
    MAX_ITEMS            `items`
    MAX_DIAGNOSES        `visit.diagnoses`
    MAX_HISTORY_ENTRIES  `history.dispensed` and `history.services`, each

A claim within them settles in bounded memory (a few times its size) and time.
"""

from __future__ import annotations

from typing import BinaryIO, Final, NamedTuple

MAX_CLAIM_BYTES: Final = 4 * 1024 * 1024
MAX_ITEMS: Final = 10_000
MAX_DIAGNOSES: Final = 100
MAX_HISTORY_ENTRIES: Final = 20_000


class Oversized(NamedTuple):
    """A claim that was not read because its text is larger than MAX_CLAIM_BYTES: what
    readers hand on in place of the text, so that it is refused like any broken claim."""

    size: int | None  # bytes, when known (a batch line); None: more than the limit

    @property
    def message(self) -> str:
        size = f"{self.size:,} bytes, " if self.size is not None else ""
        return f"the claim is {size}more than the contract's limit of {MAX_CLAIM_BYTES:,} bytes"


def read_claim_bytes(stream: BinaryIO, limit: int = MAX_CLAIM_BYTES) -> bytes | Oversized:
    """At most `limit` bytes of one claim from `stream` (a file, standard input, a request
    body), or Oversized — never more than `limit` + 1 bytes in memory."""
    data = stream.read(limit + 1)
    return Oversized(None) if len(data) > limit else data


def oversized(text: str | bytes) -> Oversized | None:
    """Oversized when a claim's JSON text is larger than MAX_CLAIM_BYTES in UTF-8, else None
    (a short text is not encoded to count it)."""
    if isinstance(text, bytes) or len(text) * 4 <= MAX_CLAIM_BYTES:
        size = len(text)
    else:
        size = len(text.encode("utf-8", "surrogatepass"))
    return Oversized(size) if size > MAX_CLAIM_BYTES else None
