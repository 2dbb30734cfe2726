"""Every function's collaborators, built from the one ``Settings`` (the only place adapters are made).

A handler asks for its step's dependencies once per container (``DEPS = wiring.payments(settings())``)
and stays a few lines of glue. Each builder imports what its step needs when called, so a function
imports only its own step (the redirect's cold start stays lean). Tests build the same dependencies
around moto and the fakes, through these builders or by hand.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from funil.clock import utc_now
from funil.config import Settings

if TYPE_CHECKING:
    from datetime import datetime

    import httpx
    from mypy_boto3_sqs.client import SQSClient

    from funil.adapters.sqs import Queue
    from funil.alerts.checks import AlertChecks
    from funil.alerts.incidents import Incidents
    from funil.analytics.export import ExportDeps
    from funil.analytics.spend import SpendImportDeps
    from funil.analytics.stream import AnalyticsStreamDeps
    from funil.bot.health import HealthDeps
    from funil.bot.ports import BotDeps
    from funil.broadcasts.sending import BroadcastDeps
    from funil.click.entry import ClickDeps
    from funil.click.stream import ClickStreamDeps
    from funil.conversions.sender import SenderDeps
    from funil.dashboard.ports import DashboardDeps
    from funil.delivery.entry import DeliveryDeps
    from funil.delivery.page import PageDeps
    from funil.destinations.sending import DestinationDeps
    from funil.domains.manage import DomainServices
    from funil.notifications.sending import NotifyDeps
    from funil.operator.ports import OperatorDeps
    from funil.payments.ports import Deps as PaymentDeps
    from funil.ports import MessageQueue, Secrets
    from funil.timers import Handler

GATEWAY_TIMEOUT_SECONDS = 5.0  # per call; routing may try two gateways within Telegram's patience


def new_claim_id() -> str:
    return uuid.uuid4().hex


def gateway_http_client() -> httpx.Client:
    import httpx

    return httpx.Client(timeout=GATEWAY_TIMEOUT_SECONDS)


def click(settings: Settings) -> ClickDeps:
    from funil.adapters.dynamo import Table
    from funil.click.entry import ClickDeps
    from funil.click.storage import Clicks, Links
    from funil.domains.serving import Sites

    table = Table(settings.table_name)
    return ClickDeps(
        links=Links(table, settings.link_cache_seconds),
        clicks=Clicks(table),
        settings=settings,
        now=utc_now,
        sites=Sites(table, settings.link_cache_seconds),
    )


def click_stream(settings: Settings) -> ClickStreamDeps:
    from funil.adapters.dynamo import Table
    from funil.adapters.kms import CachedKms
    from funil.adapters.meta_graph import GraphClient
    from funil.adapters.sqs import Queue
    from funil.click.stream import ClickStreamDeps
    from funil.conversions.builder import BuildSettings
    from funil.conversions.page_views import PageViewDeps
    from funil.encryption import pixel_access_token

    tokens = CachedKms(max_entries=1000)  # access tokens: decrypted once per container, never logged
    page_views = PageViewDeps(
        items=Table(settings.table_name),
        graph=GraphClient(settings.meta_graph_base_url, settings.meta_graph_version),
        access_token=lambda pixel: pixel_access_token(tokens, pixel),
        now=utc_now,
        settings=BuildSettings(settings.public_base_url),
    )
    return ClickStreamDeps(page_views=page_views, conversions=Queue(settings.conversions_queue_url))


# What each other consumer of the conversions queue's events gets a copy of (docs/architecture.md §2).
DESTINATION_KINDS = frozenset({"InitiateCheckout", "Purchase", "Refund"})
NOTIFICATION_KINDS = frozenset({"Purchase", "Refund"})


def conversions_out(settings: Settings, client: SQSClient | None = None) -> MessageQueue:
    """The conversions queue, copying sale events to the destinations' and notifications' queues."""
    from funil.adapters.sqs import FanOutQueue, Queue

    copies = [
        (Queue(url, client), kinds)
        for url, kinds in (
            (settings.destinations_queue_url, DESTINATION_KINDS),
            (settings.notifications_queue_url, NOTIFICATION_KINDS),
        )
        if url
    ]
    primary = Queue(settings.conversions_queue_url, client)
    return FanOutQueue(primary, copies) if copies else primary


def incidents(settings: Settings, client: SQSClient | None = None) -> Incidents:
    """Operational alerts: incident items, their notices on the notifications queue, the metric."""
    from funil.adapters.dynamo import Table
    from funil.adapters.sqs import Queue
    from funil.alerts.incidents import Incidents
    from funil.event_kinds import AlertKind
    from funil.observability import count

    def opened(kind: AlertKind) -> None:
        count("Incidents")  # the alarm's (IncidentsAlarm)
        count("Incidents", kind=kind.value)  # which kind, for the dashboards

    notices = Queue(settings.notifications_queue_url, client) if settings.notifications_queue_url else None
    return Incidents(Table(settings.table_name), notices, now=utc_now, on_open=opened)


def payments(
    settings: Settings, *, secrets: Secrets | None = None, conversions: MessageQueue | None = None
) -> PaymentDeps:
    """The payments core; ``secrets`` and ``conversions`` shared when the bot's deps already built them."""
    from funil.adapters.dynamo import Table
    from funil.adapters.first_use import on_first_use
    from funil.adapters.kms import CachedKms
    from funil.adapters.sqs import Queue, sqs_client
    from funil.payments.ports import Deps

    return Deps(
        items=Table(settings.table_name),
        secrets=CachedKms() if secrets is None else secrets,
        http=on_first_use(gateway_http_client),  # httpx only once a gateway is called
        # Built with the container: most webhooks queue a conversion (a Purchase).
        conversions=conversions_out(settings, sqs_client()) if conversions is None else conversions,
        deliveries=Queue(settings.delivery_queue_url, sqs_client()),
        public_base_url=settings.public_base_url,  # our webhook URL, given to gateways on each charge
        now=utc_now,
        alerts=incidents(settings, sqs_client()),
    )


def bot(settings: Settings) -> BotDeps:
    from funil.adapters.dynamo import Table
    from funil.adapters.first_use import on_first_use
    from funil.adapters.kms import CachedKms
    from funil.adapters.sqs import sqs_client
    from funil.adapters.telegram import TelegramClient
    from funil.bot.ports import BotDeps

    def qr_png(payload: str) -> bytes:
        from funil.payments import brcode  # the BR Code's models and segno once a PIX is shown

        return brcode.qr_png(payload)

    secrets = CachedKms()
    conversions = conversions_out(settings, sqs_client())  # a /start queues its Lead
    return BotDeps(
        table=Table(settings.table_name),
        secrets=secrets,
        telegram=TelegramClient,
        conversions=conversions,
        # The payments core (gateways, their models) once an update buys: most are a /start or a text.
        payments=on_first_use(lambda: payments(settings, secrets=secrets, conversions=conversions)),
        qr_png=qr_png,
        now=utc_now,
        public_base_url=settings.public_base_url,
        bot_cache_seconds=settings.bot_cache_seconds,
    )


def timer_handlers(deps: BotDeps) -> dict[str, Handler]:
    """What each kind of due work does (``funil.timers``), with the bot's collaborators."""
    from functools import partial

    from funil.access import due as access_due
    from funil.adapters.sqs import Queue
    from funil.broadcasts import manage as broadcast_timer
    from funil.config import settings

    def follow_up(item: dict[str, Any], now: datetime) -> datetime | None:
        # The checkout and the bot's models only once a follow-up comes due, not with every tick.
        from funil.bot import follow_ups

        return follow_ups.handle(deps, item, now)

    def notify_report(item: dict[str, Any], now: datetime) -> datetime | None:
        # The notifications' code and models only once a report comes due.
        from funil.notifications import reports
        from funil.notifications.sending import NotifyDeps

        notify = NotifyDeps(items=deps.table, secrets=deps.secrets, telegram=deps.telegram, now=deps.now)
        return reports.handle(notify, item, now)

    return {
        "access": partial(access_due.handle, deps),
        "follow_up": follow_up,
        "broadcast": partial(broadcast_timer.start_due, deps.table, Queue(settings().broadcast_queue_url)),
        "notify_report": notify_report,  # funil.notifications.models.REPORT_TIMER
    }


def bot_health(settings: Settings) -> HealthDeps:
    from funil.adapters.dynamo import Table
    from funil.adapters.kms import CachedKms
    from funil.adapters.telegram import TelegramClient
    from funil.bot.health import HealthDeps

    table = Table(settings.table_name)
    alerts = incidents(settings)
    return HealthDeps(
        table=table,
        secrets=CachedKms(),
        telegram=TelegramClient,
        public_base_url=settings.public_base_url,
        alerts=alerts,
        incidents=alerts,
        alert_checks=lambda: alert_checks(settings, alerts),
    )


def alert_checks(settings: Settings, alerts: Incidents) -> AlertChecks:
    """The periodic resolution of incidents (run from BotHealthFunction's schedule)."""
    from funil.adapters.sqs import Queue
    from funil.alerts.checks import AlertChecks
    from funil.alerts.watch import CapiErrorWatch
    from funil.conversions.sender import CONVERSIONS_DLQ
    from funil.destinations.sending import DESTINATIONS_DLQ

    dead_letter_queues = {
        CONVERSIONS_DLQ: settings.conversions_dlq_url,
        DESTINATIONS_DLQ: settings.destinations_dlq_url,
    }

    def queue_depth(subject: str) -> int | None:
        url = dead_letter_queues.get(subject)
        return Queue(url).depth() if url else None

    return AlertChecks(
        incidents=alerts,
        items=alerts.items,
        gateways=payments(settings),
        error_watch=CapiErrorWatch(alerts.items, alerts, utc_now),
        queue_depth=queue_depth,
    )


def conversions_sender(settings: Settings) -> SenderDeps:
    from funil.adapters.dynamo import Table
    from funil.adapters.kms import CachedKms
    from funil.adapters.meta_graph import GraphClient
    from funil.adapters.sqs import Queue
    from funil.alerts.watch import CapiErrorWatch
    from funil.conversions.sender import SenderDeps, SenderSettings
    from funil.conversions.storage import EventRecords
    from funil.encryption import pixel_access_token

    table = Table(settings.table_name)
    tokens = CachedKms(max_entries=1000)  # access tokens: decrypted once per container, never logged
    dead_letters = Queue(settings.conversions_dlq_url)
    alerts = incidents(settings)
    return SenderDeps(
        items=table,
        deliveries=EventRecords(table),
        graph=GraphClient(settings.meta_graph_base_url, settings.meta_graph_version),
        access_token=lambda pixel: pixel_access_token(tokens, pixel),
        dead_letter=lambda body, attributes: dead_letters.send(body, dict(attributes)),
        delay_retry=Queue(settings.conversions_queue_url).delay,
        now=utc_now,
        new_claim_id=new_claim_id,
        settings=SenderSettings(
            public_base_url=settings.public_base_url, lease_seconds=settings.capi_claim_lease_seconds
        ),
        alerts=alerts,
        error_watch=CapiErrorWatch(table, alerts, utc_now),
    )


def destinations(settings: Settings) -> DestinationDeps:
    """DestinationsFunction: the sale events to UTMify, TikTok, GA4 and webhooks (docs/destinations.md)."""
    from dataclasses import replace

    from funil.adapters.dynamo import Table
    from funil.adapters.kms import CachedKms
    from funil.adapters.outgoing import new_client
    from funil.adapters.sqs import Queue
    from funil.conversions.storage import DESTINATION_RECORDS, EventRecords
    from funil.destinations.outbound import BaseUrls, Outbound
    from funil.destinations.sending import DestinationDeps, DestinationSettings, destination_items
    from funil.encryption import destination_secret

    table = Table(settings.table_name)
    secrets = CachedKms(max_entries=1000)  # destination secrets: decrypted once per container, never logged
    dead_letters = Queue(settings.destinations_dlq_url)
    given = {"utmify": settings.utmify_base_url, "tiktok": settings.tiktok_base_url, "ga4": settings.ga4_base_url}
    base_urls = replace(BaseUrls(), **{k: v for k, v in given.items() if v})
    outbound = Outbound(new_client, base_urls, utc_now, private_webhooks_ok=settings.webhooks_private_ok)
    return DestinationDeps(
        items=table,
        tenant_destinations=lambda tenant_id: destination_items(table, tenant_id),
        records=EventRecords(table, DESTINATION_RECORDS),
        secret=lambda destination: destination_secret(secrets, destination),
        deliver=outbound.deliver,
        dead_letter=lambda body, attributes: dead_letters.send(body, dict(attributes)),
        delay_retry=Queue(settings.destinations_queue_url).delay,
        now=utc_now,
        new_claim_id=new_claim_id,
        settings=DestinationSettings(
            public_base_url=settings.public_base_url, lease_seconds=settings.capi_claim_lease_seconds
        ),
        alerts=incidents(settings),
    )


def delivery(settings: Settings) -> DeliveryDeps:
    from funil.adapters.dynamo import Table
    from funil.adapters.kms import CachedKms
    from funil.adapters.sqs import Queue
    from funil.bot.storage import mark_bot_health
    from funil.delivery.entry import DeliveryDeps, DeliverySettings
    from funil.delivery.ports import AdapterDeliveryTelegram, BotClients

    table = Table(settings.table_name)
    # Telegram through funil.adapters.telegram: the container's one loop, HTTP client and Bot per token.
    clients = BotClients(table, CachedKms())

    def mark_bot_token_invalid(bot_id: str) -> None:
        clients.forget(bot_id)
        mark_bot_health(table, bot_id, "token_invalid", "telegram_401", utc_now())

    return DeliveryDeps(
        items=table,
        telegram=AdapterDeliveryTelegram(clients),
        delay_retry=Queue(settings.delivery_queue_url).delay,
        now=utc_now,
        new_claim_id=new_claim_id,
        mark_bot_token_invalid=mark_bot_token_invalid,
        settings=DeliverySettings(
            public_base_url=settings.public_base_url, lease_seconds=settings.delivery_claim_lease_seconds
        ),
    )


def delivery_page(settings: Settings) -> PageDeps:
    from funil.adapters.dynamo import Table
    from funil.delivery.page import PageDeps
    from funil.payments.records import Payments

    table = Table(settings.table_name)
    # Access pattern 16: gsi2pk = DELIVERY#<token> (set when the payment is paid).
    return PageDeps(items=table, payment_by_token=Payments(table).by_delivery_token)


def operator(settings: Settings) -> OperatorDeps:
    from funil.adapters.dynamo import Table
    from funil.adapters.first_use import on_first_use
    from funil.adapters.kms import CachedKms
    from funil.adapters.meta_graph import GraphClient
    from funil.adapters.telegram import TelegramClient
    from funil.operator.ports import OperatorDeps

    secrets = CachedKms()
    return OperatorDeps(
        items=Table(settings.table_name),
        secrets=secrets,
        key_id=settings.secrets_key_id,
        telegram=TelegramClient,
        # The payments core (its queues' client, the gateways' models) once a gateway's route needs it.
        payments=on_first_use(lambda: payments(settings, secrets=secrets)),
        graph=GraphClient(settings.meta_graph_base_url, settings.meta_graph_version),
        public_base_url=settings.public_base_url,
        now=utc_now,
        domains=domain_services(settings),
        incidents=incidents(settings),
    )


def domain_services(settings: Settings) -> DomainServices | None:
    """ACM and the HttpApi's custom domains for the sellers' tracking domains (None without the API's id)."""
    if not settings.http_api_id:
        return None
    from funil.adapters.acm import Certificates
    from funil.adapters.apigateway import CustomDomains
    from funil.domains.manage import DomainServices

    return DomainServices(Certificates(), CustomDomains(settings.http_api_id))


def dashboard(settings: Settings) -> DashboardDeps:
    """The dashboard: the table (sessions written, the rest read), the public origin browsers must come from."""
    from funil.adapters.dynamo import Table
    from funil.dashboard.ports import DashboardDeps

    return DashboardDeps(items=Table(settings.table_name), public_base_url=settings.public_base_url, now=utc_now)


def analytics_stream(settings: Settings) -> AnalyticsStreamDeps:
    """The counters' consumer: the table, the IP database (loaded here only) and the click judge."""
    from funil.adapters.dynamo import Table
    from funil.adapters.ipdb import open_default
    from funil.analytics.quality import assess_click
    from funil.analytics.stream import AnalyticsStreamDeps

    return AnalyticsStreamDeps(
        items=Table(settings.table_name), network_of=open_default().lookup, assess_click=assess_click
    )


def spend_import(settings: Settings) -> SpendImportDeps:
    """The daily ad spend import: the table, KMS (the accounts' tokens) and Meta's Marketing API."""
    from funil.adapters.dynamo import Table
    from funil.adapters.kms import CachedKms
    from funil.adapters.meta_marketing import MarketingClient
    from funil.analytics.spend import SpendImportDeps
    from funil.operator import ad_accounts  # noqa: F401 - every run reads accounts: at init, not on the first

    return SpendImportDeps(
        items=Table(settings.table_name),
        secrets=CachedKms(),
        marketing=MarketingClient(settings.meta_graph_base_url, settings.meta_graph_version),
        now=utc_now,
    )


def export(settings: Settings) -> ExportDeps:
    """The daily export: the table (counters, spend, the tenants) and the export bucket."""
    from funil.adapters.dynamo import Table
    from funil.adapters.s3 import Bucket
    from funil.analytics.export import ExportDeps

    return ExportDeps(items=Table(settings.table_name), bucket=Bucket(settings.export_bucket), now=utc_now)


def broadcasts(settings: Settings) -> BroadcastDeps:
    """The broadcasts' sender: the table, KMS (bot tokens), Telegram, and its own queue to carry on later."""
    from funil.adapters.dynamo import Table
    from funil.adapters.kms import CachedKms
    from funil.adapters.sqs import sqs_client
    from funil.adapters.telegram import TelegramClient
    from funil.broadcasts.sending import BroadcastDeps

    client = sqs_client()

    def requeue(body: str, delay_seconds: int) -> None:
        client.send_message(QueueUrl=settings.broadcast_queue_url, MessageBody=body, DelaySeconds=delay_seconds)

    return BroadcastDeps(
        items=Table(settings.table_name), secrets=CachedKms(), telegram=TelegramClient, requeue=requeue, now=utc_now
    )


def notifications(settings: Settings) -> NotifyDeps:
    """The admin chats' notices: the table, KMS (bot tokens) and Telegram (docs/notifications.md)."""
    from funil.adapters.dynamo import Table
    from funil.adapters.kms import CachedKms
    from funil.adapters.telegram import TelegramClient
    from funil.notifications.sending import NotifyDeps

    return NotifyDeps(items=Table(settings.table_name), secrets=CachedKms(), telegram=TelegramClient, now=utc_now)


def notifications_queue(settings: Settings) -> Queue:
    """The notifications queue itself: a message Telegram asked to wait for is made visible later."""
    from funil.adapters.sqs import Queue

    return Queue(settings.notifications_queue_url)
