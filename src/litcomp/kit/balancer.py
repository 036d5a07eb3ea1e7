"""Load balancing: choosing which instance of a service gets the next request.

A balancer sees ``Endpoint`` objects: an instance with its own circuit breaker, the
number of requests this process has in flight to it, and the load the instance
last reported to discovery (its own in-flight count, from every caller).

- ``RoundRobin`` takes the available instances in turn.
- ``LeastLoad`` takes the available instance with the least load, where load is
  ``max(in_flight, reported_load)`` plus its consecutive failures while its breaker is
  closed. Our own count is exact and immediate, the reported one includes other
  callers but is up to one heartbeat old, so the larger of the two is the better
  estimate. A failure since the instance's last success counts as a request still in
  flight, so an instance that hangs keeps its load while its stuck requests time out
  one by one, and gets no new ones until its breaker opens (without it, each timeout
  freed a slot, and a new request went to the hung instance to wait out the deadline
  in turn). Once the breaker has opened its failures no longer count, so idle peers
  cannot starve the probe after the cooldown. An instance that has answered none of
  our requests for ``stalled_after`` seconds while some wait on it (or while it failed
  within its breaker's cooldown) is *stalled* (hung, or far behind) and loses to every
  instance that is not: its breaker opens only
  once three requests have timed out, and until then the least-load rule alone still
  sends it a request whenever its stuck count is below its peers' in-flight count
  (``make faults``, freeze). WebSocket tunnels count as load but are not waiting for
  an answer. Ties are broken in turn, so equal instances share the work.

"Available" means its breaker lets a request through now, unless the caller is in
``panic`` (too few instances healthy: see ``kit.outliers``), when every instance is.
Both skip the instances in ``exclude`` (already tried for this request), and return
None when nothing is left.
"""

import itertools
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from litcomp.kit.breaker import CircuitBreaker, State


@dataclass(frozen=True)
class Instance:
    """A service instance as discovery lists it."""

    service: str
    instance_id: str
    host: str
    http_port: int
    grpc_port: int = 0
    version: str = ""
    load: int = 0
    ws_port: int = 0  # a WebSocket server of its own (competitions' /ws), else 0
    restarts: int = 0  # how often its supervisor restarted it (litcomp up), for operators

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"{self.host}:{self.grpc_port}"


@dataclass(eq=False)
class Endpoint:
    instance: Instance
    breaker: CircuitBreaker
    in_flight: int = 0  # requests and WebSocket tunnels
    requests: int = 0  # picked for, WebSocket tunnels included
    failures: int = 0
    last_error: str = field(default="")
    waiting: int = 0  # requests awaiting an answer
    # When it last answered one of our requests well, or when requests began waiting on it.
    progress_at: float = 0.0
    failed_at: float = 0.0  # when a request to it last failed
    # This outlier-detection interval's answers, and how many were errors (kit.outliers).
    answers: int = 0
    errors: int = 0

    @property
    def load(self) -> int:
        # Failures count only while the breaker is closed: once it has opened, the next
        # request after the cooldown is its probe, and it must be able to win one.
        suspect = self.breaker.failures if self.breaker.state is State.CLOSED else 0
        return max(self.in_flight, self.instance.load) + suspect

    def stalled(self, now: float, after: float) -> bool:
        """No good answer for ``after`` seconds while requests wait on it, or while it
        failed recently: once its stuck requests time out none waits, but it is no
        better (``make faults``, freeze: it got one more request 5.6 s in). "Recently"
        is its breaker's cooldown, so a passing failure does not shun it for good."""
        if now - self.progress_at < after:
            return False
        failing = self.breaker.failures > 0 and now - self.failed_at < self.breaker.cooldown
        return self.waiting > 0 or failing


class Balancer(Protocol):
    def pick(
        self, endpoints: Sequence[Endpoint], exclude: Collection[Endpoint] = (), panic: bool = False
    ) -> Endpoint | None: ...


def _candidates(
    endpoints: Sequence[Endpoint], exclude: Collection[Endpoint], panic: bool
) -> list[Endpoint]:
    return [e for e in endpoints if e not in exclude and (panic or e.breaker.available())]


class RoundRobin:
    def __init__(self) -> None:
        self._turn = itertools.count()

    def pick(
        self, endpoints: Sequence[Endpoint], exclude: Collection[Endpoint] = (), panic: bool = False
    ) -> Endpoint | None:
        candidates = _candidates(endpoints, exclude, panic)
        if not candidates:
            return None
        return candidates[next(self._turn) % len(candidates)]


STALLED_AFTER_SECONDS = 1.0
# Added to a stalled instance's load: more than any instance that answers will carry.
_STALLED_LOAD = 1_000_000


class LeastLoad:
    def __init__(
        self,
        stalled_after: float = STALLED_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._turn = itertools.count()
        self._stalled_after = stalled_after
        self._clock = clock

    def pick(
        self, endpoints: Sequence[Endpoint], exclude: Collection[Endpoint] = (), panic: bool = False
    ) -> Endpoint | None:
        # One pass, reading each endpoint's load (a property with some work) once: this
        # is on every proxied request's path.
        now = self._clock()
        tied: list[Endpoint] = []
        lightest = 0
        for endpoint in endpoints:
            if endpoint in exclude or not (panic or endpoint.breaker.available()):
                continue
            load = endpoint.load
            if endpoint.stalled(now, self._stalled_after):
                load += _STALLED_LOAD
            if not tied or load < lightest:
                tied, lightest = [endpoint], load
            elif load == lightest:
                tied.append(endpoint)
        return tied[next(self._turn) % len(tied)] if tied else None


BALANCERS: dict[str, type[RoundRobin] | type[LeastLoad]] = {
    "round_robin": RoundRobin,
    "least_load": LeastLoad,
}
