"""The sale debugger (``funil.analytics.trace``): one sale's timeline, from the click to Meta.

``GET /api/v1/sales/{payment_id}/trace``, ``GET /api/v1/clicks/{token}/trace`` and
``GET /api/v1/leads/{bot_id}/{telegram_user_id}/trace``.

A tenant's key; an id of the wrong shape is a 422 naming it; an id that is not the tenant's, or
nothing, is a 404. The traces only read.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil.analytics.trace import TraceNotFound, sale_trace
from funil.operator.errors import NotFound
from funil.operator.models import ENTITY_ID
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, new_router

PaymentId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The payment's id (32 hex digits)")]
ClickToken = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The click's token (its /start parameter)")
]
BotId = Annotated[str, Path(pattern=ENTITY_ID, description="The bot's id")]
TelegramUserId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The person's Telegram user id")]

TRACE_DOC = (
    "The timeline, oldest first: `{subject, payments, events: [{at, step, title, detail}]}`; steps are click, "
    "start, checkout, charge_attempt, webhook, flag, closed, paid, delivery, conversion, refund, revoke. "
    "Never a raw IP, User-Agent, phone, e-mail or payer document: which keys were present, not their values."
)


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.get("/sales/<payment_id>/trace", tags=["traces"], description=TRACE_DOC)
    def sale(payment_id: PaymentId) -> dict[str, Any]:
        """One sale: its click, starts, checkout, charge attempts, webhooks, confirmation, delivery, events, refunds."""
        tenant_id = access.tenant()
        try:
            trace = sale_trace(deps.items, tenant_id, payment_id=payment_id, now=deps.now())
        except TraceNotFound:
            raise NotFound("no such sale") from None
        return trace.model_dump(mode="json")

    @router.get("/clicks/<token>/trace", tags=["traces"], description=TRACE_DOC)
    def click(token: ClickToken) -> dict[str, Any]:
        """One click: who started the bot with it, and the sales it brought."""
        tenant_id = access.tenant()
        try:
            trace = sale_trace(deps.items, tenant_id, click_token=token, now=deps.now())
        except TraceNotFound:
            raise NotFound("no such click (or it has been deleted after its attribution window)") from None
        return trace.model_dump(mode="json")

    @router.get("/leads/<bot_id>/<telegram_user_id>/trace", tags=["traces"], description=TRACE_DOC)
    def lead(bot_id: BotId, telegram_user_id: TelegramUserId) -> dict[str, Any]:
        """One lead of a bot: its clicks, starts and every sale (the newest ten)."""
        tenant_id = access.tenant()
        try:
            trace = sale_trace(deps.items, tenant_id, bot_id=bot_id, telegram_user_id=telegram_user_id, now=deps.now())
        except TraceNotFound:
            raise NotFound("no such lead") from None
        return trace.model_dump(mode="json")

    return router
