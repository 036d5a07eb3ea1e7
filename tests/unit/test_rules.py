"""litcomp.competitions.rules: a competition's lifecycle and how its entries are placed."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from litcomp.competitions.rules import Status, check_reschedule, placed, status_at

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
END = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


class TestStatusAt:
    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            (START - timedelta(days=30), Status.UPCOMING),
            (START - TICK, Status.UPCOMING),
            (START, Status.OPEN),
            (START + TICK, Status.OPEN),
            (END - TICK, Status.OPEN),
            (END, Status.FINISHED),
            (END + TICK, Status.FINISHED),
            (END + timedelta(days=365), Status.FINISHED),
        ],
        ids=[
            "long-before-start",
            "just-before-start",
            "at-start-is-open",
            "just-after-start",
            "just-before-end",
            "at-end-is-finished",
            "just-after-end",
            "long-after-end",
        ],
    )
    def test_status_by_moment(self, now: datetime, expected: Status) -> None:
        assert status_at(start=START, end=END, now=now) is expected

    def test_compares_instants_not_wall_clocks(self) -> None:
        # 13:00 at +02:00 is 11:00 UTC: an hour before START, whatever the clock face says.
        plus_two = datetime(2025, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=2)))
        assert status_at(start=START, end=END, now=plus_two) is Status.UPCOMING

    def test_statuses_serialise_as_lowercase_words(self) -> None:
        assert [str(status) for status in Status] == ["upcoming", "open", "finished"]


@dataclass(frozen=True)
class FakeEntry:
    name: str
    like_count: int
    created_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def entry(name: str, likes: int, minute: int) -> FakeEntry:
    return FakeEntry(name, likes, START + timedelta(minutes=minute))


def names(result: list[tuple[int, FakeEntry]]) -> list[tuple[int, str]]:
    return [(place, placed_entry.name) for place, placed_entry in result]


class TestPlaced:
    def test_no_entries_no_places(self) -> None:
        assert placed([]) == []

    def test_single_entry_is_first(self) -> None:
        only = entry("only", 0, 0)
        assert placed([only]) == [(1, only)]

    def test_most_likes_first(self) -> None:
        entries = [entry("few", 1, 0), entry("most", 9, 1), entry("some", 4, 2)]
        assert names(placed(entries)) == [(1, "most"), (2, "some"), (3, "few")]

    def test_tie_goes_to_the_earlier_entry(self) -> None:
        entries = [entry("later", 5, 10), entry("earlier", 5, 3), entry("latest", 5, 20)]
        assert names(placed(entries)) == [(1, "earlier"), (2, "later"), (3, "latest")]

    def test_likes_outrank_age(self) -> None:
        entries = [entry("old-unloved", 0, 0), entry("new-loved", 1, 60)]
        assert names(placed(entries)) == [(1, "new-loved"), (2, "old-unloved")]

    def test_every_entry_gets_a_distinct_place_from_one_to_n(self) -> None:
        entries = [entry(f"e{i}", likes=i % 3, minute=(7 * i) % 11) for i in range(11)]
        result = placed(entries)
        assert [place for place, _ in result] == list(range(1, len(entries) + 1))
        assert sorted(e.name for _, e in result) == sorted(e.name for e in entries)
        keys = [(-e.like_count, e.created_at) for _, e in result]
        assert keys == sorted(keys)

    def test_input_order_does_not_matter(self) -> None:
        entries = [entry("a", 2, 5), entry("b", 2, 1), entry("c", 7, 9), entry("d", 0, 0)]
        assert names(placed(entries)) == names(placed(list(reversed(entries))))

    def test_input_is_left_untouched(self) -> None:
        entries = [entry("a", 1, 0), entry("b", 2, 1)]
        snapshot = list(entries)
        placed(entries)
        assert entries == snapshot

    def test_accepts_any_sequence(self) -> None:
        entries = (entry("a", 1, 0), entry("b", 2, 1))
        assert names(placed(entries)) == [(1, "b"), (2, "a")]


class TestSameInstant:
    def test_entries_made_in_the_same_instant_are_ordered_by_id(self) -> None:
        low, high = uuid.UUID(int=1), uuid.UUID(int=2)
        same = START + timedelta(minutes=5)
        result = placed([FakeEntry("high", 0, same, high), FakeEntry("low", 0, same, low)])
        assert names(result) == [(1, "low"), (2, "high")]


class TestReschedule:
    NOW = START + timedelta(hours=1)  # the competition is open

    def test_an_open_competition_keeps_its_start(self) -> None:
        with pytest.raises(ValueError, match="start_date cannot change"):
            check_reschedule(
                start=START,
                end=END,
                new_start=START + timedelta(minutes=1),
                new_end=END,
                now=self.NOW,
            )

    def test_an_open_competition_may_end_later_or_sooner_but_not_in_the_past(self) -> None:
        for new_end in (END + timedelta(days=1), self.NOW + timedelta(minutes=1)):
            check_reschedule(start=START, end=END, new_start=START, new_end=new_end, now=self.NOW)
        with pytest.raises(ValueError, match="in the future"):
            check_reschedule(
                start=START,
                end=END,
                new_start=START,
                new_end=self.NOW - timedelta(seconds=1),
                now=self.NOW,
            )

    def test_an_upcoming_competition_may_move_freely_but_must_end_after_it_starts(self) -> None:
        before = START - timedelta(days=1)
        check_reschedule(
            start=START,
            end=END,
            new_start=START + timedelta(days=3),
            new_end=END + timedelta(days=4),
            now=before,
        )
        with pytest.raises(ValueError, match="after start_date"):
            check_reschedule(start=START, end=END, new_start=END, new_end=START, now=before)
