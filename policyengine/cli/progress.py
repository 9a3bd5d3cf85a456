"""Long runs on the command line: the progress bar, the SIGTERM handler and the batch summary
(shared by `batch`, `batch --engine spark` and `diff`)."""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from policyengine.batch.local import Summary


class Progress:
    """Rich progress bars on a terminal, silent otherwise. Both count claims: while the input
    is indexed, the claims found so far (the bar moves with the bytes read, the one measure
    known in advance); while they are settled, claims settled of all."""

    def __init__(self, enabled: bool, input_size: int, console: Any = None) -> None:
        self.bar: Any = None
        if not enabled:
            return
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[counted]}"),
            TimeRemainingColumn(),
            transient=True,
            console=console,
        )
        self.bar.start()
        self.found = 0
        self.scan = self.bar.add_task("indexing", total=input_size, counted="0 claims")
        self.settle: Any = None

    def indexed(self, claims: int, size: int) -> None:
        """`claims` more claims found in `size` more bytes of the input."""
        if self.bar is not None:
            self.found += claims
            self.bar.update(self.scan, advance=size, counted=f"{self.found:,} claims")

    def start_settling(self, claims: int) -> None:
        if self.bar is not None:
            self.settle = self.bar.add_task(
                "settling", total=claims, counted=f"0/{claims:,} claims"
            )

    def advance_claims(self, count: int) -> None:
        if self.bar is not None and self.settle is not None:
            task = self.bar.tasks[self.settle]
            done = int(task.completed) + count
            self.bar.update(
                self.settle, advance=count, counted=f"{done:,}/{int(task.total or 0):,} claims"
            )

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def interrupt_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    """A SIGTERM handler: end a long run as an interrupt does, so its cleanup runs."""
    raise KeyboardInterrupt


class Shown(Protocol):
    """What the summary names: BatchOptions, or the Spark batch's input and output."""

    @property
    def input(self) -> object: ...
    @property
    def output(self) -> object: ...
    @property
    def jobs(self) -> int: ...


def print_summary(summary: Summary, options: Shown) -> None:
    from rich.console import Console

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    decisions = ", ".join(f"{k} {v}" for k, v in sorted(summary.decisions.items())) or "none"
    console.print(f"[bold]batch[/] {options.input} → {options.output}")
    console.print(
        f"  claims   {summary.records:,} ({summary.settled:,} settled, {summary.errors:,} errors"
        + (f", {summary.blank_lines} blank lines skipped" if summary.blank_lines else "")
        + ")"
    )
    console.print(f"  decisions {decisions}")
    console.print(
        f"  fund {summary.fund:,.2f} · critical illness {summary.critical_illness:,.2f} · "
        f"patients {summary.patient:,.2f}"
    )
    resumed = f", {summary.resumed_tasks} task(s) resumed" if summary.resumed_tasks else ""
    console.print(
        f"  {summary.seconds:.1f} s, {summary.throughput:,.0f} claims/s with {options.jobs} "
        f"job(s){resumed}"
    )
    if summary.errors:
        console.print(
            f"  [red]{summary.errors} claim(s) failed[/]: see their error records in "
            f"{options.output}"
        )
