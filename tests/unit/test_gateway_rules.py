"""The gateway's pure rules: routing, headers both ways, retry safety, rate limiting.

Nothing here does I/O; time is a fake clock.
"""

import pytest

from litcomp.gateway import headers, routes
from litcomp.gateway.forwarding import retry_is_safe
from litcomp.gateway.ratelimit import Decision, Limit, MemoryLimiter, take
from tests.support import FakeClock


def names(pairs: list[tuple[str, str]]) -> list[str]:
    return [name.lower() for name, _ in pairs]


INSTANCE = "10.0.0.7:8001"


class TestRouteMatching:
    @pytest.mark.parametrize(
        ("path", "service"),
        [
            ("/users", "users"),
            ("/competitions", "competitions"),
            ("/notifications", "competitions"),
            ("/ws", "competitions"),
        ],
    )
    def test_the_exact_prefix_matches(self, path: str, service: str) -> None:
        route = routes.match(path)
        assert route is not None
        assert route.prefix == path
        assert route.service == service

    @pytest.mark.parametrize(
        ("path", "prefix"),
        [
            ("/users/", "/users"),
            ("/users/login", "/users"),
            ("/users/me/password", "/users"),
            ("/competitions/123/entries", "/competitions"),
            ("/notifications/unread", "/notifications"),
        ],
    )
    def test_sub_paths_match_their_prefix(self, path: str, prefix: str) -> None:
        route = routes.match(path)
        assert route is not None
        assert route.prefix == prefix

    @pytest.mark.parametrize("path", ["/usersX", "/users-admin", "/competitionsfoo", "/wsx"])
    def test_a_prefix_only_matches_at_a_segment_boundary(self, path: str) -> None:
        assert routes.match(path) is None

    @pytest.mark.parametrize("path", ["/", "", "/health", "/admin/users", "/discovery/instances"])
    def test_unknown_paths_match_nothing(self, path: str) -> None:
        assert routes.match(path) is None

    def test_only_ws_is_a_websocket_route(self) -> None:
        ws = routes.match("/ws")
        assert ws is not None
        assert ws.websocket
        for path in ("/users", "/competitions", "/notifications"):
            route = routes.match(path)
            assert route is not None
            assert not route.websocket


class TestRouteTimeouts:
    def test_the_default_applies_without_an_override(self) -> None:
        route = routes.Route("/users", "users")
        assert routes.timeout_for(route, 5.0, {}) == 5.0
        assert routes.timeout_for(route, 5.0, {"/competitions": 30.0}) == 5.0

    def test_an_override_for_the_prefix_wins(self) -> None:
        route = routes.Route("/competitions", "competitions")
        assert routes.timeout_for(route, 5.0, {"/competitions": 30.0}) == 30.0

    def test_overrides_are_keyed_by_prefix_not_service(self) -> None:
        notifications = routes.Route("/notifications", "competitions")
        assert routes.timeout_for(notifications, 5.0, {"competitions": 30.0}) == 5.0


def as_parsed(incoming: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers as the gateway's parsers hand them on: names in lower case."""
    return [(name.lower(), value) for name, value in incoming]


def _split(line: str) -> tuple[str, str]:
    name, value = line.split(": ", 1)
    return name, value


class TestUpstreamRequestHeaders:
    def upstream(self, incoming: list[tuple[str, str]]) -> list[tuple[str, str]]:
        lines = headers.to_instance(
            as_parsed(incoming),
            client_ip="203.0.113.7",
            scheme="https",
            host="litcomp.example",
            request_id="req-42",
        )
        assert lines.endswith("\r\n")
        return [_split(line) for line in lines.removesuffix("\r\n").split("\r\n")]

    @pytest.mark.parametrize(
        "name",
        [
            "Connection",
            "Keep-Alive",
            "Proxy-Authenticate",
            "Proxy-Authorization",
            "Proxy-Connection",
            "TE",
            "Trailer",
            "Transfer-Encoding",
            "Upgrade",
        ],
    )
    def test_hop_by_hop_headers_are_dropped(self, name: str) -> None:
        sent = self.upstream([(name, "x"), ("Accept", "application/json")])
        assert name.lower() not in names(sent)
        assert ("accept", "application/json") in sent

    def test_hop_by_hop_names_are_case_insensitive(self) -> None:
        sent = self.upstream([("TRANSFER-ENCODING", "chunked"), ("keep-alive", "timeout=5")])
        assert "transfer-encoding" not in names(sent)
        assert "keep-alive" not in names(sent)

    def test_headers_named_in_connection_are_dropped(self) -> None:
        sent = self.upstream(
            [
                ("Connection", "close, X-Secret ,  x-other"),
                ("X-Secret", "s"),
                ("X-Other", "o"),
                ("X-Kept", "k"),
            ]
        )
        assert "x-secret" not in names(sent)
        assert "x-other" not in names(sent)
        assert ("x-kept", "k") in sent

    def test_host_and_content_length_are_left_to_the_http_client(self) -> None:
        sent = self.upstream([("Host", "evil.example"), ("Content-Length", "12")])
        assert "host" not in names(sent)
        assert "content-length" not in names(sent)

    @pytest.mark.parametrize(
        "name",
        ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Request-ID"],
    )
    def test_a_client_cannot_forge_forwarding_or_request_id(self, name: str) -> None:
        sent = self.upstream([(name, "forged"), (name.upper(), "FORGED")])
        assert all(value not in ("forged", "FORGED") for _, value in sent)
        assert names(sent).count(name.lower()) <= 1

    def test_no_client_sent_x_forwarded_header_reaches_the_upstream(self) -> None:
        forged = [
            ("X-Forwarded-Port", "8443"),
            ("X-Forwarded-Prefix", "/admin"),
            ("X-Forwarded-Server", "internal"),
        ]
        sent = self.upstream(forged)
        assert [name for name, _ in sent if name.startswith("x-forwarded-")] == [
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
        ]

    def test_end_to_end_headers_are_kept_as_sent(self) -> None:
        incoming = [
            ("Authorization", "Bearer abc"),
            ("Content-Type", "application/json"),
            ("Idempotency-Key", "k-1"),
            ("Cookie", "a=1; b=2"),
            ("Accept-Language", "fr"),
        ]
        sent = self.upstream(incoming)
        assert sent[: len(incoming)] == as_parsed(incoming)

    def test_repeated_headers_are_all_kept_in_order(self) -> None:
        sent = self.upstream([("Accept", "a"), ("Accept", "b")])
        assert [value for name, value in sent if name == "accept"] == ["a", "b"]

    def test_the_gateway_adds_who_the_client_is_and_the_request_id(self) -> None:
        sent = self.upstream([("Accept", "*/*"), ("X-Forwarded-For", "10.0.0.1")])
        assert sent == [
            ("accept", "*/*"),
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "litcomp.example"),
            ("x-request-id", "req-42"),
        ]

    def test_expect_is_not_passed_on(self) -> None:
        """The gateway has the whole body before it sends: an instance must not answer
        100 Continue to it (an interim answer taken for the answer is another's reply)."""
        sent = self.upstream([("Expect", "100-continue"), ("Accept", "*/*")])
        assert "expect" not in names(sent)

    def test_no_headers_still_get_the_gateways_own(self) -> None:
        assert names(self.upstream([])) == [
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
            "x-request-id",
        ]


class TestClientResponseHeaders:
    def test_hop_by_hop_and_framing_headers_are_dropped(self) -> None:
        upstream = [
            ("Connection", "keep-alive, X-Internal"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("Trailer", "Expires"),
            ("Content-Length", "42"),
            ("Host", "users:8000"),
            ("X-Internal", "secret"),
            ("Content-Type", "application/json"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Retry-After", "3"),
        ]
        assert headers.to_client(as_parsed(upstream), INSTANCE) == [
            ("content-type", "application/json"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("retry-after", "3"),
        ]

    def test_the_upstreams_request_id_gives_way_to_the_gateways_own(self) -> None:
        # The gateway sent that id upstream and adds it to the answer itself, once.
        answer = [("x-request-id", "r"), ("etag", "e")]
        assert headers.to_client(answer, INSTANCE) == [("etag", "e")]

    def test_no_internal_address_reaches_the_client(self) -> None:
        answer = [("server", "uvicorn"), ("location", "http://10.0.0.7:8001/users/me?x=1")]
        assert headers.to_client(answer, INSTANCE) == [("location", "/users/me?x=1")]

    @pytest.mark.parametrize(
        ("location", "public"),
        [
            ("http://10.0.0.7:8001/a/b?c=d#e", "/a/b?c=d#e"),
            ("HTTPS://10.0.0.7:8001/a", "/a"),
            ("//10.0.0.7:8001/a", "/a"),
            ("http://10.0.0.7:8001", "/"),
            ("http://10.0.0.7:8001?q=1", "/?q=1"),
            # Not the instance: as is.
            ("http://10.0.0.7:8002/a", "http://10.0.0.7:8002/a"),
            ("http://10.0.0.7:80011/a", "http://10.0.0.7:80011/a"),
            ("https://example.org/a", "https://example.org/a"),
            ("/already/relative", "/already/relative"),
            ("ftp://10.0.0.7:8001/a", "ftp://10.0.0.7:8001/a"),
        ],
    )
    def test_a_location_at_the_instance_is_made_relative(self, location: str, public: str) -> None:
        assert headers.public_location(location, INSTANCE) == public


class TestRetrySafety:
    @pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
    def test_idempotent_methods_may_be_retried(self, method: str) -> None:
        assert retry_is_safe(method, "/competitions/x", None)

    @pytest.mark.parametrize("method", ["POST", "PATCH"])
    def test_other_methods_may_not(self, method: str) -> None:
        assert not retry_is_safe(method, "/competitions", None)

    @pytest.mark.parametrize(
        "path",
        ["/users/register", "/competitions", "/competitions/c-1/submit",
         "/competitions/c-1/comment/s-1"],
    )  # fmt: skip
    def test_a_keyed_post_may_be_retried_where_the_key_is_honoured(self, path: str) -> None:
        assert retry_is_safe("POST", path, "k-1")

    @pytest.mark.parametrize(
        "path",
        ["/users/login", "/notifications/read", "/competitions/c-1/like/s-1",
         "/users/subscribe/c-1", "/competitions/c-1", "/competitions//submit",
         "/competitions/c-1/submit/x", "/competitionsX", "/users/register/"],
    )  # fmt: skip
    def test_a_keyed_post_elsewhere_may_not(self, path: str) -> None:
        assert not retry_is_safe("POST", path, "k-1")

    def test_a_post_with_an_empty_idempotency_key_may_not(self) -> None:
        assert not retry_is_safe("POST", "/competitions", "")

    def test_an_idempotency_key_does_not_make_patch_retryable(self) -> None:
        assert not retry_is_safe("PATCH", "/competitions/c-1", "k-1")


class TestTokenBucket:
    limit = Limit(rate=2.0, burst=3)  # a token every half second

    def test_a_full_bucket_allows_a_burst_then_refuses(self) -> None:
        tokens = float(self.limit.burst)
        decisions = []
        for _ in range(4):
            tokens, decision = take(tokens, 0.0, self.limit)
            decisions.append(decision)
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert all(d.retry_after == 0 for d in decisions[:3])

    def test_a_refusal_says_when_the_next_token_comes(self) -> None:
        tokens, decision = take(0.0, 0.0, self.limit)
        assert decision == Decision(False, 0.5)
        assert tokens == 0.0
        tokens, decision = take(0.25, 0.0, self.limit)
        assert not decision.allowed
        assert decision.retry_after == pytest.approx(0.375)

    def test_refill_is_rate_times_elapsed(self) -> None:
        tokens, decision = take(0.0, 0.5, self.limit)
        assert decision.allowed
        assert tokens == pytest.approx(0.0)
        tokens, decision = take(0.0, 1.25, self.limit)
        assert decision.allowed
        assert tokens == pytest.approx(1.5)

    def test_refill_is_capped_at_the_burst(self) -> None:
        tokens, decision = take(0.0, 3600.0, self.limit)
        assert decision.allowed
        assert tokens == self.limit.burst - 1

    def test_just_short_of_a_token_is_refused(self) -> None:
        tokens, decision = take(0.0, 0.4, self.limit)
        assert not decision.allowed
        assert tokens == pytest.approx(0.8)
        assert decision.retry_after == pytest.approx(0.1)


class TestRetryAfterHeader:
    @pytest.mark.parametrize(
        ("seconds", "header"),
        [(0.0, "1"), (0.001, "1"), (0.5, "1"), (1.0, "1"), (1.01, "2"), (2.0, "2"), (9.2, "10")],
    )
    def test_whole_seconds_rounded_up_and_never_zero(self, seconds: float, header: str) -> None:
        assert Decision(False, seconds).retry_after_header == header


class TestMemoryLimiter:
    limit = Limit(rate=1.0, burst=2)

    def test_a_new_key_starts_with_a_full_bucket(self) -> None:
        limiter = MemoryLimiter(clock=FakeClock())
        allowed = [limiter.check("1.2.3.4", self.limit).allowed for _ in range(3)]
        assert allowed == [True, True, False]

    def test_refusal_tells_the_wait_and_time_refills(self) -> None:
        clock = FakeClock()
        limiter = MemoryLimiter(clock=clock)
        limiter.check("k", self.limit)
        limiter.check("k", self.limit)
        clock.advance(0.25)
        refused = limiter.check("k", self.limit)
        assert not refused.allowed
        assert refused.retry_after == pytest.approx(0.75)
        clock.advance(0.75)
        assert limiter.check("k", self.limit).allowed
        assert not limiter.check("k", self.limit).allowed

    def test_a_refused_request_does_not_cost_a_token(self) -> None:
        clock = FakeClock()
        limiter = MemoryLimiter(clock=clock)
        for _ in range(5):
            limiter.check("k", self.limit)
        clock.advance(1.0)
        assert limiter.check("k", self.limit).allowed

    def test_keys_are_independent(self) -> None:
        limiter = MemoryLimiter(clock=FakeClock())
        for _ in range(3):
            limiter.check("a", self.limit)
        assert not limiter.check("a", self.limit).allowed
        assert limiter.check("b", self.limit).allowed
        assert limiter.check("b", self.limit).allowed

    def test_past_max_keys_the_least_recently_used_key_is_forgotten(self) -> None:
        limiter = MemoryLimiter(clock=FakeClock(), max_keys=2)
        one = Limit(rate=0.001, burst=1)
        assert limiter.check("a", one).allowed
        assert limiter.check("b", one).allowed
        assert not limiter.check("a", one).allowed  # a is now the most recent
        assert limiter.check("c", one).allowed  # a third key: b goes
        assert not limiter.check("a", one).allowed  # a is remembered
        assert not limiter.check("c", one).allowed  # and so is c
        assert limiter.check("b", one).allowed  # b starts full again

    def test_the_oldest_key_is_forgotten_first(self) -> None:
        limiter = MemoryLimiter(clock=FakeClock(), max_keys=2)
        one = Limit(rate=0.001, burst=1)
        for key in ("a", "b", "c"):
            assert limiter.check(key, one).allowed
        assert limiter.check("a", one).allowed  # forgotten: full again
