"""Request bodies, read within their limits.

A body is counted while it arrives: a declared `Content-Length` over the limit is refused
before anything is read, and a body that grows past it (chunked, or lying about its length)
is refused at the chunk that crosses it — never read whole first (413). A sender too slow to
deliver the body within `read_seconds` gets 408. An NDJSON stream is split into lines as it
arrives and its claims are counted as they come.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request

    from policyengine.contract.fastclaim import Claim
    from policyengine.service.config import Limits


class TooLarge(Exception):
    """413: the request is over one of the limits (at JSON path `path`, "" the whole)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class TooSlow(Exception):
    """408: the body did not arrive within the time allowed."""


async def read_body(request: Request, limit: int, seconds: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge("", f"the body is {int(declared):,} bytes; this service accepts {limit:,}")
    chunks: list[bytes] = []
    total = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                total += len(chunk)
                if total > limit:
                    raise TooLarge("", f"the body is over {limit:,} bytes, the most accepted")
                chunks.append(chunk)
    except TimeoutError:
        raise TooSlow(f"the body did not arrive within {seconds:g} s") from None
    return b"".join(chunks)


async def read_stream(
    request: Request, limit: int, claims: int, seconds: float
) -> list[tuple[int, bytes]]:
    """The stream's claims, each with its 0-based line index (blank lines are skipped but
    counted, as batch numbers them), counting bytes and claims as they arrive."""
    lines: list[tuple[int, bytes]] = []
    pending = b""
    total = number = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                total += len(chunk)
                if total > limit:
                    raise TooLarge("", f"the stream is over {limit:,} bytes, the most accepted")
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    number = _take(lines, number, line, claims)
    except TimeoutError:
        raise TooSlow(f"the stream did not arrive within {seconds:g} s") from None
    _take(lines, number, pending, claims)
    return lines


def _take(lines: list[tuple[int, bytes]], number: int, line: bytes, claims: int) -> int:
    if line.strip():
        if len(lines) >= claims:
            raise TooLarge("", f"over {claims:,} claims in one stream, the most accepted")
        lines.append((number, line))
    return number + 1


def check_claim_size(claim: Claim, limits: Limits) -> None:
    """A parsed claim's lines and history entries against the limits (before settling)."""
    if len(claim.items) > limits.items:
        raise TooLarge(
            "items",
            f"{len(claim.items):,} lines; this service settles at most {limits.items:,} a claim",
        )
    history = claim.history
    entries = len(history.dispensed) + len(history.services)
    if entries > limits.history:
        raise TooLarge(
            "history",
            f"{entries:,} dispensing and service records; this service accepts at most "
            f"{limits.history:,} a claim",
        )
