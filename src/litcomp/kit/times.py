"""Time in litcomp is always timezone-aware UTC."""

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A naive datetime is taken to be UTC already; an aware one is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(moment: datetime) -> str:
    """An instant as the API writes it everywhere: RFC 3339 in UTC, with a Z."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


FIRST_YEAR = 1970
LAST_YEAR = 9998
"""Years an instant may be written in. Kept a year clear of what ``datetime`` holds,
so that no UTC offset can carry a written time out of range when it is converted."""

_YEAR_PATTERN = "^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"


def _parse_instant(value: object) -> datetime:
    if isinstance(value, str):
        value = _from_iso(value.strip())
    if isinstance(value, datetime):
        written = value
    elif isinstance(value, date):
        written = datetime.combine(value, time.min, UTC)
    else:
        raise ValueError("expected an ISO-8601 date or datetime string")
    if not FIRST_YEAR <= written.year <= LAST_YEAR:
        raise ValueError(f"the year must be {FIRST_YEAR} to {LAST_YEAR}")
    return as_utc(written)


def _from_iso(text: str) -> date | datetime:
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("expected an ISO-8601 date or datetime") from None


INSTANT_JSON_SCHEMA = {
    "type": "string",
    "anyOf": [{"format": "date-time"}, {"format": "date"}],
    "pattern": _YEAR_PATTERN,
    "description": "An RFC 3339 date-time, or a date (midnight UTC), in the years "
    f"{FIRST_YEAR} to {LAST_YEAR}. A date-time without an offset is taken as UTC.",
    "examples": ["2026-03-01T09:30:00Z", "2026-03-01"],
}

Instant = Annotated[datetime, BeforeValidator(_parse_instant), WithJsonSchema(INSTANT_JSON_SCHEMA)]
"""A request field holding an ISO-8601 datetime (naive means UTC) or a plain date
(midnight UTC), written in the years 1970 to 9998; always validated to an aware UTC
datetime. Its JSON Schema says exactly that."""
