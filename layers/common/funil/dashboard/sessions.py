"""Dashboard sessions: signing in with a one-time link, the session cookie, CSRF, signing out.

Signing in (``POST /app/login``, form ``token=…``), in order: the token's form (43 base64url
characters), its link (``funil.operator.login_links``: unspent, unexpired), the link's tenant
(exists, enabled); then one transaction deletes the link and writes the session, so a link signs
in once even when two browsers press the button together. Any failure changes nothing.

A session is ``SESSION#<sha256 of the cookie>`` / ``SESSION`` (the cookie's value is 256 random
bits and is stored nowhere), scoped to one tenant, for ``SESSION_LIFETIME``; it carries the CSRF
token the page sends back on every state-changing request. Each request reads the session and its
tenant (both consistently): a session that expired, was signed out, or whose tenant was disabled is
refused at once, whatever the TTL has not tidied yet.

State-changing requests pass two checks (``csrf_allowed``): ``X-CSRF-Token`` equals the session's
token, and the browser's ``Origin`` (when it sends one) is ours; ``Sec-Fetch-Site``, when sent, must
say the request came from our own pages. Signing in has no session yet: it gets the origin checks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from funil import http, keys
from funil.adapters.dynamo import Write, is_conditional_failure
from funil.clock import iso, to_epoch_s
from funil.dashboard.ports import DashboardDeps
from funil.operator.login_links import find_login_link, login_link_key, token_hash

__all__ = [
    "SESSION_COOKIE",
    "SESSION_LIFETIME",
    "RefusedSignIn",
    "Session",
    "cleared_cookie",
    "csrf_allowed",
    "current_session",
    "origin_allowed",
    "session_cookie",
    "sign_in",
    "sign_out",
]

SESSION_COOKIE = "__Host-funil_session"
SESSION_LIFETIME = timedelta(hours=12)
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{43}")
CSRF_HEADER = "x-csrf-token"
# Sec-Fetch-Site values of a request our own pages made (or a person typed).
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


class RefusedSignIn(Exception):
    """The link is malformed, unknown, spent or expired, or its tenant is disabled: nothing changed."""


@dataclass(frozen=True)
class Session:
    """A signed-in browser of one tenant."""

    key: tuple[str, str]
    tenant_id: str
    tenant_name: str
    csrf_token: str

    def as_json(self) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "tenant_name": self.tenant_name, "csrf_token": self.csrf_token}


@dataclass(frozen=True)
class NewSession:
    cookie_value: str  # goes to the browser only
    tenant_id: str


def session_key(cookie_sha256: str) -> tuple[str, str]:
    """A dashboard session by the SHA-256 of its cookie's value."""
    return keys.session(cookie_sha256)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def session_cookie(value: str) -> str:
    seconds = int(SESSION_LIFETIME.total_seconds())
    return f"{SESSION_COOKIE}={value}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={seconds}"


def cleared_cookie() -> str:
    return f"{SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0"


def _enabled_tenant(deps: DashboardDeps, tenant_id: str) -> Mapping[str, Any] | None:
    tenant = deps.items.get(*keys.tenant(tenant_id), consistent=True)
    if tenant is None or tenant.get("enabled") is False or tenant.get("tenant_id") != tenant_id:
        return None
    return tenant


def sign_in(deps: DashboardDeps, token: str) -> NewSession:
    """Spend the link of ``token`` on a new session of its tenant; RefusedSignIn otherwise."""
    now = deps.now()
    link = find_login_link(deps.items, token, now)
    if link is None:
        raise RefusedSignIn("unknown, spent or expired link")
    tenant_id = str(link["tenant_id"])
    if _enabled_tenant(deps, tenant_id) is None:
        raise RefusedSignIn("the link's tenant is disabled")
    cookie_value, csrf_token = deps.new_secret(), deps.new_secret()
    pk, sk = session_key(_digest(cookie_value))
    session = {
        "pk": pk,
        "sk": sk,
        "type": "session",
        "tenant_id": tenant_id,
        "csrf_token": csrf_token,
        "key_id": link.get("key_id"),  # the API key that asked for the link
        "created_at": iso(now),
        "expires_at": to_epoch_s(now + SESSION_LIFETIME),
    }
    spend_link = Write(
        key=login_link_key(token_hash(token)),
        condition="attribute_exists(pk) AND tenant_id = :tenant AND expires_at > :now",
        values={":tenant": tenant_id, ":now": to_epoch_s(now)},
    )
    try:
        deps.items.transact_write([spend_link, Write(item=session, condition="attribute_not_exists(pk)")])
    except Exception as error:
        if is_conditional_failure(error):  # another sign-in spent it first
            raise RefusedSignIn("the link was spent meanwhile") from None
        raise
    return NewSession(cookie_value=cookie_value, tenant_id=tenant_id)


def presented_cookie(event: http.Event) -> str | None:
    """The session cookie's value as the browser sent it (None when absent)."""
    return http.cookies(event).get(SESSION_COOKIE)


def current_session(deps: DashboardDeps, event: http.Event) -> Session | None:
    """The request's session: its cookie names a live session whose tenant is enabled."""
    value = presented_cookie(event)
    if value is None or not SECRET_RE.fullmatch(value):
        return None
    key = session_key(_digest(value))
    item = deps.items.get(*key, consistent=True)  # a session signed out a moment ago is refused
    if item is None or item.get("type") != "session":
        return None
    expires_at, tenant_id, csrf_token = item.get("expires_at"), item.get("tenant_id"), item.get("csrf_token")
    if not isinstance(expires_at, int) or isinstance(expires_at, bool) or expires_at <= to_epoch_s(deps.now()):
        return None
    if not isinstance(tenant_id, str) or not tenant_id or not isinstance(csrf_token, str):
        return None
    tenant = _enabled_tenant(deps, tenant_id)
    if tenant is None:
        return None
    return Session(key=key, tenant_id=tenant_id, tenant_name=str(tenant.get("name") or ""), csrf_token=csrf_token)


def sign_out(deps: DashboardDeps, session: Session) -> None:
    deps.items.delete(*session.key)


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def origin_allowed(event: http.Event, public_base_url: str) -> bool:
    """Whether the browser says the request comes from our own pages: its ``Origin`` (when sent) is
    the public origin or the one it was addressed to, and its ``Sec-Fetch-Site`` (when sent) agrees."""
    site = http.header(event, "sec-fetch-site")
    if site is not None and site.strip().lower() not in OWN_FETCH_SITES:
        return False
    origin = http.header(event, "origin")
    if origin is None:
        return True  # not every client sends one; the cookie is SameSite=Strict and the CSRF token is checked
    sent = _origin(origin)
    if sent is None:  # "null" (a sandboxed frame, a redirect across origins) or nonsense
        return False
    ours = {_origin(public_base_url)} if public_base_url else set()
    host = http.header(event, "host")
    if host:
        scheme = (http.header(event, "x-forwarded-proto") or "https").split(",")[0].strip().lower()
        ours.add(_origin(f"{scheme}://{host.strip()}"))
    return sent in ours


def csrf_allowed(event: http.Event, session: Session, public_base_url: str) -> bool:
    sent = http.header(event, CSRF_HEADER) or ""
    token_ok = hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), session.csrf_token.encode())
    return token_ok and origin_allowed(event, public_base_url)
