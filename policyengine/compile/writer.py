"""Writing Python source safely and deterministically.

Generated code never contains rule-file text except as `repr()` of a parsed value, and
identifiers it emits come from the vocabulary or are generated (`_T3`, `_R7`). Literals
of sets and dicts are sorted, so the same policy always yields the same source.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from policyengine.diagnostics import printable
from policyengine.semantics.values import Band, BandsVal

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Code:
    """Lines of Python at an indentation level."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.level = 0

    def __call__(self, text: str = "") -> None:
        self.lines.append(("    " * self.level + text) if text else "")

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self(header)
        self.level += 1
        yield
        self.level -= 1

    def comment(self, text: str) -> None:
        """A `# …` line. Its text may hold user text (a rule file's name): a line break in it
        would end the comment and make the rest code, so every unprintable character
        (line breaks, controls, lone surrogates) is written as its escape."""
        self(f"# {printable(text)}")

    def extend(self, other: Code) -> None:
        for line in other.lines:
            self(line) if line else self()

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def ident(name: str) -> str:
    """An identifier the generator emits; anything else is a bug, never user text."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"refusing to emit identifier {name!r}")
    return name


class Raw(str):
    """A name the generator made (a generated function); emitted as an identifier."""


def literal(value: Any) -> str:
    """Python source for a parsed value; deterministic (sets and dicts sorted)."""
    if isinstance(value, Raw):
        return ident(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Decimal):
        return f"_D({str(value)!r})"
    if isinstance(value, dt.date):
        return f"_date({value.year}, {value.month}, {value.day})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, frozenset | set):
        items = sorted(value, key=_sort_key)
        return (
            "frozenset({" + ", ".join(literal(v) for v in items) + "})" if items else "frozenset()"
        )
    if isinstance(value, dict):
        keys = sorted(value, key=_sort_key)
        return "{" + ", ".join(f"{literal(k)}: {literal(value[k])}" for k in keys) + "}"
    if isinstance(value, BandsVal):
        bands = ", ".join(literal(b) for b in value.bands)
        cumulative = ", cumulative=True" if value.cumulative else ""
        return (
            f"_Bands({literal(value.threshold)}, ({bands},), "
            f"{literal(value.ceiling)}, {literal(value.payment_cap)}{cumulative})"
        )
    if isinstance(value, Band):
        by_level = f", {literal(value.level_rates)}" if value.level_rates is not None else ""
        return (
            f"_Band({literal(value.low)}, {literal(value.high)}, {literal(value.rate)}{by_level})"
        )
    raise TypeError(f"no literal for {type(value).__name__}")


def _sort_key(value: Any) -> tuple[Any, ...]:
    """A total order independent of hashing (PYTHONHASHSEED): sets by their sorted elements."""
    if value is None:
        return (0,)
    if isinstance(value, frozenset | set):
        return (3, tuple(sorted(_sort_key(v) for v in value)))
    if isinstance(value, tuple):
        return (2, tuple(_sort_key(v) for v in value))
    return (1, type(value).__name__, repr(value))


class Constants:
    """A pool of module-level constants: each distinct literal gets one name."""

    def __init__(self, prefix: str = "_K") -> None:
        self.prefix = prefix
        self.names: dict[str, str] = {}
        self.order: list[tuple[str, str]] = []

    def __call__(self, value: Any) -> str:
        source = literal(value)
        if source in self.names:
            return self.names[source]
        name = f"{self.prefix}{len(self.order)}"
        self.names[source] = name
        self.order.append((name, source))
        return name

    def emit(self, code: Code) -> None:
        for name, source in self.order:
            code(f"{name} = {source}")
