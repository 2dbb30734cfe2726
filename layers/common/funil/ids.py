"""Identifiers Funil mints."""

from __future__ import annotations

import re
import secrets

# 16 random bytes in base64url without padding: 22 characters of A-Za-z0-9_-, well inside
# Telegram's start parameter limit (<= 64 characters of that alphabet).
CLICK_TOKEN_BYTES = 16
CLICK_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")

# A configuration entity's id (tenant, bot, gateway, offer…), as the operator's API accepts it: here
# rather than beside the operator's models, so the payments and broadcasts import none of them.
ENTITY_ID = r"^[A-Za-z0-9_-]{1,64}$"
# An offer's: ≤ 40 characters, so every callback_data (``b:<offer>``, ``bb:<offer>``) fits Telegram's 64 bytes.
OFFER_ID = r"^[A-Za-z0-9_-]{1,40}$"


def new_click_token() -> str:
    return secrets.token_urlsafe(CLICK_TOKEN_BYTES)


def is_click_token(value: object) -> bool:
    return isinstance(value, str) and CLICK_TOKEN_RE.fullmatch(value) is not None


def pageview_event_id(token: str) -> str:
    """Shared by the browser Pixel (eventID) and the server PageView, so Meta deduplicates them."""
    return f"pv_{token}"
