"""litcomp.kit.breaker: the circuit breaker for one upstream instance, driven by a fake clock.

CLOSED --(threshold consecutive failures)--> OPEN --(cooldown elapsed, next attempt)-->
HALF_OPEN --(probe succeeds)--> CLOSED, or --(probe fails)--> OPEN with a longer cooldown.
"""

import pytest

from litcomp.kit.breaker import BreakerPolicy, CircuitBreaker, State
from tests.support import FakeClock

START = 1000.0
EPSILON = 1e-6

Recorded = tuple[CircuitBreaker, State, State, str]


class Recorder:
    """An ``on_transition`` callback that remembers every call, in order."""

    def __init__(self) -> None:
        self.calls: list[Recorded] = []

    def __call__(self, breaker: CircuitBreaker, old: State, new: State, reason: str) -> None:
        self.calls.append((breaker, old, new, reason))

    @property
    def moves(self) -> list[tuple[State, State]]:
        return [(old, new) for _, old, new, _ in self.calls]

    @property
    def reasons(self) -> list[str]:
        return [reason for *_, reason in self.calls]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def breaker(clock: FakeClock, recorder: Recorder) -> CircuitBreaker:
    return CircuitBreaker("users-1", clock=clock, on_transition=recorder)


def state_of(breaker: CircuitBreaker) -> State:
    """``breaker.state``, read so that mypy does not keep it narrowed across method calls."""
    return breaker.state


def trip(breaker: CircuitBreaker, reason: str = "timeout") -> None:
    """Report as many consecutive failures as it takes to open a closed breaker."""
    for _ in range(breaker.policy.failure_threshold):
        breaker.failed(reason)
    assert breaker.state is State.OPEN


def start_probe(breaker: CircuitBreaker, clock: FakeClock) -> None:
    """Wait out the current cooldown and claim the probe."""
    clock.advance(breaker.cooldown)
    assert breaker.attempt() is True
    assert breaker.state is State.HALF_OPEN


class TestPolicy:
    def test_defaults(self) -> None:
        policy = BreakerPolicy()
        assert policy.failure_threshold == 3
        assert policy.cooldown == 10.0
        assert policy.backoff == 2.0
        assert policy.max_cooldown == 120.0

    def test_states_are_strings_for_logs_and_metrics(self) -> None:
        assert [str(s) for s in State] == ["closed", "open", "half_open"]


class TestClosed:
    def test_starts_closed_and_available(self, breaker: CircuitBreaker) -> None:
        assert breaker.name == "users-1"
        assert breaker.state is State.CLOSED
        assert breaker.failures == 0
        assert breaker.cooldown == BreakerPolicy().cooldown
        assert breaker.available() is True

    def test_lets_every_request_through(self, breaker: CircuitBreaker, recorder: Recorder) -> None:
        assert all(breaker.attempt() for _ in range(100))
        assert breaker.state is State.CLOSED
        assert recorder.calls == []

    def test_stays_closed_below_the_threshold(
        self, breaker: CircuitBreaker, recorder: Recorder
    ) -> None:
        breaker.failed("timeout")
        breaker.failed("timeout")
        assert breaker.state is State.CLOSED
        assert breaker.failures == 2
        assert breaker.available() is True
        assert breaker.attempt() is True
        assert recorder.calls == []

    def test_a_success_resets_the_consecutive_count(
        self, breaker: CircuitBreaker, recorder: Recorder
    ) -> None:
        breaker.failed("timeout")
        breaker.failed("timeout")
        breaker.succeeded()
        assert breaker.failures == 0
        breaker.failed("timeout")
        breaker.failed("timeout")
        assert breaker.state is State.CLOSED
        assert breaker.failures == 2
        assert recorder.calls == []

    def test_a_success_while_closed_reports_no_transition(
        self, breaker: CircuitBreaker, recorder: Recorder
    ) -> None:
        breaker.succeeded()
        assert breaker.state is State.CLOSED
        assert recorder.calls == []

    @pytest.mark.parametrize("threshold", [1, 3, 5])
    def test_opens_at_exactly_the_threshold(
        self, clock: FakeClock, recorder: Recorder, threshold: int
    ) -> None:
        breaker = CircuitBreaker(
            "b",
            BreakerPolicy(failure_threshold=threshold),
            clock=clock,
            on_transition=recorder,
        )
        for _ in range(threshold - 1):
            breaker.failed("timeout")
        assert breaker.state is State.CLOSED
        breaker.failed("timeout")
        assert state_of(breaker) is State.OPEN
        assert recorder.moves == [(State.CLOSED, State.OPEN)]

    def test_open_reason_names_the_count_and_the_last_failure(
        self, breaker: CircuitBreaker, recorder: Recorder
    ) -> None:
        breaker.failed("timeout")
        breaker.failed("connection refused")
        breaker.failed("HTTP 503")
        [(who, old, new, reason)] = recorder.calls
        assert (who, old, new) == (breaker, State.CLOSED, State.OPEN)
        assert "3" in reason
        assert "HTTP 503" in reason
        assert "connection refused" not in reason


class TestOpen:
    def test_is_unavailable_and_refuses_attempts(
        self, breaker: CircuitBreaker, recorder: Recorder
    ) -> None:
        trip(breaker)
        assert breaker.available() is False
        assert breaker.attempt() is False
        assert breaker.state is State.OPEN
        assert recorder.moves == [(State.CLOSED, State.OPEN)]

    def test_refuses_until_just_before_the_cooldown_has_elapsed(
        self, breaker: CircuitBreaker, clock: FakeClock
    ) -> None:
        trip(breaker)
        clock.advance(breaker.cooldown - EPSILON)
        assert breaker.available() is False
        assert breaker.attempt() is False
        assert breaker.state is State.OPEN

    def test_is_available_once_the_cooldown_has_elapsed_exactly(
        self, breaker: CircuitBreaker, clock: FakeClock
    ) -> None:
        trip(breaker)
        clock.advance(10.0)
        assert breaker.available() is True

    def test_cooldown_counts_from_the_moment_it_opened_not_the_first_failure(
        self, breaker: CircuitBreaker, clock: FakeClock
    ) -> None:
        breaker.failed("timeout")
        clock.advance(5.0)
        breaker.failed("timeout")
        clock.advance(4.0)
        breaker.failed("timeout")  # opens at START + 9
        clock.advance(10.0 - EPSILON)
        assert breaker.available() is False
        clock.advance(EPSILON)
        assert breaker.available() is True

    def test_failures_while_open_just_count(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        """Stragglers sent before it opened may still fail: they are counted, nothing else.

        No transition, no longer cooldown, and the cooldown is not restarted.
        """
        trip(breaker)
        clock.advance(5.0)
        for _ in range(4):
            breaker.failed("late timeout")
        assert breaker.state is State.OPEN
        assert breaker.failures == 3 + 4
        assert breaker.cooldown == 10.0
        assert recorder.moves == [(State.CLOSED, State.OPEN)]
        clock.advance(5.0)
        assert breaker.available() is True

    def test_a_late_success_while_open_does_not_close_it(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        trip(breaker)
        breaker.succeeded()  # a request sent while still closed answers late
        assert breaker.state is State.OPEN
        assert breaker.available() is False
        assert recorder.moves == [(State.CLOSED, State.OPEN)]


class TestHalfOpen:
    def test_first_attempt_after_the_cooldown_is_the_probe(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        trip(breaker)
        clock.advance(10.0)
        assert breaker.attempt() is True
        assert breaker.state is State.HALF_OPEN
        assert recorder.moves[-1] == (State.OPEN, State.HALF_OPEN)

    def test_a_second_attempt_while_the_probe_is_out_is_refused(
        self, breaker: CircuitBreaker, clock: FakeClock
    ) -> None:
        trip(breaker)
        start_probe(breaker, clock)
        assert breaker.available() is False
        assert breaker.attempt() is False
        clock.advance(breaker.cooldown - EPSILON)
        assert breaker.attempt() is False
        assert breaker.state is State.HALF_OPEN

    def test_probe_success_closes_it(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        trip(breaker)
        start_probe(breaker, clock)
        breaker.succeeded()
        assert breaker.state is State.CLOSED
        assert breaker.failures == 0
        assert breaker.available() is True
        assert all(breaker.attempt() for _ in range(10))
        assert recorder.moves[-1] == (State.HALF_OPEN, State.CLOSED)

    def test_after_closing_it_takes_the_full_threshold_to_open_again(
        self, breaker: CircuitBreaker, clock: FakeClock
    ) -> None:
        trip(breaker)
        start_probe(breaker, clock)
        breaker.succeeded()
        breaker.failed("timeout")
        breaker.failed("timeout")
        assert breaker.state is State.CLOSED
        breaker.failed("timeout")
        assert state_of(breaker) is State.OPEN

    def test_probe_failure_reopens_with_the_cooldown_backed_off(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        trip(breaker)
        start_probe(breaker, clock)
        clock.advance(3.0)  # the probe takes a while to fail
        breaker.failed("HTTP 502")
        assert breaker.state is State.OPEN
        assert breaker.cooldown == 20.0
        assert recorder.moves[-1] == (State.HALF_OPEN, State.OPEN)
        assert "HTTP 502" in recorder.reasons[-1]
        # The new cooldown counts from the probe's failure.
        clock.advance(20.0 - EPSILON)
        assert breaker.available() is False
        assert breaker.attempt() is False
        clock.advance(EPSILON)
        assert breaker.available() is True

    def test_repeated_probe_failures_back_off_up_to_max_cooldown(
        self, breaker: CircuitBreaker, clock: FakeClock
    ) -> None:
        trip(breaker)
        cooldowns = [breaker.cooldown]
        for _ in range(5):
            start_probe(breaker, clock)
            breaker.failed("timeout")
            cooldowns.append(breaker.cooldown)
        assert cooldowns == [10.0, 20.0, 40.0, 80.0, 120.0, 120.0]

    def test_backoff_follows_the_policy(self, clock: FakeClock) -> None:
        policy = BreakerPolicy(failure_threshold=1, cooldown=1.0, backoff=3.0, max_cooldown=20.0)
        breaker = CircuitBreaker("b", policy, clock=clock)
        breaker.failed("timeout")
        cooldowns = [breaker.cooldown]
        for _ in range(4):
            start_probe(breaker, clock)
            breaker.failed("timeout")
            cooldowns.append(breaker.cooldown)
        assert cooldowns == [1.0, 3.0, 9.0, 20.0, 20.0]

    def test_probe_success_puts_the_cooldown_back_to_its_base(
        self, breaker: CircuitBreaker, clock: FakeClock
    ) -> None:
        trip(breaker)
        for _ in range(3):
            start_probe(breaker, clock)
            breaker.failed("timeout")
        assert breaker.cooldown == 80.0
        start_probe(breaker, clock)
        breaker.succeeded()
        assert breaker.cooldown == 10.0
        # The next time it opens, it waits the base cooldown again.
        trip(breaker)
        clock.advance(10.0 - EPSILON)
        assert breaker.available() is False
        clock.advance(EPSILON)
        assert breaker.available() is True

    def test_a_probe_that_never_reports_lets_another_start_after_a_cooldown(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        trip(breaker)
        start_probe(breaker, clock)  # its caller is cancelled; it never reports
        moves = list(recorder.moves)
        clock.advance(10.0 - EPSILON)
        assert breaker.attempt() is False
        clock.advance(EPSILON)
        assert breaker.available() is True
        assert breaker.attempt() is True  # the second probe
        assert breaker.state is State.HALF_OPEN
        assert recorder.moves == moves  # still half-open: no transition to report
        # The second probe is now the one out; a third must wait again.
        assert breaker.attempt() is False
        breaker.succeeded()
        assert state_of(breaker) is State.CLOSED

    def test_a_stalled_probe_waits_the_backed_off_cooldown(
        self, breaker: CircuitBreaker, clock: FakeClock
    ) -> None:
        trip(breaker)
        start_probe(breaker, clock)
        breaker.failed("timeout")  # cooldown is now 20
        start_probe(breaker, clock)  # and this probe never reports
        clock.advance(20.0 - EPSILON)
        assert breaker.attempt() is False
        clock.advance(EPSILON)
        assert breaker.attempt() is True


class TestTransitions:
    def test_a_full_cycle_is_reported_in_order(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        trip(breaker, "connection refused")
        start_probe(breaker, clock)
        breaker.failed("HTTP 503")
        start_probe(breaker, clock)
        breaker.succeeded()

        assert [(who, old, new) for who, old, new, _ in recorder.calls] == [
            (breaker, State.CLOSED, State.OPEN),
            (breaker, State.OPEN, State.HALF_OPEN),
            (breaker, State.HALF_OPEN, State.OPEN),
            (breaker, State.OPEN, State.HALF_OPEN),
            (breaker, State.HALF_OPEN, State.CLOSED),
        ]
        opened, first_probe, probe_failed, second_probe, closed = recorder.reasons
        assert "3 consecutive failures" in opened
        assert "connection refused" in opened
        assert "10s" in first_probe
        assert "HTTP 503" in probe_failed
        assert "20s" in second_probe
        assert "succeeded" in closed
        assert all(reason for reason in recorder.reasons)

    def test_the_callback_sees_the_new_state(self, clock: FakeClock) -> None:
        seen: list[tuple[State, State]] = []

        def on_transition(b: CircuitBreaker, _old: State, new: State, _reason: str) -> None:
            seen.append((b.state, new))

        breaker = CircuitBreaker("b", clock=clock, on_transition=on_transition)
        trip(breaker)
        start_probe(breaker, clock)
        breaker.succeeded()
        assert seen == [(s, s) for s in (State.OPEN, State.HALF_OPEN, State.CLOSED)]

    def test_without_a_callback_transitions_still_happen(self, clock: FakeClock) -> None:
        breaker = CircuitBreaker("b", clock=clock)
        trip(breaker)
        start_probe(breaker, clock)
        breaker.succeeded()
        assert breaker.state is State.CLOSED


class TestAvailableHasNoSideEffects:
    def test_when_closed(self, breaker: CircuitBreaker, recorder: Recorder) -> None:
        breaker.failed("timeout")
        for _ in range(100):
            assert breaker.available() is True
        assert breaker.state is State.CLOSED
        assert breaker.failures == 1
        assert recorder.calls == []

    def test_when_open_and_the_cooldown_has_elapsed(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        trip(breaker)
        clock.advance(10.0)
        for _ in range(100):
            assert breaker.available() is True
        assert breaker.state is State.OPEN  # asking did not start a probe
        assert recorder.moves == [(State.CLOSED, State.OPEN)]
        assert breaker.attempt() is True  # the probe is still there to claim
        assert state_of(breaker) is State.HALF_OPEN

    def test_when_half_open_and_a_probe_is_due(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        trip(breaker)
        start_probe(breaker, clock)
        clock.advance(10.0)  # the first probe is overdue
        moves = list(recorder.moves)
        for _ in range(100):
            assert breaker.available() is True
        assert recorder.moves == moves
        assert breaker.attempt() is True  # asking did not claim the probe
        assert breaker.available() is False  # claiming it did


class TestEject:
    """Opened by outlier detection (kit.outliers), not by its own count."""

    def test_opens_a_closed_breaker_at_once(
        self, breaker: CircuitBreaker, recorder: Recorder
    ) -> None:
        breaker.eject("10 of 10 answers errors")
        assert breaker.state is State.OPEN
        assert breaker.available() is False
        assert recorder.reasons == ["ejected: 10 of 10 answers errors"]

    def test_the_probe_after_the_cooldown_closes_it_as_after_any_opening(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        breaker.eject("outlier")
        clock.advance(breaker.cooldown - EPSILON)
        assert breaker.available() is False
        start_probe(breaker, clock)
        breaker.succeeded()
        assert recorder.moves == [
            (State.CLOSED, State.OPEN),
            (State.OPEN, State.HALF_OPEN),
            (State.HALF_OPEN, State.CLOSED),
        ]

    def test_changes_nothing_unless_closed(
        self, breaker: CircuitBreaker, clock: FakeClock, recorder: Recorder
    ) -> None:
        trip(breaker)
        breaker.eject("outlier")
        start_probe(breaker, clock)
        breaker.eject("outlier")
        assert state_of(breaker) is State.HALF_OPEN
        assert len(recorder.calls) == 2
