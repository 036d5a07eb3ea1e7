"""litcomp.kit.balancer: which instance of a service gets the next request.

Both balancers consider only the endpoints whose breaker lets a request through now and
that are not in ``exclude``; RoundRobin takes them in turn, LeastLoad takes the least
loaded (load = max(our in-flight count, the instance's reported load) + its consecutive
failures, and far more for an instance that has stopped answering), ties in turn.
"""

import dataclasses
from collections import Counter
from collections.abc import Collection, Sequence

import pytest

from litcomp.kit.balancer import (
    BALANCERS,
    STALLED_AFTER_SECONDS,
    Balancer,
    Endpoint,
    Instance,
    LeastLoad,
    RoundRobin,
)
from litcomp.kit.breaker import CircuitBreaker, State
from litcomp.kit.instance_table import InstanceTable
from tests.support import FakeClock

START = 1000.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def endpoint(
    clock: FakeClock, name: str, *, load: int = 0, in_flight: int = 0, port: int = 8000
) -> Endpoint:
    instance = Instance("users", name, "10.0.0.1", port, load=load)
    return Endpoint(instance, CircuitBreaker(name, clock=clock), in_flight=in_flight)


def endpoints(clock: FakeClock, count: int) -> list[Endpoint]:
    return [endpoint(clock, f"users-{i}", port=8000 + i) for i in range(count)]


def trip(e: Endpoint) -> None:
    for _ in range(e.breaker.policy.failure_threshold):
        e.breaker.failed("timeout")
    assert e.breaker.state is State.OPEN


def tally(
    balancer: Balancer,
    choices: Sequence[Endpoint],
    picks: int,
    exclude: Collection[Endpoint] = (),
) -> Counter[str]:
    """How many of ``picks`` picks went to each instance."""
    counts: Counter[str] = Counter()
    for _ in range(picks):
        chosen = balancer.pick(choices, exclude)
        assert chosen is not None
        counts[chosen.instance.instance_id] += 1
    return counts


class TestInstance:
    def test_http_url(self) -> None:
        instance = Instance("users", "users-1", "10.0.0.7", 8001, grpc_port=9001)
        assert instance.http_url == "http://10.0.0.7:8001"

    def test_grpc_target(self) -> None:
        instance = Instance("users", "users-1", "10.0.0.7", 8001, grpc_port=9001)
        assert instance.grpc_target == "10.0.0.7:9001"

    def test_defaults(self) -> None:
        instance = Instance("users", "users-1", "localhost", 8001)
        assert (instance.grpc_port, instance.version, instance.load) == (0, "", 0)

    def test_is_immutable(self) -> None:
        instance = Instance("users", "users-1", "localhost", 8001)
        with pytest.raises(dataclasses.FrozenInstanceError):
            instance.load = 3  # type: ignore[misc]


class TestEndpoint:
    @pytest.mark.parametrize(
        ("in_flight", "reported", "load"),
        [(0, 0, 0), (4, 0, 4), (0, 6, 6), (2, 5, 5), (5, 2, 5), (3, 3, 3)],
    )
    def test_load_is_the_larger_of_in_flight_and_reported(
        self, clock: FakeClock, in_flight: int, reported: int, load: int
    ) -> None:
        e = endpoint(clock, "a", load=reported, in_flight=in_flight)
        assert e.load == load

    def test_load_follows_a_fresh_report_from_discovery(self, clock: FakeClock) -> None:
        e = endpoint(clock, "a", in_flight=1)
        e.instance = dataclasses.replace(e.instance, load=7)
        assert e.load == 7

    def test_starts_with_clean_counters(self, clock: FakeClock) -> None:
        e = endpoint(clock, "a")
        assert (e.in_flight, e.requests, e.failures, e.last_error) == (0, 0, 0, "")

    def test_endpoints_are_distinct_even_for_equal_instances(self, clock: FakeClock) -> None:
        a = endpoint(clock, "same")
        b = Endpoint(a.instance, a.breaker)
        assert a != b
        assert len({a, b}) == 2


class TestBalancers:
    def test_registry_maps_names_to_classes(self) -> None:
        assert set(BALANCERS) == {"round_robin", "least_load"}
        assert BALANCERS["round_robin"] is RoundRobin
        assert BALANCERS["least_load"] is LeastLoad

    @pytest.mark.parametrize("name", sorted(BALANCERS))
    def test_none_when_there_are_no_endpoints(self, name: str) -> None:
        assert BALANCERS[name]().pick([]) is None

    @pytest.mark.parametrize("name", sorted(BALANCERS))
    def test_none_when_everything_is_excluded(self, name: str, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        assert BALANCERS[name]().pick(es, exclude=set(es)) is None

    @pytest.mark.parametrize("name", sorted(BALANCERS))
    def test_none_when_every_breaker_is_open(self, name: str, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        for e in es:
            trip(e)
        assert BALANCERS[name]().pick(es) is None

    @pytest.mark.parametrize("name", sorted(BALANCERS))
    def test_none_when_the_rest_are_open(self, name: str, clock: FakeClock) -> None:
        a, b, c = endpoints(clock, 3)
        trip(b)
        trip(c)
        assert BALANCERS[name]().pick([a, b, c], exclude=[a]) is None

    @pytest.mark.parametrize("name", sorted(BALANCERS))
    def test_picking_changes_no_breaker(self, name: str, clock: FakeClock) -> None:
        """Picking only asks ``available()``: the caller claims with ``attempt()``."""
        a = endpoint(clock, "a")
        trip(a)
        clock.advance(a.breaker.cooldown)
        balancer = BALANCERS[name]()
        for _ in range(5):
            assert balancer.pick([a]) is a
        assert a.breaker.state is State.OPEN
        assert a.breaker.attempt() is True

    @pytest.mark.parametrize("name", sorted(BALANCERS))
    def test_skips_a_half_open_endpoint_whose_probe_is_out(
        self, name: str, clock: FakeClock
    ) -> None:
        a, b = endpoints(clock, 2)
        trip(a)
        clock.advance(a.breaker.cooldown)
        assert a.breaker.attempt() is True  # the probe is out
        balancer = BALANCERS[name]()
        assert {balancer.pick([a, b]) for _ in range(10)} == {b}


class TestRoundRobin:
    def test_cycles_evenly_over_the_endpoints(self, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        assert tally(RoundRobin(), es, 300) == {"users-0": 100, "users-1": 100, "users-2": 100}

    def test_takes_them_in_turn(self, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        balancer = RoundRobin()
        picks = [balancer.pick(es) for _ in range(6)]
        assert picks[:3] == picks[3:]
        assert set(picks[:3]) == set(es)

    def test_ignores_load(self, clock: FakeClock) -> None:
        es = endpoints(clock, 2)
        es[0].in_flight = 50
        assert tally(RoundRobin(), es, 10) == {"users-0": 5, "users-1": 5}

    def test_skips_an_endpoint_whose_breaker_is_open(self, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        trip(es[1])
        assert tally(RoundRobin(), es, 200) == {"users-0": 100, "users-2": 100}

    def test_skips_excluded_endpoints(self, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        assert tally(RoundRobin(), es, 200, exclude=[es[0]]) == {"users-1": 100, "users-2": 100}

    def test_exclude_may_be_any_collection(self, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        for exclude in ([es[0], es[2]], {es[0], es[2]}, (es[0], es[2])):
            assert RoundRobin().pick(es, exclude=exclude) is es[1]

    def test_only_one_available_is_always_picked(self, clock: FakeClock) -> None:
        a, b, c = endpoints(clock, 3)
        trip(a)
        assert tally(RoundRobin(), [a, b, c], 10, exclude=[c]) == {"users-1": 10}

    def test_picks_an_open_endpoint_once_its_cooldown_has_elapsed(self, clock: FakeClock) -> None:
        """It is due a probe, so ``available()`` is true and it takes its turn again."""
        es = endpoints(clock, 3)
        trip(es[0])
        balancer = RoundRobin()
        assert es[0] not in {balancer.pick(es) for _ in range(6)}
        clock.advance(es[0].breaker.cooldown)
        assert es[0] in {balancer.pick(es) for _ in range(3)}

    def test_half_open_eligible_endpoint_alone_is_picked(self, clock: FakeClock) -> None:
        a = endpoint(clock, "a")
        trip(a)
        assert RoundRobin().pick([a]) is None
        clock.advance(a.breaker.cooldown)
        assert RoundRobin().pick([a]) is a


class TestLeastLoad:
    def test_picks_the_least_loaded(self, clock: FakeClock) -> None:
        a = endpoint(clock, "a", in_flight=3)
        b = endpoint(clock, "b", in_flight=1)
        c = endpoint(clock, "c", in_flight=2)
        assert LeastLoad().pick([a, b, c]) is b

    def test_counts_the_load_the_instance_reported(self, clock: FakeClock) -> None:
        """Other callers' requests count too, though this process has none in flight."""
        busy = endpoint(clock, "busy", load=9)
        idle = endpoint(clock, "idle", in_flight=2)
        assert LeastLoad().pick([busy, idle]) is idle

    def test_counts_our_own_in_flight_when_the_report_is_stale(self, clock: FakeClock) -> None:
        fresh = endpoint(clock, "fresh", load=0, in_flight=5)
        other = endpoint(clock, "other", load=3)
        assert LeastLoad().pick([fresh, other]) is other

    def test_spreads_evenly_among_ties(self, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        assert tally(LeastLoad(), es, 30) == {"users-0": 10, "users-1": 10, "users-2": 10}

    def test_steers_away_from_a_loaded_endpoint(self, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        es[1].instance = dataclasses.replace(es[1].instance, load=4)
        assert tally(LeastLoad(), es, 30) == {"users-0": 15, "users-2": 15}

    def test_balances_requests_that_stay_in_flight(self, clock: FakeClock) -> None:
        """A caller that holds every request open ends up with the same number on each."""
        es = endpoints(clock, 3)
        es[0].in_flight = 2
        balancer = LeastLoad()
        for _ in range(13):
            chosen = balancer.pick(es)
            assert chosen is not None
            chosen.in_flight += 1
        assert [e.in_flight for e in es] == [5, 5, 5]

    def test_skips_an_endpoint_whose_breaker_is_open(self, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        es[1].in_flight = 1
        es[2].in_flight = 1
        trip(es[0])  # the idle one is broken
        assert tally(LeastLoad(), es, 10) == {"users-1": 5, "users-2": 5}

    def test_a_failure_counts_as_load_until_a_success(self, clock: FakeClock) -> None:
        a, b = endpoint(clock, "a"), endpoint(clock, "b", in_flight=1)
        a.breaker.failed("timeout")
        a.breaker.failed("timeout")
        assert a.load == 2
        assert LeastLoad().pick([a, b]) is b
        a.breaker.succeeded()
        assert a.load == 0
        assert LeastLoad().pick([a, b]) is a

    def test_a_hung_instance_gets_nothing_while_its_requests_time_out(
        self, clock: FakeClock
    ) -> None:
        """Requests stuck on a frozen instance time out one by one; none takes their place."""
        hung, well = endpoint(clock, "hung", in_flight=3), endpoint(clock, "well", in_flight=1)
        balancer = LeastLoad()
        for _ in range(3):
            hung.in_flight -= 1  # a stuck request reaches its deadline...
            hung.breaker.failed("no answer before the deadline")  # ...and is a failure
            if hung.breaker.state is State.CLOSED:
                assert balancer.pick([hung, well]) is well
        assert hung.breaker.state is State.OPEN
        assert balancer.pick([hung, well]) is well

    def test_an_opened_instance_is_probed_after_its_cooldown(self, clock: FakeClock) -> None:
        """Its failures stop counting once the breaker opens: idle peers do not starve the probe."""
        tripped, idle = endpoint(clock, "tripped"), endpoint(clock, "idle", in_flight=1)
        trip(tripped)
        assert LeastLoad().pick([tripped, idle]) is idle
        clock.advance(tripped.breaker.cooldown)
        assert LeastLoad().pick([tripped, idle]) is tripped

    def test_skips_excluded_endpoints(self, clock: FakeClock) -> None:
        idle = endpoint(clock, "idle")
        busy = endpoint(clock, "busy", in_flight=8)
        assert LeastLoad().pick([idle, busy], exclude=[idle]) is busy

    def test_picks_an_open_endpoint_once_its_cooldown_has_elapsed(self, clock: FakeClock) -> None:
        idle = endpoint(clock, "idle")
        busy = endpoint(clock, "busy", in_flight=8)
        trip(idle)
        balancer = LeastLoad()
        assert balancer.pick([idle, busy]) is busy
        clock.advance(idle.breaker.cooldown)
        assert balancer.pick([idle, busy]) is idle

    def test_a_stalled_instance_loses_to_every_instance_that_answers(
        self, clock: FakeClock
    ) -> None:
        """One stuck request, no answer for a second: even a busy peer is preferred."""
        hung, busy = endpoint(clock, "hung"), endpoint(clock, "busy", in_flight=5)
        hung.waiting = hung.in_flight = 1
        hung.progress_at = clock.now
        balancer = LeastLoad(stalled_after=1.0, clock=clock)
        clock.advance(0.9)
        assert balancer.pick([hung, busy]) is hung  # 1 request against 5: not yet
        clock.advance(0.1)
        assert tally(balancer, [hung, busy], 10) == {"busy": 10}

    def test_a_stalled_instance_is_still_picked_when_nothing_else_is_left(
        self, clock: FakeClock
    ) -> None:
        hung, broken = endpoint(clock, "hung"), endpoint(clock, "broken")
        hung.waiting = hung.in_flight = 1
        trip(broken)
        clock.advance(5)
        assert LeastLoad(clock=clock).pick([hung, broken]) is hung

    def test_websocket_tunnels_are_load_but_never_a_stall(self, clock: FakeClock) -> None:
        tunnels, busy = (
            endpoint(clock, "tunnels", in_flight=2),
            endpoint(clock, "busy", in_flight=3),
        )
        clock.advance(60)
        assert LeastLoad(clock=clock).pick([tunnels, busy]) is tunnels


class TestInstanceTable:
    """What the balancers read is kept by ``InstanceTable``: in flight, waiting, progress."""

    def instances(self, clock: FakeClock) -> InstanceTable:
        instances = InstanceTable(
            caller="test", service="users", balancer=LeastLoad(clock=clock), clock=clock
        )
        instances.update([Instance("users", name, "10.0.0.1", 8000) for name in ("a", "b")])
        return instances

    def test_attempts_go_to_different_instances_and_end_when_none_is_left(
        self, clock: FakeClock
    ) -> None:
        instances = self.instances(clock)
        first, second = instances.attempts(tries=3)  # two instances: two attempts
        assert first is not second
        instances.update([Instance("users", n, "10.0.0.1", 8000) for n in ("a", "b", "c")])
        trip(instances.endpoints[2])
        assert list(instances.attempts(tries=3)) == list(instances.endpoints[:2])

    def test_a_request_waits_from_when_it_was_sent_if_none_was_waiting(
        self, clock: FakeClock
    ) -> None:
        instances = self.instances(clock)
        a = instances.endpoints[0]
        with instances.track(a):
            assert (a.in_flight, a.waiting, a.progress_at) == (1, 1, START)
            clock.advance(2)
            with instances.track(a):  # a second one: the first is still owed
                assert (a.waiting, a.progress_at) == (2, START)
        assert (a.in_flight, a.waiting) == (0, 0)

    def test_only_a_good_answer_is_progress(self, clock: FakeClock) -> None:
        instances = self.instances(clock)
        a = instances.endpoints[0]
        with instances.track(a):
            clock.advance(2)
            instances.failed(a, "no answer before the deadline")
            assert a.progress_at == START
            instances.succeeded(a)
            assert a.progress_at == START + 2

    def test_the_stall_outlasts_its_stuck_requests_timing_out(self, clock: FakeClock) -> None:
        """Once they time out nothing waits on it, but it has still answered nothing:
        the next request sent there does not restart its clock."""
        instances = self.instances(clock)
        hung = instances.endpoints[0]
        with instances.track(hung):
            clock.advance(5)
            instances.failed(hung, "no answer before the deadline")
        assert hung.waiting == 0
        assert hung.stalled(clock.now, STALLED_AFTER_SECONDS)  # it failed just now
        with instances.track(hung):
            assert hung.progress_at == START
            assert hung.stalled(clock.now, STALLED_AFTER_SECONDS)

    def test_a_failure_long_past_does_not_shun_an_idle_instance(self, clock: FakeClock) -> None:
        instances = self.instances(clock)
        once = instances.endpoints[0]
        with instances.track(once):
            instances.failed(once, "cannot connect")
        clock.advance(STALLED_AFTER_SECONDS)
        assert once.stalled(clock.now, STALLED_AFTER_SECONDS)
        clock.advance(once.breaker.cooldown)
        assert not once.stalled(clock.now, STALLED_AFTER_SECONDS)

    def test_new_requests_leave_an_instance_that_stopped_answering(self, clock: FakeClock) -> None:
        instances = self.instances(clock)
        a, b = instances.endpoints
        with instances.track(a), instances.track(b), instances.track(b):
            clock.advance(STALLED_AFTER_SECONDS)  # b answers, a does not
            instances.succeeded(b)
            picks: Counter[str] = Counter()
            for _ in range(5):
                chosen = instances.choose()
                assert chosen is not None
                picks[chosen.instance.instance_id] += 1
            assert picks == {"b": 5}


def test_both_satisfy_the_balancer_protocol() -> None:
    balancers: list[Balancer] = [RoundRobin(), LeastLoad()]
    assert all(callable(b.pick) for b in balancers)


class TestPanic:
    """In panic (too few healthy instances, decided by InstanceTable) breakers are ignored."""

    @pytest.mark.parametrize("name", sorted(BALANCERS))
    def test_every_endpoint_is_a_candidate(self, name: str, clock: FakeClock) -> None:
        es = endpoints(clock, 3)
        trip(es[0])
        trip(es[1])
        balancer = BALANCERS[name]()
        assert tally(balancer, es, 30) == {"users-2": 30}
        picked = Counter(balancer.pick(es, panic=True) for _ in range(30))
        assert picked == {e: 10 for e in es}
        assert balancer.pick(es, exclude=es[2:], panic=True) in es[:2]

    def test_least_load_still_prefers_the_lighter(self, clock: FakeClock) -> None:
        a, b = endpoints(clock, 2)
        trip(a)
        b.in_flight = 5
        assert LeastLoad(clock=clock).pick([a, b], panic=True) is a  # open: failures not load


class TestInstanceTableJudgesAnswers:
    """Error answers eject only outliers; breakers never take the last half away."""

    def instances(self, clock: FakeClock, *names: str) -> InstanceTable:
        instances = InstanceTable(
            caller="test", service="users", balancer=RoundRobin(), clock=clock
        )
        instances.update([Instance("users", name, "10.0.0.1", 8000) for name in names])
        return instances

    def answer(self, instances: InstanceTable, errors: dict[str, int], total: int) -> None:
        """``total`` answers from each instance, the first ``errors[name]`` of them 5xx."""
        for e in instances.endpoints:
            for n in range(total):
                with instances.track(e):
                    if n < errors.get(e.instance.instance_id, 0):
                        instances.errored(e, "HTTP 500")
                    else:
                        instances.succeeded(e)

    def test_error_answers_alone_never_open_a_breaker(self, clock: FakeClock) -> None:
        """The attack: every answer of the only instance a 500, for minutes."""
        instances = self.instances(clock, "only")
        [only] = instances.endpoints
        for _ in range(30):
            self.answer(instances, {"only": 100}, 100)
            clock.advance(10)
        assert only.breaker.state is State.CLOSED
        assert only.last_error == "HTTP 500"
        assert instances.choose() is only

    def test_an_instance_whose_errors_stand_out_is_ejected_at_the_end_of_the_interval(
        self, clock: FakeClock
    ) -> None:
        instances = self.instances(clock, "bad", "good", "fine")
        bad = instances.endpoints[0]
        self.answer(instances, {"bad": 20, "good": 1}, 20)
        assert bad.breaker.state is State.CLOSED  # the interval is not over
        clock.advance(10)
        self.answer(instances, {}, 1)  # the first answer after it judges it
        assert bad.breaker.state is State.OPEN
        assert [e.breaker.state for e in instances.endpoints[1:]] == [State.CLOSED] * 2
        assert (bad.answers, bad.errors) == (0, 0)  # the next interval starts afresh
        assert {instances.choose() for _ in range(4)} == set(instances.endpoints[1:])

    def test_errors_spread_over_every_instance_eject_none(self, clock: FakeClock) -> None:
        instances = self.instances(clock, "a", "b", "c")
        self.answer(instances, {"a": 12, "b": 10, "c": 11}, 30)
        clock.advance(10)
        self.answer(instances, {}, 1)
        assert all(e.breaker.state is State.CLOSED for e in instances.endpoints)

    def test_never_ejects_below_half_of_the_instances(self, clock: FakeClock) -> None:
        instances = self.instances(clock, "a", "b", "c")
        self.answer(instances, {"a": 30, "b": 30}, 30)  # a and b both stand out from c
        clock.advance(10)
        self.answer(instances, {}, 1)
        assert [e.breaker.state for e in instances.endpoints] == [
            State.OPEN,
            State.CLOSED,  # ejecting it too would leave one of three
            State.CLOSED,
        ]

    def test_timeouts_and_refused_connections_still_open_the_breaker(
        self, clock: FakeClock
    ) -> None:
        instances = self.instances(clock, "dead", "a", "b")
        dead = instances.endpoints[0]
        for _ in range(dead.breaker.policy.failure_threshold):
            with instances.track(dead):
                instances.failed(dead, "cannot connect")
        assert dead.breaker.state is State.OPEN
        assert not instances.panic
        assert dead not in {instances.choose() for _ in range(10)}

    def test_panic_with_fewer_than_half_healthy_balances_over_all(self, clock: FakeClock) -> None:
        instances = self.instances(clock, "a", "b", "c")
        a, b, c = instances.endpoints
        trip(a)
        assert not instances.panic  # two of three healthy
        trip(b)
        assert instances.panic  # one of three
        assert Counter(instances.choose() for _ in range(30)) == {a: 10, b: 10, c: 10}
        clock.advance(a.breaker.cooldown)
        chosen = [instances.choose() for _ in range(3)]
        assert set(chosen) == {a, b, c}
        for e in (a, b):  # the choices after the cooldown were their probes
            assert e.breaker.state is State.HALF_OPEN
            instances.succeeded(e)
        assert not instances.panic

    def test_the_only_instance_is_never_shut_out(self, clock: FakeClock) -> None:
        instances = self.instances(clock, "only")
        [only] = instances.endpoints
        trip(only)
        assert instances.panic
        assert list(instances.attempts()) == [only]
