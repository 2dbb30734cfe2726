"""Lists of the API, a page at a time: ``{"items": [...], "next_cursor": "…" | null}``.

The cursor is the page's last key, base64url JSON. It is opaque to the client, and checked on the
way back: a cursor must belong to the partition being listed (a tenant cannot page into another's).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from funil.operator.errors import Invalid
from funil.operator.ports import Store

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
_KEY_ATTRIBUTES = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None

    def as_json(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, index_pk: tuple[str, str]) -> dict[str, Any] | None:
    """The start key a cursor names, if it names a key of the ``(attribute, value)`` partition listed."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        key = None
    attribute, value = index_pk
    if (
        not isinstance(key, dict)
        or key.get(attribute) != value
        or not set(key) <= _KEY_ATTRIBUTES
        or not all(isinstance(part, str) for part in key.values())
    ):
        raise Invalid.field("cursor", "not a cursor of this list: pass next_cursor back as it was given")
    return key


def list_page(
    items: Store,
    listing: Mapping[str, str],
    *,
    limit: int,
    cursor: str | None,
    view: Callable[[dict[str, Any]], dict[str, Any]],
    keep: Callable[[dict[str, Any]], bool] = lambda _: True,
    newest_first: bool = False,
) -> Page:
    """One page of the items under a listing as ``funil.keys`` spells it: ``{"gsi1pk": partition,
    "gsi1sk": sort-key prefix}`` on an index, or ``{"pk": …, "sk": …}`` on the table itself."""
    (pk_name, partition), (sk_name, sort_prefix) = listing.items()
    start = decode_cursor(cursor, (pk_name, partition))
    condition, values = f"{pk_name} = :pk", {":pk": partition}
    if sort_prefix:  # a key condition may not compare with an empty string
        condition, values = f"{condition} AND begins_with({sk_name}, :prefix)", {**values, ":prefix": sort_prefix}
    found, last = items.query_page(
        condition,
        values,
        index=None if pk_name == "pk" else pk_name.removesuffix("pk"),
        limit=max(1, min(limit, MAX_LIMIT)),
        start=start,
        forward=not newest_first,
    )
    return Page([view(item) for item in found if keep(item)], encode_cursor(last))
