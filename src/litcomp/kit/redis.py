"""What every user of Redis shares: which errors mean it is down, and living with that.

Redis is optional everywhere (rate limits, caches, wake-ups, discovery's registry): a
process that cannot reach it carries on without it and tries again later. ``Outage``
is that bookkeeping, written once; it suits any dependency that can go away
(discovery's client uses it for the discovery server).
"""

import logging
import time
from collections.abc import Callable

import redis.exceptions

# Raised when Redis cannot be reached or does not answer in time. Not the built-in
# ConnectionError and TimeoutError: redis-py has its own.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# What a call to Redis can fail with, to fall back on doing without it: also an error
# Redis answers (a busy or loading server) and the socket's own.
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.exceptions.RedisError, OSError, TimeoutError)


def is_outage(error: BaseException) -> bool:
    """Does ``error`` mean Redis is unreachable for now?"""
    return isinstance(error, OUTAGE_ERRORS)


class Outage:
    """Whether a dependency is down: logged once as it goes down and once as it comes
    back, not per failure; while it is down it is tried again every ``retry_after``
    seconds, by one caller at a time (``may_try``).

    ``down`` may start True for what counts as down until it first works (it then logs
    ``back`` at that first success).
    """

    def __init__(
        self,
        log: logging.Logger,
        down: str,
        back: str,
        *,
        retry_after: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        start_down: bool = False,
    ) -> None:
        self._log = log
        self._down_message = down
        self._back_message = back
        self._retry_after = retry_after
        self._clock = clock
        self.down = start_down
        self._retry_at = float("-inf")

    def may_try(self) -> bool:
        """Up, or down long enough to try again: then this caller alone tries, the
        others wait another ``retry_after``."""
        if not self.down:
            return True
        now = self._clock()
        if now < self._retry_at:
            return False
        self._retry_at = now + self._retry_after
        return True

    def failed(self, error: BaseException | None) -> bool:
        """Note a failure; True if the dependency was up until now."""
        self._retry_at = self._clock() + self._retry_after
        if self.down:
            return False
        self._log.warning("%s: %r", self._down_message, error)
        self.down = True
        return True

    def succeeded(self) -> bool:
        """Note a success; True if the dependency was down until now."""
        if not self.down:
            return False
        self._log.info(self._back_message)
        self.down = False
        return True
