"""litcomp.kit.times: every instant is timezone-aware UTC once it is inside litcomp."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from litcomp.kit.times import Instant, as_utc, utcnow


class Window(BaseModel):
    at: Instant


def parse(value: object) -> datetime:
    return Window.model_validate({"at": value}).at


def assert_utc(value: datetime) -> None:
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


class TestInstant:
    @pytest.mark.parametrize("value", [date(2025, 3, 1), "2025-03-01", "  2025-03-01  "])
    def test_plain_date_is_midnight_utc(self, value: object) -> None:
        result = parse(value)
        assert result == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
        assert_utc(result)

    @pytest.mark.parametrize("value", [datetime(2025, 3, 1, 9, 30), "2025-03-01T09:30:00"])
    def test_naive_datetime_is_taken_as_utc(self, value: object) -> None:
        result = parse(value)
        assert result == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
        assert_utc(result)

    def test_z_suffix_is_utc(self) -> None:
        result = parse("2025-03-01T09:30:00Z")
        assert result == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
        assert_utc(result)

    def test_offset_is_converted_to_utc(self) -> None:
        result = parse("2025-03-01T09:30:00+02:00")
        assert_utc(result)
        assert (result.year, result.month, result.day, result.hour, result.minute) == (
            2025,
            3,
            1,
            7,
            30,
        )

    def test_offset_crossing_midnight_moves_the_date(self) -> None:
        result = parse("2025-03-01T01:00:00+02:00")
        assert (result.day, result.hour) == (28, 23)
        assert result.month == 2
        assert_utc(result)

    def test_aware_datetime_object_is_converted_to_utc(self) -> None:
        minus_five = timezone(timedelta(hours=-5))
        result = parse(datetime(2025, 3, 1, 20, 0, tzinfo=minus_five))
        assert result.hour == 1
        assert result.day == 2
        assert_utc(result)

    def test_fractional_seconds_survive(self) -> None:
        result = parse("2025-03-01T09:30:00.123456Z")
        assert result.microsecond == 123456

    @pytest.mark.parametrize(
        "value",
        ["not a date", "", "2025-13-01", "2025-02-30", "01/03/2025", "2025-03-01T25:00"],
    )
    def test_garbage_is_a_validation_error(self, value: str) -> None:
        with pytest.raises(ValidationError) as caught:
            parse(value)
        assert caught.value.errors()[0]["loc"] == ("at",)

    def test_missing_value_is_a_validation_error(self) -> None:
        with pytest.raises(ValidationError):
            Window.model_validate({})

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("1970-01-01", datetime(1970, 1, 1, tzinfo=UTC)),
            ("1970-01-01T00:30:00+01:00", datetime(1969, 12, 31, 23, 30, tzinfo=UTC)),
            ("9998-12-31T23:59:00-23:59", datetime(9999, 1, 1, 23, 58, tzinfo=UTC)),
        ],
    )
    def test_the_year_as_written_is_what_is_bounded(self, value: str, expected: datetime) -> None:
        # The bound is on the year written (1970 to 9998), as the JSON Schema says in a
        # pattern; no offset can then carry a value past what datetime holds.
        assert parse(value) == expected

    @pytest.mark.parametrize(
        "value",
        ["1969-12-31T23:59:59Z", "0001-01-01", "9999-01-01", "9999-12-31T23:00:00-05:00"],
    )
    def test_years_outside_1970_to_9998_are_a_validation_error(self, value: str) -> None:
        with pytest.raises(ValidationError, match="the year must be 1970 to 9998"):
            parse(value)

    def test_serialises_with_utc_offset(self) -> None:
        dumped = Window.model_validate({"at": "2025-03-01T09:30:00+02:00"}).model_dump(mode="json")
        assert dumped == {"at": "2025-03-01T07:30:00Z"}


class TestHelpers:
    def test_utcnow_is_aware_utc_and_current(self) -> None:
        before = datetime.now(UTC)
        now = utcnow()
        after = datetime.now(UTC)
        assert_utc(now)
        assert before <= now <= after

    def test_as_utc_on_naive_keeps_the_wall_clock(self) -> None:
        assert as_utc(datetime(2025, 1, 1, 8)) == datetime(2025, 1, 1, 8, tzinfo=UTC)

    def test_as_utc_on_aware_keeps_the_instant(self) -> None:
        original = datetime(2025, 1, 1, 8, tzinfo=timezone(timedelta(hours=3)))
        converted = as_utc(original)
        assert converted == original
        assert converted.hour == 5
        assert_utc(converted)
