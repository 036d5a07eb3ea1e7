"""The competition rules that need no database: lifecycle and placing."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar


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


class Entry(Protocol):
    @property
    def like_count(self) -> int: ...

    @property
    def created_at(self) -> datetime: ...


E = TypeVar("E", bound=Entry)


def placed(entries: Sequence[E]) -> list[tuple[int, E]]:
    """Entries with their places: most likes first, a tie going to the earlier entry.

    Every entry gets its own place (1, 2, 3, ...): the tie-break leaves no ties.
    """
    ordered = sorted(entries, key=lambda entry: (-entry.like_count, entry.created_at))
    return list(enumerate(ordered, start=1))
