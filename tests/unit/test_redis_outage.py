"""litcomp.kit.redis: which errors mean Redis is down, and an outage's bookkeeping."""

import logging

import pytest
import redis.exceptions

from litcomp.kit.redis import Outage, is_outage
from tests.support import FakeClock

log = logging.getLogger("tests.outage")


def outage(clock: FakeClock, *, start_down: bool = False) -> Outage:
    return Outage(
        log, "cache down", "cache back", retry_after=5.0, clock=clock, start_down=start_down
    )


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == log.name]


def test_redis_connection_and_timeout_errors_are_outages_others_are_not() -> None:
    assert is_outage(redis.exceptions.ConnectionError("refused"))
    assert is_outage(redis.exceptions.TimeoutError("slow"))
    assert not is_outage(redis.exceptions.ResponseError("WRONGTYPE"))
    assert not is_outage(ValueError("bug"))


def test_going_down_is_logged_once_and_coming_back_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=log.name)
    state = outage(FakeClock())
    assert state.failed(OSError("refused"))
    assert not state.failed(OSError("refused again"))
    assert state.down
    assert state.succeeded()
    assert not state.succeeded()
    assert not state.down
    assert messages(caplog) == [
        (logging.WARNING, "cache down: OSError('refused')"),
        (logging.INFO, "cache back"),
    ]


def test_while_down_one_caller_tries_again_after_the_pause() -> None:
    clock = FakeClock()
    state = outage(clock)
    assert state.may_try()
    state.failed(OSError())
    assert not state.may_try()
    clock.advance(4.9)
    assert not state.may_try()
    clock.advance(0.1)
    assert state.may_try()
    assert not state.may_try()  # the others wait for that one's answer ...
    state.failed(OSError())  # ... which failed: another pause from now
    clock.advance(4.9)
    assert not state.may_try()
    clock.advance(0.1)
    assert state.may_try()
    state.succeeded()
    assert state.may_try() and state.may_try()


def test_what_starts_down_logs_only_its_first_success(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=log.name)
    state = outage(FakeClock(), start_down=True)
    assert not state.failed(OSError())
    assert state.succeeded()
    assert messages(caplog) == [(logging.INFO, "cache back")]
