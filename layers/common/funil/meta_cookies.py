"""Meta's first-party cookies: ``_fbc`` (click id) and ``_fbp`` (browser id).

Format ``fb.<subdomain index>.<creation ms>.<payload>``, optionally followed by the appendix that
Meta's parameter builder adds (2 or 8 base64url characters). fbc, fbp and client IP/UA are sent to
Meta unhashed.
"""

from __future__ import annotations

import re

MAX_COOKIE_LENGTH = 512
MAX_FBCLID_LENGTH = 500

_APPENDIX = r"(?:\.(?:[A-Za-z0-9_-]{2}|[A-Za-z0-9_-]{8}))?"
FBC_RE = re.compile(r"^fb\.[0-2]\.\d{10,13}\.[A-Za-z0-9_-]{1,500}" + _APPENDIX + r"$")
FBP_RE = re.compile(r"^fb\.[0-2]\.\d{10,13}\.\d{1,20}" + _APPENDIX + r"$")
FBCLID_RE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")


def valid_fbc(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_COOKIE_LENGTH and FBC_RE.match(value) else None


def valid_fbp(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_COOKIE_LENGTH and FBP_RE.match(value) else None


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
    if not FBCLID_RE.match(fbclid):
        return None
    return f"fb.1.{first_seen_ms}.{fbclid}"
