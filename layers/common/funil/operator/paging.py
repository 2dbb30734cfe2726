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
from typing import Any, TypeVar

from funil.operator.errors import Invalid
from funil.operator.ports import Store

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
T = TypeVar("T")


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


NOT_A_CURSOR = "not a cursor of this list: pass next_cursor back as it was given"


def _decoded(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def decode_cursor(cursor: str | None, index_pk: tuple[str, str]) -> dict[str, Any] | None:
    """The start key a cursor names, if it is a whole key of the ``(attribute, value)`` partition
    listed: the table's ``pk``/``sk``, and an index's own two attributes when listing an index."""
    if not cursor:
        return None
    key = _decoded(cursor)
    attribute, value = index_pk
    whole = {"pk", "sk"} | ({attribute, attribute.removesuffix("pk") + "sk"} if attribute != "pk" else set())
    if (
        not isinstance(key, dict)
        or key.get(attribute) != value
        or set(key) != whole
        or not all(isinstance(part, str) and part for part in key.values())
    ):
        raise Invalid.field("cursor", NOT_A_CURSOR)
    return key


def page_by_id(
    found: Mapping[str, T],
    *,
    limit: int,
    cursor: str | None,
    view: Callable[[T], dict[str, Any]],
) -> Page:
    """A page of a small list read whole (a tenant's keys, its offers), in id order, each entry once;
    the cursor is the last id shown, so it reveals nothing stored (an API key's hash is a key's pk)."""
    after = None
    if cursor:
        decoded = _decoded(cursor)
        after = decoded.get("after") if isinstance(decoded, dict) and set(decoded) == {"after"} else None
        if not isinstance(after, str):
            raise Invalid.field("cursor", NOT_A_CURSOR)
    ids = sorted(entry_id for entry_id in found if after is None or entry_id > after)
    shown = ids[: max(1, min(limit, MAX_LIMIT))]
    last = {"after": shown[-1]} if len(ids) > len(shown) else None
    return Page([view(found[entry_id]) for entry_id in shown], encode_cursor(last))


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
