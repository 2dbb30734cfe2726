"""A fake Telegram Bot API that speaks the real wire protocol and holds every call to the spec.

``POST|GET <base>/bot<token>/<method>`` with a JSON, form-urlencoded or multipart body (or query
parameters) answers like Telegram: ``{"ok": true, "result": …}`` with realistic result objects
(Message, User, WebhookInfo, ChatInviteLink, True…) or ``{"ok": false, "error_code": …,
"description": …, "parameters": {"retry_after": n}}``.

Every call is validated against the Bot API oracle (``tests/oracles/telegram-bot-api.json``,
Bot API 10.1): unknown methods and parameters, types (nested JSON-serialized objects included),
required fields and the length limits the spec states ("1-64 bytes", "0-1024 characters"…), plus
the rules the spec states in prose that matter to Funil (one button kind per inline button, Stars
invoices in XTR with an empty provider token, join-request links without member_limit…). A call
that breaks the spec answers 400 like Telegram and is kept in ``violations`` so tests can assert
there were none. ``validate_call(method, params)`` is the same check for anyone's tests.

Bots: a token the fake has not seen is registered on first use, unless ``strict_tokens`` (then it
is 401 Unauthorized, as at Telegram); ``new_bot(username)`` plays @BotFather's /newbot: a fresh
token of BotFather's shape (obviously local: ``<id>:TEST-funil-local-…``) for a free username.

Faults per bot/chat: ``block(chat_id)`` (403 bot was blocked by the user), ``rate_limit(…)`` (429
with retry_after), ``revoke_token(token)`` (401 Unauthorized).

Rate limits, opt-in (``rate_limits=True`` or ``enforce_rate_limits()``): like Telegram's flood control,
a message (``send*``, ``copyMessage``, ``forwardMessage``) beyond ``bot_per_second`` (30) of one bot,
or ``chat_per_second`` (1) to one chat, within the last second answers 429 with
``parameters.retry_after`` (whole seconds until the window has room). Off by default: the bot's own
flows send a few messages to one chat at once, as Telegram tolerates in short bursts.

Use in-process with ``httpx.MockTransport(fake.handle)``, over real HTTP with ``serve_http(fake)``
(what python-telegram-bot's HTTPXRequest talks to in tests), or mounted in the local stack
(local/telegram_local.py).
"""

from __future__ import annotations

import html
import itertools
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from functools import lru_cache
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "tests" / "oracles" / "telegram-bot-api.json"
PATH_RE = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)$")
TOKEN_RE = re.compile(r"^(?P<id>\d{1,20}):[A-Za-z0-9_-]{30,64}$")
LIMIT_RE = re.compile(r"(\d+)-(\d+) (characters|bytes)")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
INTEGER_RE = re.compile(r"^-?\d+$")
FLOAT_RE = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# BotFather's rules for a bot's username: 5-32 characters, a letter first, ending in "bot".
BOT_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,29}[Bb][Oo][Tt]$")
BUTTON_KIND_EXCEPTIONS = {"text", "icon_custom_emoji_id", "style"}
MAX_BODY_BYTES = 50 * 1024 * 1024


# -- the spec ----------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def load_spec(path: str | None = None) -> dict[str, Any]:
    """The Bot API oracle as JSON: ``{"methods": {name: …}, "types": {name: …}}``."""
    data: dict[str, Any] = json.loads(Path(path or SPEC_PATH).read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes

    def describe(self, index: int | None = None) -> dict[str, Any]:
        described: dict[str, Any] = {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
        }
        if index is not None:
            described["file_index"] = index
        return described


def _is_file(value: Any) -> bool:
    # UploadedFile here; bytes or python-telegram-bot's InputFile from tests that validate directly.
    return isinstance(value, UploadedFile | bytes | bytearray) or hasattr(value, "input_file_content")


def _canonical_methods(spec: Mapping[str, Any]) -> dict[str, str]:
    return {name.lower(): name for name in spec["methods"]}


class _Validator:
    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.types: Mapping[str, Any] = spec["types"]
        self.errors: list[str] = []
        self.parse_mode: str | None = None  # the call's, for the length of text/caption

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    # A value is "wire" when it came as text (form fields, multipart, a top-level parameter): then
    # numbers and booleans are strings and objects are JSON-serialized, as Telegram accepts them.
    def check(self, where: str, types: list[str], value: Any, description: str, wire: bool) -> Any:
        """Check ``value`` against any of ``types``; returns the value as Telegram reads it."""
        errors_before = list(self.errors)
        best: tuple[int, list[str], Any] | None = None
        for kind in types:
            self.errors = []
            parsed = self._check_one(where, kind, value, wire)
            if not self.errors:
                self.errors = errors_before
                self._limits(where, parsed, description)
                return parsed
            if best is None or len(self.errors) < best[0]:
                best = (len(self.errors), self.errors, parsed)
        assert best is not None
        self.errors = errors_before + best[1]
        return best[2]

    def _check_one(self, where: str, kind: str, value: Any, wire: bool) -> Any:
        if kind.startswith("Array of "):
            inner = kind.removeprefix("Array of ")
            if isinstance(value, str) and wire:
                try:
                    value = json.loads(value)
                except ValueError:
                    self.fail(where, f"expected a JSON-serialized {kind}")
                    return value
            if not isinstance(value, list):
                self.fail(where, f"expected {kind}, got {type(value).__name__}")
                return value
            return [self._check_one(f"{where}[{i}]", inner, item, False) for i, item in enumerate(value)]
        if kind == "Integer":
            if isinstance(value, bool) or not (
                isinstance(value, int) or (wire and isinstance(value, str) and INTEGER_RE.match(value))
            ):
                self.fail(where, f"expected Integer, got {value!r:.40}")
                return value
            return int(value)
        if kind == "Float":
            if isinstance(value, bool) or not (
                isinstance(value, int | float) or (wire and isinstance(value, str) and FLOAT_RE.match(value))
            ):
                self.fail(where, f"expected Float, got {value!r:.40}")
                return value
            return float(value) if isinstance(value, str) else value
        if kind == "Boolean":
            if isinstance(value, bool):
                return value
            if wire and isinstance(value, str) and value.lower() in {"true", "false", "1", "0"}:
                return value.lower() in {"true", "1"}
            self.fail(where, f"expected Boolean, got {value!r:.40}")
            return value
        if kind == "String":
            if not isinstance(value, str):
                self.fail(where, f"expected String, got {type(value).__name__}")
            return value
        if kind == "InputFile":
            if not _is_file(value):
                self.fail(where, "expected an uploaded file")
            return value
        if kind not in self.types:
            self.fail(where, f"unknown type {kind} in the spec")
            return value
        if isinstance(value, str) and wire:
            try:
                value = json.loads(value)
            except ValueError:
                self.fail(where, f"expected a JSON-serialized {kind}")
                return value
        return self._object(where, kind, value)

    def _object(self, where: str, kind: str, value: Any) -> Any:
        spec = self.types[kind]
        if spec.get("subtypes"):
            return self._check_one_of(where, list(spec["subtypes"]), value)
        if not isinstance(value, dict):
            self.fail(where, f"expected {kind} object, got {type(value).__name__}")
            return value
        fields = {f["name"]: f for f in spec.get("fields", [])}
        parsed: dict[str, Any] = {}
        for name, item in value.items():
            if name not in fields:
                self.fail(f"{where}.{name}", f"unknown field of {kind}")
                parsed[name] = item
                continue
            parsed[name] = self.check(
                f"{where}.{name}", fields[name]["types"], item, fields[name]["description"], False
            )
        for name, described in fields.items():
            if described["required"] and name not in value:
                self.fail(f"{where}.{name}", f"required field of {kind} missing")
        self._object_rules(where, kind, parsed)
        return parsed

    def _check_one_of(self, where: str, kinds: list[str], value: Any) -> Any:
        return self.check(where, kinds, value, "", False)

    def _limits(self, where: str, value: Any, description: str) -> None:
        if not isinstance(value, str):
            return
        for low, high, unit in LIMIT_RE.findall(description):
            size = len(value.encode("utf-8")) if unit == "bytes" else _visible_length(value, where, self.parse_mode)
            if not int(low) <= size <= int(high):
                self.fail(where, f"must be {low}-{high} {unit}, got {size}")
            break

    def _object_rules(self, where: str, kind: str, value: Mapping[str, Any]) -> None:
        if kind == "InlineKeyboardButton":
            kinds = [name for name in value if name not in BUTTON_KIND_EXCEPTIONS]
            if len(kinds) != 1:
                self.fail(where, f"exactly one button kind is required besides text, got {kinds}")
            if value.get("text") == "":
                self.fail(f"{where}.text", "button text must not be empty")
        if kind == "KeyboardButton":
            # "At most one of the fields other than text, icon_custom_emoji_id, and style must be used"
            kinds = [name for name in value if name not in BUTTON_KIND_EXCEPTIONS]
            if len(kinds) > 1:
                self.fail(where, f"at most one button kind is allowed besides text, got {kinds}")
        if kind == "LinkPreviewOptions" and value.get("is_disabled") not in (None, True, False):
            self.fail(f"{where}.is_disabled", "expected Boolean")


def _visible_length(value: str, where: str, parse_mode: str | None) -> int:
    """Length after entities parsing (HTML tags and entities do not count), for text and caption."""
    if where in {"text", "caption"} and (parse_mode or "").upper() == "HTML":
        return len(html.unescape(re.sub(r"<[^>]+>", "", value)))
    return len(value)


# Formatting options (core.telegram.org/bots/api#formatting-options): what Telegram parses, and the
# "Bad Request: can't parse entities" it answers otherwise.
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji",
    "code", "pre", "blockquote", "tg-time",
}  # fmt: skip
MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")


class _HtmlEntities(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.errors: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self.errors.append(f'unsupported start tag "{tag}"')
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f'unmatched end tag "{tag}"')
        else:
            self.open.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.errors.append(f'unsupported entity "&{name};"')


def entity_errors(text: str, parse_mode: str) -> list[str]:
    """Why Telegram cannot parse ``text`` in ``parse_mode`` (empty when it can)."""
    mode = parse_mode.upper()
    if mode == "HTML":
        if re.search(r"<(?![A-Za-z/])", text):
            return ["unescaped '<' (use &lt;)"]
        if re.search(r"&(?!(#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);)", text):
            return ["unescaped '&' (use &amp;)"]
        parser = _HtmlEntities()
        parser.feed(text)
        parser.close()
        return parser.errors + ([f'unclosed tag "{parser.open[-1]}"'] if parser.open else [])
    if mode == "MARKDOWNV2":
        escaped, in_code = False, False
        for index, char in enumerate(text):
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "`":
                in_code = not in_code
            elif not in_code and char in set("#+-=|{}.!"):
                return [f"character '{char}' is reserved and must be escaped with the preceding '\\' (offset {index})"]
        return []
    if mode == "MARKDOWN":
        return []
    return [f"unsupported parse_mode {parse_mode!r}"]


def _method_rules(method: str, params: Mapping[str, Any], fail: Callable[[str, str], None]) -> None:
    """What the spec says in prose, for the methods Funil uses."""
    if method in {"sendInvoice", "createInvoiceLink"}:
        currency = params.get("currency")
        if isinstance(currency, str) and not CURRENCY_RE.match(currency):
            fail("currency", "three-letter ISO 4217 code expected")
        prices = params.get("prices")
        if currency == "XTR":
            if params.get("provider_token") not in (None, ""):
                fail("provider_token", "must be empty for payments in Telegram Stars")
            if isinstance(prices, list) and len(prices) != 1:
                fail("prices", "must contain exactly one item for payments in Telegram Stars")
            for name in ("max_tip_amount", "suggested_tip_amounts"):
                if name in params:
                    fail(name, "not supported for payments in Telegram Stars")
        if isinstance(prices, list):
            if not prices:
                fail("prices", "must not be empty")
            for index, price in enumerate(prices):
                amount = price.get("amount") if isinstance(price, dict) else None
                if currency == "XTR" and isinstance(amount, int) and amount <= 0:
                    fail(f"prices[{index}].amount", "must be positive")
    joins = params.get("creates_join_request") is True
    if method in {"createChatInviteLink", "editChatInviteLink"} and joins and "member_limit" in params:
        fail("member_limit", "can't be specified when creates_join_request is True")
    if method == "answerPreCheckoutQuery" and params.get("ok") is False and not params.get("error_message"):
        fail("error_message", "required when ok is False")
    if method == "answerShippingQuery" and params.get("ok") is False and not params.get("error_message"):
        fail("error_message", "required when ok is False")
    if method == "setWebhook":
        secret = params.get("secret_token")
        if isinstance(secret, str) and not WEBHOOK_SECRET_RE.match(secret):
            fail("secret_token", "only A-Z, a-z, 0-9, _ and - are allowed")
    text = params.get("text")
    if method in {"sendMessage", "editMessageText"} and isinstance(text, str) and not text.strip():
        fail("text", "message text is empty")
    parse_mode = params.get("parse_mode")
    if isinstance(parse_mode, str):
        for name in ("text", "caption"):
            value = params.get(name)
            for error in entity_errors(value, parse_mode) if isinstance(value, str) else []:
                fail(name, f"can't parse entities: {error}")


def _parse_params(method: str, params: Mapping[str, Any], spec: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the parameters as Telegram reads them, violations) for a call of a canonical method name."""
    validator = _Validator(spec)
    parse_mode = params.get("parse_mode")
    validator.parse_mode = parse_mode if isinstance(parse_mode, str) else None
    fields = {f["name"]: f for f in spec["methods"][method].get("fields", [])}
    parsed: dict[str, Any] = {}
    for name, value in params.items():
        if name not in fields:
            validator.fail(name, f"unknown parameter of {method}")
            parsed[name] = value
            continue
        if _is_file(value) and not any("InputFile" in kind for kind in fields[name]["types"]):
            validator.fail(name, "files can only be uploaded to InputFile parameters")
            parsed[name] = value
            continue
        parsed[name] = validator.check(name, fields[name]["types"], value, fields[name]["description"], True)
    for name, described in fields.items():
        if described["required"] and name not in params:
            validator.fail(name, f"required parameter of {method} missing")
    _method_rules(method, parsed, validator.fail)
    return parsed, validator.errors


def validate_object(type_name: str, value: Any, spec: Mapping[str, Any] | None = None) -> list[str]:
    """Why ``value`` is not a ``type_name`` object of the spec (``Update``, ``Contact``…); empty when it is.
    For fixtures: an update a test sends must be one Telegram could send."""
    validator = _Validator(spec or load_spec())
    validator.check(type_name, [type_name], value, "", False)
    return validator.errors


def validate_call(method: str, params: Mapping[str, Any], spec: Mapping[str, Any] | None = None) -> list[str]:
    """Violations of the Bot API spec by one call (empty when it is a valid call).

    ``params`` as sent: wire values (strings, JSON-serialized objects, as python-telegram-bot posts
    them) or native JSON values (numbers, dicts, lists) both work; files as ``UploadedFile``, bytes
    or python-telegram-bot ``InputFile``.
    """
    spec = spec or load_spec()
    canonical = _canonical_methods(spec).get(method.lower())
    if canonical is None:
        return [f"{method}: unknown method"]
    return [f"{canonical}.{error}" for error in _parse_params(canonical, params, spec)[1]]


# -- requests on the wire -----------------------------------------------------------------------


class BadRequestBody(ValueError):
    pass


def parse_body(content_type: str, body: bytes, query: str = "") -> dict[str, Any]:
    """The parameters of a Bot API request: query string, then the body (JSON, form or multipart)."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    media = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params
    if media == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as error:
            raise BadRequestBody("can't parse JSON body") from error
        if not isinstance(decoded, dict):
            raise BadRequestBody("JSON body must be an object")
        params.update(decoded)
    elif media == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif media == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    else:
        raise BadRequestBody(f"unsupported content type {media or 'none'}")
    return params


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise BadRequestBody("bad multipart body")
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            params[name] = data.decode(part.get_content_charset() or "utf-8", "replace")
    # attach://<name> references in parameters point at file parts by name: Telegram resolves
    # them; the parts themselves are not parameters.
    attached = {
        match.group(1)
        for value in params.values()
        if isinstance(value, str)
        for match in re.finditer(r"attach://([A-Za-z0-9_-]+)", value)
    }
    return {name: value for name, value in params.items() if name not in attached}


# -- the fake -----------------------------------------------------------------------------------


class UsernameTaken(ValueError):
    """@BotFather's answer for a username another bot has."""


@dataclass
class TelegramFault:
    """An injected error. ``times`` None = until cleared; bot/chat None = any."""

    status: int
    description: str
    bot: str | None = None
    chat_id: str | None = None
    method: str | None = None
    retry_after: int | None = None
    times: int | None = 1

    def applies(self, bot: str, method: str, params: Mapping[str, Any]) -> bool:
        if self.bot is not None and self.bot != bot:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or str(params.get("chat_id", params.get("user_id", ""))) == self.chat_id


@dataclass
class FakeBot:
    token: str
    label: str  # Funil's bot id when registered, else the numeric id from the token
    user_id: int
    username: str
    first_name: str


@dataclass
class TelegramApiResult:
    status: int
    payload: dict[str, Any]

    @property
    def body(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


@dataclass
class FakeTelegramApi:
    spec_path: str | None = None
    strict_tokens: bool = False  # True: only registered tokens are valid (others get 401)
    now: Callable[[], float] = time.time
    calls: list[dict[str, Any]] = field(default_factory=list)  # {"bot", "method", "params", "ok", …}
    violations: list[dict[str, Any]] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list)
    faults: list[TelegramFault] = field(default_factory=list)
    bots: dict[str, FakeBot] = field(default_factory=dict)  # token → bot
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    webhook_delivery: dict[str, dict[str, Any]] = field(default_factory=dict)  # token → getWebhookInfo's error fields
    rate_limits: bool = False  # True: 429 beyond bot_per_second per bot / chat_per_second per chat
    bot_per_second: int = 30
    chat_per_second: int = 1
    _message_ids: dict[tuple[str, str], Iterator[int]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _sent_at: dict[str, deque[float]] = field(default_factory=dict)  # "bot" / "bot#chat" → accepted sends' times

    # -- configuration ---------------------------------------------------------------------------

    def register_bot(self, token: str, label: str | None = None, username: str | None = None) -> FakeBot:
        match = TOKEN_RE.match(token)
        user_id = int(match.group("id")) if match else abs(hash(token)) % 10**10
        bot = FakeBot(
            token=token,
            label=label or str(user_id),
            user_id=user_id,
            username=username or f"fake{user_id}_bot",
            first_name=(username or "Fake Bot").removesuffix("Bot").removesuffix("_bot") or "Fake Bot",
        )
        with self._lock:
            self.bots[token] = bot
        return bot

    def new_bot(self, username: str, token: str | None = None) -> FakeBot:
        """@BotFather's /newbot: a bot with a fresh local token (or ``token``); ValueError (BotFather's
        words) for a username that breaks its rules or is taken, in any case."""
        if not BOT_USERNAME_RE.match(username):
            raise ValueError(
                "Sorry, this username is invalid: 5-32 characters, Latin letters, digits and underscores, "
                "starting with a letter and ending in 'bot'"
            )
        with self._lock:
            if any(bot.username.lower() == username.lower() for bot in self.bots.values()):
                raise UsernameTaken("Sorry, this username is already taken. Please try something different.")
            if token is None:
                taken = {bot.user_id for bot in self.bots.values()}
                user_id = 7_000_000_000 + secrets.randbelow(10**9)
                while user_id in taken:
                    user_id = 7_000_000_000 + secrets.randbelow(10**9)
                token = f"{user_id}:TEST-funil-local-{secrets.token_urlsafe(16)}"
            if token in self.bots:
                raise ValueError("that token belongs to another bot")
            return self.register_bot(token, username=username)

    def bot_for(self, token: str) -> FakeBot:
        with self._lock:
            if token not in self.bots:
                return self.register_bot(token)
            return self.bots[token]

    def block(self, chat_id: int | str, bot: str | None = None, times: int | None = None) -> None:
        """That user blocked the bot: 403 on every call to their chat."""
        self.fail(TelegramFault(403, "Forbidden: bot was blocked by the user", bot, str(chat_id), times=times))

    def deactivate(self, chat_id: int | str, bot: str | None = None) -> None:
        self.fail(TelegramFault(403, "Forbidden: user is deactivated", bot, str(chat_id), times=None))

    def rate_limit(
        self,
        retry_after: int,
        *,
        bot: str | None = None,
        chat_id: int | str | None = None,
        method: str | None = None,
        times: int | None = 1,
    ) -> None:
        chat = None if chat_id is None else str(chat_id)
        description = f"Too Many Requests: retry after {retry_after}"
        self.fail(TelegramFault(429, description, bot, chat, method, retry_after=retry_after, times=times))

    def enforce_rate_limits(self, on: bool = True, *, bot_per_second: int = 30, chat_per_second: int = 1) -> None:
        """Answer 429 like Telegram's flood control beyond these rates (see the module's docstring)."""
        with self._lock:
            self.rate_limits, self.bot_per_second, self.chat_per_second = on, bot_per_second, chat_per_second
            self._sent_at.clear()

    def revoke_token(self, token: str) -> None:
        """The token was revoked at BotFather: 401 Unauthorized for every call with it."""
        with self._lock:
            self.revoked.add(token)

    def webhook_failing(self, token: str, *, last_error_date: int | None = None, pending: int = 0) -> None:
        """Telegram's view of delivering the bot's updates: its last error (epoch seconds) and the
        updates waiting, as ``getWebhookInfo`` reports them (no error and nothing waiting: clear)."""
        with self._lock:
            state: dict[str, Any] = {"pending_update_count": pending}
            if last_error_date is not None:
                state.update(last_error_date=last_error_date, last_error_message="Wrong response from the webhook: 502")
            self.webhook_delivery[token] = state

    def fail(self, fault: TelegramFault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.violations.clear()
            self.faults.clear()
            self.revoked.clear()
            self.files.clear()
            self._sent_at.clear()

    # -- what was received ------------------------------------------------------------------------

    def _matches(self, call: Mapping[str, Any], bot: str | None) -> bool:
        return bot is None or bot in {call["bot"], call["token_id"]}

    def recorded(self, bot: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """The calls as ``{"method", "params"}``, oldest first (``bot``: label, numeric id)."""
        with self._lock:
            return [
                {"method": call["method"], "params": call["params"]}
                for call in self.calls
                if self._matches(call, bot) and (method is None or call["method"] == method)
            ]

    def detailed(self, bot: str | None = None) -> list[dict[str, Any]]:
        """The calls with their outcome: ``ok``, ``status``, ``result`` or ``description``."""
        with self._lock:
            return [dict(call) for call in self.calls if self._matches(call, bot)]

    def sent(self, method: str, bot: str | None = None) -> list[dict[str, Any]]:
        """Parameters of the successful calls of ``method``."""
        with self._lock:
            return [
                call["params"]
                for call in self.calls
                if call["method"] == method and call["ok"] and self._matches(call, bot)
            ]

    def file(self, index: int) -> UploadedFile | None:
        with self._lock:
            return self.files[index] if 0 <= index < len(self.files) else None

    # -- the endpoint ----------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """For ``httpx.MockTransport``."""
        request.read()
        result = self.serve(
            request.method, request.url.path, request.url.query.decode(), request.headers, request.content
        )
        return httpx.Response(result.status, json=result.payload)

    def serve(
        self, http_method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> TelegramApiResult:
        match = PATH_RE.search(path)
        if match is None or http_method not in {"GET", "POST"}:
            return _error(404, "Not Found")
        token, method = match.group("token"), match.group("method")
        content_type = ""
        for name, value in headers.items():
            if name.lower() == "content-type":
                content_type = value
        try:
            params = parse_body(content_type, body, query)
        except BadRequestBody as error:
            return self._record_error(token, method, {}, _error(400, f"Bad Request: {error}"), [str(error)])
        return self.call(token, method, params)

    def call(self, token: str, method: str, params: Mapping[str, Any]) -> TelegramApiResult:
        """One Bot API call, already decoded (``serve`` decodes the HTTP request)."""
        spec = load_spec(self.spec_path)
        with self._lock:
            if token in self.revoked or (self.strict_tokens and token not in self.bots):
                return self._record_error(token, method, dict(params), _error(401, "Unauthorized"), [])
            canonical = _canonical_methods(spec).get(method.lower())
            if canonical is None:
                return self._record_error(
                    token, method, dict(params), _error(404, "Not Found"), [f"{method}: unknown method"]
                )
            parsed, errors = _parse_params(canonical, params, spec)
            parsed = self._store_files(parsed)
            if errors:
                return self._record_error(
                    token, canonical, parsed, _error(400, f"Bad Request: {errors[0]}"),
                    [f"{canonical}.{error}" for error in errors],
                )  # fmt: skip
            bot = self.bot_for(token)
            fault = self._fault(bot.label, canonical, parsed)
            if fault is not None:
                parameters = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
                return self._record_error(
                    token, canonical, parsed, _error(fault.status, fault.description, parameters), []
                )
            wait = self._flood_wait(bot.label, canonical, parsed)
            if wait is not None:
                description = f"Too Many Requests: retry after {wait}"
                return self._record_error(token, canonical, parsed, _error(429, description, {"retry_after": wait}), [])
            result = self._result(bot, canonical, parsed)
            self._record(token, canonical, parsed, TelegramApiResult(200, {"ok": True, "result": result}))
            return TelegramApiResult(200, {"ok": True, "result": result})

    # -- internals ---------------------------------------------------------------------------------

    def _store_files(self, params: dict[str, Any]) -> dict[str, Any]:
        stored: dict[str, Any] = {}
        for name, value in params.items():
            if isinstance(value, UploadedFile):
                self.files.append(value)
                stored[name] = value.describe(len(self.files) - 1)
            elif isinstance(value, bytes | bytearray):
                uploaded = UploadedFile(name, "application/octet-stream", bytes(value))
                self.files.append(uploaded)
                stored[name] = uploaded.describe(len(self.files) - 1)
            else:
                stored[name] = value
        return stored

    def _flood_wait(self, bot: str, method: str, params: Mapping[str, Any]) -> int | None:
        """Seconds to wait when this message would break the rates (None: it goes, and is counted)."""
        if not self.rate_limits or not (
            (method.startswith("send") and method != "sendChatAction") or method in {"copyMessage", "forwardMessage"}
        ):
            return None
        now = self.now()
        windows = [
            (self._sent_at.setdefault(bot, deque()), self.bot_per_second),
            (self._sent_at.setdefault(f"{bot}#{params.get('chat_id')}", deque()), self.chat_per_second),
        ]
        wait = 0.0
        for sent, limit in windows:
            while sent and sent[0] <= now - 1.0:
                sent.popleft()
            if len(sent) >= limit:
                wait = max(wait, sent[len(sent) - limit] + 1.0 - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        for sent, _limit in windows:
            sent.append(now)
        return None

    def _fault(self, bot: str, method: str, params: Mapping[str, Any]) -> TelegramFault | None:
        for fault in list(self.faults):
            if fault.applies(bot, method, params):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def _record(self, token: str, method: str, params: dict[str, Any], result: TelegramApiResult) -> None:
        bot = self.bots.get(token)
        match = TOKEN_RE.match(token)
        token_id = match.group("id") if match else "?"
        self.calls.append(
            {
                "bot": bot.label if bot else token_id,
                "token_id": token_id,
                "method": method,
                "params": params,
                "ok": bool(result.payload.get("ok")),
                "status": result.status,
                "result": result.payload.get("result"),
                "description": result.payload.get("description"),
                "at": self.now(),
            }
        )

    def _record_error(
        self, token: str, method: str, params: dict[str, Any], result: TelegramApiResult, violations: list[str]
    ) -> TelegramApiResult:
        with self._lock:
            self._record(token, method, params, result)
            if violations:
                bot = self.bots.get(token)
                self.violations.append(
                    {"bot": bot.label if bot else token.split(":", 1)[0], "method": method, "errors": violations}
                )
        return result

    def _next_message_id(self, bot: FakeBot, chat_id: Any) -> int:
        key = (bot.token, str(chat_id))
        if key not in self._message_ids:
            self._message_ids[key] = itertools.count(1)
        return next(self._message_ids[key])

    def _user(self, bot: FakeBot) -> dict[str, Any]:
        return {"id": bot.user_id, "is_bot": True, "first_name": bot.first_name, "username": bot.username}

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            return {"id": -1001000000000 - abs(hash(chat_id)) % 10**9, "type": "channel", "username": chat_id[1:]}
        number = int(chat_id)
        if number > 0:
            return {"id": number, "type": "private", "first_name": "Comprador"}
        return {"id": number, "type": "supergroup" if str(number).startswith("-100") else "group", "title": "Grupo"}

    def _message(self, bot: FakeBot, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        message: dict[str, Any] = {
            "message_id": self._next_message_id(bot, chat_id),
            "from": self._user(bot),
            "chat": self._chat(chat_id),
            "date": int(self.now()),
        }
        if "text" in params:
            message["text"] = params["text"]
        if "caption" in params:
            message["caption"] = params["caption"]
        if method == "sendPhoto":
            unique = secrets.token_urlsafe(9)
            message["photo"] = [
                {"file_id": f"AgAC{unique}{size}", "file_unique_id": f"AQAD{unique}{size}", "width": size,
                 "height": size, "file_size": 1000 + size}
                for size in (90, 320, 800)
            ]  # fmt: skip
        if method == "sendDocument":
            message["document"] = {"file_id": f"BQAC{secrets.token_urlsafe(9)}", "file_unique_id": "AgAD"}
        if method == "sendInvoice":
            prices = params.get("prices") or []
            message["invoice"] = {
                "title": params.get("title"),
                "description": params.get("description"),
                "start_parameter": params.get("start_parameter", ""),
                "currency": params.get("currency"),
                "total_amount": sum(int(price.get("amount", 0)) for price in prices if isinstance(price, dict)),
            }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if method.startswith("edit"):
            message["message_id"] = params.get("message_id", message["message_id"])
            message["edit_date"] = int(self.now())
        return message

    def _result(self, bot: FakeBot, method: str, params: Mapping[str, Any]) -> Any:
        if method == "getMe":
            return {
                **self._user(bot),
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        if method == "getWebhookInfo":
            hook = self.webhooks.get(bot.token, {})
            info: dict[str, Any] = {
                "url": hook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": 0,
                **self.webhook_delivery.get(bot.token, {}),
            }
            if hook.get("allowed_updates") is not None:
                info["allowed_updates"] = hook["allowed_updates"]
            if hook.get("max_connections") is not None:
                info["max_connections"] = hook["max_connections"]
            return info
        if method == "setWebhook":
            self.webhooks[bot.token] = dict(params)
            return True
        if method == "deleteWebhook":
            self.webhooks.pop(bot.token, None)
            return True
        if method in {"createChatInviteLink", "editChatInviteLink", "revokeChatInviteLink"}:
            link: dict[str, Any] = {
                "invite_link": params.get("invite_link") or f"https://t.me/+{secrets.token_urlsafe(12)}",
                "creator": self._user(bot),
                "creates_join_request": bool(params.get("creates_join_request", False)),
                "is_primary": False,
                "is_revoked": method == "revokeChatInviteLink",
            }
            for name in ("name", "expire_date", "member_limit"):
                if name in params:
                    link[name] = params[name]
            return link
        if method == "exportChatInviteLink":
            return f"https://t.me/+{secrets.token_urlsafe(12)}"
        if method == "createInvoiceLink":
            return f"https://t.me/$${secrets.token_urlsafe(16)}"
        if method == "getChat":
            return {**self._chat(params.get("chat_id")), "accent_color_id": 0, "max_reaction_count": 11}
        if method == "getChatMember":
            user = {"id": int(params.get("user_id", 0)), "is_bot": False, "first_name": "Comprador"}
            return {"status": "member", "user": user}
        returns = load_spec(self.spec_path)["methods"][method].get("returns") or ["True"]
        if method.startswith(("send", "edit", "copyMessage", "forwardMessage", "stopMessageLiveLocation")) and (
            "Message" in returns
        ):
            if method.startswith("edit") and "inline_message_id" in params:
                return True
            return self._message(bot, method, params)
        if returns[0] in {"Integer"}:
            return 1
        if returns[0].startswith("Array of"):
            return []
        return True


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> TelegramApiResult:
    payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return TelegramApiResult(status, payload)


# -- over real HTTP ------------------------------------------------------------------------------


class RunningFake:
    """The fake on a local HTTP server: ``base_url`` is what Telegram's ``https://api.telegram.org`` is."""

    def __init__(self, fake: FakeTelegramApi, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self.fake = fake
        self.server = server
        self.thread = thread
        host, port = server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def __enter__(self) -> RunningFake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_http(fake: FakeTelegramApi, host: str = "127.0.0.1", port: int = 0) -> RunningFake:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length < 0 or length > MAX_BODY_BYTES:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            target = urlsplit(self.path)
            result = fake.serve(self.command, target.path, target.query, dict(self.headers.items()), body)
            data = result.body
            self.send_response(result.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-telegram-api", daemon=True)
    thread.start()
    return RunningFake(fake, server, thread)
