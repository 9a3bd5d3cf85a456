"""The batch's pool holds SIGINT and SIGTERM while its own code runs: an interrupt raised
midway through ProcessPoolExecutor.submit's write to the pool's wakeup pipe could leave the
pool's manager thread waiting forever, and the batch hung on SIGTERM (seen once)."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from types import FrameType
from typing import Any

import pytest

from policyengine.batch.pool import WorkerPool


class Stopped(Exception):
    pass


def stop(_signum: int, _frame: FrameType | None) -> None:
    raise Stopped


def square(value: int) -> int:
    return value * value


def test_a_signal_inside_submit_is_delivered_once_submit_has_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []
    real_submit = ProcessPoolExecutor.submit

    def submit_hit_by_sigterm(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)  # its handler runs here, at the next bytecode
        events.append("signal sent")
        future = real_submit(self, fn, *args, **kwargs)
        events.append("submitted")
        return future

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        pool = WorkerPool(1)
        with pool.holding_interrupts():
            monkeypatch.setattr(ProcessPoolExecutor, "submit", submit_hit_by_sigterm)
            with pytest.raises(Stopped):
                pool.submit(square, 3)
            events.append("delivered")
            monkeypatch.undo()
            assert pool.submit(square, 4).result(timeout=60) == 16  # the pool still works
            pool.shutdown()
        assert events == ["signal sent", "submitted", "delivered"]
        assert signal.getsignal(signal.SIGTERM) is stop  # the handler before it, restored
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_outside_the_pools_code_a_signal_is_delivered_at_once() -> None:
    previous = signal.signal(signal.SIGTERM, stop)
    pool = WorkerPool(1)
    try:
        with pool.holding_interrupts(), pytest.raises(Stopped):
            signal.raise_signal(signal.SIGTERM)
    finally:
        pool.shutdown()
        signal.signal(signal.SIGTERM, previous)


def test_sigint_held_inside_shutdown_ends_as_keyboard_interrupt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_shutdown = ProcessPoolExecutor.shutdown
    order: list[str] = []

    def shutdown_hit_by_sigint(self: Any, wait: bool = True, **kwargs: Any) -> None:
        signal.raise_signal(signal.SIGINT)
        order.append("interrupted")
        real_shutdown(self, wait, **kwargs)
        order.append("shut down")

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        pool = WorkerPool(1)
        with pool.holding_interrupts():
            monkeypatch.setattr(ProcessPoolExecutor, "shutdown", shutdown_hit_by_sigint)
            with pytest.raises(KeyboardInterrupt):
                pool.shutdown()
        assert order == ["interrupted", "shut down"]
    finally:
        signal.signal(signal.SIGINT, previous)
