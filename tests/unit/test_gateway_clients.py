"""Who the client is, through trusted proxies only; and the settings that say who is trusted."""

from ipaddress import ip_network

import pytest

from litcomp.gateway.clients import Networks, TrustedProxies, forwarded_elements
from litcomp.gateway.messages import Request
from litcomp.gateway.settings import GatewaySettings
from litcomp.kit.settings import SettingsError, load_settings

PROXIES = TrustedProxies([ip_network("10.0.0.0/8"), ip_network("fd00::/8")])


def request(peer: str, *headers: tuple[str, str]) -> Request:
    made = Request(
        method="GET",
        target="/",
        path="/",
        headers=list(headers),
        body=b"",
        client_ip=peer,
        keep_alive=True,
    )
    PROXIES.resolve(made)
    return made


@pytest.mark.parametrize(
    ("peer", "headers", "client", "scheme"),
    [
        # An untrusted peer: every forwarding header is ignored.
        (
            "203.0.113.9",
            [("x-forwarded-for", "1.2.3.4"), ("x-forwarded-proto", "https")],
            "203.0.113.9",
            "http",
        ),
        ("203.0.113.9", [("forwarded", "for=1.2.3.4;proto=https")], "203.0.113.9", "http"),
        # A trusted peer: the right-most address that is not trusted.
        ("10.0.0.2", [("x-forwarded-for", "198.51.100.7")], "198.51.100.7", "http"),
        (
            "10.0.0.2",
            [("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")],
            "198.51.100.7",
            "http",
        ),
        (
            "10.0.0.2",
            [("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.7")],
            "198.51.100.7",
            "http",
        ),
        (
            "10.0.0.2",
            [("x-forwarded-for", "10.9.9.9, 10.1.1.1")],
            "10.9.9.9",
            "http",
        ),  # all trusted
        ("10.0.0.2", [("x-forwarded-for", "198.51.100.7:5123")], "198.51.100.7", "http"),
        ("10.0.0.2", [("x-forwarded-for", "[2001:db8::1]:443")], "2001:db8::1", "http"),
        # Garbage stops the walk at the trusted address to its right.
        ("10.0.0.2", [("x-forwarded-for", "nonsense")], "10.0.0.2", "http"),
        ("10.0.0.2", [("x-forwarded-for", "nonsense, 10.1.1.1")], "10.1.1.1", "http"),
        ("10.0.0.2", [], "10.0.0.2", "http"),
        # The scheme: the nearest proxy's word, http or https only.
        (
            "10.0.0.2",
            [("x-forwarded-for", "198.51.100.7"), ("x-forwarded-proto", "HTTPS")],
            "198.51.100.7",
            "https",
        ),
        ("10.0.0.2", [("x-forwarded-proto", "http, https")], "10.0.0.2", "https"),
        ("10.0.0.2", [("x-forwarded-proto", "gopher")], "10.0.0.2", "http"),
        # RFC 7239, when there is no X-Forwarded-For; proto from the client's element.
        (
            "10.0.0.2",
            [("forwarded", 'for=198.51.100.7;proto=https, for="[fd00::5]:80";proto=http')],
            "198.51.100.7",
            "https",
        ),
        ("10.0.0.2", [("forwarded", 'for="[2001:db8::1]:4711"')], "2001:db8::1", "http"),
        ("10.0.0.2", [("forwarded", "for=unknown")], "10.0.0.2", "http"),
        (
            "10.0.0.2",
            [("forwarded", "for=6.6.6.6"), ("x-forwarded-for", "198.51.100.7")],
            "198.51.100.7",
            "http",
        ),
        # A dual-stack socket's IPv4-mapped peer is the IPv4 address.
        ("::ffff:10.0.0.2", [("x-forwarded-for", "198.51.100.7")], "198.51.100.7", "http"),
    ],
)
def test_the_client_behind_trusted_proxies(
    peer: str, headers: list[tuple[str, str]], client: str, scheme: str
) -> None:
    resolved = request(peer, *headers)
    assert (resolved.client_ip, resolved.scheme) == (client, scheme)


def test_forwarded_elements() -> None:
    value = 'for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711", for=_x'
    assert forwarded_elements(value) == [
        ("192.0.2.60", "http"),
        ("2001:db8:cafe::17", ""),
        ("_x", ""),
    ]


def test_networks() -> None:
    loopback = Networks([ip_network("127.0.0.0/8"), ip_network("::1")])
    assert loopback.contain_text("127.0.0.1")
    assert loopback.contain_text("::1")
    assert loopback.contain_text("::ffff:127.0.0.1")
    assert not loopback.contain_text("10.0.0.1")
    assert not loopback.contain_text("")
    assert not Networks([])


def test_network_settings_are_comma_separated_and_default_to_none_and_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LITCOMP_GATEWAY_TRUSTED_PROXIES", "LITCOMP_GATEWAY_OPERATOR_NETS"):
        monkeypatch.delenv(name, raising=False)
    settings = GatewaySettings()
    assert settings.gateway_trusted_proxies == []
    assert settings.gateway_operator_nets == [ip_network("127.0.0.0/8"), ip_network("::1/128")]
    monkeypatch.setenv("LITCOMP_GATEWAY_TRUSTED_PROXIES", " 10.0.0.0/8, fd00::/8 ,192.0.2.1")
    monkeypatch.setenv("LITCOMP_GATEWAY_OPERATOR_NETS", "")
    settings = GatewaySettings()
    assert settings.gateway_trusted_proxies == [
        ip_network("10.0.0.0/8"),
        ip_network("fd00::/8"),
        ip_network("192.0.2.1/32"),
    ]
    assert settings.gateway_operator_nets == []


@pytest.mark.parametrize("value", ["10.0.0.1/8", "10.0.0.0/33", "example.com", "10.0.0.0/8;"])
def test_a_bad_network_stops_the_gateway_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LITCOMP_GATEWAY_OPERATOR_NETS", f"127.0.0.0/8,{value}")
    with pytest.raises(SettingsError) as stopped:
        load_settings(GatewaySettings)
    message = str(stopped.value)
    assert "LITCOMP_GATEWAY_OPERATOR_NETS" in message
    assert repr(value) in message
