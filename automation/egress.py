"""Where a webhook may connect: the address policy, and the HTTP client that enforces it.

A trigger's URL is chosen by a project owner but the request leaves from our worker, inside
our network (SSRF). So the policy is applied when the socket is opened: the URL's host is
resolved once, every address it resolves to is checked, and the socket is connected to exactly
one of those checked addresses. There is no second lookup, hence no DNS-rebinding window; TLS
(SNI and the certificate check) and the Host header still use the URL's host. Redirects are not
followed, and proxy environment variables are ignored: through a proxy we could not know which
address is finally reached.

Refused: loopback, private (RFC 1918, fc00::/7, ...), link-local (169.254/16, fe80::/10),
shared/CGNAT (100.64/10), multicast, unspecified (0.0.0.0, ::), reserved and documentation
ranges, site-local IPv6, and any IPv4 address hidden inside IPv6 (::ffff:a.b.c.d, 64:ff9b::/96,
2002::/16) that is one of those. Hosts named in WEBHOOK_ALLOWED_HOSTS are exempt.
"""

import ipaddress
import socket

import httpcore
import httpx

from . import conf

# What the execution log says about a refused target: nothing about the address, nor whether
# anything listens there.
REFUSED_MESSAGE = "Webhook not sent: target address not allowed."

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetNotAllowed(Exception):
    """The URL's host is (or resolves to) an address webhooks may not reach. `reason` is for
    the server log only."""

    def __init__(self, host: str, reason: str):
        self.host, self.reason = host, reason
        super().__init__(f"{host}: {reason}")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_refusal(ip: IPAddress | str) -> str | None:
    """Why a webhook may not connect to `ip` ("loopback", "private", ...), or None for a public address."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip)
    if ip.version == 6:
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return address_refusal(inner)
        if ip.is_site_local:
            return "private"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.version == 4 and ip in _CGNAT:
        return "shared"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


def literal_refusal(host: str) -> str | None:
    """The refusal of a host written as an IP address (save-time check), None for a name."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return None if host_allowed(host) else address_refusal(ip)


def _norm_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def host_allowed(host: str) -> bool:
    """Whether an administrator exempted this host (as written in URLs) from the policy."""
    allowed = {_norm_host(h) for h in conf.webhook_allowed_hosts() if h.strip()}
    return _norm_host(host) in allowed


def resolve_checked(host: str, port: int) -> list[str]:
    """The addresses of `host`, all of them checked; raises TargetNotAllowed if any is refused
    (a name answering with internal addresses is not trusted for its public ones either)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError("name resolution failed") from exc
    addresses = []
    for *_, sockaddr in infos:
        address = sockaddr[0]
        reason = address_refusal(ipaddress.ip_address(address))
        if reason:
            raise TargetNotAllowed(host, reason)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise httpcore.ConnectError("name resolution failed")
    return addresses


class GuardedBackend(httpcore.SyncBackend):
    """Opens every connection to an address checked by the policy (see the module doc)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if host_allowed(host):
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        last: Exception | None = None
        for address in resolve_checked(host, port):
            try:
                # A numeric address: create_connection does not look anything up again.
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last

    def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover (never configured)
        raise TargetNotAllowed("unix socket", "unix sockets")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport on a connection pool that connects through GuardedBackend."""

    def __init__(self):
        # httpx has no public knob for the network backend; its transport keeps nothing but
        # this pool, so build the pool it would build (same limits, TLS with the system CAs
        # and the hostname check against the URL's host), with our backend.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(),
        )


def client() -> httpx.Client:
    return httpx.Client(transport=GuardedTransport(), follow_redirects=False, trust_env=False)
