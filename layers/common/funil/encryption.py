"""The encryption context of every KMS ciphertext in the table, in one place (docs/architecture.md §3).

Each ciphertext is bound to the item and the attribute it is stored in: the context is
``{"pk": <item's pk>, "sk": <item's sk>, "field": <attribute>}``, given to KMS on encrypt and
demanded again on decrypt. KMS authenticates the context with the ciphertext, so a ciphertext
copied into another item (another bot's token, another tenant's pixel) or into another attribute
of the same item (a bot's webhook secret into its token) does not decrypt: whoever can write the
table still cannot make one item reveal another's secret.

The encrypted attributes:

- a bot's Telegram token: ``BOT#<bot>`` / ``BOT``, ``token_ciphertext``;
- a bot's webhook secret: ``BOT#<bot>`` / ``BOT``, ``webhook_secret_ciphertext``;
- a pixel's Conversions API access token: ``PIXEL#<pixel>`` / ``PIXEL``, ``access_token_ciphertext``;
- a gateway's credentials (one JSON object): ``GATEWAY#<gateway>`` / ``GATEWAY``, ``credentials_ciphertext``;
- a destination's secret (UTMify's API token, TikTok's access token, GA4's API secret, a webhook's
  signing secret): ``DEST#<destination>`` / ``DEST``, ``secret_ciphertext``.

Standard library and ``funil.keys`` only: plaintexts are returned, never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from funil import keys
from funil.ports import Secrets

__all__ = [
    "BOT_TOKEN",
    "BOT_WEBHOOK_SECRET",
    "DESTINATION_SECRET",
    "GATEWAY_CREDENTIALS",
    "PIXEL_ACCESS_TOKEN",
    "bot_token",
    "bot_webhook_secret",
    "context",
    "decrypt_field",
    "destination_secret",
    "encrypt_field",
    "gateway_credentials",
    "pixel_access_token",
]

BOT_TOKEN = "token_ciphertext"  # noqa: S105 - an attribute name, not a secret
BOT_WEBHOOK_SECRET = "webhook_secret_ciphertext"  # noqa: S105 - an attribute name, not a secret
PIXEL_ACCESS_TOKEN = "access_token_ciphertext"  # noqa: S105 - an attribute name, not a secret
GATEWAY_CREDENTIALS = "credentials_ciphertext"
DESTINATION_SECRET = "secret_ciphertext"  # noqa: S105 - an attribute name, not a secret

ItemKey = tuple[str, str]  # (pk, sk), as funil.keys spells them


def context(item_key: ItemKey, field: str) -> dict[str, str]:
    """The encryption context of the ciphertext stored in ``field`` of the item ``item_key``."""
    pk, sk = item_key
    return {"pk": pk, "sk": sk, "field": field}


def encrypt_field(secrets: Secrets, key_id: str, item_key: ItemKey, field: str, plaintext: str) -> str:
    """The ciphertext (base64) to store in ``field`` of the item ``item_key``, and nowhere else."""
    return secrets.encrypt(key_id, plaintext, context(item_key, field))


def decrypt_field(secrets: Secrets, item_key: ItemKey, field: str, ciphertext: str) -> str:
    """The plaintext of a ciphertext read from ``field`` of the item ``item_key`` (fails if it came from elsewhere)."""
    return secrets.decrypt(ciphertext, context(item_key, field))


def bot_token(secrets: Secrets, bot_id: str, ciphertext: str) -> str:
    """The bot's Telegram token, from its item's ``token_ciphertext``."""
    return decrypt_field(secrets, keys.bot(bot_id), BOT_TOKEN, ciphertext)


def bot_webhook_secret(secrets: Secrets, bot_id: str, ciphertext: str) -> str:
    """The secret Telegram sends with the bot's webhooks, from its item's ``webhook_secret_ciphertext``."""
    return decrypt_field(secrets, keys.bot(bot_id), BOT_WEBHOOK_SECRET, ciphertext)


def pixel_access_token(secrets: Secrets, pixel: Mapping[str, Any]) -> str:
    """The pixel item as stored → its decrypted Conversions API access token.

    Raises ``KeyError`` when the item has no token (callers check ``access_token_ciphertext`` first).
    """
    return decrypt_field(
        secrets, keys.pixel(str(pixel["pixel_id"])), PIXEL_ACCESS_TOKEN, str(pixel[PIXEL_ACCESS_TOKEN])
    )


def gateway_credentials(secrets: Secrets, gateway_id: str, ciphertext: str) -> str:
    """The gateway's credentials (a JSON object, as text), from its item's ``credentials_ciphertext``."""
    return decrypt_field(secrets, keys.gateway(gateway_id), GATEWAY_CREDENTIALS, ciphertext)


def destination_secret(secrets: Secrets, destination: Mapping[str, Any]) -> str:
    """The destination item as stored → its decrypted secret (token, API secret or signing secret)."""
    return decrypt_field(
        secrets,
        keys.destination(str(destination["destination_id"])),
        DESTINATION_SECRET,
        str(destination[DESTINATION_SECRET]),
    )
