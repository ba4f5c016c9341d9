"""Where a webhook may be sent (docs/contract.md §7, "Webhooks").

A subscription's URL is chosen by an administrator, but what its host name resolves to is
chosen by whoever runs its DNS. So a URL is checked twice: when it is saved (the scheme,
and an address written into it), and when it is sent to, where its host is resolved once
and the delivery connects to the very address that was checked (`pinned_address`), so a
DNS answer that changes between the check and the connection (rebinding) gains nothing.

Only public addresses pass, unless `WEBHOOK_ALLOWED_HOSTS` lists the host name, the
address, or a network holding it; plain http only with `WEBHOOK_ALLOW_HTTP`.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeAddress(Exception):
    """The URL's host is, or resolves to, an address deliveries may not reach."""


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL's parts and the one address to connect to."""

    scheme: str
    host: str  # as in the URL (a name, or an address)
    port: int
    address: str  # the address checked, and connected to
    path: str  # with the query string


def allow_list() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """WEBHOOK_ALLOWED_HOSTS as (host names, networks); an address is a network of one."""
    names, networks = set(), []
    for entry in getattr(settings, "WEBHOOK_ALLOWED_HOSTS", []):
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def public(address: Address) -> bool:
    """Routable on the internet: not private, loopback, link-local, shared, reserved or
    multicast (an IPv4 address written as IPv6 is judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def address_allowed(host: str, address: Address) -> bool:
    names, networks = allow_list()
    if host.lower().rstrip(".") in names:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return public(address) or any(address in network for network in networks)


def literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook's URL (checked when it is saved), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid URL."
    schemes = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if parts.scheme not in schemes:
        return "Use an https:// URL." if not settings.WEBHOOK_ALLOW_HTTP else "Use an http:// or https:// URL."
    if not parts.hostname:
        return "Enter a valid URL: it has no host."
    if parts.username is not None or parts.password is not None:
        return "Leave credentials out of the URL: deliveries are signed instead."
    if port == 0:
        return "Enter a valid URL: port 0 cannot be reached."
    address = literal_address(parts.hostname)
    if address is not None and not address_allowed(parts.hostname, address):
        return f"{address} is not a public address (private, loopback and link-local ones must be allow-listed)."
    return None


def pinned_address(url: str) -> Target:
    """Resolve the URL's host once and pick an address deliveries may reach; raises
    UnsafeAddress when there is none (or the URL itself is no longer acceptable)."""
    problem = url_problem(url)
    if problem:
        raise UnsafeAddress(problem)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeAddress(f"{host} cannot be resolved: {error}") from error
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    allowed = [address for address in addresses if address_allowed(host, address)]
    if not allowed:
        shown = ", ".join(sorted({str(address) for address in addresses}))
        raise UnsafeAddress(f"{host} resolves to {shown}: not a public address, and not allow-listed.")
    path = parts.path or "/"
    return Target(parts.scheme, host, port, str(allowed[0]), f"{path}?{parts.query}" if parts.query else path)
