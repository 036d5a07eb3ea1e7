"""The supervisor's restart policy (``litcomp.launcher.Backoff``), on a fake clock."""

import signal

import pytest

from litcomp.launcher import Backoff, exit_reason
from tests.support import FakeClock


def crash_after(backoff: Backoff, clock: FakeClock, seconds: float) -> float:
    """Run the process ``seconds``, let it exit, wait out its delay, restart it."""
    backoff.started()
    clock.advance(seconds)
    delay = backoff.exited()
    clock.advance(delay)
    return delay


def test_a_crash_loop_waits_half_a_second_then_doubling_up_to_thirty():
    clock = FakeClock()
    backoff = Backoff(clock)
    delays = [crash_after(backoff, clock, 0.1) for _ in range(10)]
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]


def test_a_process_that_ran_a_minute_starts_again_from_half_a_second():
    clock = FakeClock()
    backoff = Backoff(clock)
    assert [crash_after(backoff, clock, 1) for _ in range(4)] == [0.5, 1, 2, 4]
    assert crash_after(backoff, clock, 60) == 0.5
    assert crash_after(backoff, clock, 59.9) == 1  # short of a minute: still a loop


@pytest.mark.parametrize(
    ("returncode", "reason"),
    [
        (0, "exit code 0"),
        (1, "exit code 1"),
        (-signal.SIGKILL, "signal SIGKILL"),
        (-signal.SIGSEGV, "signal SIGSEGV"),
        (-200, "signal 200"),
    ],
)
def test_an_exit_is_told_by_code_or_signal_name(returncode: int, reason: str):
    assert exit_reason(returncode) == reason
