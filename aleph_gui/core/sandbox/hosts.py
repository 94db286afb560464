"""Granted hosts: which names and addresses a plugin's network grant covers.

A grant is an exact host name (`api.example.com`), a wildcard for its subdomains (`*.example.com`,
which does not cover `example.com` itself), or an IP literal (`127.0.0.1`, `::1`). An IP address is
only ever reached when it was granted literally: a wildcard never matches an address, and a granted
*name* that resolves to this computer (loopback, link-local, unspecified) is refused by the proxy,
so a plugin cannot point its own domain at the user's local services (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def ip_literal(host: str) -> IpAddress | None:
    """The address if `host` is an IP literal (`[::1]` accepted), else None."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def normalize_host(host: str) -> str:
    """Lower case, no trailing dot, no IPv6 brackets; IP literals in their canonical spelling."""
    address = ip_literal(host.strip())
    if address is not None:
        return str(address)
    return host.strip().lower().rstrip(".")


def normalize_pattern(pattern: str) -> str:
    """A grant in canonical form; raises ValueError with a sentence when it is not a host pattern."""
    text = pattern.strip()
    if not text:
        raise ValueError("an empty host cannot be granted")
    address = ip_literal(text)
    if address is not None:
        return str(address)
    text = text.lower().rstrip(".")
    if text == "*":
        raise ValueError("'*' grants every host: use network 'any' instead of a host list")
    name = text[2:] if text.startswith("*.") else text
    if not name or "*" in name or not set(name) <= _NAME_CHARS or ".." in name or name.startswith("."):
        raise ValueError(
            f"'{pattern}' is not a host name: grant a name like 'api.example.com', '*.example.com' "
            "or an IP address, without scheme, port or path")
    return text


def is_local_address(address: IpAddress) -> bool:
    """Addresses that reach this computer or its link rather than a remote host."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_link_local or address.is_unspecified
            or address.is_multicast)


@dataclass(frozen=True)
class HostRules:
    """The normalised grants of one plugin, and the check the proxy makes for every connection."""

    patterns: tuple[str, ...]

    @classmethod
    def of(cls, patterns: Iterable[str]) -> HostRules:
        return cls(tuple(dict.fromkeys(normalize_pattern(p) for p in patterns)))

    def match(self, host: str) -> str | None:
        """The grant that covers `host`, or None. IP literals match only a literal grant."""
        wanted = normalize_host(host)
        literal = ip_literal(wanted) is not None
        for pattern in self.patterns:
            if pattern == wanted:
                return pattern
            if not literal and pattern.startswith("*.") and wanted.endswith(pattern[1:]):
                return pattern
        return None

    def may_resolve_locally(self, pattern: str) -> bool:
        """A name may reach this computer only when the user granted `localhost` itself."""
        return pattern == "localhost"

    def describe(self) -> str:
        return ", ".join(self.patterns) if self.patterns else "none"
