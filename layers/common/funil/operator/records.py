"""The writes every collection of the operator's API makes, with its errors (docs/operator-api.md)."""

from __future__ import annotations

from typing import Any

from funil.adapters.dynamo import is_conditional_failure
from funil.operator.errors import Conflict, NotFound
from funil.operator.ports import Store


def owned(item: dict[str, Any] | None, tenant_id: str, what: str) -> dict[str, Any]:
    """The item if it exists and is the tenant's; otherwise NotFound, the same for both (isolation)."""
    if item is None or item.get("tenant_id") != tenant_id:
        raise NotFound(f"no {what}")
    return item


def put_new(items: Store, item: dict[str, Any], taken: str) -> None:
    """Write an item that must not exist yet; Conflict (``taken``) when its key is in use."""
    try:
        items.put(item, condition="attribute_not_exists(pk)")
    except Exception as error:
        if is_conditional_failure(error):
            raise Conflict(taken) from error
        raise


def update_fields(
    items: Store,
    key: tuple[str, str],
    changes: dict[str, Any],
    missing: str,
    *,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    """SET each changed attribute of an existing item (of ``tenant_id``'s, when given): NotFound
    otherwise, in the same conditional write; the item as it is now."""
    if not changes:
        item = items.get(*key)
        if item is None or (tenant_id is not None and item.get("tenant_id") != tenant_id):
            raise NotFound(missing)
        return item
    names = {f"#f{index}": name for index, name in enumerate(changes)}
    values: dict[str, Any] = {f":v{index}": value for index, value in enumerate(changes.values())}
    condition = "attribute_exists(pk)"
    if tenant_id is not None:
        names["#tenant"] = "tenant_id"
        values[":tenant"] = tenant_id
        condition += " AND #tenant = :tenant"
    expression = "SET " + ", ".join(f"#f{index} = :v{index}" for index in range(len(changes)))
    try:
        return items.update(*key, expression, values, names=names, condition=condition, return_values="ALL_NEW")
    except Exception as error:
        if is_conditional_failure(error):
            raise NotFound(missing) from error
        raise
