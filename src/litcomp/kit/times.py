"""Time in litcomp is always timezone-aware UTC."""

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import BeforeValidator


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A naive datetime is taken to be UTC already; an aware one is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _parse_instant(value: object) -> object:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time.min, UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.combine(date.fromisoformat(text), time.min, UTC)
        except ValueError:
            pass
        try:
            return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            raise ValueError("expected an ISO-8601 date or datetime") from None
    return value


Instant = Annotated[datetime, BeforeValidator(_parse_instant)]
"""A request field holding an ISO-8601 datetime (naive means UTC) or a plain date
(midnight UTC); always validated to an aware UTC datetime."""
