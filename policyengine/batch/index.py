"""Phase 1 of a batch: index the input by (person, visit date, line) in sorted runs on disk,
then merge them so each person's claims come together in date order, cut into tasks.

Memory stays flat whatever the input size: at most INDEX_RUN entries are sorted at once,
and runs are read back in blocks of RUN_BLOCK while merging.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import marshal
import operator
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import orjson

from policyengine.contract.claims import ClaimRejected, parse_json
from policyengine.contract.limits import MAX_CLAIM_BYTES, Oversized

INDEX_RUN = 100_000  # index entries sorted in memory at once
RUN_BLOCK = 2_000  # entries per block of a run file, the unit read back while merging
MERGE_FAN_IN = 32  # runs merged at once (more are merged in levels)
# claims per task (whole persons): the unit of parallel work and of --resume
TASK_CLAIMS = int(os.environ.get("POLICYENGINE_BATCH_TASK_CLAIMS", "5000"))
TASKS_PER_BATCH = 16
MIN_TASK_CLAIMS = 100  # below this a task's own cost (its files, fsync'd) begins to count
TAPER = 4  # the last tasks are a TAPER-th of the claims left (see tasks)
# how tasks are cut, which --resume must not change (2: tapered to the end, see tasks)
TASK_CUT = 2
Entry = tuple[str, str, int, int, int]  # person, date, input line, byte offset, length
BLOCK_LENGTH_BYTES = 4
# what a work directory's index is written as (its manifest says): --resume re-indexes one
# written by an engine that wrote another (2: length-prefixed blocks in `index-*.blocks`)
INDEX_FORMAT = 2


class _Named(msgspec.Struct):
    id: object = None


class _Dated(msgspec.Struct):
    date: object = None


class _Keyed(msgspec.Struct):
    """What the index reads of a claim; msgspec skips everything else without building it
    (0.8 µs a claim where parsing the whole claim took 2.8)."""

    person: _Named | None = None
    visit: _Dated | None = None


_KEYS = msgspec.json.Decoder(_Keyed)


def sort_key(line: bytes, number: int) -> tuple[str, str]:
    """(person, date) for ordering; a line that is not a claim sorts alone and fails later."""
    if len(line) > MAX_CLAIM_BYTES:  # never parsed: refused as too large when settled
        return f"\x00{number}", ""
    try:
        keyed = _KEYS.decode(line)
    except msgspec.DecodeError:  # not JSON, or not shaped like a claim: read as it may be
        return _parsed_sort_key(line, number)
    person = keyed.person.id if keyed.person is not None else None
    date = keyed.visit.date if keyed.visit is not None else None
    if isinstance(person, str) and isinstance(date, str):
        return person, date
    return f"\x00{number}", ""


def _parsed_sort_key(line: bytes, number: int) -> tuple[str, str]:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        # what orjson refuses but the claim parser accepts (a byte-order mark, NaN in a field
        # the contract ignores, a lone surrogate) must still sort with its person
        try:
            data = parse_json(line)
        except ClaimRejected:
            data = None
    try:
        person, date = data["person"]["id"], data["visit"]["date"]
        if isinstance(person, str) and isinstance(date, str):
            return person, date
    except (TypeError, KeyError):
        pass
    return f"\x00{number}", ""


def scan(
    path: Path, jobs: int, work: Path, progress: Any, executor: ProcessPoolExecutor | None = None
) -> tuple[int, int, list[Path]]:
    """Index the input in sorted runs. Returns (claims, blank lines, run files).

    With worker processes, the input is cut at line boundaries into chunks keyed in parallel
    (their newlines counted first, also in parallel, to number each chunk's first line)."""
    size = path.stat().st_size
    if executor is None:
        chunks = _chunks(path, 1, size)
    else:
        chunks = _chunks(path, 4 * jobs, size, executor.map)
    if executor is None:
        results = [scan_chunk(path, *chunks[0], work, 0)]
        progress.indexed(results[0][0], size)
    else:
        futures = [
            executor.submit(scan_chunk, path, *chunk, work, index)
            for index, chunk in enumerate(chunks)
        ]
        results = []
        for (start, end, _first), future in zip(chunks, futures, strict=True):
            results.append(future.result())
            progress.indexed(results[-1][0], end - start)
    claims = sum(r[0] for r in results)
    blank = sum(r[1] for r in results)
    return claims, blank, [work / name for r in results for name in r[2]]


def _chunks(
    path: Path, parts: int, size: int, count_with: Callable[..., Iterable[int]] = map
) -> list[tuple[int, int, int]]:
    """(start, end, number of the first line) of `parts` line-aligned pieces of the file.
    Each piece's newlines are counted by `count_with` (the pool's `map`: in the workers, in
    parallel; counting in the parent was 0.1 s of a two-job run's serial part)."""
    bounds = [0]
    with path.open("rb") as handle:
        for part in range(1, parts):
            handle.seek(max(bounds[-1], size * part // parts))
            _skip_line(handle)  # to the end of the line the cut falls in
            position = handle.tell()
            if bounds[-1] < position < size:
                bounds.append(position)
    bounds.append(size)
    pieces = list(itertools.pairwise(bounds))
    counted = pieces[:-1]  # the last piece's lines number no piece after it
    counts = count_with(
        count_lines, [path] * len(counted), [s for s, _ in counted], [e for _, e in counted]
    )
    firsts = itertools.accumulate(counts, initial=1)
    return [(start, end, first) for (start, end), first in zip(pieces, firsts, strict=True)]


def count_lines(path: Path, start: int, end: int) -> int:
    """The newlines in bytes [start, end) of the file."""
    lines = 0
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = end - start
        while remaining:
            block = handle.read(min(remaining, 1 << 23))
            if not block:  # the file shrank: its lines are numbered as they were
                break
            lines += block.count(b"\n")
            remaining -= len(block)
    return lines


def scan_chunk(
    path: Path, start: int, end: int, first: int, work: Path, chunk: int
) -> tuple[int, int, list[str]]:
    """Key the lines of one chunk into sorted runs; (claims, blank lines, run names)."""
    runs: list[str] = []
    pending: list[Entry] = []
    claims = blank = 0
    with path.open("rb", buffering=1 << 20) as source:  # (8 KiB reads: a system call each)
        source.seek(start)
        offset = start
        number = first
        while offset < end:
            line = source.readline(MAX_CLAIM_BYTES + 1)
            if not line:
                break
            length = len(line)
            huge = length > MAX_CLAIM_BYTES
            if huge and not line.endswith(b"\n"):
                length += _skip_line(source)  # too large to be a claim: not held in memory
            if huge or line.strip():
                person, date = sort_key(line, number)
                pending.append((person, date, number, offset, length))
                claims += 1
                if len(pending) >= INDEX_RUN:
                    runs.append(_write_run(work, f"{chunk:04d}-{len(runs):04d}", pending).name)
                    pending = []
            else:
                blank += 1
            offset += length
            number += 1
    if pending:
        runs.append(_write_run(work, f"{chunk:04d}-{len(runs):04d}", pending).name)
    return claims, blank, runs


def _skip_line(source: BinaryIO) -> int:
    """Read past the rest of a line in bounded pieces; how many bytes it had."""
    skipped = 0
    while True:
        piece = source.readline(1 << 20)
        skipped += len(piece)
        if not piece or piece.endswith(b"\n"):
            return skipped


class ClaimSource:
    """The input's indexed lines, read by (offset, length) with one positioned read each
    (os.pread: 1.6 µs a claim where a seek and a buffered read took 3.4). Not a memory
    map, though it is faster still (0.9 µs): an input truncated while the batch runs would
    kill the process with SIGBUS, where a short read makes the one claim malformed."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._fd = self._file.fileno()

    def read(self, offset: int, length: int) -> bytes | Oversized:
        """An indexed line's bytes, or Oversized (unread) when larger than a claim may be."""
        if length > MAX_CLAIM_BYTES:
            return Oversized(length)
        if _PREAD is not None:
            return _PREAD(self._fd, length, offset)
        self._file.seek(offset)
        return self._file.read(length)

    def close(self) -> None:
        self._file.close()


_PREAD: Callable[[int, int, int], bytes] | None = getattr(os, "pread", None)  # POSIX only


@contextlib.contextmanager
def claim_source(path: Path) -> Iterator[ClaimSource]:
    source = ClaimSource(path)
    try:
        yield source
    finally:
        source.close()


def _write_run(work: Path, name: str, entries: Iterable[Entry], *, presorted: bool = False) -> Path:
    """A sorted run as a sequence of small marshalled blocks, so reading it back streams.
    Each block is behind its length: marshal.loads of a block's bytes is 20 times faster
    than marshal.load from the file, which reads it a few bytes at a time."""
    if not presorted:
        entries = sorted(entries)
    path = work / f"index-{name}.blocks"
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        block: list[Entry] = []
        for entry in entries:
            block.append(entry)
            if len(block) == RUN_BLOCK:
                _write_block(handle, block)
                block = []
        if block:
            _write_block(handle, block)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def _write_block(handle: BinaryIO, block: list[Entry]) -> None:
    data = marshal.dumps(block)
    handle.write(len(data).to_bytes(BLOCK_LENGTH_BYTES, "little"))
    handle.write(data)


def _read_run(path: Path) -> Iterator[Entry]:
    with path.open("rb") as handle:
        while length := handle.read(BLOCK_LENGTH_BYTES):
            yield from marshal.loads(handle.read(int.from_bytes(length, "little")))


def _merged(runs: list[Path], work: Path) -> Iterator[Entry]:
    """All entries in order, never holding more than a block per run: past MERGE_FAN_IN
    runs, groups of runs are first merged into longer ones (a multi-level merge)."""
    level = 0
    while len(runs) > MERGE_FAN_IN:
        level += 1
        merged_runs = []
        for start in range(0, len(runs), MERGE_FAN_IN):
            group = runs[start : start + MERGE_FAN_IN]
            stream = heapq.merge(*(_read_run(path) for path in group))
            merged_runs.append(
                _write_run(work, f"merged-{level}-{start:06d}", stream, presorted=True)
            )
        runs = merged_runs
    return heapq.merge(*(_read_run(path) for path in runs))


def _persons(runs: list[Path]) -> Iterator[list[Entry]]:
    """Each person's entries, persons in order, each person's claims by (date, line)."""
    work = runs[0].parent if runs else Path(".")
    # grouped in C: a loop over the entries here was a third of the parent's work with --jobs
    for _person, entries in itertools.groupby(_merged(runs, work), key=_PERSON):
        yield list(entries)


_PERSON = operator.itemgetter(0)


def task_size(claims: int) -> int:
    """Claims per task for a batch of `claims`: TASK_CLAIMS at most, and few enough that a
    batch is cut into TASKS_PER_BATCH tasks where it has the claims for tasks of
    MIN_TASK_CLAIMS — so that every job of --jobs has work (a batch of 600 claims was one
    task, which one worker settled while the others waited). A function of the input alone,
    so that --resume cuts the same tasks whatever --jobs it is given."""
    return min(TASK_CLAIMS, max(MIN_TASK_CLAIMS, -(-claims // TASKS_PER_BATCH)))


def tasks(
    runs: list[Path], claims: int | None = None, total: int | None = None
) -> Iterator[list[list[Entry]]]:
    """Tasks of whole persons, each of `claims` (TASK_CLAIMS) claims or a little more (a
    person's claims are never split).

    Given `total`, the batch's claim count, the last tasks taper: each is at most a TAPER-th
    of the claims not yet cut (and at least MIN_TASK_CLAIMS), so that the jobs finish
    together. With tasks of one size, one job settled the last task while the others waited,
    half a task on average: 5% of a two-job run of 100,000 claims."""
    claims = TASK_CLAIMS if claims is None else claims
    remaining = total
    task: list[list[Entry]] = []
    size = 0
    for group in _persons(runs):
        task.append(group)
        size += len(group)
        if size >= _tapered(claims, remaining):
            yield task
            remaining = None if remaining is None else remaining - size
            task, size = [], 0
    if task:
        yield task


def _tapered(claims: int, remaining: int | None) -> int:
    if remaining is None:
        return claims
    return min(claims, max(MIN_TASK_CLAIMS, remaining // TAPER))
