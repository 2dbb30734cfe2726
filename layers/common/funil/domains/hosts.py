"""Host names: a seller's domain as the operator's API takes it, and the host a click came through.

``normalise`` is the operator's strict check (IDNA, labels, not a public suffix, not AWS's own
names); ``request_host`` is the redirect's cheap one, standard library only (its cold path): it only
decides whether a host is worth one cached lookup. ``cookie_domain`` is the registrable parent by
the Public Suffix List, computed once when a domain is added and stored with it, so the redirect
never loads the list.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

MAX_HOST = 64  # ACM's limit on a certificate's domain name; it also keeps a click one write unit
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_REQUEST_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?$")  # ≤ MAX_HOST: longer is no domain of ours
# Names of AWS's own (the API's execute-api host and the like): the deployment's, never a seller's.
AWS_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".cloudfront.net")


class BadHost(ValueError):
    """Why a host cannot be a tracking domain, in words for the person who typed it."""


def normalise(raw: Any) -> str:
    """The host as stored and served: lowercase IDNA A-labels, no trailing dot; BadHost otherwise."""
    if not isinstance(raw, str):
        raise BadHost("a host name, like go.example.com")
    text = raw.strip().rstrip(".").lower()
    if not text or any(mark in text for mark in ("/", ":", "@", "*", " ", "\\", "?", "#")):
        raise BadHost("a bare host name, like go.example.com: no scheme, port, path or wildcard")
    try:
        import idna  # httpx's own dependency; only the operator's API comes here

        host = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise BadHost("not a valid international domain name") from None
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise BadHost("letters, digits and hyphens in dot-separated labels, at least two of them")
    if len(host) > MAX_HOST:
        raise BadHost(f"at most {MAX_HOST} characters (ACM's limit for a certificate's name)")
    if labels[-1].isdigit():
        raise BadHost("a domain name, not an IP address")
    if host.endswith(AWS_SUFFIXES):
        raise BadHost("a domain of your own, not one of AWS's")
    if cookie_domain(host) is None:
        raise BadHost("a public suffix (like com.br) cannot be a tracking domain: use a name under it")
    return host


@lru_cache(maxsize=1)
def _suffix_list() -> PublicSuffixList:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the snapshot it ships with: no network


def cookie_domain(host: str) -> str | None:
    """The registrable domain (eTLD+1) ``host`` is under, by the Public Suffix List with its private
    section, as browsers apply it to a cookie's ``Domain``: go.example.com → example.com,
    go.example.com.br → example.com.br, shop.github.io → shop.github.io. None for a public suffix."""
    found: str | None = _suffix_list().privatesuffix(host)
    return found


def request_host(value: object) -> str | None:
    """The host a request came through (``requestContext.domainName`` or ``Host``), lowercase, port
    and trailing dot dropped; None when it is no host name (an IP, nothing, or garbage)."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    name, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        text = name
    text = text.rstrip(".")
    if not _REQUEST_HOST.fullmatch(text) or "." not in text or ".." in text or text.rsplit(".", 1)[-1].isdigit():
        return None
    return text


def is_aws_host(host: str) -> bool:
    """A name of AWS's (the API's ``execute-api`` host): the deployment's own, never looked up."""
    return host.endswith(AWS_SUFFIXES)
