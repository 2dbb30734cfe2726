"""The demo: one tenant, the link ``demo`` rotating between two bots (3:1), a pixel, a sandbox gateway.

This module is the demo's one definition (ids, usernames, tokens, offers, texts), written as the
operator's API request bodies (``demo_tenant_request``, ``demo_requests``). It is created two ways:

- **through the API** (``local.demo``): the local stack, once its fakes of the outside world are
  mounted, creates it the way a seller would, with ``POST /api/v1/…`` requests through its own
  server and AdminApiFunction; Telegram (getMe, setWebhook), Meta (the pixel's test event) and the
  sandbox (its test call, the webhook registration) are the fakes;
- **written directly** (``seed_demo``): handler tests (``tests/conftest.py``'s ``seed`` fixture, the
  Telegram harness, benches) have no stack, no server and no fakes to check anything against, so the
  same entities are put in the table as the API would store them (secrets KMS-encrypted under their
  item's context, ``funil.encryption``, when the account has one key). A local stack started with
  only some of the fakes (a test isolating one of them) also gets the demo this way (``local.demo``).

The bots' tokens are local-only (``<n>:TEST-…``, valid only at the fake Bot API); the plaintexts are
in the Seed JSON for testers (local only).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from funil import encryption, keys
from funil.adapters.dynamo import Table
from funil.bot.models import Offer
from funil.operator.models import Bot, Link, LinkBot, Pixel, Tenant

if TYPE_CHECKING:
    from funil.payments.ports import Deps as PaymentDeps

DEMO_TENANT = "t_demo"
DEMO_TENANT_NAME = "Demo VIP"
DEMO_LINK = "demo"
DEMO_PIXEL = "px_demo"
DEMO_META_PIXEL_ID = "1234567890123456"
# A Conversions API token accepted by the local fake Graph API only.
DEMO_PIXEL_ACCESS_TOKEN = "EAAB-local-demo-capi-token-not-real"  # noqa: S105 - a fake's
DEMO_BOTS = (("bot_demo_a", "FunilDemoABot", 3), ("bot_demo_b", "FunilDemoBBot", 1))
DEMO_VIP_CHAT = -1001000000001  # the demo's private group (the fake Bot API accepts any chat)
DEMO_ADMIN_CHAT = 5550900  # the demo seller's private chat with bot A: its sales are told there
DEMO_GATEWAY = "gw_sandbox_demo"
DEMO_GATEWAY_NAME = "Sandbox"

# The offers every demo bot sells, as POST /api/v1/offers bodies (without bot_ids: all the bots). The
# unlisted ones come first: an offer may link only offers that exist (downsell, upsell, order bump).
DEMO_OFFERS: tuple[dict[str, Any], ...] = (
    {
        "id": "grupo_vip_7d",
        "title": "Grupo VIP (7 dias)",
        "description": "Uma semana no grupo VIP, por menos.",
        "price_cents": 990,
        "delivery": {"kind": "invite_link", "chat_id": DEMO_VIP_CHAT, "button_text": "Entrar no grupo VIP"},
        "listed": False,
        "position": 3,
    },
    {
        "id": "checklist",
        "title": "Checklist de bônus",
        "description": "O passo a passo da mentoria em uma página.",
        "price_cents": 1490,
        "delivery": {
            "kind": "message",
            "text": "Seu checklist está no link abaixo.",
            "url": "https://example.com/checklist-demo",
            "button_text": "Abrir o checklist",
        },
        "listed": False,
        "position": 4,
    },
    {
        "id": "mentoria",
        "title": "Mentoria em grupo",
        "description": "Quatro encontros ao vivo para tirar dúvidas do curso.",
        "price_cents": 19700,
        "delivery": {
            "kind": "message",
            "text": "Bem-vindo à mentoria! A agenda dos encontros está no link abaixo.",
            "url": "https://example.com/mentoria-demo",
            "button_text": "Ver a agenda",
        },
        "listed": False,
        "bump_offer_id": "checklist",
        "position": 5,
    },
    {
        "id": "grupo_vip",
        "title": "Grupo VIP (30 dias)",
        "description": "Acesso ao grupo VIP por 30 dias, com conteúdo diário.",
        "price_cents": 1990,
        "stars_price": 150,
        "delivery": {"kind": "invite_link", "chat_id": DEMO_VIP_CHAT, "button_text": "Entrar no grupo VIP"},
        "access_days": 30,  # removed from the group at the end, reminded 3 and 1 days before (funil.access)
        "position": 1,
        "downsell_offer_id": "grupo_vip_7d",
        "pix_reminder_minutes": 10,
        "pix_follow_up_minutes": 30,
    },
    {
        "id": "curso",
        "title": "Curso completo",
        "description": "Todas as aulas do curso, para sempre.",
        "price_cents": 9700,
        "delivery": {
            "kind": "message",
            "text": "Obrigado pela compra! Suas aulas estão no link abaixo.",
            "url": "https://example.com/curso-demo",
            "button_text": "Abrir o curso",
        },
        "position": 2,
        "upsell_offer_id": "mentoria",
        "pix_reminder_minutes": 10,
        "pix_follow_up_minutes": 30,
    },
)


def demo_token(index: int) -> str:
    """A token of Telegram's shape that is obviously fake: valid only at the local fake Bot API."""
    return f"{700001 + index}:TEST-funil-local-demo-bot-{index:02d}-not-real"


def demo_offers(bot_id: str) -> list[Offer]:
    """The demo's offers as one bot's stored copies."""
    return [
        Offer(tenant_id=DEMO_TENANT, bot_id=bot_id, offer_id=offer_id, **content)
        for offer_id, content in ((offer["id"], {k: v for k, v in offer.items() if k != "id"}) for offer in DEMO_OFFERS)
    ]


# -- the demo as the operator's API requests ------------------------------------------------------


def demo_tenant_request() -> dict[str, Any]:
    """``POST /api/v1/tenants`` (the operator's key)."""
    return {"id": DEMO_TENANT, "name": DEMO_TENANT_NAME}


def demo_gateway_request(base_url: str, api_key: str, webhook_secret: str) -> dict[str, Any]:
    """``POST /api/v1/gateways``: the sandbox served at ``base_url``, with that account's credentials."""
    return {
        "id": DEMO_GATEWAY,
        "kind": "sandbox",
        "name": DEMO_GATEWAY_NAME,
        "base_url": base_url,
        "credentials": {"api_key": api_key, "webhook_secret": webhook_secret},
    }


def demo_requests(gateway: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """The rest of the demo, in order, as ``(path under /api/v1, body)`` POSTs with the tenant's key."""
    bot_ids = [bot_id for bot_id, _, _ in DEMO_BOTS]
    return [
        ("/pixels", {"id": DEMO_PIXEL, "meta_pixel_id": DEMO_META_PIXEL_ID, "access_token": DEMO_PIXEL_ACCESS_TOKEN}),
        *(
            ("/bots", {"id": bot_id, "token": demo_token(index), "pixel_id": DEMO_PIXEL})
            for index, (bot_id, _, _) in enumerate(DEMO_BOTS)
        ),
        *([("/gateways", gateway)] if gateway is not None else []),
        *(("/offers", {**offer, "bot_ids": bot_ids}) for offer in DEMO_OFFERS),
        (
            "/links",
            {
                "slug": DEMO_LINK,
                "bots": [{"id": bot_id, "weight": weight} for bot_id, _, weight in DEMO_BOTS],
                "pixel_id": DEMO_PIXEL,
            },
        ),
    ]


# -- what testers get -----------------------------------------------------------------------------


@dataclass
class Seed:
    tenant_id: str
    link_slug: str
    pixel_id: str
    meta_pixel_id: str
    bots: list[dict[str, Any]] = field(default_factory=list)
    gateway_id: str | None = None  # the tenant's sandbox PIX gateway, once seeded
    gateways: list[dict[str, Any]] = field(default_factory=list)
    # Local stack only: the operator's API (its URL, the demo tenant's key, an operator key).
    api_url: str | None = None
    api_key: str | None = None
    operator_key: str | None = None
    admin_chat_id: int | None = None  # the demo tenant's admin chat (registered by /admin <code>)
    # The demo's destinations (UTMify, TikTok, GA4, webhook) at the local fakes; the webhook's signing secret.
    destinations: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def demo_seed(credentials: dict[str, tuple[str, str]] | None = None) -> Seed:
    """The Seed of the demo; ``credentials``: bot id → (token, webhook secret), shown for testers."""
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
                **(
                    {"token": credentials[bot_id][0], "webhook_secret": credentials[bot_id][1]}
                    if credentials and bot_id in credentials
                    else {}
                ),
                "offers": [offer["id"] for offer in DEMO_OFFERS],
            }
            for bot_id, username, weight in DEMO_BOTS
        ],
    )


# -- the demo written directly --------------------------------------------------------------------


def _secrets_key(table: Table) -> str | None:
    """The account's KMS key (moto's, in tests and the local stack), if there is exactly one."""
    try:
        from funil.adapters.kms import kms_client

        keys = kms_client().list_keys().get("Keys", [])
    except Exception:
        return None
    return str(keys[0]["KeyId"]) if len(keys) == 1 else None


def seed_demo(table: Table, kms_key_id: str | None = None, *, pixel_access_token: str | None = None) -> Seed:
    """The demo's items put straight into ``table``, as the API would store them (no outside world).

    Without a KMS key (none given, and not exactly one in the account) the bots have no credentials.
    ``pixel_access_token``: the pixel's Conversions API token (encrypted; handler tests leave it out).
    """
    from funil.adapters.kms import Kms

    key_id = kms_key_id or _secrets_key(table)
    kms = Kms() if key_id else None
    credentials = {
        bot_id: (demo_token(index), secrets.token_urlsafe(32)) for index, (bot_id, _, _) in enumerate(DEMO_BOTS)
    }

    def encrypted(key: tuple[str, str], field: str, plaintext: str | None) -> str | None:
        if kms is None or key_id is None or plaintext is None:
            return None
        return encryption.encrypt_field(kms, key_id, key, field, plaintext)

    pixel_token = encrypted(keys.pixel(DEMO_PIXEL), encryption.PIXEL_ACCESS_TOKEN, pixel_access_token)
    entities: list[Tenant | Bot | Pixel | Link | Offer] = [
        Tenant(tenant_id=DEMO_TENANT, name=DEMO_TENANT_NAME),
        Pixel(
            tenant_id=DEMO_TENANT,
            pixel_id=DEMO_PIXEL,
            meta_pixel_id=DEMO_META_PIXEL_ID,
            access_token_ciphertext=pixel_token,
        ),
        *(
            Bot(
                tenant_id=DEMO_TENANT,
                bot_id=bot_id,
                username=username,
                pixel_id=DEMO_PIXEL,
                token_ciphertext=encrypted(keys.bot(bot_id), encryption.BOT_TOKEN, credentials[bot_id][0]),
                webhook_secret_ciphertext=encrypted(
                    keys.bot(bot_id), encryption.BOT_WEBHOOK_SECRET, credentials[bot_id][1]
                ),
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
    return demo_seed(credentials if kms else None)


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
    """The demo tenant's PIX gateway written directly: the sandbox at ``base_url``, credentials
    encrypted with KMS.

    With ``payments`` (its ``public_base_url`` set), the gateway is then told our webhook URL through
    its own API, as the operator's API does: the sandbox knows it from nowhere else.
    """
    from funil.adapters.kms import Kms
    from funil.payments.gateway_items import Gateway
    from funil.payments.setup import register_webhook

    credentials = credentials or new_sandbox_credentials()
    gateway = Gateway(
        gateway_id=DEMO_GATEWAY, tenant_id=DEMO_TENANT, kind="sandbox", name=DEMO_GATEWAY_NAME, base_url=base_url
    )
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
        name_gateway(seed, base_url)
    return credentials


def name_gateway(seed: Seed, base_url: str) -> None:
    seed.gateway_id = DEMO_GATEWAY
    seed.gateways = [{"id": DEMO_GATEWAY, "kind": "sandbox", "base_url": base_url}]
