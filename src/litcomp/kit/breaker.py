"""A circuit breaker for one upstream instance.

States and transitions (the whole contract)::

    CLOSED --(``failure_threshold`` consecutive failures)--> OPEN
    OPEN --(cooldown elapsed; the next attempt is the probe)--> HALF_OPEN
    HALF_OPEN --(probe succeeds)--> CLOSED     cooldown back to its base
    HALF_OPEN --(probe fails)--> OPEN          cooldown multiplied by ``backoff``,
                                               up to ``max_cooldown``
    CLOSED --(``eject``: an outlier among its peers)--> OPEN

- CLOSED lets every request through; a success resets the failure count.
- OPEN lets nothing through until the cooldown has elapsed; results of requests sent
  before it opened change nothing.
- HALF_OPEN lets exactly one request through at a time: the probe. If the probe
  never reports back (its caller was cancelled), another may start after a cooldown.
- Whether an open breaker is obeyed is for its caller: with fewer than half of a
  service's instances healthy, ``kit.instance_table`` balances over all of them (panic).

A failure is what says the instance cannot be reached: a timeout, a connection refused
or broken, gRPC UNAVAILABLE or DEADLINE_EXCEEDED. An answer, even an error (HTTP 5xx),
is a success here: the instance is there, and whether its errors are its own fault is
for ``kit.outliers`` to judge against its peers, which then ``eject`` it. (Counting
5xx as failures let one client whose requests made every instance answer 500 open
every breaker: the service was down for everyone.) The breaker does no I/O and reads
time only from ``clock``, so tests drive it with a fake clock. Every transition is reported to
``on_transition`` with a reason, for logs and metrics.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 3
    cooldown: float = 10.0
    backoff: float = 2.0
    max_cooldown: float = 120.0


DEFAULT_POLICY = BreakerPolicy()


Transition = Callable[["CircuitBreaker", State, State, str], None]


def _ignore(_breaker: "CircuitBreaker", _old: State, _new: State, _reason: str) -> None:
    pass


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        policy: BreakerPolicy = DEFAULT_POLICY,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Transition = _ignore,
    ) -> None:
        self.name = name
        self.policy = policy
        self._clock = clock
        self._on_transition = on_transition
        self.state = State.CLOSED
        self.failures = 0
        self.cooldown = policy.cooldown
        self._opened_at = 0.0
        self._probe_started_at: float | None = None

    def available(self) -> bool:
        """Would a request be let through now? (Asking changes nothing.)"""
        if self.state is State.CLOSED:
            return True
        now = self._clock()
        if self.state is State.OPEN:
            return now - self._opened_at >= self.cooldown
        return self._probe_started_at is None or now - self._probe_started_at >= self.cooldown

    def attempt(self) -> bool:
        """Claim the right to send one request; False means send it elsewhere."""
        if not self.available():
            return False
        if self.state is State.OPEN:
            self._move(State.HALF_OPEN, f"cooldown of {self.cooldown:g}s elapsed; probing")
        if self.state is State.HALF_OPEN:
            self._probe_started_at = self._clock()
        return True

    def succeeded(self) -> None:
        if self.state is State.OPEN:
            return  # a late answer to a request sent before it opened proves nothing
        self.failures = 0
        if self.state is State.HALF_OPEN:
            self._probe_started_at = None
            self.cooldown = self.policy.cooldown
            self._move(State.CLOSED, "probe succeeded")

    def failed(self, reason: str) -> None:
        if self.state is State.HALF_OPEN:
            self.cooldown = min(self.cooldown * self.policy.backoff, self.policy.max_cooldown)
            self._open(f"probe failed: {reason}")
            return
        self.failures += 1
        if self.state is State.CLOSED and self.failures >= self.policy.failure_threshold:
            self._open(f"{self.failures} consecutive failures, last: {reason}")

    def eject(self, reason: str) -> None:
        """Open now, whatever the count: its answers stand out from its peers' (see
        ``kit.outliers``). Only a closed breaker is ejected; the probe after the
        cooldown, if answered, closes it as after any opening."""
        if self.state is State.CLOSED:
            self._open(f"ejected: {reason}")

    def _open(self, reason: str) -> None:
        self._opened_at = self._clock()
        self._probe_started_at = None
        self._move(State.OPEN, reason)

    def _move(self, new: State, reason: str) -> None:
        old, self.state = self.state, new
        self._on_transition(self, old, new, reason)
