"""Secrets where they belong (docs/architecture.md §3), through the real handlers on moto.

- The IP hash key lives in the template's Secrets Manager secret: only the redirect may read it, its
  environment carries the ARN, and it reads the value on its first click (never at import), cached
  per container, never logged.
- Every KMS ciphertext is bound to its item and attribute (funil.encryption): one moved elsewhere
  does not decrypt, so whoever can write the table cannot make one item use another's secret. moto's
  KMS enforces the encryption context as KMS does (tests/unit/test_encryption.py proves it of moto).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from funil.adapters import secrets_manager
from funil.click import privacy
from funil.click.fields import click_fields

from local import aws
from local.template import ROOT, load
from tests.conftest import page_text
from tests.integration.test_gateway_webhook import OTHER_WEBHOOK_SECRET, PayEnv, pay  # noqa: F401 - the fixture
from tests.unit.bot.telegram_harness import TgEnv

REDIRECT = "RedirectFunction"


@pytest.fixture(autouse=True)
def new_container() -> Iterator[None]:
    """Each test is a new container: no secret value cached from another test."""
    secrets_manager.secrets_provider.cache_clear()
    yield
    secrets_manager.secrets_provider.cache_clear()


def ip_hash_key(resources: aws.Resources) -> str:
    secrets = boto3.client("secretsmanager", region_name=aws.REGION)
    return str(secrets.get_secret_value(SecretId=resources.secrets["IpHashKey"])["SecretString"])


def stored_click(table: Any, answer: dict[str, Any]) -> dict[str, Any]:
    token = page_text(answer).split("start=", 1)[1][:22]
    found = table.get(f"CLICK#{token}", "CLICK")
    assert found is not None
    return dict(found)


# -- the IP hash key --------------------------------------------------------------------------------


def statements(props: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in props.get("Policies") or []:
        yield from policy.get("Statement", []) if isinstance(policy, dict) else []


def test_the_ip_hash_key_is_a_generated_secret_only_the_redirect_reads() -> None:
    template = load()
    assert "IpHashSecret" not in (template.raw.get("Parameters") or {})
    secret = template.raw["Resources"]["IpHashKey"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    readers = {
        name
        for name, resource in template.resources_of("AWS::Serverless::Function").items()
        for statement in statements(resource["Properties"])
        if "secretsmanager" in json.dumps(statement["Action"])
    }
    assert readers == {REDIRECT}
    environments = {name: function.environment for name, function in template.functions.items()}
    assert environments[REDIRECT]["IP_HASH_SECRET_ARN"] == {"Ref": "IpHashKey"}
    for name, environment in environments.items():
        assert "IP_HASH_SECRET" not in environment, name
        assert name == REDIRECT or "IP_HASH_SECRET_ARN" not in environment, name


def test_the_redirect_keys_ip_hmacs_with_the_secret_read_once_per_container(
    invoke: Callable[..., Any],
    event: Callable[[str], dict[str, Any]],
    seed: Any,
    table: Any,
    aws_env: aws.Resources,
    aws_calls: list[tuple[str, str]],
    funil_log: list[Any],
) -> None:
    key = ip_hash_key(aws_env)
    aws_calls.clear()
    first = stored_click(table, invoke(REDIRECT, event("redirect_get.json")))
    assert click_fields(first)["ip_hmac"] == privacy.ip_hmac(first["ip"], key.encode())
    assert aws_calls.count(("secretsmanager", "GetSecretValue")) == 1

    aws_calls.clear()
    second = stored_click(table, invoke(REDIRECT, event("redirect_get.json")))
    assert second["ih"] == first["ih"]  # the same visitor's IP, the same key
    assert ("secretsmanager", "GetSecretValue") not in aws_calls  # cached for the container
    assert not any(key in record.json for record in funil_log)


def test_a_click_is_still_stored_and_served_when_the_key_cannot_be_read(
    invoke: Callable[..., Any],
    event: Callable[[str], dict[str, Any]],
    seed: Any,
    table: Any,
    aws_env: aws.Resources,
    funil_log: list[Any],
) -> None:
    secrets = boto3.client("secretsmanager", region_name=aws.REGION)
    secrets.delete_secret(SecretId=aws_env.secrets["IpHashKey"], ForceDeleteWithoutRecovery=True)
    answer = invoke(REDIRECT, event("redirect_get.json"))
    assert answer["statusCode"] == 200
    click = stored_click(table, answer)
    assert click["ip"] and "ih" not in click  # the click and the way to the bot matter more than the HMAC
    assert any("IP hash key unavailable" in record.getMessage() for record in funil_log)


def test_the_redirect_does_not_import_the_parameters_utility_before_its_first_click(aws_env: aws.Resources) -> None:
    """Cold import budget (docs/architecture.md §8): the key and its utility are loaded on first use."""
    template = load()
    env = {**os.environ, **aws.function_environment(template, aws_env)}
    code = (
        "import sys\n"
        "from local.handlers import load_handler\n"
        "from local.template import load\n"
        f"load_handler(load().functions[{REDIRECT!r}])\n"
        "print(sorted(name for name in sys.modules if name.startswith('aws_lambda_powertools.utilities.parameters')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


# -- KMS ciphertexts bound to their item and attribute ----------------------------------------------


def test_a_webhook_secret_moved_to_another_bot_does_not_open_its_webhook(tg: TgEnv) -> None:
    item_a = tg.table.get(f"BOT#{tg.bot_a}", "BOT")
    item_b = tg.table.get(f"BOT#{tg.bot_b}", "BOT")
    item_a["webhook_secret_ciphertext"] = item_b["webhook_secret_ciphertext"]
    tg.table.put(item_a)
    update = json.dumps({"update_id": 1, "message": {"text": "/start"}})

    # Bot B's secret decrypted as bot A's would let whoever knows it drive bot A: refused instead.
    status, _ = tg.post_raw(tg.bot_a, update, tg.secret(tg.bot_b))
    assert status == 500
    assert tg.fake.recorded() == [] and tg.lead(1) is None
    assert tg.post_raw(tg.bot_b, "not json", tg.secret(tg.bot_b)) == (200, {"ok": True, "outcome": "malformed"})


def test_a_bot_token_moved_into_its_webhook_secret_does_not_open_the_webhook(tg: TgEnv) -> None:
    item = tg.table.get(f"BOT#{tg.bot_a}", "BOT")
    item["webhook_secret_ciphertext"] = item["token_ciphertext"]
    tg.table.put(item)
    status, _ = tg.post_raw(tg.bot_a, json.dumps({"update_id": 2}), str(tg.bot(0)["token"]))
    assert status == 500
    assert tg.fake.recorded() == []


def test_gateway_credentials_moved_to_another_gateway_do_not_verify_its_webhooks(pay: PayEnv) -> None:  # noqa: F811
    payment_id = pay.create_payment()
    # The other tenant's credentials (its webhook signing secret) copied into this gateway's item.
    other = pay.table.get("GATEWAY#gw_other", "GATEWAY")
    item = pay.table.get("GATEWAY#gw_sandbox", "GATEWAY")
    item["credentials_ciphertext"] = other["credentials_ciphertext"]
    pay.table.put(item)

    status, _ = pay.post(*pay.webhook(payment_id, secret=OTHER_WEBHOOK_SECRET))
    assert status == 500
    assert pay.payment(payment_id)["status"] == "pending"
