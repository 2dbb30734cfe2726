"""One-time sign-in links to the dashboard: ``<PUBLIC_BASE_URL>/app/login?token=<t>``.

A tenant's API key asks for one (``POST /api/v1/login-links``, ``funil login``), and so does an admin
of one of the tenant's bots in Telegram (``/painel``, ``funil.bot.admin``): both through
``create_login_link``, which records who asked (``key_id``, ``via``). The person who opens it gets a
dashboard session (``funil.dashboard.sessions``). The token is 256 random bits,
shown once and stored only as its SHA-256 (``LOGIN#<sha256>`` / ``LOGIN``), so a copy of the table
signs nobody in. It is spent by the sign-in that uses it (deleted in the transaction that writes the
session) and is worth nothing after ``LINK_LIFETIME``; the TTL only tidies up.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from funil import keys
from funil.clock import iso, to_epoch_s
from funil.operator.errors import Unconfigured
from funil.ports import Items

__all__ = ["LINK_LIFETIME", "TOKEN_RE", "CreatedLoginLink", "create_login_link", "find_login_link", "login_link_key"]

LINK_LIFETIME = timedelta(minutes=15)
TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32): 43 base64url characters
LOGIN_PATH = "/app/login"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def login_link_key(token_sha256: str) -> tuple[str, str]:
    """A sign-in link by the SHA-256 of its token (the token itself is never stored)."""
    return keys.login_link(token_sha256)


@dataclass(frozen=True)
class CreatedLoginLink:
    url: str  # carries the token: shown once
    expires_at: str

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "expires_at": self.expires_at}


def create_login_link(
    items: Items, tenant_id: str, public_base_url: str, now: datetime, *, key_id: str | None, via: str
) -> CreatedLoginLink:
    """A fresh single-use link to ``tenant_id``'s dashboard, valid for ``LINK_LIFETIME``. ``key_id``: the
    API key that asked (None when none did); ``via``: how it was asked (``api``, or
    ``telegram:<bot>:<Telegram user id>`` for a bot's admin). Unconfigured without ``public_base_url``."""
    if not tenant_id:  # the route refuses the operator's key before this; a bot always has its tenant
        raise ValueError("a sign-in link is a tenant's")
    if not public_base_url:
        raise Unconfigured("this deployment has no PublicBaseUrl: a sign-in link needs the dashboard's address")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = now + LINK_LIFETIME
    pk, sk = login_link_key(token_hash(token))
    items.put(
        {
            "pk": pk,
            "sk": sk,
            "type": "login_link",
            "tenant_id": tenant_id,
            "key_id": key_id,  # absent when no key asked (a None attribute is not written)
            "via": via,
            "created_at": iso(now),
            "expires_at": to_epoch_s(expires),
        },
        condition="attribute_not_exists(pk)",
    )
    return CreatedLoginLink(url=f"{public_base_url.rstrip('/')}{LOGIN_PATH}?token={token}", expires_at=iso(expires))


def find_login_link(items: Items, token: str, now: datetime) -> Mapping[str, Any] | None:
    """The unspent, unexpired link of ``token`` (None for a malformed, unknown, spent or expired one).
    Reads only: showing the sign-in page must not spend the link."""
    if not TOKEN_RE.fullmatch(token):
        return None
    item = items.get(*login_link_key(token_hash(token)), consistent=True)
    if item is None or not item.get("tenant_id"):
        return None
    expires_at = item.get("expires_at")
    if not isinstance(expires_at, int) or isinstance(expires_at, bool) or expires_at <= to_epoch_s(now):
        return None  # DynamoDB serves expired items until it deletes them
    return item
