"""What the dashboard's logic is given: the table, the clock, the public origin and randomness."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from funil.operator.ports import Store

__all__ = ["DashboardDeps", "new_secret"]

SECRET_BYTES = 32


def new_secret() -> str:
    """256 random bits, base64url (43 characters): a session cookie or a CSRF token."""
    return secrets.token_urlsafe(SECRET_BYTES)


@dataclass(frozen=True)
class DashboardDeps:
    """Attributes:
    items: the application table (sign-in links and sessions are written; everything else is read).
    public_base_url: the deployment's public origin; a browser's ``Origin`` must be it (or the
        origin the request was sent to).
    now: the clock.
    new_secret: where session cookies and CSRF tokens come from.
    """

    items: Store
    public_base_url: str
    now: Callable[[], datetime]
    new_secret: Callable[[], str] = field(default=new_secret)
