"""The network guard: which addresses the hub may fetch from.

Feeds are untrusted and redirect wherever they like, so by default the hub
refuses to connect to anything that is not a public internet address
(loopback, RFC 1918, ULA, link-local and cloud metadata, CGNAT, multicast,
unspecified, reserved, and the IPv6 forms that embed those). The check runs
on the *resolved* address at connect time (``GuardedResolver``) and on IP
literals in URLs (which never reach a resolver), on every redirect hop.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from mediahub.errors import GuardError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_FIX = "set allow_private_networks = true (or list the network in allow_networks) under [aggregate]"
# One to four dot-separated parts, each decimal, octal (leading 0) or hex (0x): what
# inet_aton() accepts and what browsers and resolvers turn into an IPv4 address.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)


@dataclass(frozen=True, slots=True)
class NetworkGuard:
    """Policy: refuse non-public addresses unless allowed.

    ``allow_private`` turns the guard off (LAN feeds, tests); ``allow`` lists
    networks that are fine even though they are not public.
    """

    allow_private: bool = False
    allow: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, allow_private: bool, networks: Iterable[str]) -> NetworkGuard:
        return cls(allow_private, tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def check_address(self, address: str | Address, where: str = "") -> None:
        """Raise GuardError unless the hub may connect to ``address``."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if self.allow_private or any(ip in net for net in self.allow if net.version == ip.version):
            return
        reason = refusal(ip)
        if reason:
            raise GuardError(where or str(ip), f"refused to connect to {ip} ({reason})", _FIX)

    def check_url(self, url: str) -> None:
        """Check a URL before any request: scheme, and the host if it is an IP literal.

        Host names are checked later, on what they resolve to.
        """
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise GuardError(url, f"not a valid URL: {exc}", "check the address") from None
        if parts.scheme not in ("http", "https"):
            raise GuardError(url, f"scheme {parts.scheme!r} is not fetched", "use http or https")
        if not host:
            raise GuardError(url, "has no host name", "use a full http(s) URL")
        if self.allow_private:
            return
        literal = literal_address(host)
        if literal is not None:
            self.check_address(literal, url)
        elif host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
            raise GuardError(url, "refused to connect to localhost (loopback)", _FIX)


def literal_address(host: str) -> Address | None:
    """The address an IP-literal host stands for, including odd IPv4 forms.

    ``2130706433``, ``0x7f.0.0.1`` and ``0177.1`` all mean 127.0.0.1 to
    inet_aton() and most resolvers; a host that looks numeric but is not a
    valid address is refused outright, since resolvers disagree on it.
    """
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    if not _NUMERIC_HOST.match(text):
        return None
    parts = [_number(p) for p in text.rstrip(".").split(".")]
    value = 0
    try:
        if any(p is None for p in parts):
            raise ValueError
        nums = [p for p in parts if p is not None]
        # a.b.c.d, a.b.(16 bits), a.(24 bits), (32 bits)
        widths = [8] * (len(nums) - 1)
        last_bits = 32 - 8 * (len(nums) - 1)
        for num, width in zip(nums, widths, strict=False):
            if num > 255:
                raise ValueError
            value = (value << width) | num
        if nums[-1] >= 1 << last_bits:
            raise ValueError
        value = (value << last_bits) | nums[-1]
    except ValueError:
        raise GuardError(host, "is a malformed numeric address", "use a host name") from None
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int | None:
    try:
        if part.lower().startswith("0x"):
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part, 8)
        return int(part)
    except ValueError:
        return None


def refusal(ip: Address) -> str | None:
    """Why ``ip`` is not a public address, or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = refusal(embedded)
            return f"embeds {embedded}: {inner}" if inner else None
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.version == 4 and ip in _CGNAT, "carrier-grade NAT"),
        (ip.is_private, "private network"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not a public address"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None
