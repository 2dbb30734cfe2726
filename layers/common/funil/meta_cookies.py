"""Meta's first-party cookies: ``_fbc`` (click id) and ``_fbp`` (browser id).

Format ``fb.<subdomain index>.<creation ms>.<payload>``, optionally followed by the appendix that
Meta's parameter builder adds (2 or 8 base64url characters). fbc, fbp and client IP/UA are sent to
Meta unhashed.

The redirect sets both cookies the way Meta's parameter builder (PyPI ``capi_param_builder_python``,
our test oracle) does: a missing ``_fbp`` is minted as ``fb.1.<ms>.<random 0..2^31-1>``, an ``_fbc``
built from this click's fbclid replaces a missing or older one, each set first-party for 90 days on
``Path=/``. Where we differ, on purpose: no appendix (it names the builder's language and version,
and we are not the builder), subdomain index 1 always (as ``fbc_from_fbclid``), and ``SameSite=Lax;
Secure``. On the deployment's own host there is no ``Domain`` attribute: the cookie belongs to the
host that served the bridge page, whose Pixel reads it (on the API's ``execute-api`` host a Domain
attribute would be refused anyway: that name is a public suffix). On a seller's own domain the
cookies go on its registrable parent (go.example.com → ``Domain=example.com``), as the builder sets
them on the eTLD+1 it computes, so the seller's site shares them (docs/domains.md).
"""

from __future__ import annotations

import random
import re

MAX_COOKIE_LENGTH = 512
MAX_FBCLID_LENGTH = 500
FBC_COOKIE = "_fbc"
FBP_COOKIE = "_fbp"
COOKIE_MAX_AGE_SECONDS = 90 * 24 * 3600  # the parameter builder's DEFAULT_1PC_AGE
FBP_PAYLOAD_MAX = 2**31 - 1  # the builder's random.randint(0, 2147483647)

_APPENDIX = r"(?:\.(?:[A-Za-z0-9_-]{2}|[A-Za-z0-9_-]{8}))?"
FBC_RE = re.compile(r"^fb\.[0-2]\.\d{10,13}\.[A-Za-z0-9_-]{1,500}" + _APPENDIX + r"$")
FBP_RE = re.compile(r"^fb\.[0-2]\.\d{10,13}\.\d{1,20}" + _APPENDIX + r"$")
FBCLID_RE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")


def valid_fbc(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_COOKIE_LENGTH and FBC_RE.fullmatch(value) else None


def valid_fbp(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_COOKIE_LENGTH and FBP_RE.fullmatch(value) else None


def fbc_payload(fbc: str) -> str:
    """The click id inside an fbc value."""
    return fbc.split(".")[3]


def choose_fbc(cookie_value: str | None, fbclid: str | None, now_ms: int) -> tuple[str | None, str | None]:
    """The click's fbc and where it came from (``cookie`` or ``fbclid``).

    A fbclid in the URL is this click: it wins over a cookie left by an earlier ad click, as Meta's
    Pixel and parameter builder do. A cookie carrying the same fbclid is kept, with its earlier
    creation time.
    """
    cookie_fbc = valid_fbc(cookie_value)
    if fbclid and (cookie_fbc is None or fbc_payload(cookie_fbc) != fbclid):
        built = fbc_from_fbclid(fbclid, now_ms)
        if built:
            return built, "fbclid"
    return (cookie_fbc, "cookie") if cookie_fbc else (None, None)


def fbc_from_fbclid(fbclid: str, first_seen_ms: int) -> str | None:
    """``fb.1.<ms first seen>.<fbclid exactly as received>``; None when it is no plausible fbclid.

    Subdomain index 1 is what Meta's Pixel writes on a registrable domain (example.com).
    """
    if not FBCLID_RE.fullmatch(fbclid):
        return None
    return f"fb.1.{first_seen_ms}.{fbclid}"


def new_fbp_payload() -> int:
    """The random part of a minted ``_fbp``: a browser id, not a secret."""
    return random.randint(0, FBP_PAYLOAD_MAX)


def new_fbp(now_ms: int, payload: int) -> str:
    """``fb.1.<ms>.<payload>``: the ``_fbp`` the browser's Pixel adopts when it finds none of its own."""
    return f"fb.1.{now_ms}.{payload}"


def set_cookie(name: str, value: str, domain: str | None = None) -> str:
    """A ``Set-Cookie`` value for one of Meta's first-party cookies (see the module docstring);
    ``domain``: a seller's registrable domain the click came under (docs/domains.md)."""
    scope = f"; Domain={domain}" if domain else ""
    return f"{name}={value}; Max-Age={COOKIE_MAX_AGE_SECONDS}; Path=/{scope}; SameSite=Lax; Secure"
