"""Partition/sort keys of the application table, in one place (docs/data-model.md)."""

from __future__ import annotations


def tenant(tenant_id: str) -> tuple[str, str]:
    return f"TENANT#{tenant_id}", "TENANT"


def link(slug: str) -> tuple[str, str]:
    return f"LINK#{slug}", "LINK"


def bot(bot_id: str) -> tuple[str, str]:
    return f"BOT#{bot_id}", "BOT"


def pixel(pixel_id: str) -> tuple[str, str]:
    return f"PIXEL#{pixel_id}", "PIXEL"


def click(token: str) -> tuple[str, str]:
    return f"CLICK#{token}", "CLICK"


def tenant_index(tenant_id: str, kind: str, entity_id: str) -> dict[str, str]:
    """GSI1 attributes that list a tenant's configuration entities by kind."""
    return {"gsi1pk": f"TENANT#{tenant_id}", "gsi1sk": f"{kind}#{entity_id}"}
