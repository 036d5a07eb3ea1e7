"""Who the client is: its address and scheme, through trusted proxies only.

Behind a load balancer or an ingress every connection comes from the proxy, so the
rate limits would count every client as one. A proxy says who it forwarded for in
``X-Forwarded-For`` (or RFC 7239 ``Forwarded``) and how in ``X-Forwarded-Proto``; but
anyone can send those headers, so they are believed only from a peer in the trusted
networks (``LITCOMP_GATEWAY_TRUSTED_PROXIES``, none by default). Then the client is
the right-most address of the chain (the peer last) that is not itself trusted: each
trusted proxy appended the address it was connected from, and what lies left of the
first untrusted one was written by someone we cannot believe.

``X-Forwarded-For`` is read when present, else ``Forwarded``: every common proxy
writes the former (nginx, HAProxy, Envoy, the clouds' balancers). A proxy that writes
only ``Forwarded`` must also drop a client's ``X-Forwarded-For``.
"""

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from litcomp.gateway.messages import Request

Network = IPv4Network | IPv6Network
_SCHEMES = frozenset({"http", "https"})
_CACHED_PEERS = 4096


def parse_address(text: str) -> IPv4Address | IPv6Address | None:
    """An IP address, or None; an IPv4-mapped IPv6 address as the IPv4 one (what a
    dual-stack socket reports for an IPv4 peer)."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class Networks:
    """A set of networks, asked whether an address is in one of them."""

    def __init__(self, networks: list[Network]) -> None:
        self.networks = networks

    def __bool__(self) -> bool:
        return bool(self.networks)

    def contain(self, address: IPv4Address | IPv6Address | None) -> bool:
        if address is None:
            return False
        return any(address in network for network in self.networks)

    def contain_text(self, text: str) -> bool:
        return self.contain(parse_address(text))


class TrustedProxies:
    """The client's address and scheme for a request, from the peer and its headers."""

    def __init__(self, networks: list[Network]) -> None:
        self.active = bool(networks)  # checked first: off by default, then nothing to do
        self._trusted = Networks(networks)
        self._peers: dict[str, bool] = {}  # peer address -> trusted: few peers, many requests

    def resolve(self, request: Request) -> None:
        """Set ``request.client_ip`` and ``request.scheme`` from what a trusted peer
        says; a request from any other peer is left as the connection made it."""
        if not self._peer_trusted(request.client_ip):
            return
        forwarded_for: list[str] = []
        forwarded: list[str] = []
        protos: list[str] = []
        for name, value in request.headers:
            if name == "x-forwarded-for":
                forwarded_for.append(value)
            elif name == "forwarded":
                forwarded.append(value)
            elif name == "x-forwarded-proto":
                protos.append(value)
        if forwarded_for:
            chain = [
                (_node_address(part.strip()), "") for part in ",".join(forwarded_for).split(",")
            ]
        else:
            chain = forwarded_elements(",".join(forwarded))
        client_ip, proto = self.client_of(chain, request.client_ip)
        request.client_ip = client_ip
        if not proto and protos:
            proto = ",".join(protos).rsplit(",", 1)[-1]  # the nearest proxy's word
        proto = proto.strip().lower()
        if proto in _SCHEMES:
            request.scheme = proto

    def client_of(self, chain: list[tuple[str, str]], peer: str) -> tuple[str, str]:
        """The client's address and the scheme it used (empty if not said), from the
        forwarded chain of (address, proto), oldest first, and the trusted peer.

        The right-most address that is not trusted; an entry that is no address ends
        the walk at the trusted one to its right, and so does the chain's start."""
        client, proto = peer, ""
        for text, said in reversed(chain):
            address = parse_address(text)
            if address is None:
                break
            client, proto = str(address), said
            if not self._trusted.contain(address):
                break
        return client, proto

    def _peer_trusted(self, peer: str) -> bool:
        trusted = self._peers.get(peer)
        if trusted is None:
            if len(self._peers) >= _CACHED_PEERS:
                self._peers.clear()
            trusted = self._trusted.contain_text(peer)
            self._peers[peer] = trusted
        return trusted


def forwarded_elements(value: str) -> list[tuple[str, str]]:
    """The (for, proto) of each element of an RFC 7239 ``Forwarded`` value, oldest
    first; a ``for`` that is no address (``unknown``, ``_hidden``) is kept as is."""
    elements: list[tuple[str, str]] = []
    for element in value.split(","):
        node, proto = "", ""
        for pair in element.split(";"):
            name, _, said = pair.partition("=")
            name = name.strip().lower()
            said = said.strip().strip('"')
            if name == "for":
                node = _node_address(said)
            elif name == "proto":
                proto = said
        if element.strip():
            elements.append((node, proto))
    return elements


def _node_address(node: str) -> str:
    """The address of a node, as RFC 7239 writes it (``[2001:db8::1]:4711``,
    ``192.0.2.1:80``) and some proxies do in ``X-Forwarded-For`` too."""
    if node.startswith("["):
        return node[1 : node.find("]")] if "]" in node else node
    if node.count(":") == 1:  # IPv4 with a port; a bare IPv6 has several colons
        return node.split(":", 1)[0]
    return node
