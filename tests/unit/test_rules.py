"""litcomp.competitions.rules: a competition's phases and how its entries are placed."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from litcomp.competitions.rules import (
    Action,
    Judging,
    Place,
    Schedule,
    Status,
    Veil,
    ballot_problem,
    check_reschedule,
    judging_fixed,
    placed,
    refusal,
)
from litcomp.kit.times import iso

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
END = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
VOTING_END = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
PLAIN = Schedule(START, END)  # the brief's competition: likes while entries come
VOTED = Schedule(START, END, VOTING_END)


class TestStatus:
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
    def test_without_a_voting_phase(self, now: datetime, expected: Status) -> None:
        assert PLAIN.status(now) is expected

    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            (START - TICK, Status.UPCOMING),
            (START, Status.OPEN),
            (END - TICK, Status.OPEN),
            (END, Status.VOTING),
            (VOTING_END - TICK, Status.VOTING),
            (VOTING_END, Status.FINISHED),
        ],
        ids=["before", "at-start", "before-end", "at-end", "before-voting-end", "at-voting-end"],
    )
    def test_with_a_voting_phase(self, now: datetime, expected: Status) -> None:
        assert VOTED.status(now) is expected

    def test_compares_instants_not_wall_clocks(self) -> None:
        # 13:00 at +02:00 is 11:00 UTC: an hour before START, whatever the clock face says.
        plus_two = datetime(2025, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=2)))
        assert PLAIN.status(plus_two) is Status.UPCOMING

    def test_statuses_serialise_as_lowercase_words(self) -> None:
        assert [str(s) for s in Status] == ["upcoming", "open", "voting", "finished"]

    def test_results_come_at_the_end_of_the_last_phase(self) -> None:
        assert (PLAIN.results_at, VOTED.results_at) == (END, VOTING_END)

    @pytest.mark.parametrize(
        ("now", "expected"),
        [(START - TICK, START), (START, END), (END, VOTING_END), (VOTING_END, None)],
    )
    def test_the_status_changes_at_the_next_boundary(
        self, now: datetime, expected: datetime | None
    ) -> None:
        assert VOTED.changes_at(now) == expected

    def test_phases_must_follow_each_other(self) -> None:
        with pytest.raises(ValueError, match="end_date must be after start_date"):
            Schedule(START, START).check()
        with pytest.raises(ValueError, match="voting_end_date must be after end_date"):
            Schedule(START, END, END).check()
        VOTED.check()


IN = {
    Status.UPCOMING: START - TICK,
    Status.OPEN: START + TICK,
    Status.VOTING: END + TICK,
    Status.FINISHED: VOTING_END + TICK,
}


class TestRefusal:
    """What each phase allows: ``None`` where allowed, else a reason naming the moment."""

    @pytest.mark.parametrize(
        ("schedule", "status", "action", "allowed"),
        [
            (PLAIN, Status.UPCOMING, Action.ENTER, False),
            (PLAIN, Status.UPCOMING, Action.LIKE, False),
            (PLAIN, Status.UPCOMING, Action.COMMENT, False),
            (PLAIN, Status.OPEN, Action.ENTER, True),
            (PLAIN, Status.OPEN, Action.LIKE, True),
            (PLAIN, Status.OPEN, Action.COMMENT, True),
            (PLAIN, Status.FINISHED, Action.ENTER, False),
            (PLAIN, Status.FINISHED, Action.LIKE, False),
            (PLAIN, Status.FINISHED, Action.COMMENT, True),
            (VOTED, Status.OPEN, Action.ENTER, True),
            (VOTED, Status.OPEN, Action.LIKE, False),
            (VOTED, Status.OPEN, Action.COMMENT, True),
            (VOTED, Status.VOTING, Action.ENTER, False),
            (VOTED, Status.VOTING, Action.LIKE, True),
            (VOTED, Status.VOTING, Action.COMMENT, True),
            (VOTED, Status.FINISHED, Action.ENTER, False),
            (VOTED, Status.FINISHED, Action.LIKE, False),
            (VOTED, Status.FINISHED, Action.COMMENT, True),
        ],
    )
    def test_by_phase(
        self, schedule: Schedule, status: Status, action: Action, allowed: bool
    ) -> None:
        now = IN[status] if schedule is VOTED or status is not Status.FINISHED else END + TICK
        assert schedule.status(now) is status
        why = refusal(action, schedule, comments_after_results=True, now=now)
        assert (why is None) is allowed, why

    @pytest.mark.parametrize("status", list(Status))
    def test_drafts_are_saved_until_entries_close(self, status: Status) -> None:
        why = refusal(Action.DRAFT, VOTED, comments_after_results=True, now=IN[status])
        assert (why is None) is (status in (Status.UPCOMING, Status.OPEN)), why

    def test_comments_may_close_with_the_results(self) -> None:
        why = refusal(Action.COMMENT, VOTED, comments_after_results=False, now=IN[Status.FINISHED])
        assert why == f"the competition finished at {iso(VOTING_END)}; comments are closed"
        during = refusal(Action.COMMENT, VOTED, comments_after_results=False, now=IN[Status.VOTING])
        assert during is None

    def test_the_reason_says_when_things_change(self) -> None:
        assert (
            refusal(Action.LIKE, VOTED, comments_after_results=True, now=IN[Status.OPEN])
            == f"likes open when voting starts at {iso(END)}"
        )
        assert (
            refusal(Action.ENTER, VOTED, comments_after_results=True, now=IN[Status.VOTING])
            == f"entries closed at {iso(END)}; the competition is voting"
        )
        assert (
            refusal(Action.ENTER, VOTED, comments_after_results=True, now=IN[Status.UPCOMING])
            == f"the competition opens at {iso(START)}"
        )


@dataclass(frozen=True)
class FakeEntry:
    name: str
    like_count: int
    created_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def entry(name: str, likes: int, minute: int) -> FakeEntry:
    return FakeEntry(name, likes, START + timedelta(minutes=minute))


def places(result: list[Place[FakeEntry]]) -> list[tuple[int, bool, str]]:
    return [(p.place, p.tied, p.entry.name) for p in result]


class TestPlaced:
    """Standard competition ranking: equal likes share a place ("1, 2, 2, 4")."""

    def test_no_entries_no_places(self) -> None:
        assert placed([]) == []

    def test_single_entry_is_first_and_not_tied(self) -> None:
        only = entry("only", 0, 0)
        assert placed([only]) == [Place(1, False, only)]

    def test_most_likes_first(self) -> None:
        entries = [entry("few", 1, 0), entry("most", 9, 1), entry("some", 4, 2)]
        assert places(placed(entries)) == [
            (1, False, "most"),
            (2, False, "some"),
            (3, False, "few"),
        ]

    def test_equal_likes_share_a_place_and_the_next_places_skip(self) -> None:
        entries = [
            entry("top", 9, 5),
            entry("later", 5, 10),
            entry("earlier", 5, 3),
            entry("next", 2, 0),
            entry("last", 1, 1),
        ]
        assert places(placed(entries)) == [
            (1, False, "top"),
            (2, True, "earlier"),  # listed oldest first within the place
            (2, True, "later"),
            (4, False, "next"),
            (5, False, "last"),
        ]

    def test_with_no_likes_at_all_everyone_is_tied_for_first(self) -> None:
        entries = [entry(f"e{i}", 0, minute=i) for i in range(4)]
        assert {(p.place, p.tied) for p in placed(entries)} == {(1, True)}

    def test_a_tie_at_the_bottom(self) -> None:
        entries = [entry("a", 3, 0), entry("b", 0, 1), entry("c", 0, 2)]
        assert places(placed(entries)) == [(1, False, "a"), (2, True, "b"), (2, True, "c")]

    def test_likes_outrank_age(self) -> None:
        entries = [entry("old-unloved", 0, 0), entry("new-loved", 1, 60)]
        assert places(placed(entries)) == [(1, False, "new-loved"), (2, False, "old-unloved")]

    def test_a_place_is_one_more_than_the_entries_with_more_likes(self) -> None:
        entries = [entry(f"e{i}", likes=(i * 7) % 5, minute=(7 * i) % 11) for i in range(23)]
        for p in placed(entries):
            better = sum(e.like_count > p.entry.like_count for e in entries)
            equal = sum(e.like_count == p.entry.like_count for e in entries)
            assert (p.place, p.tied) == (better + 1, equal > 1)

    def test_input_order_does_not_matter(self) -> None:
        entries = [entry("a", 2, 5), entry("b", 2, 1), entry("c", 7, 9), entry("d", 0, 0)]
        assert places(placed(entries)) == places(placed(list(reversed(entries))))

    def test_input_is_left_untouched(self) -> None:
        entries = [entry("a", 1, 0), entry("b", 2, 1)]
        snapshot = list(entries)
        placed(entries)
        assert entries == snapshot

    def test_accepts_any_sequence(self) -> None:
        entries = (entry("a", 1, 0), entry("b", 2, 1))
        assert places(placed(entries)) == [(1, False, "b"), (2, False, "a")]


class TestSameInstant:
    def test_entries_made_in_the_same_instant_are_listed_by_id(self) -> None:
        low, high = uuid.UUID(int=1), uuid.UUID(int=2)
        same = START + timedelta(minutes=5)
        result = placed([FakeEntry("high", 0, same, high), FakeEntry("low", 0, same, low)])
        assert places(result) == [(1, True, "low"), (1, True, "high")]


class TestReschedule:
    NOW = START + timedelta(hours=1)  # the competition is open

    def test_an_open_competition_keeps_its_start(self) -> None:
        with pytest.raises(ValueError, match="start_date cannot change"):
            check_reschedule(PLAIN, Schedule(START + timedelta(minutes=1), END), now=self.NOW)

    def test_an_open_competition_may_end_later_or_sooner_but_not_in_the_past(self) -> None:
        for new_end in (END + timedelta(days=1), self.NOW + timedelta(minutes=1)):
            check_reschedule(PLAIN, Schedule(START, new_end), now=self.NOW)
        with pytest.raises(ValueError, match="in the future"):
            check_reschedule(PLAIN, Schedule(START, self.NOW - timedelta(seconds=1)), now=self.NOW)

    def test_an_open_competition_may_gain_change_or_lose_its_voting_phase(self) -> None:
        check_reschedule(PLAIN, VOTED, now=self.NOW)
        check_reschedule(VOTED, Schedule(START, END, VOTING_END + TICK), now=self.NOW)
        check_reschedule(VOTED, PLAIN, now=self.NOW)
        with pytest.raises(ValueError, match="voting_end_date must be after end_date"):
            check_reschedule(VOTED, Schedule(START, END, END - TICK), now=self.NOW)

    def test_in_voting_only_the_voting_end_moves_and_only_ahead(self) -> None:
        now = END + timedelta(days=1)
        check_reschedule(VOTED, Schedule(START, END, VOTING_END + timedelta(days=1)), now=now)
        with pytest.raises(ValueError, match="end_date cannot change once voting"):
            check_reschedule(VOTED, Schedule(START, END + TICK, VOTING_END), now=now)
        with pytest.raises(ValueError, match="must be in the future"):
            check_reschedule(VOTED, Schedule(START, END, now - TICK), now=now)
        with pytest.raises(ValueError, match="must be in the future"):
            check_reschedule(VOTED, PLAIN, now=now)  # would finish it at once

    def test_an_upcoming_competition_may_move_freely_but_must_end_after_it_starts(self) -> None:
        before = START - timedelta(days=1)
        later = Schedule(START + timedelta(days=3), END + timedelta(days=4))
        check_reschedule(PLAIN, later, now=before)
        with pytest.raises(ValueError, match="after start_date"):
            check_reschedule(PLAIN, Schedule(END, START), now=before)


class TestVeil:
    AUTHOR, READER = uuid.uuid4(), uuid.uuid4()

    @pytest.mark.parametrize("status", [Status.UPCOMING, Status.OPEN, Status.VOTING])
    def test_an_anonymous_competition_hides_authors_from_all_but_them_and_admins(
        self, status: Status
    ) -> None:
        def veil(viewer: uuid.UUID | None, admin: bool = False) -> Veil:
            return Veil.over(anonymous=True, status=status, viewer_id=viewer, viewer_is_admin=admin)

        assert veil(None).hides_author(self.AUTHOR)
        assert veil(self.READER).hides_author(self.AUTHOR)
        assert not veil(self.AUTHOR).hides_author(self.AUTHOR)
        assert not veil(self.READER, admin=True).hides_author(self.AUTHOR)
        # Like counts: hidden from everyone, the author and admins included.
        assert all(v.hides_likes for v in (veil(None), veil(self.AUTHOR), veil(None, True)))

    def test_results_reveal_everything(self) -> None:
        veil = Veil.over(anonymous=True, status=Status.FINISHED, viewer_id=None)
        assert not veil.hides_author(self.AUTHOR) and not veil.hides_likes

    @pytest.mark.parametrize("status", list(Status))
    def test_other_competitions_hide_nothing(self, status: Status) -> None:
        veil = Veil.over(anonymous=False, status=status, viewer_id=self.READER)
        assert not veil.hides_author(self.AUTHOR) and not veil.hides_likes


class TestJudging:
    A, B, C, D = (uuid.uuid4() for _ in range(4))

    @pytest.mark.parametrize(
        ("ballot", "expected"),
        [
            ([A, B, C], None),
            ([A, B], "too_short"),
            ([A, B, A], "duplicate"),
            ([A, B, D], "own_entry"),
            ([A, B, uuid.UUID(int=0)], "unknown_entry"),
        ],
    )
    def test_a_ballot_ranks_three_entries_or_more_each_once_none_ones_own(
        self, ballot: list[uuid.UUID], expected: str | None
    ) -> None:
        problem = ballot_problem(ballot, {self.A, self.B, self.C, self.D}, {self.D})
        assert (problem[0] if problem else None) == expected

    @pytest.mark.parametrize(
        ("schedule", "now", "fixed"),
        [
            (VOTED, START - TICK, False),  # upcoming
            (VOTED, START, False),  # open, voting still ahead
            (VOTED, END, True),  # voting
            (PLAIN, START - TICK, False),
            (PLAIN, START, True),  # likes are the votes while open
            (PLAIN, END, True),  # finished
        ],
    )
    def test_judging_is_fixed_once_votes_may_be_cast(
        self, schedule: Schedule, now: datetime, fixed: bool
    ) -> None:
        assert (judging_fixed(schedule, now) is not None) is fixed

    @pytest.mark.parametrize("judging", [Judging.JUDGES, Judging.RANKED])
    def test_likes_are_hidden_until_the_results_when_they_are_not_the_vote(
        self, judging: Judging
    ) -> None:
        running = Veil.over(anonymous=False, status=Status.VOTING, viewer_id=None, judging=judging)
        assert running.hides_likes and not running.hides_author(self.A)
        done = Veil.over(anonymous=False, status=Status.FINISHED, viewer_id=None, judging=judging)
        assert not done.hides_likes

    def test_places_follow_the_score_given(self) -> None:
        @dataclass(frozen=True)
        class Scored:
            id: uuid.UUID
            like_count: int
            created_at: datetime
            score: float

        entries = [
            Scored(self.A, 9, START, 3.5),
            Scored(self.B, 0, START + TICK, 8.0),
            Scored(self.C, 5, START + 2 * TICK, 3.5),
        ]
        places = placed(entries, lambda e: e.score)
        assert [(p.entry.id, p.place, p.tied) for p in places] == [
            (self.B, 1, False),
            (self.A, 2, True),
            (self.C, 2, True),
        ]
