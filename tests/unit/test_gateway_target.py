"""The request target as the gateway normalises it: one spelling per resource."""

import pytest

from litcomp.gateway.target import BadTarget, normalise

HOST = [("host", "litcomp.example:8000")]


@pytest.mark.parametrize(
    ("received", "forwarded", "path"),
    [
        # Already canonical: returned as is (the fast path).
        ("/", "/", "/"),
        ("/users/login", "/users/login", "/users/login"),
        ("/competitions?status=all&x=%20y", "/competitions?status=all&x=%20y", "/competitions"),
        ("/a.b/c..d/.e", "/a.b/c..d/.e", "/a.b/c..d/.e"),
        (
            "/users/.well-known/jwks.json",
            "/users/.well-known/jwks.json",
            "/users/.well-known/jwks.json",
        ),
        # The fragment is never the server's.
        ("/users/login#x", "/users/login", "/users/login"),
        ("/users/login?a=1#x?b=2", "/users/login?a=1", "/users/login"),
        ("/users/login#", "/users/login", "/users/login"),
        # Duplicate and trailing slashes collapse.
        ("//users//login", "/users/login", "/users/login"),
        ("/users/login/", "/users/login", "/users/login"),
        ("/users/login//?q=1", "/users/login?q=1", "/users/login"),
        ("//", "/", "/"),
        # Dot segments go (RFC 3986 5.2.4).
        ("/users/./login", "/users/login", "/users/login"),
        ("/users/x/../login", "/users/login", "/users/login"),
        ("/users/login/.", "/users/login", "/users/login"),
        ("/users/x/y/../../login", "/users/login", "/users/login"),
        ("/a//../b", "/a/b", "/a/b"),  # ".." takes away the empty segment, as 5.2.4 does
        ("/..x/x..", "/..x/x..", "/..x/x.."),
        # Unreserved characters are decoded (before the dot segments: %2E is ".").
        ("/users/%6Cogin", "/users/login", "/users/login"),
        ("/users/%6cogin", "/users/login", "/users/login"),
        ("/%75sers/%2E/login", "/users/login", "/users/login"),
        ("/users/x/%2e%2E/login", "/users/login", "/users/login"),
        ("/a/%7E%2D%5F", "/a/~-_", "/a/~-_"),
        # Reserved escapes stay encoded, in upper case; the path decided on is decoded as
        # the services decode it (%2F included: uvicorn routes "/users%2Flogin" to login).
        ("/users%2Flogin", "/users%2Flogin", "/users/login"),
        ("/users%2flogin", "/users%2Flogin", "/users/login"),
        ("/a/b%3Fc%23d", "/a/b%3Fc%23d", "/a/b?c#d"),
        ("/a/%25", "/a/%25", "/a/%"),
        ("/a/%C3%a9", "/a/%C3%A9", "/a/é"),
        ("/a/..%2Fb", "/a/..%2Fb", "/a/../b"),  # one segment "..%2Fb", not a dot segment
        # Absolute-form naming this host becomes origin-form.
        ("http://litcomp.example:8000/users/login", "/users/login", "/users/login"),
        ("HTTP://LITCOMP.example:8000/users//login?x", "/users/login?x", "/users/login"),
        ("https://litcomp.example:8000", "/", "/"),
        ("http://litcomp.example:8000?x=1", "/?x=1", "/"),
    ],
)
def test_a_target_is_normalised(received: str, forwarded: str, path: str) -> None:
    assert normalise(received, HOST) == (forwarded, path)


@pytest.mark.parametrize(
    ("received", "why"),
    [
        ("/..", "climbs above the root"),
        ("/users/../../login", "climbs above the root"),
        ("/%2E%2E/etc/passwd", "climbs above the root"),
        ("/users/%00login", "control character"),
        ("/users/login%0A", "control character"),
        ("/users/%7f", "control character"),
        ("/users/%zzlogin", "malformed percent-encoding"),
        ("/users/login%2", "malformed percent-encoding"),
        ("/users/login%", "malformed percent-encoding"),
        ("http://evil.example/users/login", "another host"),
        ("http://litcomp.example/users/login", "another host"),  # the port differs
        ("ftp://litcomp.example:8000/users", "must be a path"),
        ("*", "must be a path"),
        ("users/login", "must be a path"),
    ],
)
def test_a_target_that_cannot_be_normalised_is_refused(received: str, why: str) -> None:
    with pytest.raises(BadTarget, match=why):
        normalise(received, HOST)


def test_absolute_form_without_a_host_header_is_refused() -> None:
    with pytest.raises(BadTarget, match="another host"):
        normalise("http://litcomp.example:8000/users", [])


def test_the_fast_path_returns_the_very_same_strings() -> None:
    target = "/competitions/0a1b/submissions?sort=top"
    forwarded, path = normalise(target, HOST)
    assert forwarded is target
    assert path == "/competitions/0a1b/submissions"
