"""The provisional notes of a result (`provisional`, ../spec/claims.md §3): the one home of
their wording, `file:line subject (provisional: reason)`.

The IR writes them (ir.Note), and a note on a row's or a rule's dates says so in its subject,
`… effective from 2019-01-01`; explain reads them back (`read_note`) to show them in the
reader's language. The wording is part of the result contract: programs that read results
may rely on it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_NOTE = re.compile(r"(?P<location>\S+) (?P<subject>.*) \(provisional: (?P<reason>.*)\)", re.DOTALL)
_DATES = re.compile(r"(?P<subject>.*) effective (?P<dates>from \S+|until \S+|\S+ – \S+|always)")
_RANGE = re.compile(r"(?:from (?P<start>\S+))?(?:until (?P<end>\S+))?|(?P<a>\S+) – (?P<b>\S+)")


@dataclass(frozen=True)
class NoteParts:
    """A note read back: where, what (in rule-file words), the dates when the note is on
    dates (`start`/`end`, None for an open end), and why it is provisional."""

    location: str
    subject: str
    reason: str
    on_dates: bool = False
    start: str | None = None
    end: str | None = None


def note_text(location: str, subject: str, reason: str) -> str:
    return f"{location} {subject} (provisional: {reason})"


def dates_subject(subject: str, start: dt.date | None, end: dt.date | None) -> str:
    """The subject of a note on dates: `ratio inpatient (scheme resident) effective from …`."""
    if start and end:
        shown = f"{start} – {end}"
    elif start or end:
        shown = f"from {start}" if start else f"until {end}"
    else:
        shown = "always"
    return f"{subject} effective {shown}"


def read_note(text: str) -> NoteParts | None:
    """A note's parts; None for a text that is not a note (it is then shown as it is)."""
    match = _NOTE.fullmatch(text)
    if match is None:
        return None
    location, subject, reason = match["location"], match["subject"], match["reason"]
    dated = _DATES.fullmatch(subject)
    if dated is None:
        return NoteParts(location, subject, reason)
    span = _RANGE.fullmatch(dated["dates"])
    start = end = None
    if span is not None:
        start = span["start"] or span["a"]
        end = span["end"] or span["b"]
    return NoteParts(location, dated["subject"], reason, True, start, end)
