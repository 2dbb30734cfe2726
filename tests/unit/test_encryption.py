"""Every KMS ciphertext is bound to its item and attribute (funil.encryption), on moto's KMS.

moto's KMS authenticates the encryption context as AES-GCM associated data (moto.kms.utils
``encrypt``/``decrypt``), as KMS does: a ciphertext decrypted under any other context raises
InvalidCiphertextException. The first test proves that of moto itself, so the others cannot pass
on a KMS that ignores contexts.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from funil import encryption, keys
from funil.adapters.kms import CachedKms, Kms
from funil.payments.gateway_items import Gateway
from funil.payments.storage import load_config

from local import aws

BOT_A, BOT_B = "bot_a", "bot_b"


@pytest.fixture
def key_id(aws_env: aws.Resources) -> str:
    return aws_env.keys["SecretsKey"]


def refused(call: Any) -> bool:
    """True when KMS refuses to decrypt: the ciphertext does not belong where it was read from."""
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"] == "InvalidCiphertextException"
    return False


def test_moto_enforces_the_encryption_context(key_id: str) -> None:
    client = boto3.client("kms", region_name=aws.REGION)
    blob = client.encrypt(KeyId=key_id, Plaintext=b"s3cret", EncryptionContext={"pk": "BOT#a"})["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob, EncryptionContext={"pk": "BOT#a"})["Plaintext"] == b"s3cret"
    assert refused(lambda: client.decrypt(CiphertextBlob=blob, EncryptionContext={"pk": "BOT#b"}))
    assert refused(lambda: client.decrypt(CiphertextBlob=blob))


def test_the_context_names_the_item_and_the_attribute() -> None:
    assert encryption.context(keys.bot(BOT_A), encryption.BOT_TOKEN) == {
        "pk": "BOT#bot_a",
        "sk": "BOT",
        "field": "token_ciphertext",
    }
    assert encryption.context(keys.pixel("px_1"), encryption.PIXEL_ACCESS_TOKEN)["field"] == "access_token_ciphertext"
    assert encryption.context(keys.gateway("gw_1"), encryption.GATEWAY_CREDENTIALS) == {
        "pk": "GATEWAY#gw_1",
        "sk": "GATEWAY",
        "field": "credentials_ciphertext",
    }


def test_each_secret_decrypts_from_its_own_item_and_attribute(key_id: str) -> None:
    kms = Kms()
    token = encryption.encrypt_field(kms, key_id, keys.bot(BOT_A), encryption.BOT_TOKEN, "700001:TEST-a")
    secret = encryption.encrypt_field(kms, key_id, keys.bot(BOT_A), encryption.BOT_WEBHOOK_SECRET, "hook-a")
    access_token = encryption.encrypt_field(
        kms, key_id, keys.pixel("px_1"), encryption.PIXEL_ACCESS_TOKEN, "EAAB-token"
    )
    pixel = {"pk": "PIXEL#px_1", "sk": "PIXEL", "pixel_id": "px_1", "access_token_ciphertext": access_token}
    assert encryption.bot_token(kms, BOT_A, token) == "700001:TEST-a"
    assert encryption.bot_webhook_secret(kms, BOT_A, secret) == "hook-a"
    assert encryption.pixel_access_token(kms, pixel) == "EAAB-token"


def test_a_ciphertext_moved_to_another_item_does_not_decrypt(key_id: str) -> None:
    kms = Kms()
    token_a = encryption.encrypt_field(kms, key_id, keys.bot(BOT_A), encryption.BOT_TOKEN, "700001:TEST-a")
    assert refused(lambda: encryption.bot_token(kms, BOT_B, token_a))
    access_token = encryption.encrypt_field(kms, key_id, keys.pixel("px_1"), encryption.PIXEL_ACCESS_TOKEN, "EAAB")
    other_pixel = {"pixel_id": "px_2", "access_token_ciphertext": access_token}
    assert refused(lambda: encryption.pixel_access_token(kms, other_pixel))


def test_a_ciphertext_moved_to_another_attribute_of_its_item_does_not_decrypt(key_id: str) -> None:
    kms = Kms()
    token_a = encryption.encrypt_field(kms, key_id, keys.bot(BOT_A), encryption.BOT_TOKEN, "700001:TEST-a")
    # A token read as the webhook secret would let whoever knows the token forge the bot's updates.
    assert refused(lambda: encryption.bot_webhook_secret(kms, BOT_A, token_a))


def test_gateway_credentials_are_bound_to_their_gateway(key_id: str) -> None:
    kms = Kms()
    gateway = Gateway(gateway_id="gw_a", tenant_id="t_1", kind="sandbox")
    stored = gateway.to_item(kms, key_id, {"api_key": "k-a"}, "url-secret-a")
    assert load_config(stored, kms).credentials == {"api_key": "k-a"}
    other = Gateway(gateway_id="gw_b", tenant_id="t_2", kind="sandbox").to_item(kms, key_id, {}, "url-secret-b")
    other["credentials_ciphertext"] = stored["credentials_ciphertext"]  # another tenant's gateway
    assert refused(lambda: load_config(other, kms))
    assert "k-a" not in json.dumps(stored)


def test_the_cache_never_serves_a_plaintext_under_another_context(key_id: str) -> None:
    kms = CachedKms()
    token_a = encryption.encrypt_field(kms, key_id, keys.bot(BOT_A), encryption.BOT_TOKEN, "700001:TEST-a")
    assert encryption.bot_token(kms, BOT_A, token_a) == "700001:TEST-a"  # now cached
    assert refused(lambda: encryption.bot_token(kms, BOT_B, token_a))
    assert "TEST-a" not in repr(kms)


@pytest.mark.parametrize("context", [{}, None])
def test_a_context_is_mandatory(key_id: str, context: Any) -> None:
    kms = Kms()
    with pytest.raises(ValueError, match="encryption context"):
        kms.encrypt(key_id, "plaintext", context)
    with pytest.raises(ValueError, match="encryption context"):
        kms.decrypt("AAAA", context)
