"""The click's server PageView, sent straight to Meta from the click stream; the queue is its fallback.

Each new click with a pixel has one server PageView (``event_id`` ``pv_<token>``, the bridge page's
Pixel eventID). The click stream consumer hands a batch of them here: the pixels are read in one
batch read, each event is built from the click as stored (funil.conversions.builder, the same
builder the sender uses), and each pixel's events go in one Graph request. When Meta takes them
all, nothing is written: no claim, no record.

Whatever is not sent at once goes to the conversions queue as an ordinary message, where the
sender claims, retries with backoff, splits, dead-letters and records it like every other event:
a pixel that cannot be read, a token that does not decrypt, a request Meta does not fully accept
(any failure class), an event that cannot be built. An event the pixel does not want (disabled,
PageView switched off, older than Meta's 7 days) is skipped and counted, never queued.

Why no claim here: a PageView is not money, and it already reaches Meta twice by design, from the
browser's Pixel and from the server with the same event name and id; Meta keeps the first event of
an event_name and event_id within 48 hours. A stream batch retried after its fallback failed may
send a PageView again, and Meta absorbs it the same way. A claim and a record per click would cost
more than everything else a click triggers (docs/cost.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from funil import encryption, keys
from funil.adapters.meta_graph import GraphClient
from funil.conversions.builder import BuildSettings, BuildStatus, BuiltEvent, Sources, build_event
from funil.messages import ConversionMessage, EventKind
from funil.ports import BatchReads

log = logging.getLogger(__name__)

MAX_EVENTS_PER_REQUEST = 1000  # Meta's limit per request; a stream batch holds at most 100 records


@dataclass(frozen=True, slots=True)
class PageViewDeps:
    items: BatchReads
    graph: GraphClient
    access_token: Callable[[Mapping[str, Any]], str]  # the pixel item → its Conversions API token
    now: Callable[[], datetime]
    settings: BuildSettings


@dataclass(frozen=True, slots=True)
class PageView:
    """A stored click's server PageView: its message and the click as stored (``click_fields``)."""

    message: ConversionMessage
    click: Mapping[str, Any]


class Outcome(StrEnum):
    SENT = "sent"  # Meta took it
    SKIPPED = "skipped"  # the pixel does not want it: never sent, never queued
    QUEUED = "queued"  # not sent here: the conversions queue (the sender) takes it from here


def _pixels(page_views: Sequence[PageView], items: BatchReads) -> dict[str, Mapping[str, Any]] | None:
    """Each pixel the batch names, by id (None when the read failed: everything goes to the queue)."""
    wanted = sorted({str(page_view.message.pixel_id) for page_view in page_views})
    try:
        found = items.batch_get([keys.pixel(pixel_id) for pixel_id in wanted])
    except Exception:
        log.exception("pixels of %d server PageView(s) not read; queued", len(page_views))
        return None
    by_key = {(str(item["pk"]), str(item["sk"])): item for item in found}
    return {pixel_id: by_key[keys.pixel(pixel_id)] for pixel_id in wanted if keys.pixel(pixel_id) in by_key}


def send_page_views(page_views: Sequence[PageView], deps: PageViewDeps) -> list[Outcome]:
    """Each PageView's outcome, in order."""
    if any(page_view.message.kind is not EventKind.PAGE_VIEW for page_view in page_views):
        raise ValueError("only PageViews are sent without a claim")
    outcomes = [Outcome.QUEUED] * len(page_views)
    pixels = _pixels(page_views, deps.items) if page_views else {}
    if pixels is None:
        return outcomes
    now = deps.now()
    ready: dict[str, list[tuple[int, BuiltEvent]]] = {}
    for position, page_view in enumerate(page_views):
        pixel = pixels.get(str(page_view.message.pixel_id))
        sources = Sources(pixel=pixel, click=page_view.click)
        built = build_event(page_view.message, sources, deps.settings, now)
        if built.status is BuildStatus.READY:
            ready.setdefault(str(page_view.message.pixel_id), []).append((position, built))
        elif built.status in (BuildStatus.SKIPPED, BuildStatus.EXPIRED):
            outcomes[position] = Outcome.SKIPPED
        # INVALID stays QUEUED: the sender dead-letters it with its reason, as for any event.
    for pixel_id, group in ready.items():
        for start in range(0, len(group), MAX_EVENTS_PER_REQUEST):
            chunk = group[start : start + MAX_EVENTS_PER_REQUEST]
            if _send(pixels[pixel_id], [built.event for _, built in chunk if built.event], deps):
                for position, _ in chunk:
                    outcomes[position] = Outcome.SENT
    return outcomes


def _send(pixel: Mapping[str, Any], events: list[dict[str, Any]], deps: PageViewDeps) -> bool:
    """One Graph request; True only when Meta took every event (anything else goes to the queue)."""
    if not pixel.get(encryption.PIXEL_ACCESS_TOKEN):
        return False  # the sender dead-letters them with the reason (pixel_without_access_token)
    try:
        token = deps.access_token(pixel)
    except Exception:
        log.exception("access token of pixel %s not decrypted; its PageViews are queued", pixel.get("pixel_id"))
        return False
    test_code = pixel.get("test_event_code")
    result = deps.graph.send_events(str(pixel["meta_pixel_id"]), token, events, str(test_code) if test_code else None)
    if result.ok and result.events_received == len(events):
        return True
    error = result.error
    log.warning(
        "Meta did not take %d PageView(s) of pixel %s (status %s, code %s); queued for the sender",
        len(events),
        pixel.get("pixel_id"),
        result.status_code,
        error.code if error else result.network_error,
    )
    return False
