"""Password hashing with argon2id, off the event loop, behind an admission gate.

A hash takes ~0.1 s of CPU and 64 MiB of memory, so at most one runs per core at a
time, and at most LITCOMP_PASSWORD_QUEUE more wait their turn: past that a login,
sign-up or password change is refused at once (503 ``overloaded`` with Retry-After)
rather than answered after the gateway has given up on it. An unbounded queue let a
flood of logins wait for many seconds: every answer came late, as a 504, and
the gateway counted the timeouts against the instance until its breaker opened.
"""

import math
import os
import time
from collections.abc import Callable
from functools import cache
from typing import TypeVar, TypeVarTuple

from anyio import CapacityLimiter, to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from litcomp.kit.errors import Overloaded
from litcomp.users.settings import get_settings

T = TypeVar("T")
Args = TypeVarTuple("Args")

_hasher = PasswordHasher()


class Gate:
    """At most ``running`` calls at a time in worker threads, and ``waiting`` more
    waiting for one of them; any more is refused with ``Overloaded``."""

    def __init__(self, running: int, waiting: int) -> None:
        self._running = running
        self._limiter = CapacityLimiter(running)
        self._most = running + waiting
        self._admitted = 0  # running or waiting
        # How long one call has taken lately (``running`` of them at a time), for
        # Retry-After; a first guess until the first is measured.
        self.seconds = 0.1

    async def run(self, work: Callable[[*Args], T], *args: *Args) -> T:
        if self._admitted >= self._most:
            raise Overloaded(
                "too many passwords to check at once; please try again shortly",
                retry_after=self.retry_after(),
            )
        self._admitted += 1
        try:
            # A waiting call that is cancelled leaves the limiter's queue, and its place.
            return await to_thread.run_sync(self._timed, work, *args, limiter=self._limiter)
        finally:
            self._admitted -= 1

    def retry_after(self) -> int:
        """Whole seconds (at least 1) until the calls admitted now are done: when a
        client told so comes back, the queue has room again."""
        return max(1, math.ceil(self._admitted / self._running * self.seconds))

    def _timed(self, work: Callable[[*Args], T], *args: *Args) -> T:
        started = time.perf_counter()
        try:
            return work(*args)
        finally:
            # A moving average: a busier machine, slower hashes, a longer Retry-After.
            # (Threads may overwrite each other's update: an estimate either way.)
            self.seconds += (time.perf_counter() - started - self.seconds) / 4


@cache
def _gate() -> Gate:
    return Gate(os.cpu_count() or 1, get_settings().password_queue)


@cache
def _dummy_hash() -> str:
    # Verified against when an email is unknown, so a wrong email costs the same time
    # as a wrong password and response times do not reveal who has an account.
    return _hasher.hash("not a real password")


async def hash_password(password: str) -> str:
    return await _gate().run(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """False for a wrong password, and for a missing account (after the same work)."""
    matches = await _gate().run(_verify, password_hash, password)
    return matches and password_hash is not None


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
