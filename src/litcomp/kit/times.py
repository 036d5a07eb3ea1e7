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


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _parse_instant(value: object) -> datetime:
    if isinstance(value, str):
        value = _from_iso(value.strip())
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        instant = datetime.combine(value, time.min, UTC)
    else:
        raise ValueError("expected an ISO-8601 date or datetime string")
    try:
        instant = as_utc(instant)
    except OverflowError:
        raise ValueError("out of range") from None
    if not EARLIEST <= instant <= LATEST:
        raise ValueError("must be between 1970 and 9999")
    return instant


def _from_iso(text: str) -> date | datetime:
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("expected an ISO-8601 date or datetime") from None


Instant = Annotated[datetime, BeforeValidator(_parse_instant)]
"""A request field holding an ISO-8601 datetime (naive means UTC) or a plain date
(midnight UTC); always validated to an aware UTC datetime."""
