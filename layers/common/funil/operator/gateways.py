"""A tenant's PIX gateways (docs/gateways.md), each proven with the gateway before it is stored.

Adding one: the kind's own adapter is built from the request (its list of required credentials and
options names what is missing), a test call proves the credentials (``check_credentials``: the
cheapest authenticated read each gateway offers), a fresh URL secret makes our webhook URL
``<PUBLIC_BASE_URL>/pay/<id>/<secret>``, the item is written (a taken id is a 409 here, before the
gateway hears of it), then a gateway told once per account is given the URL (``register_webhook``)
and the item removed again if it refuses: a refused or failed request leaves nothing. The URL is
shown once, in the POST's answer. Rotating credentials proves them the same way and keeps the URL.

Views never show credentials, their ciphertext, the URL secret or its hash.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from funil import encryption, keys
from funil.adapters.dynamo import is_conditional_failure
from funil.operator.errors import Conflict, FieldProblem, Invalid, OperatorError, Unconfigured, Upstream
from funil.operator.models import ENTITY_ID
from funil.operator.ports import OperatorDeps, Store
from funil.operator.records import apply_changes, owned, put_new, refuse_nulls
from funil.payments.gateway_items import Gateway
from funil.payments.gateways import adapter_class
from funil.payments.gateways.base import CredentialsRefused, GatewayConfig, GatewayError, WebhookRegistration
from funil.payments.setup import Registration, register_webhook
from funil.payments.storage import URL_SECRET_CREDENTIAL, load_config, webhook_url

log = logging.getLogger(__name__)

KINDS = "apipix, mercadopago, pushinpay, woovi or sandbox"
# The credentials (with the URL secret) are one KMS Encrypt, whose plaintext is at most 4 KB.
KMS_PLAINTEXT_LIMIT = 4096

_NAME = r"^[a-z][a-z0-9_]{0,63}$"
_TEXT = r"^[\t\n\r -~]*$"  # printable ASCII and line breaks: keys, tokens, PEM blocks, URLs

CredentialName = Annotated[str, StringConstraints(pattern=_NAME)]
CredentialValue = Annotated[str, StringConstraints(min_length=1, max_length=KMS_PLAINTEXT_LIMIT, pattern=_TEXT)]
OptionName = Annotated[str, StringConstraints(pattern=_NAME)]
OptionValue = (
    bool
    | Annotated[int, Field(ge=-(10**12), le=10**12)]
    | Annotated[str, StringConstraints(max_length=KMS_PLAINTEXT_LIMIT, pattern=_TEXT)]
)
Credentials = Annotated[
    dict[CredentialName, CredentialValue],
    Field(
        max_length=16,
        description="The gateway's secrets by name (apipix: client_id, client_secret, certificate, private_key; "
        "mercadopago: access_token, webhook_secret; pushinpay: token; woovi: app_id; sandbox: api_key, "
        "webhook_secret). Encrypted with KMS, never shown again.",
    ),
]
Options = Annotated[
    dict[OptionName, OptionValue],
    Field(
        max_length=32,
        description="The kind's settings (apipix: token_url, chave, …; mercadopago: payer_email; woovi: "
        "webhook_public_key; docs/gateways.md). Text, whole numbers or booleans; shown in views.",
    ),
]


class GatewayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=32, description=f"The gateway: {KINDS}")
    id: str | None = Field(default=None, pattern=ENTITY_ID, description="Generated (gw_…) when absent")
    name: str = Field(default="", max_length=120)
    credentials: Credentials
    options: Options = Field(default_factory=dict)
    base_url: str = Field(
        default="",
        max_length=2048,
        description="The gateway API's root, https (API Pix: the PSP's, with /v2; the sandbox: where it is "
        "served). Empty: the gateway's public API.",
    )
    priority: int = Field(default=1, ge=0, le=100, description="Lower is tried first")
    weight: int = Field(default=1, ge=0, le=1000, description="Share among the gateways of one priority")


class GatewayUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    name: str | None = Field(default=None, max_length=120)
    priority: int | None = Field(default=None, ge=0, le=100)
    weight: int | None = Field(default=None, ge=0, le=1000)
    options: Options | None = Field(default=None, description="Replaces the options: proven with the gateway again")
    credentials: Credentials | None = Field(
        default=None,
        description="Replaces the credentials (rotation): proven with a test call, encrypted again; the "
        "webhook URL stays the same",
    )


# -- views --------------------------------------------------------------------------------------------


def gateway_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """A gateway as the API shows it: no credential, ciphertext, URL secret or hash."""
    kind = str(item.get("kind") or "")
    return {
        "id": str(item["gateway_id"]),
        "kind": kind,
        "name": str(item.get("name") or ""),
        "enabled": bool(item.get("enabled", True)),
        "priority": item.get("priority", 1),
        "weight": item.get("weight", 1),
        "base_url": str(item.get("base_url") or ""),
        "options": dict(item.get("options") or {}),
        "webhook_registration": _registration(kind),
    }


def is_gateway(item: Mapping[str, Any]) -> bool:
    return item.get("type") == "gateway"


def get_gateway(items: Store, tenant_id: str, gateway_id: str) -> dict[str, Any]:
    """The tenant's gateway; another tenant's is as missing as one that does not exist."""
    return owned(items.get(*keys.gateway(gateway_id)), tenant_id, f"gateway {gateway_id}")


# -- create and update --------------------------------------------------------------------------------


def create_gateway(deps: OperatorDeps, tenant_id: str, request: GatewayCreate) -> dict[str, Any]:
    """Prove the gateway, store it, then tell it our URL (the item removed if it refuses); the answer
    shows the URL, once."""
    public = _public_base_url(deps)
    kind = _kind(request.kind)
    base_url = _api_url("base_url", request.base_url, kind, public)
    options = _options(request.options, kind, public)
    credentials = _credentials(request.credentials)
    gateway_id = request.id or f"gw_{secrets.token_hex(8)}"
    taken = f"gateway {gateway_id} already exists"
    if deps.items.get(*keys.gateway(gateway_id)) is not None:  # before any call to the gateway
        raise Conflict(taken)
    gateway = Gateway(
        gateway_id=gateway_id,
        tenant_id=tenant_id,
        kind=kind,
        name=request.name,
        priority=request.priority,
        weight=request.weight,
        base_url=base_url,
        options=options,
    )
    url_secret = secrets.token_urlsafe(24)
    item = gateway.to_item(deps.secrets, deps.key_id, credentials, url_secret)
    config = _config(gateway, credentials, url_secret)
    _check(deps, config)
    # Stored before the gateway is told our URL, and removed if it refuses: a gateway account must
    # never point at a URL whose secret we do not keep (its other gateway here would go deaf).
    put_new(deps.items, item, taken)
    try:
        registration = _register(deps, item, config)
    except Exception:
        deps.items.delete(*keys.gateway(gateway_id))
        raise
    log.info("gateway added", extra={"tenant_id": tenant_id, "gateway_id": gateway_id, "kind": kind})
    return {
        **gateway_view(item),
        "webhook_url": webhook_url(public, config),
        "webhook_registration": registration.value,
    }


def update_gateway(deps: OperatorDeps, tenant_id: str, gateway_id: str, request: GatewayUpdate) -> dict[str, Any]:
    """Change what the request names. New credentials or options are proven with the gateway (and
    the webhook registered again where it is per account) before anything is written."""
    key = keys.gateway(gateway_id)
    refuse_nulls(request, request.model_fields_set, frozenset())  # nothing of a gateway may be empty
    item = get_gateway(deps.items, tenant_id, gateway_id)
    changes = request.model_dump(exclude_none=True, exclude={"credentials", "options"})
    if request.credentials is None and request.options is None:
        return gateway_view(apply_changes(deps.items, key, changes, tenant_id, f"gateway {gateway_id}"))
    public = _public_base_url(deps)
    kind = str(item["kind"])
    current = load_config(item, deps.secrets)
    credentials = current.credentials if request.credentials is None else _credentials(request.credentials)
    options = current.options if request.options is None else _options(request.options, kind, public)
    # The URL stays: the gateway (or its charges) already has it. A gateway stored before its
    # secret was kept gets a new one, shown in this answer.
    url_secret = current.webhook_url_secret or secrets.token_urlsafe(24)
    stored = {name: item[name] for name in Gateway.model_fields if name in item}  # the table gives ints back
    gateway = Gateway.model_validate({**stored, **changes, "options": dict(options)})
    # Encrypted again even when only the options change: a new ciphertext is what makes every warm
    # container build the gateway's adapter afresh (funil.payments.ports caches them by it).
    new_item = gateway.to_item(deps.secrets, deps.key_id, credentials, url_secret)
    config = _config(gateway, credentials, url_secret)
    _prove(deps, new_item, config)
    _replace(deps.items, item, new_item, tenant_id)
    log.info("gateway updated", extra={"tenant_id": tenant_id, "gateway_id": gateway_id, "kind": kind})
    answer = gateway_view(new_item)
    if not current.webhook_url_secret:
        answer["webhook_url"] = webhook_url(public, config)
    return answer


# -- the proof ----------------------------------------------------------------------------------------


def _prove(deps: OperatorDeps, item: dict[str, Any], config: GatewayConfig) -> Registration:
    """The test call with these credentials, then our URL registered where the gateway keeps one per
    account. Raises the operator's error for each way the gateway can say no."""
    _check(deps, config)
    return _register(deps, item, config)


def _check(deps: OperatorDeps, config: GatewayConfig) -> None:
    """The gateway's cheapest authenticated call with these credentials."""
    pay = deps.payments
    kind = config.kind
    try:
        adapter = pay.build(config, pay.http, now=pay.now)
    except GatewayError as error:
        raise _unusable(error, kind) from None
    try:
        adapter.check_credentials()
    except CredentialsRefused:
        raise Invalid.field("credentials", f"{kind} refused these credentials") from None
    except GatewayError as error:
        raise _failed(error, config, "the test call") from None


def _register(deps: OperatorDeps, item: dict[str, Any], config: GatewayConfig) -> Registration:
    """Our URL registered where the gateway keeps one per account (nothing to do where it is per charge)."""
    kind = config.kind
    try:
        return register_webhook(item, deps.payments)
    except CredentialsRefused:
        message = f"{kind} refused to register our webhook URL with these credentials: may they manage webhooks?"
        raise Invalid.field("credentials", message) from None
    except GatewayError as error:
        if error.transient or error.fields:
            raise _failed(error, config, "registering our webhook URL") from None
        message = f"{kind} refused to register our webhook URL: check the account these credentials (and options) name"
        raise Invalid.field("credentials", message) from None


def _unusable(error: GatewayError, kind: str) -> Invalid:
    if error.fields:
        return Invalid(
            "invalid input",
            [FieldProblem(field, f"missing, or unreadable for a {kind} gateway") for field in error.fields],
        )
    return Invalid.field("options", f"these options cannot configure a {kind} gateway")


def _failed(error: GatewayError, config: GatewayConfig, what: str) -> OperatorError:
    """A gateway's failure during ``what``: its outage is a 502, an answer that is not its API a 422."""
    if error.transient:
        return Upstream(f"{config.kind} did not answer {what} (timeout or its own error): nothing was saved, try again")
    if error.fields:
        return _unusable(error, config.kind)
    if config.base_url:
        return Invalid.field("base_url", f"what answers at this address is not a {config.kind} API (it refused {what})")
    return Upstream(f"{config.kind} refused {what}: nothing was saved")


# -- input --------------------------------------------------------------------------------------------


def _public_base_url(deps: OperatorDeps) -> str:
    public = deps.payments.public_base_url
    if not public:
        # A gateway that can never notify us would leave every sale to the reconciler: refuse it.
        raise Unconfigured("PUBLIC_BASE_URL is not set: gateways could not notify this deployment of payments")
    return public


def _kind(kind: str) -> str:
    try:
        adapter_class(kind)
    except GatewayError:
        raise Invalid.field("kind", f"unknown gateway kind: {KINDS}") from None
    return kind


def _credentials(values: Mapping[str, str]) -> dict[str, str]:
    if URL_SECRET_CREDENTIAL in values:
        field = f"credentials.{URL_SECRET_CREDENTIAL}"
        raise Invalid.field(field, "reserved: Funil makes the webhook URL's secret itself")
    size = len(json.dumps({**values, URL_SECRET_CREDENTIAL: "x" * 32}).encode())
    if size > KMS_PLAINTEXT_LIMIT:
        raise Invalid.field("credentials", f"too large to encrypt: {size} bytes as JSON, at most {KMS_PLAINTEXT_LIMIT}")
    return dict(values)


def _options(values: Mapping[str, Any], kind: str, public: str) -> dict[str, Any]:
    # A URL option (API Pix's token_url) is called like base_url: the same rules.
    return {
        name: _api_url(f"options.{name}", value, kind, public) if name.endswith("_url") else value
        for name, value in values.items()
    }


def _api_url(field: str, value: object, kind: str, public: str) -> str:
    """An address the gateway's API is called at: https, a host, nothing else that could redirect or
    authenticate the call; not a loopback or private address, but on the local stack, where the
    sandbox may also use http (it is served there, by the stack itself, over plain HTTP)."""
    if value == "":
        return ""
    if not isinstance(value, str):
        raise Invalid.field(field, "must be an https:// URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise Invalid.field(field, "not a URL") from None
    host = parts.hostname or ""
    local = _local_stack(public)
    plain_allowed = kind == "sandbox" and local and _loopback(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and plain_allowed):
        raise Invalid.field(field, "must be an https:// URL")
    if not host or any(not " " < char <= "~" for char in value) or "@" in parts.netloc:
        raise Invalid.field(field, "must be a URL with a host, without spaces or credentials")
    if parts.query or parts.fragment:
        raise Invalid.field(field, "must not carry a query or a fragment")
    if not local and _internal(host):
        raise Invalid.field(field, "must be a public address")
    return value.rstrip("/")


def _local_stack(public_base_url: str) -> bool:
    """This deployment is the local stack (its own URL is plain HTTP on this machine)."""
    parts = urlsplit(public_base_url)
    return parts.scheme == "http" and _loopback(parts.hostname or "")


def _loopback(host: str) -> bool:
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _internal(host: str) -> bool:
    """A name or address that leads into the machine or its network, not to a gateway."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not address.is_global


# -- helpers ------------------------------------------------------------------------------------------


def _config(gateway: Gateway, credentials: dict[str, str], url_secret: str) -> GatewayConfig:
    """What the adapter is built from: the item's configuration, before it is stored."""
    return GatewayConfig(
        gateway_id=gateway.gateway_id,
        tenant_id=gateway.tenant_id,
        kind=gateway.kind,
        base_url=gateway.base_url,
        credentials=credentials,
        options=gateway.options,
        webhook_url_secret=url_secret,
    )


def _replace(items: Store, old: Mapping[str, Any], new: Mapping[str, Any], tenant_id: str) -> None:
    """Write ``new`` over ``old`` unless the item changed since it was read (another rotation)."""
    pk, sk = keys.gateway(str(new["gateway_id"]))
    attributes = {name: value for name, value in new.items() if name not in ("pk", "sk")}
    names = {f"#a{index}": name for index, name in enumerate(attributes)}
    values: dict[str, Any] = {f":v{index}": value for index, value in enumerate(attributes.values())}
    placeholder = {name: alias for alias, name in names.items()}
    tenant, ciphertext = placeholder["tenant_id"], placeholder[encryption.GATEWAY_CREDENTIALS]
    values[":tenant"] = tenant_id
    condition = f"{tenant} = :tenant AND "
    was = old.get(encryption.GATEWAY_CREDENTIALS)
    if was:
        values[":was"] = was
        condition += f"{ciphertext} = :was"
    else:
        condition += f"attribute_not_exists({ciphertext})"
    expression = "SET " + ", ".join(f"#a{index} = :v{index}" for index in range(len(attributes)))
    try:
        items.update(pk, sk, expression, values, names=names, condition=condition)
    except Exception as error:
        if is_conditional_failure(error):
            raise Conflict(f"gateway {new['gateway_id']} changed while this request ran: read it and retry") from error
        raise


def _registration(kind: str) -> str:
    """How the gateway knows our URL: registered once for the account (done on creation), or on each charge."""
    try:
        capability = adapter_class(kind).capabilities.webhook_registration  # type: ignore[attr-defined]
    except GatewayError:
        return ""
    if capability is WebhookRegistration.PER_ACCOUNT:
        return Registration.REGISTERED.value
    return Registration.PER_CHARGE.value
