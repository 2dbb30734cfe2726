"""IP handling: which address is the client's, its keyed hash and its anonymised form (LGPD)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress

MAX_IP_LENGTH = 45  # the longest textual IPv6 address


def parse_ip(value: str | None) -> str | None:
    """The canonical text of an IP address, or None when ``value`` is not one."""
    if not value or len(value) > MAX_IP_LENGTH + 8:
        return None
    candidate = value.strip()
    if candidate.startswith("[") and "]" in candidate:  # "[v6]:port"
        candidate = candidate[1 : candidate.index("]")]
    elif candidate.count(":") == 1:  # "v4:port"
        candidate = candidate.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def client_ip(source_ip: str | None, forwarded_for: str | None, trusted_proxy_hops: int) -> str | None:
    """The client's IP.

    By default the connection's source address (API Gateway's ``sourceIp``) is the client: a
    forwarded header can be forged by anyone. Only when ``trusted_proxy_hops`` proxies we run sit in
    front (CloudFront adds one) is X-Forwarded-For read, taking the address that many hops from
    its right end, which is the one the first trusted proxy saw.
    """
    if trusted_proxy_hops > 0 and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= trusted_proxy_hops:
            forwarded = parse_ip(hops[-trusted_proxy_hops])
            if forwarded:
                return forwarded
    return parse_ip(source_ip)


def ip_hmac(ip: str, secret: bytes) -> str:
    """A keyed hash of the IP, stable per deployment, for analytics that outlive the raw IP.

    HMAC-SHA256 truncated to its first 128 bits (RFC 2104 §5 allows truncating to half the output),
    in base64url: 22 characters instead of 64 hex digits, on every click item.
    """
    digest = hmac.new(secret, ip.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def anonymised_ip(ip: str) -> str:
    """The /24 network of an IPv4 address or the /48 of an IPv6 one."""
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)
