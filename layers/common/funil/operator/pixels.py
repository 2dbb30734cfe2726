"""Pixels: a Meta dataset (pixel) and the Conversions API access token Funil sends its events with.

A token is proven before anything is written: one harmless event goes to the dataset through the
same ``GraphClient.send_events`` the sender uses. Meta's verdict decides the answer: the token
refused → 422 on ``access_token``; the dataset unknown or out of the token's reach → 422 on
``meta_pixel_id``; Meta down or throttling → 502. Only then is the token encrypted under the pixel
item's context (``funil.encryption.pixel_access_token`` reads it back) and the item written.

The proof event cannot pollute the seller's data, whatever Meta does with it. Meta documents
``test_event_code`` (Conversions API main body parameters) only as the way to see server events in
Events Manager's Test Events tool: it promises nothing about keeping them out of measurement and
says nothing of codes Events Manager did not issue, so a made-up code would be a bet on
undocumented behaviour. The pixel's own ``test_event_code`` is sent when it has one (the seller
watches the proof arrive in Test Events), none otherwise, and the event itself is inert: a custom
event no campaign optimises for (``FunilConnectionCheck``), ``action_source`` ``other``, and for
customer information only the hash of a random ``external_id``, which matches nobody.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from funil import encryption, keys
from funil.adapters.meta_graph import GraphClient, GraphResult
from funil.click.links import META_PIXEL_ID_RE
from funil.clock import iso
from funil.operator.errors import Conflict, Invalid, Upstream
from funil.operator.models import ENTITY_ID, Pixel, PixelEvents
from funil.operator.ports import OperatorDeps, Store
from funil.operator.records import apply_changes, put_new, refuse_nulls, tenant_item

# Meta's tokens (EAA…), or an app token "<app id>|<secret>"
ACCESS_TOKEN_RE = r"^[A-Za-z0-9_.|-]{16,1024}$"  # noqa: S105 - a pattern, not a secret
TEST_EVENT_CODE_RE = r"^[A-Za-z0-9_-]{1,64}$"  # what Events Manager shows: TEST12345
CHECK_EVENT_NAME = "FunilConnectionCheck"

# Graph API error codes (developers.facebook.com/docs/graph-api/guides/error-handling), as the
# sender classifies them (funil.conversions.sender): retry later, or the token's fault.
THROTTLING_CODES = frozenset({1, 2, 4, 17, 32, 341, 368, 613})
TOKEN_CODES = frozenset({102, 104, 190})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
UNKNOWN_OBJECT = (100, 33)  # "Object with ID … does not exist, cannot be loaded due to missing permissions…"
UNKNOWN_ALIAS = 803  # "Some of the aliases you requested do not exist"


class EventSwitches(BaseModel):
    """Which events are reported to the pixel; a switch left out keeps its value (on, for a new pixel)."""

    model_config = ConfigDict(extra="forbid")

    PageView: bool | None = None
    Lead: bool | None = None
    InitiateCheckout: bool | None = None
    Purchase: bool | None = None

    def applied_to(self, current: dict[str, Any] | None) -> PixelEvents:
        return PixelEvents(**{**(current or {}), **self.model_dump(exclude_none=True)})


class PixelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meta_pixel_id: str = Field(
        pattern=META_PIXEL_ID_RE.pattern, description="The dataset (pixel) id shown in Meta's Events Manager"
    )
    access_token: str = Field(
        pattern=ACCESS_TOKEN_RE,
        description="A Conversions API access token of that dataset (Events Manager → Settings); proven "
        "with one test event, stored encrypted, never shown again",
    )
    id: str | None = Field(default=None, pattern=ENTITY_ID, description="Default: px_<meta_pixel_id>")
    test_event_code: str | None = Field(
        default=None,
        pattern=TEST_EVENT_CODE_RE,
        description="Events Manager's Test Events code: while set, every event of this pixel carries it",
    )
    events: EventSwitches | None = Field(default=None, description="Events reported (default: all)")
    action_source: Literal["website", "chat"] = Field(
        default="website", description="How Meta is told the conversions happened"
    )


class PixelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    events: EventSwitches | None = Field(default=None, description="Only the switches given change")
    action_source: Literal["website", "chat"] | None = None
    test_event_code: str | None = Field(default=None, pattern=TEST_EVENT_CODE_RE, description="null removes it")
    access_token: str | None = Field(
        default=None, pattern=ACCESS_TOKEN_RE, description="A new token: proven with a test event first"
    )


CLEARABLE = frozenset({"test_event_code"})


def pixel_view(item: dict[str, Any]) -> dict[str, Any]:
    """A stored pixel as the API shows it: never the token, nor its ciphertext."""
    return {
        "id": item["pixel_id"],
        "meta_pixel_id": item.get("meta_pixel_id"),
        "enabled": item.get("enabled", True),
        "events": PixelEvents(**(item.get("events") or {})).model_dump(),
        "action_source": item.get("action_source", "website"),
        "test_event_code": item.get("test_event_code"),
        "access_token_set": bool(item.get(encryption.PIXEL_ACCESS_TOKEN)),
        "created_at": item.get("created_at"),
    }


def check_event(now: datetime) -> dict[str, Any]:
    """The inert event that proves a token (see the module's docstring)."""
    nobody = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    return {
        "event_name": CHECK_EVENT_NAME,
        "event_time": int(now.timestamp()),
        "event_id": f"funil-check-{secrets.token_hex(8)}",
        "action_source": "other",
        "user_data": {"external_id": [nobody]},
    }


def prove_token(
    graph: GraphClient, meta_pixel_id: str, access_token: str, test_event_code: str | None, now: datetime
) -> dict[str, Any]:
    """Send the check event; its receipt ``{"events_received", "fbtrace_id"?}``, or the error Meta's answer means."""
    result = graph.send_events(meta_pixel_id, access_token, [check_event(now)], test_event_code)
    if result.ok and (result.events_received or 0) >= 1:
        receipt: dict[str, Any] = {"events_received": result.events_received}
        if result.fbtrace_id:
            receipt["fbtrace_id"] = result.fbtrace_id
        return receipt
    raise refusal(result)


def refusal(result: GraphResult) -> Invalid | Upstream:
    """What a failed test event means for the request (messages carry Meta's codes, never its text)."""
    if result.status_code is None:
        return Upstream("Meta could not be reached (timeout or network error): nothing was saved, try again")
    error = result.error
    if error is None:
        return Upstream("Meta accepted the request but received no event: nothing was saved, try again")
    where = (
        f"code {error.code}"
        + (f"/{error.subcode}" if error.subcode else "")
        + (f", fbtrace_id {result.fbtrace_id}" if result.fbtrace_id else "")
    )
    if error.is_transient or error.code in THROTTLING_CODES or result.status_code >= 500 or result.status_code == 429:
        return Upstream(f"Meta is unavailable ({where}): nothing was saved, try again")
    if (error.code, error.subcode) == UNKNOWN_OBJECT or error.code == UNKNOWN_ALIAS:
        return Invalid.field(
            "meta_pixel_id", f"Meta knows no dataset with this id that this access token can reach ({where})"
        )
    if error.code in TOKEN_CODES or result.status_code == 401:
        return Invalid.field("access_token", f"Meta refused this access token ({where}): generate a new one")
    if error.code in PERMISSION_CODES or result.status_code == 403:
        return Invalid.field(
            "access_token", f"this access token may not send events to this dataset ({where}): generate one there"
        )
    return Upstream(f"Meta refused the test event ({where}): nothing was saved")


def tenant_pixel(items: Store, tenant_id: str, pixel_id: str) -> dict[str, Any]:
    """One of the tenant's pixels; NotFound for a missing one and for another tenant's alike."""
    return tenant_item(items, keys.pixel(pixel_id), tenant_id, f"pixel {pixel_id}")


def create_pixel(deps: OperatorDeps, tenant_id: str, request: PixelCreate) -> dict[str, Any]:
    """Prove the token, then write the pixel with its token encrypted; the view and the proof's receipt."""
    pixel_id = request.id or f"px_{request.meta_pixel_id}"
    taken = f"pixel {pixel_id} already exists"
    key = keys.pixel(pixel_id)
    if deps.items.get(*key, consistent=True) is not None:  # before bothering Meta
        raise Conflict(taken)
    moment = deps.now()
    receipt = prove_token(deps.graph, request.meta_pixel_id, request.access_token, request.test_event_code, moment)
    pixel = Pixel(
        tenant_id=tenant_id,
        pixel_id=pixel_id,
        meta_pixel_id=request.meta_pixel_id,
        events=(request.events or EventSwitches()).applied_to(None),
        action_source=request.action_source,
        test_event_code=request.test_event_code,
        access_token_ciphertext=encryption.encrypt_field(
            deps.secrets, deps.key_id, key, encryption.PIXEL_ACCESS_TOKEN, request.access_token
        ),
    )
    item = {**pixel.to_item(), "created_at": iso(moment)}
    put_new(deps.items, item, taken)
    return {**pixel_view(item), "test_event": receipt}


def update_pixel(deps: OperatorDeps, tenant_id: str, pixel_id: str, request: PixelUpdate) -> dict[str, Any]:
    """Change a pixel; a new access token is proven first (its receipt is in ``test_event``)."""
    given = request.model_fields_set
    refuse_nulls(request, given, CLEARABLE)
    key = keys.pixel(pixel_id)
    current = tenant_pixel(deps.items, tenant_id, pixel_id)
    changes: dict[str, Any] = {
        name: getattr(request, name) for name in ("enabled", "action_source", "test_event_code") if name in given
    }
    if request.events is not None:
        changes["events"] = request.events.applied_to(current.get("events")).model_dump()
    receipt = None
    if request.access_token is not None:
        code = changes["test_event_code"] if "test_event_code" in changes else current.get("test_event_code")
        receipt = prove_token(deps.graph, str(current["meta_pixel_id"]), request.access_token, code, deps.now())
        changes[encryption.PIXEL_ACCESS_TOKEN] = encryption.encrypt_field(
            deps.secrets, deps.key_id, key, encryption.PIXEL_ACCESS_TOKEN, request.access_token
        )
    view = pixel_view(apply_changes(deps.items, key, changes, tenant_id, f"pixel {pixel_id}"))
    return {**view, "test_event": receipt} if receipt is not None else view
