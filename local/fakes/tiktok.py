"""A fake of TikTok's Events API 2.0: ``POST /open_api/v1.3/event/track/``.

Checks: the ``Access-Token`` header (one of ``access_tokens``, else code 40105 with HTTP 200, as
TikTok answers), ``event_source`` ``web``, ``event_source_id`` a known pixel code (``pixel_codes``),
``data`` a non-empty list, each event's ``event`` name, ``event_time`` (integer seconds),
``event_id``, ``user`` keys where ``email``/``phone``/``external_id`` are SHA-256 (64 lowercase hex,
never plain), ``properties.currency``/``value``/``contents``. A broken rule answers code 40002.
Answers are TikTok's: ``{"code", "message", "request_id", "data": {}}``; a transient failure is
HTTP 200 with code 40100 (rate limit) or the status it is told to use.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from local.fakes.recording import RecordingFake, Rejected, require

PATH = "/open_api/v1.3/event/track/"
HEX64 = re.compile(r"^[a-f0-9]{64}$")
HASHED = ("email", "phone", "external_id")
EVENTS = frozenset({"CompletePayment", "InitiateCheckout", "PlaceAnOrder", "ViewContent", "AddToCart", "Purchase"})


def _answer(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": secrets.token_hex(10), "data": {}}


class FakeTikTok(RecordingFake):
    def __init__(self, access_tokens: set[str], pixel_codes: set[str]) -> None:
        super().__init__()
        self.access_tokens = access_tokens
        self.pixel_codes = pixel_codes

    def events(self) -> list[dict[str, Any]]:
        return [event for body in self.bodies() for event in body["data"]]

    def transient_answer(self, status: int) -> tuple[int, Any]:
        if status == 200:
            return 200, _answer(40100, "Too many requests")
        return status, _answer(50000, "System error")

    def check(
        self, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes, body: Any
    ) -> tuple[int, Any]:
        require(path == PATH, 404, _answer(40404, "not found"))
        require(headers.get("access-token") in self.access_tokens, 200, _answer(40105, "Access token is invalid"))
        problem = _problem(body, self.pixel_codes)
        if problem:
            raise Rejected(200, _answer(40002, problem))
        return 200, _answer(0, "OK")


def _problem(body: Any, pixel_codes: set[str]) -> str | None:
    if not isinstance(body, dict) or body.get("event_source") != "web":
        return "event_source must be web"
    if body.get("event_source_id") not in pixel_codes:
        return "event_source_id is not a pixel code of this advertiser"
    data = body.get("data")
    if not isinstance(data, list) or not data:
        return "data must be a non-empty list"
    for event in data:
        if not isinstance(event, dict) or event.get("event") not in EVENTS:
            return "event name invalid"
        if not isinstance(event.get("event_time"), int) or isinstance(event.get("event_time"), bool):
            return "event_time must be an integer (seconds)"
        if not isinstance(event.get("event_id"), str) or not event["event_id"]:
            return "event_id must be a string"
        user = event.get("user") or {}
        if not isinstance(user, dict):
            return "user must be an object"
        for name in HASHED:
            if name in user and not (isinstance(user[name], str) and HEX64.match(user[name])):
                return f"user.{name} must be SHA-256 hex"
        properties = event.get("properties") or {}
        if not isinstance(properties.get("currency"), str) or not isinstance(properties.get("value"), int | float):
            return "properties.currency and properties.value are required"
        if not isinstance(properties.get("contents"), list):
            return "properties.contents must be a list"
    return None
