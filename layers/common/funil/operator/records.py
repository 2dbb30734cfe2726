"""The writes every collection of the operator's API makes, with its errors (docs/operator-api.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from funil.adapters.dynamo import is_conditional_failure
from funil.operator.errors import Conflict, FieldProblem, Invalid, NotFound
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


def refuse_nulls(request: BaseModel, given: set[str], clearable: frozenset[str]) -> None:
    """422 on each field sent as null that null cannot mean anything for."""
    problems = [
        FieldProblem(name, "may not be null") for name in sorted(given - clearable) if getattr(request, name) is None
    ]
    if problems:
        raise Invalid("invalid input", problems)


def apply_changes(
    items: Store,
    key: tuple[str, str],
    changes: dict[str, Any],
    tenant_id: str,
    what: str,
    *,
    guard: tuple[str, Any] | None = None,
) -> dict[str, Any]:
    """SET each change, REMOVE each one that is None (cleared), on the tenant's existing item only
    (NotFound otherwise, in the same conditional write); the item as it is now. ``guard``: an
    attribute and the value it must still have (Conflict when another request changed it meanwhile)."""
    if not changes:
        return tenant_item(items, key, tenant_id, what)
    names = {"#tenant": "tenant_id"}
    values: dict[str, Any] = {":tenant": tenant_id}
    sets, removes = [], []
    for index, (name, value) in enumerate(changes.items()):
        names[f"#f{index}"] = name
        if value is None:
            removes.append(f"#f{index}")
        else:
            values[f":v{index}"] = value
            sets.append(f"#f{index} = :v{index}")
    clauses = ([f"SET {', '.join(sets)}"] if sets else []) + ([f"REMOVE {', '.join(removes)}"] if removes else [])
    condition = "attribute_exists(pk) AND #tenant = :tenant"
    if guard is not None:
        names["#guard"] = guard[0]
        if guard[1] is None:
            condition += " AND attribute_not_exists(#guard)"
        else:
            values[":guard"] = guard[1]
            condition += " AND #guard = :guard"
    try:
        return items.update(*key, " ".join(clauses), values, names=names, condition=condition, return_values="ALL_NEW")
    except Exception as error:
        if not is_conditional_failure(error):
            raise
        tenant_item(items, key, tenant_id, what)  # NotFound when it is gone (or not the tenant's)
        raise Conflict(f"{what} changed while this request ran: nothing was saved, try again") from error


def tenant_item(items: Store, key: tuple[str, str], tenant_id: str, what: str) -> dict[str, Any]:
    """The tenant's item; NotFound for a missing one and for another tenant's alike."""
    return owned(items.get(*key, consistent=True), tenant_id, what)
