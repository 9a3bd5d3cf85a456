"""A batch's files: the paths it may write (checked before anything runs), its work directory
and the manifest `--resume` checks, the merged output, and atomic writes.

- The output is a regular file (or standard output, `-o -`), never the input, never a link,
  FIFO or device; it is written to a temporary beside it and renamed, so it is complete or
  absent, and a failed write leaves no temporary behind.
- The work directory is `<output>.work/` beside a file output (the same file system, so the
  results can be renamed into place), or a per-user state directory for `-o -`. A work
  directory carries a mark; a directory without it is never used, resumed or removed.
- `--resume` continues only the same batch: the same input file, options and rules (each
  region's compiled policy content and the engine, see BatchOptions.fingerprint).
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import io
import json
import operator
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, BinaryIO

from policyengine.batch.index import INDEX_FORMAT, scan
from policyengine.batch.options import BatchOptions
from policyengine.errors import PolicyEngineError

WORK_MARK = "policyengine-batch"  # the file that makes a work directory this engine's


class BatchPathRefused(PolicyEngineError):
    """An input, output or work path the batch must not use (exit 2)."""


class ResumeRefused(PolicyEngineError):
    """`--resume` of a work directory made for another input, other options or other rules."""

    def __init__(self, message: str, work: Path) -> None:
        super().__init__(message)
        self.hint = (
            f"remove {work} to settle everything afresh, or restore the input, options and "
            "rules it was started with"
        )


def check_paths(options: BatchOptions, *others: Path) -> None:
    """Refuse what would destroy data or write where it must not: the output (and any other
    file the command writes, such as --summary-json) is a regular file or absent, not the
    input, not a link."""
    if not options.input.is_file():
        raise BatchPathRefused(f"input {options.input} is not a file")
    written = [] if options.to_stdout else [("-o", options.output)]
    written += [("--summary-json", path) for path in others]
    for flag, path in written:
        _check_output(flag, path, options.input)
    names = [path.resolve() for _flag, path in written]
    if len(set(names)) != len(names):
        raise BatchPathRefused("two outputs name the same file")


def _check_output(flag: str, path: Path, input_path: Path) -> None:
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise BatchPathRefused(f"{flag} {path}: no such directory {path.parent}") from None
        return
    if stat.S_ISLNK(status.st_mode):
        raise BatchPathRefused(
            f"{flag} {path} is a symbolic link: give the path of the file itself"
        )
    if not stat.S_ISREG(status.st_mode):
        raise BatchPathRefused(
            f"{flag} {path} is not a regular file (a directory, FIFO or device): batch "
            "writes regular files only, or standard output with `-o -`"
        )
    if os.path.samefile(path, input_path):
        raise BatchPathRefused(f"{flag} {path} is the input file: it would be overwritten")


def work_dir(options: BatchOptions) -> Path:
    if options.to_stdout:
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        key = hashlib.sha256(str(options.input.resolve()).encode()).hexdigest()[:16]
        return Path(state) / "policyengine" / "batch" / f"{options.input.name}-{key}.work"
    return options.output.with_name(options.output.name + ".work")


def _check_ours(work: Path) -> None:
    if work.is_symlink() or not work.is_dir() or not (work / WORK_MARK).is_file():
        raise BatchPathRefused(
            f"{work} exists and is not a work directory of `policyengine batch`: it is left "
            "alone; remove or rename it, or choose another output"
        )


def prepare(
    options: BatchOptions,
    rules: dict[str, str],
    progress: Any,
    executor: ProcessPoolExecutor | None = None,
) -> tuple[Path, dict[str, Any]]:
    """The work directory with its index: reused on --resume, built afresh otherwise."""
    work = work_dir(options)
    fingerprint = options.fingerprint(options.input.stat(), rules)
    manifest_path = work / "manifest.json"
    if work.exists() or work.is_symlink():
        _check_ours(work)
        if not options.resume:
            raise BatchPathRefused(
                f"{work} holds an unfinished batch: rerun with --resume to continue it, or "
                "remove it"
            )
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        indexed = bool(manifest and manifest.get("index_format") == INDEX_FORMAT)
        if manifest and manifest["fingerprint"] == fingerprint and indexed:
            progress.indexed(manifest["claims"], fingerprint["size"])
            return work, manifest
        if manifest and manifest["fingerprint"] != fingerprint:
            raise ResumeRefused(_what_changed(work, manifest["fingerprint"], fingerprint), work)
        # ours, interrupted before its index was complete, or indexed in another format by
        # an earlier engine: started afresh
        shutil.rmtree(work)
    work.mkdir(parents=True, mode=0o700)
    (work / WORK_MARK).write_text("a work directory of `policyengine batch`\n")
    claims, blank, runs = scan(options.input, options.jobs, work, progress, executor)
    manifest = {
        "fingerprint": fingerprint,
        "indexed": True,
        "index_format": INDEX_FORMAT,
        "claims": claims,
        "blank_lines": blank,
        "runs": [p.name for p in runs],
    }
    write_atomic(manifest_path, json.dumps(manifest).encode())
    return work, manifest


def _what_changed(work: Path, old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
    if "rules" in changed or "engine" in changed:
        before, now = old.get("rules") or {}, new.get("rules") or {}
        regions = sorted(r for r in set(before) | set(now) if before.get(r) != now.get(r))
        which = f" (regions: {', '.join(regions)})" if regions else " (the engine)"
        return (
            f"--resume refused: the rules changed since {work} was started{which}; its "
            "finished claims were settled under the old rules, and one output must not mix "
            "two rule versions"
        )
    return (
        f"--resume refused: the input or the options changed since {work} was started "
        f"({', '.join(changed)})"
    )


# A task's records, one a line behind its input line number in fixed width: the files' lines
# sort as bytes, so they merge as read (heapq compares them in C), and the number is cut off by
# a slice in C. (Parsing "number<TAB>" per record in a generator was 4% of a one-job batch.)
RECORD_NUMBER_DIGITS = 12
_RECORD_LINE = b"%%0%dd\t%%s\n" % RECORD_NUMBER_DIGITS  # b"%012d\t%s\n"
_RECORD_AT = RECORD_NUMBER_DIGITS + 1  # the record begins after the number and its tab


def task_file(work: Path, number: int) -> Path:
    return work / f"task-{number:06d}.records"


def task_records(records: list[tuple[int, bytes]]) -> bytes:
    """A task file's content: `records` (input line number, record) in input order."""
    records.sort()
    return b"".join([_RECORD_LINE % record for record in records])


def merge(work: Path, count: int, options: BatchOptions) -> None:
    """The task files merged by input line into the output: written to a temporary that is
    renamed into place (removed if anything fails), or streamed to standard output."""
    with contextlib.ExitStack() as files:
        # bytes throughout: a record is copied as the worker wrote it, never decoded
        # reading and writing in large blocks: with 8 KiB buffers, the system calls cost three
        # times the merge itself (memory stays flat: the read buffers share 16 MiB)
        reading = max(io.DEFAULT_BUFFER_SIZE, min(1 << 20, (16 << 20) // max(count, 1)))
        handles = [
            files.enter_context(task_file(work, n).open("rb", buffering=reading))
            for n in range(count)
        ]
        records = map(operator.itemgetter(slice(_RECORD_AT, None)), heapq.merge(*handles))
        if options.to_stdout:
            out = sys.stdout.buffer
            out.writelines(records)
            out.flush()
            return
        with _writing(options.output) as stream:
            stream.writelines(records)


@contextlib.contextmanager
def _writing(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """A file written whole or not at all: a temporary beside it (not following a link
    planted in its name), flushed to disk (unless not `durable`), then renamed over `path`."""
    temporary = path.with_name(f".{path.name}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    if temporary.is_symlink():  # not ours: written through, it would land elsewhere
        temporary.unlink()
    try:
        with os.fdopen(os.open(temporary, flags, 0o666), "wb", buffering=1 << 20) as stream:
            yield stream
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:  # a full disk or an interrupt leaves neither half a file nor a temporary
        temporary.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """`data` at `path`, whole or not at all; on disk before it is renamed there unless not
    `durable` (a task's records: DoneMarks flushes them before the task is marked done)."""
    with _writing(path, durable=durable) as stream:
        stream.write(data)


class DoneMarks:
    """Marks tasks done, in a thread of its own: a task's records file is flushed to disk,
    and only then its done mark written, so `--resume` trusts no records that a crash of
    the machine could have lost. With one job the thread also writes the task file (`take`):
    the settling never waits for the disk, nor for the kernel's copy of the records (on this
    VM writing a 5,000-claim task file took 25-40 ms, its flush 5-40 ms: together 6-9% of a
    one-job batch). A failure is raised at the next task, or when the marks are closed."""

    BACKLOG = 2  # task files' contents held for the thread at most (memory stays flat)

    def __init__(self, work: Path) -> None:
        self._work = work
        self._done = work / "done"
        self._done.mkdir(exist_ok=True)
        # (its thread starts at the first mark: after the first task, so after the worker
        # processes are forked)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="done-marks")
        self._pending: list[Future[None]] = []

    def path(self, number: int) -> Path:
        return self._done / f"{number:06d}.json"

    def take(self, number: int, records: bytes) -> None:
        """Write task `number`'s file (its content `records`) in the thread: the thread does
        everything in order, so its mark (`mark`) follows the whole file."""
        self._collect(self.BACKLOG - 1)
        path = task_file(self._work, number)
        self._pending.append(self._thread.submit(write_atomic, path, records, durable=False))

    def mark(self, number: int, part: dict[str, Any]) -> None:
        self._collect(None)
        records = task_file(self._work, number)
        done = self._thread.submit(_mark, records, self.path(number), json.dumps(part).encode())
        self._pending.append(done)

    def _collect(self, most: int | None) -> None:
        """Raise what failed; first wait until at most `most` jobs are left (None: no wait)."""
        if most is not None:
            while len(self._pending) > most:
                self._pending.pop(0).result()
        still = []
        for earlier in self._pending:
            if earlier.done():
                earlier.result()  # raises what failed
            else:
                still.append(earlier)
        self._pending = still

    def __enter__(self) -> DoneMarks:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        # the marks of finished tasks, even when interrupted: waited for as futures, never by
        # Thread.join alone — on Python 3.11 an interrupt raised inside join marks the thread
        # stopped while it still runs (threading.py, bpo-45274), and the interpreter then
        # exits midway through its write, leaving a temporary behind
        interrupt = self._wait_all()
        self._thread.shutdown(wait=True)  # an idle thread by now: nothing left to cut short
        if kind is None:
            for done in self._pending:
                done.result()
            if interrupt is not None:
                raise interrupt  # the batch is interrupted, its finished tasks marked

    def _wait_all(self) -> KeyboardInterrupt | None:
        """Wait until the thread has done everything; an interrupt meanwhile (SIGINT, or
        SIGTERM as the batch raises it) is returned, once the wait is over (a few flushes)."""
        interrupt = None
        while True:
            try:
                wait(self._pending)
                return interrupt
            except KeyboardInterrupt as arrived:
                interrupt = arrived


def _mark(records: Path, mark: Path, part: bytes) -> None:
    descriptor = os.open(records, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # the file's data, whichever process wrote it
    finally:
        os.close(descriptor)
    write_atomic(mark, part)
