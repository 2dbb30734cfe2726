"""The gateway protocol every PIX gateway adapter implements (docs/architecture.md §2.4).

One adapter module per gateway (``funil/payments/gateways/<kind>.py``). Adapters are built as
``Adapter(config, http, now=clock)`` and translate between the gateway's wire format and these
models; they never touch the table or the queues. Amounts are integer cents (``to_cents`` reads a
gateway's amount exactly), times are aware UTC (``parse_time``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from funil.untrusted import UntrustedInput, load_json, load_object


class ChargeStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    FAILED = "failed"
    UNKNOWN = "unknown"


class WebhookAuth(StrEnum):
    """How a gateway's webhook proves it came from the gateway."""

    HMAC = "hmac"
    RSA = "rsa"
    MTLS = "mtls"
    SECRET_URL = "secret_url"  # noqa: S105 — unsigned: the webhook is only a hint; the charge is re-fetched


class WebhookRegistration(StrEnum):
    """How a gateway learns the URL of our webhook route."""

    PER_CHARGE = "per_charge"  # each charge carries it (ChargeRequest.webhook_url)
    PER_ACCOUNT = "per_account"  # registered once for the account, at setup (``register_webhook``)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a gateway can do: each adapter's constant (a dataclass: nothing to validate, nothing to build)."""

    webhook_auth: WebhookAuth
    webhook_registration: WebhookRegistration
    we_choose_id: bool  # our payment id is the gateway's id / txid
    min_amount_cents: int  # at least 1
    can_cancel: bool
    can_list: bool


class ChargeRequest(BaseModel):
    # Its validator is built on the first charge (the bot's checkout), not with the webhooks' import.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    payment_id: str = Field(pattern=r"^[0-9a-f]{32}$")  # our uuid4().hex, the reference
    amount_cents: int = Field(gt=0)
    currency: Literal["BRL"] = "BRL"
    description: str = Field(default="", max_length=140)
    expires_in_seconds: int = Field(default=3600, gt=0)
    webhook_url: str | None = None
    # The payer's own data only, when the gateway requires it.
    payer_name: str | None = None
    payer_document: str | None = None
    payer_email: str | None = None


class Payer(BaseModel):
    """What a gateway reports about who paid: personal data, kept under the privacy rules
    (docs/data-model.md) and never logged (the repr names the fields present, not their values)."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None  # as the payer's bank or the gateway gives it
    email: str | None = None
    phone: str | None = None  # as given; normalised (E.164 digits) when hashed for Meta
    document: str | None = None  # CPF or CNPJ, digits only
    city: str | None = None
    state: str | None = None  # UF, two letters
    zip_code: str | None = None  # CEP, digits only
    country: str | None = None  # ISO 3166-1 alpha-2

    def __repr__(self) -> str:
        return f"Payer({', '.join(name for name, value in self if value)})"

    __str__ = __repr__


_DIGITS_ONLY = ("document", "zip_code")


def fields_of(value: object) -> dict[str, Any]:
    """A JSON object of a gateway's answer, or ``{}`` when that part is absent or of another type."""
    return value if isinstance(value, dict) else {}


def payer_of(**fields: object) -> Payer | None:
    """A Payer from a gateway's fields as sent (text trimmed, bounded; document and CEP as digits;
    UF and country upper case); None when nothing usable came. Masked documents (``***678901``) are dropped."""
    clean: dict[str, str] = {}
    for name, value in fields.items():
        if value is None or isinstance(value, bool) or not isinstance(value, str | int):
            continue
        text = str(value).strip()[:200]
        if name in _DIGITS_ONLY:
            if "*" in text:
                continue  # masked by the gateway: not the person's document
            text = "".join(char for char in text if char.isascii() and char.isdigit())
        elif name in ("state", "country"):
            text = text.upper()
        if text:
            clean[name] = text
    return Payer.model_validate(clean) if clean else None


class Charge(BaseModel):
    gateway_charge_id: str
    reference: str | None = None  # our payment id as the gateway returns it
    status: ChargeStatus
    amount_cents: int
    currency: str = "BRL"
    brcode: str | None = None  # PIX copia-e-cola
    expires_at: AwareDatetime | None = None
    paid_at: AwareDatetime | None = None
    raw_status: str = ""
    payer: Payer | None = None  # who paid, when the gateway says
    refunded_cents: int | None = None  # given back so far (a partial refund leaves the charge paid)
    refunded_at: AwareDatetime | None = None  # the (latest) refund's own time


class WebhookEvent(BaseModel):
    kind: Literal["payment", "refund", "chargeback"]
    gateway_charge_id: str | None = None
    reference: str | None = None
    status: ChargeStatus
    amount_cents: int | None = None
    currency: str | None = None
    occurred_at: AwareDatetime | None = None
    needs_refetch: bool = False  # the event is only a hint: ask the gateway before acting
    payer: Payer | None = None  # who paid, when the webhook says
    refunded_cents: int | None = None  # a refund's value when the gateway tells it (None: all of it)


class GatewayError(Exception):
    """A gateway call failed.

    ``transient``: retrying later may succeed (timeouts, 5xx, 429).
    ``ambiguous``: the outcome is unknown (a timeout during create: the charge may exist).
    ``fields``: the configuration the adapter cannot use (a required piece missing, a key it cannot
    read), named as the operator's API spells them: ``credentials.<name>``, ``options.<name>``,
    ``base_url``; never their values.
    """

    def __init__(
        self, message: str, *, transient: bool = False, ambiguous: bool = False, fields: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.ambiguous = ambiguous
        self.fields = fields


class CredentialsRefused(GatewayError):
    """The gateway refused the credentials themselves (HTTP 401/403, an OAuth2 client it does not know):
    the configuration's fault, not an outage."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False, ambiguous=False)


# The answers by which a gateway refuses who is calling, rather than what is asked.
CREDENTIAL_REFUSALS = frozenset({401, 403})
CHECK_MAX_BYTES = 4 * 1024 * 1024


def check_answer(gateway: str, status: int, content: bytes, *, accept: frozenset[int] = frozenset()) -> Any:
    """The JSON of a credentials check's answer (``check_credentials``). 401/403: ``CredentialsRefused``;
    another 4xx (beyond ``accept``) or a body that is not JSON: a permanent ``GatewayError`` (what
    answered is not this gateway's API as configured). 5xx and 429 never get here: the transport
    raised them, transient."""
    if status in CREDENTIAL_REFUSALS:
        raise CredentialsRefused(f"{gateway} check_credentials: HTTP {status}")
    if status >= 400 and status not in accept:
        raise GatewayError(f"{gateway} check_credentials: HTTP {status}", transient=False)
    try:
        return load_json(content, max_bytes=CHECK_MAX_BYTES, decimals=True)
    except UntrustedInput:
        raise GatewayError(f"{gateway} check_credentials: the answer is not JSON", transient=False) from None


class WebhookRejected(GatewayError):
    """A webhook with a bad, forged or replayed signature."""

    def __init__(self, message: str = "webhook rejected") -> None:
        super().__init__(message, transient=False, ambiguous=False)


MAX_CENTS = 10**15  # ten trillion reais: anything larger is not an amount of ours


def to_cents(value: object, gateway: str, *, in_reais: bool = False) -> int:
    """A gateway's amount (in cents, or in reais with ``in_reais``) as exact integer cents: read as a
    Decimal from its text, never through a float; a fraction of a cent or an absurd size is refused."""
    try:
        amount: Decimal | None = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or isinstance(value, bool):
        raise GatewayError(f"{gateway}: amount is not a number", transient=False)
    if amount and amount.adjusted() > 20:  # checked before any arithmetic: 1E+999999999 is finite
        raise GatewayError(f"{gateway}: amount out of range", transient=False)
    with localcontext() as context:  # exact: enough digits that scaling never rounds
        context.prec = max(28, len(amount.as_tuple().digits) + 4)
        cents = amount.scaleb(2) if in_reais else amount
        whole = cents == cents.to_integral_value()
    if not whole:
        raise GatewayError(f"{gateway}: amount has fractions of a cent, not whole cents", transient=False)
    if abs(cents) > MAX_CENTS:
        raise GatewayError(f"{gateway}: amount out of range", transient=False)
    return int(cents)


def parse_time(value: object) -> datetime | None:
    """A gateway's ISO-8601 time as aware UTC (without an offset: UTC); absent or unreadable: None."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # "9999-12-31T23:59:59-23:59" is past year 9999 in UTC
        return None


def webhook_object(body: bytes, gateway: str) -> dict[str, Any]:
    """A webhook's JSON object (an empty body: ``{}``), numbers with a fraction as Decimal; else WebhookRejected."""
    try:
        return load_object(body, decimals=True, empty={})
    except UntrustedInput as error:
        raise WebhookRejected(f"{gateway}: {error}") from None


class GatewayConfig(BaseModel):
    """A tenant's gateway: what an adapter is built from. Credentials are decrypted, memory only."""

    gateway_id: str
    tenant_id: str
    kind: str
    base_url: str = ""
    credentials: dict[str, str] = Field(default_factory=dict, repr=False)
    options: dict[str, Any] = Field(default_factory=dict)
    # The secret part of our webhook URL for this gateway (kept apart from what adapters sign with).
    webhook_url_secret: str | None = Field(default=None, repr=False)

    def __str__(self) -> str:
        return f"GatewayConfig(gateway_id={self.gateway_id!r}, tenant_id={self.tenant_id!r}, kind={self.kind!r})"

    # What every adapter's constructor reads; a missing piece is a configuration error (not transient).

    def api_root(self, adapter: str, default: str = "") -> str:
        """``base_url`` (else the gateway's public ``default``) without a trailing slash."""
        root = (self.base_url or default).rstrip("/")
        if not root:
            raise GatewayError(f"{adapter}: gateway {self.gateway_id} has no base_url", fields=("base_url",))
        return root

    def require(self, adapter: str, *, credentials: tuple[str, ...] = (), options: tuple[str, ...] = ()) -> None:
        """Raise unless every named credential and option is set (names only in the message)."""
        missing = [f"credentials.{name}" for name in credentials if not self.credentials.get(name)]
        missing += [f"options.{name}" for name in options if not self.options.get(name)]
        if missing:
            names = ", ".join(field.split(".", 1)[1] for field in missing)
            raise GatewayError(f"{adapter}: gateway {self.gateway_id} needs {names}", fields=tuple(missing))

    def option(self, name: str, default: str = "") -> str:
        """A text option (absent or empty: ``default``)."""
        return str(self.options.get(name) or default)


class GatewayAdapter(Protocol):
    kind: str
    capabilities: Capabilities

    def create_charge(self, request: ChargeRequest) -> Charge: ...

    def get_charge(self, gateway_charge_id: str) -> Charge: ...

    def cancel_charge(self, gateway_charge_id: str) -> None: ...

    def list_charges(self, start: datetime, end: datetime) -> list[Charge]: ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None) -> None:
        """Raise ``WebhookRejected`` unless the webhook is authentic (headers are lowercase; ``query``
        is the webhook URL's query string, which some gateways sign: Mercado Pago's ``data.id``)."""
        ...

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[WebhookEvent]: ...

    def register_webhook(self, url: str) -> None:
        """Point the account's webhooks at ``url``, idempotently (a no-op where each charge carries it)."""
        ...

    def check_credentials(self) -> None:
        """The cheapest authenticated read the gateway offers, to prove a configuration before it is
        stored (the operator's API). Raises ``CredentialsRefused`` when the gateway refuses the
        credentials, ``GatewayError`` otherwise (transient: try again; else: not this gateway's API)."""
        ...
