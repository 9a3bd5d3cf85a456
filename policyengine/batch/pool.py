"""The batch's worker pool, which an interrupt never lands inside.

SIGINT and SIGTERM end a batch as a KeyboardInterrupt raised in the main thread, wherever it
is. If it is raised inside ProcessPoolExecutor.submit or shutdown, it can land midway through
a write to the pool's wakeup pipe. The pool's manager thread then waits forever for the rest
of the message, and the batch hangs instead of stopping. (This was seen once in the suite,
on SIGTERM, after tasks became short enough that the parent submits many times a second.)

While the pool's own code runs, SIGINT and SIGTERM are held. Each held signal is delivered,
as its previous handler would have delivered it, as soon as that code returns.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from types import FrameType
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)
Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class WorkerPool(ProcessPoolExecutor):
    """A ProcessPoolExecutor whose submit and shutdown no SIGINT or SIGTERM interrupts
    (`holding_interrupts` installs the handlers that hold them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inside = 0
        self._held: list[tuple[int, FrameType | None]] = []
        self._previous: dict[int, Handler] = {}

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._shielded():
            return super().submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._shielded():
            super().shutdown(wait, cancel_futures=cancel_futures)

    @contextlib.contextmanager
    def holding_interrupts(self) -> Iterator[None]:
        """Hold SIGINT and SIGTERM while the pool's code runs (main thread only: signal
        handlers run nowhere else, so elsewhere there is nothing to hold)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._previous = {number: signal.getsignal(number) for number in HELD_SIGNALS}
        for number in HELD_SIGNALS:
            if self._previous[number] is not None:
                signal.signal(number, self._arrived)
        try:
            yield
        finally:
            for held, previous in self._previous.items():
                if previous is not None:  # None: a handler not set from Python, kept as is
                    signal.signal(held, previous)

    @contextlib.contextmanager
    def _shielded(self) -> Iterator[None]:
        self._inside += 1
        try:
            yield
        finally:
            self._inside -= 1
        if not self._inside:
            held, self._held = self._held, []
            for number, frame in held:
                self._deliver(number, frame)

    def _arrived(self, number: int, frame: FrameType | None) -> None:
        if self._inside:
            self._held.append((number, frame))
        else:
            self._deliver(number, frame)

    def _deliver(self, number: int, frame: FrameType | None) -> None:
        """What the handler in place before the batch would have done with the signal."""
        previous = self._previous.get(number, signal.SIG_DFL)
        if callable(previous):
            previous(number, frame)
        elif previous == signal.SIG_IGN:
            return
        elif number == signal.SIGINT:
            raise KeyboardInterrupt
        else:  # the default action (SIGTERM: the process ends), as if never held
            signal.signal(number, signal.SIG_DFL)
            signal.raise_signal(number)
