"""The sandbox PIX gateway in the local stack: a whole sale can be paid without a bank.

``register(stack)`` serves the fake sandbox's API (``local.fakes.sandbox``) under
``/_local/sandbox/api``. Its first account is the demo tenant's: ``local.demo`` adds the demo's
gateway with it through ``POST /api/v1/gateways`` (its id in ``/_local/seed``), which registers our
webhook URL with the sandbox through that API (``PUT /v1/webhook``), as for any gateway. More
accounts, one per seller, come from ``POST /_local/sandbox/accounts`` (the gateway's dashboard).
The fake sends each account's signed webhooks to the URL that account was given and nowhere else,
so a simulated payment goes through the stack's real ``POST /pay/{gateway}/{secret}`` route and
GatewayWebhookFunction exactly like a real gateway's.

    POST /_local/sandbox/accounts        a new sandbox account: {"api_key", "webhook_secret",
                                         "base_url"}, what ``funil gateways add sandbox`` needs

    POST /_local/sandbox/checkout        {"amount_cents": 1990}  → a pending payment + its BR Code
    POST /_local/sandbox/pay/{payment}   the payer pays (any tenant's sandbox charge): the sandbox
                                         sends its account's signed webhook; an optional body
                                         {"payer": {"name", "email", "phone", "document", "address":
                                         {"city", "state", "zip_code", "country"}}} is who paid,
                                         reported in the webhook as a gateway reports its payer
    POST /_local/sandbox/refund/{payment}, /_local/sandbox/expire/{payment}   the same, refunded / expired
    GET  /_local/sandbox/charges         the sandbox's charges, each with the URL its webhook goes to
                                         (``webhook_url``) and its tries (a webhook without a 2xx
                                         is retried: local.fakes.sandbox)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from local.fakes.sandbox import SandboxGateway
from local.seed import demo_offers, new_sandbox_credentials

if TYPE_CHECKING:
    from local.server import LocalRequest, LocalResponse, LocalStack

log = logging.getLogger("local.sandbox")

API_PREFIX = "/_local/sandbox/api"


class CheckoutRequest(BaseModel):
    """A payment for the demo tenant, as the bot would create it (no Telegram needed)."""

    model_config = ConfigDict(extra="forbid")

    amount_cents: int = Field(gt=0, le=100_000_000)
    bot_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    offer_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    telegram_user_id: int | None = Field(default=None, gt=0)
    description: str | None = Field(default=None, min_length=1, max_length=140)  # else the offer's title


class PayerAddress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=2)
    zip_code: str | None = Field(default=None, max_length=12)
    country: str | None = Field(default=None, max_length=2)


class PayerReport(BaseModel):
    """Who paid, as a gateway reports its payer (personal data: test values only, never logged)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    document: str | None = Field(default=None, max_length=20)
    address: PayerAddress | None = None


class PayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payer: PayerReport | None = None


class SandboxLocal:
    def __init__(self, stack: LocalStack, fake: SandboxGateway) -> None:
        from funil.adapters.dynamo import Table

        self.stack = stack
        self.fake = fake
        self.table = Table(stack.resources.tables["AppTable"])
        self.http = httpx.Client(timeout=15.0)

    def deliver(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """The sandbox's webhook, over HTTP to the stack (the real route, the real handler)."""
        return self.http.post(url, content=body, headers=headers).status_code

    def charges(self) -> list[dict[str, Any]]:
        """The sandbox's charges, oldest first, each with its webhook's tries."""
        with self.fake._lock:
            charges = [
                {
                    **charge,
                    "webhook_url": self.fake.webhook_url_for(charge),
                    "webhook_attempts": list(self.fake.attempts.get(charge["id"], [])),
                }
                for charge in self.fake.charges.values()
            ]
        return sorted(charges, key=lambda charge: str(charge["created_at"]))

    def payments_deps(self) -> Any:
        """The payments core as the functions get it (funil.wiring), talking to the fake over HTTP."""
        from funil import wiring
        from funil.config import settings

        deps = wiring.payments(settings())
        deps.http = self.http
        deps.public_base_url = self.stack.base_url
        return deps

    def checkout(self, request: CheckoutRequest) -> tuple[int, dict[str, Any]]:
        from funil.payments.models import Payment
        from funil.payments.routing import NoCharge, route_charge

        seed = self.stack.seed
        bot_id = request.bot_id or str(seed.bots[0]["id"])
        if bot_id not in {str(bot["id"]) for bot in seed.bots}:
            return 404, {"error": f"unknown demo bot {bot_id!r}"}
        offer = next((offer for offer in demo_offers(bot_id) if offer.offer_id == request.offer_id), None)
        if request.offer_id and offer is None:
            return 404, {"error": f"unknown offer {request.offer_id!r}"}
        payment = Payment.new(
            tenant_id=seed.tenant_id,
            amount_cents=request.amount_cents,
            now=datetime.now(UTC),
            expires_in_seconds=30 * 60,
            bot_id=bot_id,
            telegram_user_id=request.telegram_user_id,
            offer_id=offer.offer_id if offer else None,
            offer_name=offer.title if offer else None,
            pixel_id=seed.pixel_id,
        )
        deps = self.payments_deps()
        deps.payments.create(payment)
        try:
            description = request.description or (offer.title if offer else "Pagamento de teste (sandbox)")
            routed = route_charge(deps, payment, description)
        except NoCharge as error:
            return 502, {"error": f"no charge: {error}", "payment_id": payment.payment_id}
        return 201, {
            "payment_id": payment.payment_id,
            "status": "pending",
            "amount_cents": payment.amount_cents,
            "currency": payment.currency,
            "brcode": routed.charge.brcode,
            "gateway_id": routed.gateway_id,
            "gateway_charge_id": routed.charge.gateway_charge_id,
            "expires_at": routed.charge.expires_at.isoformat() if routed.charge.expires_at else None,
        }

    def settle(self, payment_id: str, action: str, payer: PayerReport | None = None) -> tuple[int, dict[str, Any]]:
        """The payer pays (or the bank refunds, or the charge expires): the sandbox's signed webhook."""
        from funil.payments.storage import Payments

        payment = Payments(self.table).get(payment_id) if payment_id.isalnum() else None
        charge_id = str((payment or {}).get("gateway_charge_id") or "")
        if payment is None or self.fake.find(charge_id) is None:  # any tenant's, if this sandbox has it
            return 404, {"error": "no sandbox payment with that id"}
        statuses: list[int | None] = []  # this call's first webhook answer (retries come later)

        def deliver(url: str, headers: dict[str, str], body: bytes) -> int | None:
            try:
                status: int | None = self.deliver(url, headers, body)
            except httpx.HTTPError:
                status = None
            statuses.append(status)
            return status

        try:
            if action == "pay":
                reported = payer.model_dump(exclude_none=True) if payer is not None else None
                charge = self.fake.pay(charge_id, deliver, payer=reported)
            else:
                charge = {"refund": self.fake.refund, "expire": self.fake.expire}[action](charge_id, deliver)
        except KeyError:
            return 404, {"error": "the sandbox has no charge for that payment"}
        after = Payments(self.table).get(payment_id) or {}
        return 200, {
            "payment_id": payment_id,
            "charge": charge,
            "webhook_status": statuses[0] if statuses else None,
            "payment_status": after.get("status"),
        }


def register(stack: LocalStack, fake: SandboxGateway | None = None) -> SandboxGateway:
    from local.server import LocalResponse

    base_url = stack.base_url + API_PREFIX
    if fake is None:  # its first account: the demo tenant's (local.demo)
        credentials = new_sandbox_credentials()
        fake = SandboxGateway(api_key=credentials.api_key, webhook_secret=credentials.webhook_secret)
    sandbox = SandboxLocal(stack, fake)

    def api(request: LocalRequest) -> LocalResponse:
        url = httpx.URL(base_url + "/" + request.path_params["path"], params=request.query)
        answer = sandbox.fake.handle(httpx.Request(request.method, url, headers=request.headers, content=request.body))
        return LocalResponse(answer.status_code, answer.content, {"content-type": "application/json"})

    def checkout(request: LocalRequest) -> LocalResponse:
        try:
            wanted = CheckoutRequest.model_validate_json(request.body or b"{}")
        except ValidationError as error:
            problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()]
            return LocalResponse.json({"error": "invalid checkout", "details": problems}, 400)
        status, payload = sandbox.checkout(wanted)
        return LocalResponse.json(payload, status)

    def settle(action: str) -> Callable[[LocalRequest], LocalResponse]:
        def route(request: LocalRequest) -> LocalResponse:
            payer = None
            if action == "pay" and request.body and request.body.strip():
                try:
                    payer = PayRequest.model_validate_json(request.body).payer
                except ValidationError as error:
                    problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()]
                    return LocalResponse.json({"error": "invalid payer", "details": problems}, 400)
            status, payload = sandbox.settle(request.path_params["payment_id"], action, payer)
            return LocalResponse.json(payload, status)

        return route

    def charges(_: LocalRequest) -> LocalResponse:
        return LocalResponse.json(sandbox.charges())

    def new_account(request: LocalRequest) -> LocalResponse:
        if request.body.strip() not in (b"", b"{}"):
            return LocalResponse.json({"error": "no body: the sandbox makes the credentials"}, 400)
        account = sandbox.fake.add_account()
        return LocalResponse.json(
            {"api_key": account.api_key, "webhook_secret": account.webhook_secret, "base_url": base_url}, 201
        )

    stack.add_route("ANY", API_PREFIX + "/{path+}", api)
    stack.add_route("POST", "/_local/sandbox/accounts", new_account)
    stack.add_route("POST", "/_local/sandbox/checkout", checkout)
    for action in ("pay", "refund", "expire"):
        stack.add_route("POST", f"/_local/sandbox/{action}/{{payment_id}}", settle(action))
    stack.add_route("GET", "/_local/sandbox/charges", charges)
    stack.on_stop(sandbox.fake.close)
    stack.sandbox = sandbox
    return sandbox.fake
