"""The instances of one service as a caller sees them: breaker, balancer, bookkeeping.

Both the gateway (HTTP) and every gRPC client use ``InstanceTable``: ``update`` with the
list from discovery (an instance keeps its breaker and counters across updates),
``choose`` one for a request, and report the outcome inside ``track`` so in-flight
counts stay right whatever happens: ``succeeded`` (an answer), ``errored`` (an error
answer: HTTP 5xx, gRPC INTERNAL) or ``failed`` (no answer: a timeout, a connection
refused or broken).

Failures count against the instance's breaker; error answers only once its error
rate stands out from its peers' (``kit.outliers``: judged every interval, at the first
answer after it ends, with no timer). Two limits keep breakers from taking a whole
service down: an outlier is not ejected if that would leave fewer than half of the
instances healthy (breaker closed), and with fewer than half healthy whatever the
cause, ``choose`` is in *panic*: it balances over every instance, breakers ignored
(a refused connection is still retried elsewhere at once).

An instance missing from discovery's list is forgotten only after ``forget_after``
seconds: a discovery that restarts without Redis knows nobody until the instances'
next heartbeats re-register them, and callers should not see that gap. A truly dead
instance meanwhile costs a refused connection (retried elsewhere) and soon trips
its breaker.
"""

import logging
import time
from collections.abc import Callable, Collection, Iterator, Sequence

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, Metric

from litcomp.kit import metrics
from litcomp.kit.balancer import Balancer, Endpoint, Instance
from litcomp.kit.breaker import DEFAULT_POLICY, BreakerPolicy, CircuitBreaker, State
from litcomp.kit.outliers import DEFAULT_OUTLIERS, OutlierPolicy, outliers

log = logging.getLogger(__name__)

STATE_VALUES = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2}


class Tracked:
    """Counts a request against an endpoint while it is in flight (``with``)."""

    # A class rather than @contextmanager: the gRPC clients take it on every call.
    __slots__ = ("_endpoint", "_table")

    def __init__(self, table: "InstanceTable", endpoint: Endpoint) -> None:
        self._table = table
        self._endpoint = endpoint

    def __enter__(self) -> None:
        self._table.begin(self._endpoint)

    def __exit__(self, *_: object) -> None:
        self._table.end(self._endpoint)


class _Picks:
    """``litcomp_balancer_picks_total``: the requests each endpoint was picked for, read
    from the endpoints when ``/metrics`` is read rather than counted twice per request."""

    def __init__(self) -> None:
        # By caller and service: a process keeps one InstanceTable for each (the newest, if
        # tests make more). Not a WeakSet: mypyc's classes take no weak references.
        self.every: dict[tuple[str, str], InstanceTable] = {}

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "litcomp_balancer_picks",
            "Requests sent to each upstream instance.",
            labels=["caller", "upstream", "instance"],
        )
        for (caller, service), table in list(self.every.items()):
            for endpoint in table.endpoints:
                family.add_metric(
                    [caller, service, endpoint.instance.instance_id], endpoint.requests
                )
        yield family


_PICKS = _Picks()
REGISTRY.register(_PICKS)


class InstanceTable:
    """The instances of one service a caller may send to, each with its breaker."""

    def __init__(
        self,
        *,
        caller: str,
        service: str,
        balancer: Balancer,
        policy: BreakerPolicy = DEFAULT_POLICY,
        outlier_policy: OutlierPolicy = DEFAULT_OUTLIERS,
        forget_after: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.caller = caller
        self.service = service
        self.balancer = balancer
        self.policy = policy
        self.outlier_policy = outlier_policy
        self.forget_after = forget_after
        self._clock = clock
        self._endpoints: dict[str, Endpoint] = {}
        self._listed: tuple[Endpoint, ...] = ()  # the endpoints, rebuilt on update
        self._missing_since: dict[str, float] = {}
        self._healthy = 0  # endpoints whose breaker is closed, recounted on every change
        self.panic = False  # too few healthy: breakers are ignored
        self._judge_at = clock() + outlier_policy.interval  # when this interval ends
        _PICKS.every[(caller, service)] = self

    @property
    def endpoints(self) -> Sequence[Endpoint]:
        return self._listed

    def update(self, instances: Sequence[Instance]) -> list[Endpoint]:
        """Take discovery's latest list; returns the endpoints forgotten now."""
        now = self._clock()
        current = {i.instance_id: i for i in instances if i.service == self.service}
        for key in current:
            self._missing_since.pop(key, None)
        gone = []
        for key in [key for key in self._endpoints if key not in current]:
            if now - self._missing_since.setdefault(key, now) >= self.forget_after:
                gone.append(self._endpoints.pop(key))
                del self._missing_since[key]
                metrics.BREAKER_STATE.remove(self.caller, self.service, key)
                log.info("upstream instance forgotten", extra={"upstream": f"{self.service}/{key}"})
        for key, instance in current.items():
            known = self._endpoints.get(key)
            if known is None:
                breaker = CircuitBreaker(
                    f"{self.service}/{key}",
                    self.policy,
                    clock=self._clock,
                    on_transition=self._transition,
                )
                self._endpoints[key] = Endpoint(instance, breaker)
                metrics.BREAKER_STATE.labels(self.caller, self.service, key).set(0)
                log.info("upstream instance added", extra={"upstream": breaker.name})
            else:
                known.instance = instance
        self._listed = tuple(self._endpoints.values())
        self._recount()
        return gone

    def choose(self, exclude: Collection[Endpoint] = ()) -> Endpoint | None:
        """An endpoint whose breaker admits this request (in panic, any endpoint), or
        None if there is none."""
        skipped = list(exclude)
        panic = self.panic
        while (endpoint := self.balancer.pick(self._listed, skipped, panic)) is not None:
            # In panic too: a breaker whose cooldown is over takes this as its probe.
            if endpoint.breaker.attempt() or panic:
                endpoint.requests += 1
                return endpoint
            skipped.append(endpoint)
        return None

    def attempts(self, tries: int = 2) -> Iterator[Endpoint]:
        """The endpoints for up to ``tries`` attempts at one call, a different instance
        each time (each chosen as ``choose`` does); fewer when none is left. The caller
        stops iterating once an attempt has worked."""
        tried: list[Endpoint] = []
        for _ in range(tries):
            endpoint = self.choose(tried)
            if endpoint is None:
                return
            tried.append(endpoint)
            yield endpoint

    def track(self, endpoint: Endpoint) -> Tracked:
        return Tracked(self, endpoint)

    def begin(self, endpoint: Endpoint) -> None:
        """A request to ``endpoint`` is in flight until ``end``; ``track`` pairs them."""
        if not endpoint.waiting and not endpoint.breaker.failures:
            # It owed nothing and its last request went well: no answer is late yet. After
            # a failure (stuck requests timing out) the clock keeps running.
            endpoint.progress_at = self._clock()
        endpoint.waiting += 1
        endpoint.in_flight += 1

    def end(self, endpoint: Endpoint) -> None:
        endpoint.waiting -= 1
        endpoint.in_flight -= 1

    def succeeded(self, endpoint: Endpoint) -> None:
        """It answered (not with an error of its own)."""
        now = self._clock()
        endpoint.progress_at = now
        endpoint.answers += 1
        endpoint.breaker.succeeded()
        if now >= self._judge_at:
            self._eject_outliers(now)

    def errored(self, endpoint: Endpoint, reason: str) -> None:
        """It answered with an error of its own: it is there (a success to its breaker),
        but the answer counts towards its error rate."""
        endpoint.errors += 1
        endpoint.last_error = reason
        self.succeeded(endpoint)

    def failed(self, endpoint: Endpoint, reason: str) -> None:
        """It did not answer: timed out, refused or broke the connection."""
        endpoint.failures += 1
        endpoint.failed_at = self._clock()
        endpoint.last_error = reason
        endpoint.breaker.failed(reason)

    def _eject_outliers(self, now: float) -> None:
        """End an interval: eject the instances whose error rate stood out, while at
        least half of them stay healthy; start counting the next one."""
        listed = self._listed
        found = outliers(
            [e.answers for e in listed], [e.errors for e in listed], self.outlier_policy
        )
        reasons = {i: f"{listed[i].errors} of {listed[i].answers} answers errors" for i in found}
        self._judge_at = now + self.outlier_policy.interval
        for endpoint in listed:
            endpoint.answers = endpoint.errors = 0
        for i in found:
            if self._healthy - 1 < self.outlier_policy.panic_below * len(listed):
                log.warning(
                    "outlier not ejected: too few instances would stay healthy",
                    extra={"upstream": listed[i].breaker.name, "reason": reasons[i]},
                )
                break
            listed[i].breaker.eject(f"{reasons[i]}, its peers' far fewer")

    def _recount(self) -> None:
        listed = self._listed
        self._healthy = sum(1 for e in listed if e.breaker.state is State.CLOSED)
        panic = self._healthy < self.outlier_policy.panic_below * len(listed)
        if panic != self.panic:
            log.warning(
                "%s panic mode: %d of %d instances healthy%s",
                "entering" if panic else "leaving",
                self._healthy,
                len(listed),
                "; balancing over all of them, breakers ignored" if panic else "",
                extra={"upstream": self.service},
            )
        self.panic = panic

    def _transition(self, breaker: CircuitBreaker, old: State, new: State, reason: str) -> None:
        instance_id = breaker.name.split("/", 1)[1]
        log.warning(
            "circuit breaker %s -> %s",
            old.value,
            new.value,
            extra={"upstream": breaker.name, "reason": reason, "from": old, "to": new},
        )
        metrics.BREAKER_TRANSITIONS.labels(
            self.caller, self.service, instance_id, old.value, new.value
        ).inc()
        metrics.BREAKER_STATE.labels(self.caller, self.service, instance_id).set(STATE_VALUES[new])
        self._recount()
