"""What every adapter's constructor reads from its GatewayConfig, and the error when a piece is missing."""

from __future__ import annotations

import httpx
import pytest
from funil.payments.gateways import build_adapter
from funil.payments.gateways.base import GatewayConfig, GatewayError

COMPLETE = {
    "apipix": (
        "https://pix.psp.test/v2/",
        {"client_id": "cid", "client_secret": "cs"},
        {"token_url": "https://pix.psp.test/oauth/token", "chave": "k"},
    ),
    "mercadopago": ("", {"access_token": "APP_USR-1"}, {}),
    "pushinpay": ("", {"token": "t"}, {}),
    "woovi": ("", {"app_id": "a"}, {}),
}


def config(kind: str, base_url: str, credentials: dict[str, str], options: dict[str, str]) -> GatewayConfig:
    return GatewayConfig(
        gateway_id="gw_1", tenant_id="t1", kind=kind, base_url=base_url, credentials=credentials, options=options
    )


@pytest.mark.parametrize("kind", sorted(COMPLETE))
def test_each_required_piece_is_named_when_missing(kind: str) -> None:
    base_url, credentials, options = COMPLETE[kind]
    build_adapter(config(kind, base_url, dict(credentials), dict(options)), httpx.Client())
    required_credentials = [name for name in credentials if name != "client_secret"]
    for name in required_credentials:
        with pytest.raises(GatewayError, match=f"gateway gw_1 needs {name}") as error:
            build_adapter(config(kind, base_url, {**credentials, name: ""}, dict(options)), httpx.Client())
        assert not error.value.transient
    for name in options:
        without = {key: value for key, value in options.items() if key != name}
        with pytest.raises(GatewayError, match=f"needs {name}"):
            build_adapter(config(kind, base_url, dict(credentials), without), httpx.Client())


def test_api_root_default_and_trailing_slash() -> None:
    cfg = config("x", "https://psp.test/v2/", {}, {})
    assert cfg.api_root("x") == "https://psp.test/v2"
    assert config("x", "", {}, {}).api_root("x", "https://api.test/") == "https://api.test"
    with pytest.raises(GatewayError, match="has no base_url"):
        config("x", "", {}, {}).api_root("x")


def test_option_falls_back_on_absent_or_empty() -> None:
    cfg = config("x", "", {}, {"a": "1", "empty": ""})
    assert (cfg.option("a"), cfg.option("empty", "d"), cfg.option("absent", "d"), cfg.option("absent")) == (
        "1",
        "d",
        "d",
        "",
    )
