"""The demo seed: one tenant, the link ``demo`` rotating between two bots (3:1), a pixel.

The bots get local-only tokens
(``<n>:TEST-…``, valid only at the fake Bot API) and random webhook secrets, KMS-encrypted into
their items (each under its item's and attribute's encryption context, ``funil.encryption``) when
the account has a key; the plaintexts are in the Seed JSON for testers (local only).
Each bot has pt-BR offers, one with a Telegram Stars price. The tenant's PIX gateway is the sandbox
(``seed_sandbox_gateway``), added by the local stack once it knows where the sandbox's API is served,
and told where our webhook route is the way the operator's API does it for a real gateway
(``funil.payments.setup.register_webhook``).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from funil import encryption, keys
from funil.adapters.dynamo import Table
from funil.bot.models import Offer
from funil.delivery.models import DeliveryKind, DeliverySpec
from funil.operator.models import Bot, Link, LinkBot, Pixel, Tenant

if TYPE_CHECKING:
    from funil.payments.ports import Deps as PaymentDeps

DEMO_TENANT = "t_demo"
DEMO_LINK = "demo"
DEMO_PIXEL = "px_demo"
DEMO_META_PIXEL_ID = "1234567890123456"
DEMO_BOTS = (("bot_demo_a", "FunilDemoABot", 3), ("bot_demo_b", "FunilDemoBBot", 1))
DEMO_VIP_CHAT = -1001000000001  # the demo's private group (the fake Bot API accepts any chat)
DEMO_GATEWAY = "gw_sandbox_demo"


def demo_token(index: int) -> str:
    """A token of Telegram's shape that is obviously fake: valid only at the local fake Bot API."""
    return f"{700001 + index}:TEST-funil-local-demo-bot-{index:02d}-not-real"


def demo_offers(bot_id: str) -> list[Offer]:
    return [
        Offer(
            tenant_id=DEMO_TENANT,
            bot_id=bot_id,
            offer_id="grupo_vip",
            title="Grupo VIP (30 dias)",
            description="Acesso ao grupo VIP por 30 dias, com conteúdo diário.",
            price_cents=1990,
            stars_price=150,
            delivery=DeliverySpec(
                kind=DeliveryKind.INVITE_LINK, chat_id=DEMO_VIP_CHAT, button_text="Entrar no grupo VIP"
            ),
            position=1,
        ),
        Offer(
            tenant_id=DEMO_TENANT,
            bot_id=bot_id,
            offer_id="curso",
            title="Curso completo",
            description="Todas as aulas do curso, para sempre.",
            price_cents=9700,
            delivery=DeliverySpec(
                text="Obrigado pela compra! Suas aulas estão no link abaixo.",
                url="https://example.com/curso-demo",
                button_text="Abrir o curso",
            ),
            position=2,
        ),
    ]


def _secrets_key(table: Table) -> str | None:
    """The account's KMS key (moto's, in tests and the local stack), if there is exactly one."""
    try:
        from funil.adapters.kms import kms_client

        keys = kms_client().list_keys().get("Keys", [])
    except Exception:
        return None
    return str(keys[0]["KeyId"]) if len(keys) == 1 else None


@dataclass
class Seed:
    tenant_id: str
    link_slug: str
    pixel_id: str
    meta_pixel_id: str
    bots: list[dict[str, Any]] = field(default_factory=list)
    gateway_id: str | None = None  # the tenant's sandbox PIX gateway, once seeded
    gateways: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def seed_demo(table: Table, kms_key_id: str | None = None) -> Seed:
    from funil.adapters.kms import Kms

    key_id = kms_key_id or _secrets_key(table)
    kms = Kms() if key_id else None
    credentials = {
        bot_id: (demo_token(index), secrets.token_urlsafe(32)) for index, (bot_id, _, _) in enumerate(DEMO_BOTS)
    }

    def encrypted(bot_id: str, field: str, plaintext: str) -> str | None:
        if kms is None or key_id is None:
            return None
        return encryption.encrypt_field(kms, key_id, keys.bot(bot_id), field, plaintext)

    entities: list[Tenant | Bot | Pixel | Link | Offer] = [
        Tenant(tenant_id=DEMO_TENANT, name="Demo VIP"),
        Pixel(tenant_id=DEMO_TENANT, pixel_id=DEMO_PIXEL, meta_pixel_id=DEMO_META_PIXEL_ID),
        *(
            Bot(
                tenant_id=DEMO_TENANT,
                bot_id=bot_id,
                username=username,
                pixel_id=DEMO_PIXEL,
                token_ciphertext=encrypted(bot_id, encryption.BOT_TOKEN, credentials[bot_id][0]),
                webhook_secret_ciphertext=encrypted(bot_id, encryption.BOT_WEBHOOK_SECRET, credentials[bot_id][1]),
            )
            for bot_id, username, _ in DEMO_BOTS
        ),
        *(offer for bot_id, _, _ in DEMO_BOTS for offer in demo_offers(bot_id)),
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
        bots=[
            {
                "id": bot_id,
                "username": username,
                "weight": weight,
                # Local-only credentials, for testers (the fake Bot API and the webhook's secret header).
                **({"token": credentials[bot_id][0], "webhook_secret": credentials[bot_id][1]} if kms else {}),
                "offers": [offer.offer_id for offer in demo_offers(bot_id)],
            }
            for bot_id, username, weight in DEMO_BOTS
        ],
    )


@dataclass(frozen=True)
class SandboxCredentials:
    """The demo sandbox gateway's secrets (local only): its API key, webhook signing key, URL secret."""

    api_key: str
    webhook_secret: str
    url_secret: str


def new_sandbox_credentials() -> SandboxCredentials:
    return SandboxCredentials(
        api_key=secrets.token_urlsafe(24),
        webhook_secret=secrets.token_urlsafe(32),
        url_secret=secrets.token_urlsafe(24),
    )


def seed_sandbox_gateway(
    table: Table,
    key_id: str,
    base_url: str,
    seed: Seed | None = None,
    *,
    payments: PaymentDeps | None = None,
    credentials: SandboxCredentials | None = None,
) -> SandboxCredentials:
    """The demo tenant's PIX gateway: the sandbox at ``base_url``, credentials encrypted with KMS.

    With ``payments`` (its ``public_base_url`` set), the gateway is then told our webhook URL through
    its own API, as any gateway added by the operator: the sandbox knows it from nowhere else.
    """
    from funil.adapters.kms import Kms
    from funil.payments.setup import register_webhook
    from funil.payments.storage import Gateway

    credentials = credentials or new_sandbox_credentials()
    gateway = Gateway(gateway_id=DEMO_GATEWAY, tenant_id=DEMO_TENANT, kind="sandbox", name="Sandbox", base_url=base_url)
    item = gateway.to_item(
        Kms(),
        key_id,
        {"api_key": credentials.api_key, "webhook_secret": credentials.webhook_secret},
        credentials.url_secret,
    )
    table.put(item)
    if payments is not None:
        register_webhook(item, payments)
    if seed is not None:
        seed.gateway_id = DEMO_GATEWAY
        seed.gateways = [{"id": DEMO_GATEWAY, "kind": "sandbox", "base_url": base_url}]
    return credentials
