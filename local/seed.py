"""The demo seed: one tenant, the link ``demo`` rotating between two bots (3:1), a pixel.

Later issues add their parts (gateway, offers, bot tokens) here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from funil.adapters.dynamo import Table
from funil.models import Bot, Link, LinkBot, Pixel, Tenant

DEMO_TENANT = "t_demo"
DEMO_LINK = "demo"
DEMO_PIXEL = "px_demo"
DEMO_META_PIXEL_ID = "1234567890123456"
DEMO_BOTS = (("bot_demo_a", "FunilDemoABot", 3), ("bot_demo_b", "FunilDemoBBot", 1))


@dataclass
class Seed:
    tenant_id: str
    link_slug: str
    pixel_id: str
    meta_pixel_id: str
    bots: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def seed_demo(table: Table) -> Seed:
    entities: list[Tenant | Bot | Pixel | Link] = [
        Tenant(tenant_id=DEMO_TENANT, name="Demo VIP"),
        Pixel(tenant_id=DEMO_TENANT, pixel_id=DEMO_PIXEL, meta_pixel_id=DEMO_META_PIXEL_ID),
        *(Bot(tenant_id=DEMO_TENANT, bot_id=bot_id, username=username) for bot_id, username, _ in DEMO_BOTS),
        Link(
            tenant_id=DEMO_TENANT,
            slug=DEMO_LINK,
            bots=[LinkBot(bot_id=bot_id, weight=weight) for bot_id, _, weight in DEMO_BOTS],
            pixel_id=DEMO_PIXEL,
        ),
    ]
    for entity in entities:
        table.put(entity.to_item())
    return Seed(
        tenant_id=DEMO_TENANT,
        link_slug=DEMO_LINK,
        pixel_id=DEMO_PIXEL,
        meta_pixel_id=DEMO_META_PIXEL_ID,
        bots=[{"id": bot_id, "username": username, "weight": weight} for bot_id, username, weight in DEMO_BOTS],
    )
