"""The competition rules that need no database: lifecycle, dates, placing."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

EXCERPT_CHARS = 300


class Status(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    FINISHED = "finished"


def status_at(*, start: datetime, end: datetime, now: datetime) -> Status:
    """upcoming before the start, open from the start until the end, finished after."""
    if now < start:
        return Status.UPCOMING
    if now < end:
        return Status.OPEN
    return Status.FINISHED


def check_dates(*, start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValueError("end_date must be after start_date")


def check_reschedule(
    *, start: datetime, end: datetime, new_start: datetime, new_end: datetime, now: datetime
) -> None:
    """May an admin move a competition's dates? Raises ValueError saying why not.

    Once open, its start is history and its end may only move to a time still ahead;
    a finished competition is not rescheduled at all (the caller refuses earlier).
    """
    check_dates(start=new_start, end=new_end)
    if status_at(start=start, end=end, now=now) is Status.OPEN:
        if new_start != start:
            raise ValueError("start_date cannot change once the competition is open")
        if new_end <= now:
            raise ValueError("end_date of an open competition must be in the future")


class Entry(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def like_count(self) -> int: ...

    @property
    def created_at(self) -> datetime: ...


E = TypeVar("E", bound=Entry)


def placed(entries: Sequence[E]) -> list[tuple[int, E]]:
    """Entries with their places: most likes first, a tie going to the earlier entry
    (and, for entries made in the same instant, to the smaller id).

    Every entry gets its own place (1, 2, 3, ...): the tie-break leaves no ties.
    """
    ordered = sorted(entries, key=lambda e: (-e.like_count, e.created_at, e.id))
    return list(enumerate(ordered, start=1))
