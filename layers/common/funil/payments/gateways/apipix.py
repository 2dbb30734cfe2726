"""Banco Central's API Pix (v2): immediate charges (``cob``) at any PSP that implements it.

One adapter serves Efí, Banco do Brasil, Inter, Sicoob, Sicredi, Santander…: what differs is
configuration. ``base_url`` is the API root (e.g. ``https://pix.api.efipay.com.br/v2``) and
``options``:

- ``token_url`` (required): the OAuth2 client-credentials endpoint; ``scopes`` (space separated,
  default ``cob.write cob.read pix.read webhook.write``); ``token_auth`` ``basic`` (client id and
  secret as HTTP Basic, default) or ``body`` (in the form, as Inter/Sicoob want); ``token_format``
  ``form`` (default) or ``json`` (Efí accepts JSON);
- ``chave`` (required): the receiver's DICT key put on every charge;
- ``app_key_param``: a query parameter carrying ``credentials.app_key`` on every API call
  (Banco do Brasil: ``gw-dev-app-key``); ``client_id_header``: a header carrying the client id
  (Santander: ``X-Application-Key``);
- ``webhook_url_suffix``: appended to the URL given to ``PUT /webhook/{chave}`` (Efí: ``?ignorar=``,
  so its ``/pix`` suffix lands in the query instead of the path).

``credentials``: ``client_id``, ``client_secret`` and, for mTLS, ``certificate`` and ``private_key``
(PEM, decrypted in memory; ``ca_certificate`` optional). Python's ssl can load a client
certificate only from a file, so the PEMs go to a private temporary file that is removed as soon
as the context has read it.

Requests: ``PUT /cob/{txid}`` (txid = our payment id, enforced against ``^[a-zA-Z0-9]{26,35}$``:
the spec's own patterns are unanchored), ``GET /cob/{txid}``, ``PATCH /cob/{txid}`` with status
``REMOVIDA_PELO_USUARIO_RECEBEDOR`` to cancel, ``GET /pix?inicio&fim`` to list received Pix,
``PUT /webhook/{chave}``. The webhook (``POST {webhookUrl}/pix`` with ``{"pix": [...]}``) is
authenticated by mTLS at the PSP's side, which our HTTP API does not see: its events are hints and
each charge is re-read with ``GET /cob/{txid}``.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from funil.clock import Clock, utc_now
from funil.payments.gateways.base import (
    CREDENTIAL_REFUSALS,
    Capabilities,
    Charge,
    ChargeRequest,
    ChargeStatus,
    CredentialsRefused,
    GatewayConfig,
    GatewayError,
    Payer,
    WebhookAuth,
    WebhookEvent,
    WebhookRegistration,
    WebhookRejected,
    check_answer,
    fields_of,
    parse_time,
    payer_of,
    to_cents,
    webhook_object,
)
from funil.payments.gateways.transport import TIMEOUT, GatewayApi

NAME = "apipix"
TXID_RE = re.compile(r"^[a-zA-Z0-9]{26,35}$")
VALOR_RE = re.compile(r"^\d{1,10}\.\d{2}$")
DEFAULT_SCOPES = "cob.write cob.read pix.read webhook.write"
TOKEN_MARGIN_SECONDS = 60

# Cob status → ours. ATIVA past calendario.criacao + expiracao is EXPIRED (PSPs differ in when
# they move it); CONCLUIDA with its Pix fully returned is REFUNDED.
STATUS_MAP: dict[str, ChargeStatus] = {
    "ATIVA": ChargeStatus.PENDING,
    "CONCLUIDA": ChargeStatus.PAID,
    "REMOVIDA_PELO_USUARIO_RECEBEDOR": ChargeStatus.CANCELED,
    "REMOVIDA_PELO_PSP": ChargeStatus.EXPIRED,
}

# Tokens per (token URL, client id, secret digest, scopes), shared by adapter instances of a warm Lambda.
_TOKENS: dict[tuple[str, str, str, str], tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()


def check_txid(txid: str) -> str:
    if not TXID_RE.fullmatch(txid):
        raise GatewayError(f"{NAME}: txid must match ^[a-zA-Z0-9]{{26,35}}$", transient=False)
    return txid


def format_valor(amount_cents: int) -> str:
    valor = f"{Decimal(amount_cents) / 100:.2f}"
    if amount_cents <= 0 or not VALOR_RE.fullmatch(valor):
        raise GatewayError(f"{NAME}: amount out of range", transient=False)
    return valor


def valor_to_cents(valor: object) -> int:
    if not isinstance(valor, str) or not VALOR_RE.fullmatch(valor):
        raise GatewayError(f"{NAME}: unexpected valor {valor!r}", transient=False)
    return to_cents(valor, NAME, in_reais=True)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_ssl_context(certificate: str, private_key: str, ca_certificate: str | None = None) -> ssl.SSLContext:
    """A client-certificate TLS context from PEM text (never logged, file removed at once)."""
    context = ssl.create_default_context()
    if ca_certificate:
        try:
            context.load_verify_locations(cadata=ca_certificate)
        except (ssl.SSLError, ValueError):
            raise GatewayError(
                f"{NAME}: CA certificate cannot be read", fields=("credentials.ca_certificate",)
            ) from None
    directory = tempfile.mkdtemp(prefix="funil-mtls-")  # mode 0700
    path = os.path.join(directory, "client.pem")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(certificate.strip() + "\n" + private_key.strip() + "\n")
        context.load_cert_chain(path)
    except (ssl.SSLError, ValueError):
        raise GatewayError(
            f"{NAME}: client certificate or key cannot be read",
            fields=("credentials.certificate", "credentials.private_key"),
        ) from None
    finally:
        if os.path.exists(path):
            os.remove(path)
        os.rmdir(directory)
    return context


class ApiPixAdapter:
    kind = NAME
    capabilities = Capabilities(
        webhook_auth=WebhookAuth.MTLS,
        webhook_registration=WebhookRegistration.PER_ACCOUNT,
        we_choose_id=True,  # txid = our payment id
        min_amount_cents=1,
        can_cancel=True,
        can_list=True,
    )

    def __init__(
        self,
        config: GatewayConfig,
        http: httpx.Client,
        now: Clock = utc_now,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``transport`` replaces the network under the mTLS client (tests, the local stack)."""
        self._config = config
        self._now = now
        options, credentials = config.options, config.credentials
        config.require(NAME, options=("token_url", "chave"), credentials=("client_id",))
        self._token_url = config.option("token_url")
        self._chave = config.option("chave")
        self._client_id = credentials["client_id"]
        self._client_secret = str(credentials.get("client_secret") or "")
        self._scopes = config.option("scopes", DEFAULT_SCOPES)
        self._credentials_in = config.option("token_auth", "basic")
        self._oauth_format = config.option("token_format", "form")
        self._app_key_param = options.get("app_key_param")
        self._app_key = credentials.get("app_key")
        certificate, private_key = credentials.get("certificate"), credentials.get("private_key")
        if certificate and private_key:
            context = build_ssl_context(str(certificate), str(private_key), credentials.get("ca_certificate"))
            # A client of its own: the TLS identity belongs to this tenant's gateway only.
            http = httpx.Client(verify=context, timeout=TIMEOUT, transport=transport)
        elif transport is not None:
            http = httpx.Client(timeout=TIMEOUT, transport=transport)
        headers = {"Accept": "application/json"}
        if options.get("client_id_header"):
            headers[str(options["client_id_header"])] = self._client_id
        # RFC 7807 title/detail only are quoted: never headers or our request.
        root = config.api_root(NAME)  # no public default: every PSP has its own
        self._remote = GatewayApi(http, NAME, root, headers, error_fields=("title", "detail"))
        self._oauth = GatewayApi(http, NAME, self._token_url, {})
        secret_digest = hashlib.sha256(self._client_secret.encode()).hexdigest()
        self._token_key = (self._token_url, self._client_id, secret_digest, self._scopes)

    # -- OAuth2 --------------------------------------------------------------------------------

    def _token(self) -> str:
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self._token_key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        data: dict[str, str] = {"grant_type": "client_credentials", "scope": self._scopes}
        auth: tuple[str, str] | None = None
        if self._credentials_in == "body":
            data["client_id"] = self._client_id
            if self._client_secret:
                data["client_secret"] = self._client_secret
        else:
            auth = (self._client_id, self._client_secret)
        kwargs: dict[str, Any] = {"json": data} if self._oauth_format == "json" else {"data": data}
        response = self._oauth.send("POST", "", operation="token", auth=auth, **kwargs)
        if response.status_code >= 400:
            # Never echo the answer: some PSPs reflect the credentials they refused. 400/401 are how
            # OAuth2 refuses a client (RFC 6749 §5.2: invalid_client, unauthorized_client).
            if response.status_code in (400, *CREDENTIAL_REFUSALS):
                raise CredentialsRefused(f"{NAME} token: refused (HTTP {response.status_code})")
            raise GatewayError(f"{NAME} token: refused (HTTP {response.status_code})", transient=False)
        try:
            payload = response.json()
            token = str(payload["access_token"])
            expires_in = int(payload.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise GatewayError(f"{NAME} token: unexpected answer", transient=True) from None
        with _TOKENS_LOCK:
            _TOKENS[self._token_key] = (token, time.monotonic() + max(0, expires_in - TOKEN_MARGIN_SECONDS))
        return token

    def _forget_token(self) -> None:
        with _TOKENS_LOCK:
            _TOKENS.pop(self._token_key, None)

    # -- HTTP ----------------------------------------------------------------------------------

    def _api(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        creating: bool = False,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        response = self._send(method, path, operation=operation, creating=creating, json_body=json_body, params=params)
        if response.status_code >= 400:
            raise self._remote.refused(response, operation)
        if not response.content:
            return None
        return self._remote.read_json(response, operation, creating=creating)

    def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        creating: bool = False,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The API's answer to a call with a token (one fresh token after a 401)."""
        query = dict(params or {})
        if self._app_key_param and self._app_key:
            query[str(self._app_key_param)] = str(self._app_key)
        for attempt in (1, 2):
            response = self._remote.send(
                method,
                path,
                operation=operation,
                creating=creating,
                json=json_body,
                params=query or None,
                headers={"Authorization": f"Bearer {self._token()}"},
            )
            if response.status_code == 401 and attempt == 1:
                self._forget_token()  # revoked or expired early: one fresh token, then give up
                continue
            break
        return response

    # -- charges -------------------------------------------------------------------------------

    def create_charge(self, request: ChargeRequest) -> Charge:
        txid = check_txid(request.payment_id)
        body: dict[str, Any] = {
            "calendario": {"expiracao": request.expires_in_seconds},
            "valor": {"original": format_valor(request.amount_cents)},
            "chave": self._chave,
        }
        if request.description:
            body["solicitacaoPagador"] = request.description[:140]
        try:
            data = self._api("PUT", f"/cob/{txid}", operation="create", creating=True, json_body=body)
        except GatewayError as error:
            if error.transient:
                raise
            # A retry after an ambiguous create: some PSPs refuse a second PUT of the same txid.
            return self._existing(txid, request.amount_cents, error)
        charge = self._to_charge(data)
        if charge.gateway_charge_id != txid or charge.amount_cents != request.amount_cents:
            raise GatewayError(f"{NAME} create: answer does not match the request", transient=False, ambiguous=True)
        if not charge.brcode:
            raise GatewayError(f"{NAME} create: no pixCopiaECola in the answer", transient=False, ambiguous=True)
        return charge

    def _existing(self, txid: str, amount_cents: int, error: GatewayError) -> Charge:
        """The charge a refused create left behind, if it is ours as asked (same amount, still ATIVA)."""
        try:
            charge = self.get_charge(txid)
        except GatewayError:
            raise error from None
        if charge.status is not ChargeStatus.PENDING or charge.amount_cents != amount_cents or not charge.brcode:
            raise error
        return charge

    def get_charge(self, gateway_charge_id: str) -> Charge:
        txid = check_txid(gateway_charge_id)
        return self._to_charge(self._api("GET", f"/cob/{txid}", operation="get"))

    def cancel_charge(self, gateway_charge_id: str) -> None:
        txid = check_txid(gateway_charge_id)
        try:
            data = self._api(
                "PATCH", f"/cob/{txid}", operation="cancel", json_body={"status": "REMOVIDA_PELO_USUARIO_RECEBEDOR"}
            )
        except GatewayError as error:
            if error.transient:
                raise
            # Not ATIVA any more (paid, expired): nothing left to cancel; get_charge tells which.
            if self.get_charge(txid).status is ChargeStatus.PENDING:
                raise
            return
        if self._to_charge(data).status is ChargeStatus.PENDING:
            raise GatewayError(f"{NAME} cancel: the charge is still ATIVA", transient=True)

    def list_charges(self, start: datetime, end: datetime) -> list[Charge]:
        """Pix received between ``start`` and ``end`` that carry a txid (``GET /pix``)."""
        charges: list[Charge] = []
        page = 0
        while True:
            data = self._api(
                "GET",
                "/pix",
                operation="list",
                params={
                    "inicio": rfc3339(start),
                    "fim": rfc3339(end),
                    "txIdPresente": "true",
                    "paginacao.paginaAtual": str(page),
                    "paginacao.itensPorPagina": "100",
                },
            )
            items = data.get("pix") if isinstance(data, dict) else None
            for pix in items if isinstance(items, list) else []:
                if isinstance(pix, dict) and TXID_RE.fullmatch(str(pix.get("txid", ""))):
                    charges.append(self._pix_to_charge(pix))
            paging = ((data or {}).get("parametros") or {}).get("paginacao") or {}
            pages = int(paging.get("quantidadeDePaginas", 1) or 1)
            page += 1
            if page >= pages:
                return charges

    def check_credentials(self) -> None:
        """A token, then ``GET /cob?inicio&fim`` of one charge at most over the last minute (scope
        ``cob.read``; 403 ``AcessoNegado`` without it). Creates nothing."""
        end = self._now()
        params = {
            "inicio": rfc3339(end - timedelta(minutes=1)),
            "fim": rfc3339(end),
            "paginacao.itensPorPagina": "1",
        }
        response = self._send("GET", "/cob", operation="check_credentials", params=params)
        data = check_answer(NAME, response.status_code, response.content)
        if not isinstance(data, dict) or not isinstance(data.get("cobs"), list):
            raise GatewayError(f"{NAME} check_credentials: not an API Pix answer", transient=False)

    def register_webhook(self, url: str) -> None:
        suffix = str(self._config.options.get("webhook_url_suffix") or "")
        self._api(
            "PUT", f"/webhook/{self._chave}", operation="register_webhook", json_body={"webhookUrl": url + suffix}
        )

    def _to_charge(self, data: Any) -> Charge:
        if not isinstance(data, dict) or not isinstance(data.get("txid"), str):
            raise GatewayError(f"{NAME}: unexpected cob payload", transient=True)
        raw_status = str(data.get("status", ""))
        status = STATUS_MAP.get(raw_status, ChargeStatus.UNKNOWN)
        calendario = data.get("calendario") or {}
        created = parse_time(calendario.get("criacao"))
        expires_at = None
        expiracao = _seconds(calendario.get("expiracao"))
        if created is not None and expiracao is not None:
            expires_at = created + timedelta(seconds=expiracao)
        if status is ChargeStatus.PENDING and expires_at is not None and self._now() >= expires_at:
            status = ChargeStatus.EXPIRED
        amount = valor_to_cents((data.get("valor") or {}).get("original"))
        paid_at = refunded_at = None
        refunded: int | None = None
        pix_list = _pix_list(data.get("pix"))
        if status is ChargeStatus.PAID and pix_list:
            # What was received, not what was asked: the route compares it with the payment.
            amount = sum(valor_to_cents(pix.get("valor")) for pix in pix_list)
            paid_at = parse_time(pix_list[0].get("horario"))
            refunded, refunded_at = _returned(pix_list)
            if refunded and refunded >= amount:
                status = ChargeStatus.REFUNDED
        devedor = fields_of(data.get("devedor"))
        return Charge(
            gateway_charge_id=data["txid"],
            reference=data["txid"],
            status=status,
            amount_cents=amount,
            currency="BRL",
            brcode=data.get("pixCopiaECola"),
            expires_at=expires_at,
            paid_at=paid_at,
            raw_status=raw_status,
            # Who paid, as the PSP tells it (Efí: pagador); else the debtor the charge named.
            payer=next(filter(None, map(_pagador, pix_list)), None) or _person(devedor),
            refunded_cents=refunded or None,
            refunded_at=refunded_at,
        )

    def _pix_to_charge(self, pix: Mapping[str, Any]) -> Charge:
        txid = str(pix["txid"])
        amount = valor_to_cents(pix.get("valor"))
        refunded, refunded_at = _returned([pix])
        return Charge(
            gateway_charge_id=txid,
            reference=txid,
            status=ChargeStatus.REFUNDED if refunded and refunded >= amount else ChargeStatus.PAID,
            amount_cents=amount,
            currency="BRL",
            brcode=None,
            expires_at=None,
            paid_at=parse_time(pix.get("horario")),
            raw_status="PIX",
            payer=_pagador(pix),
            refunded_cents=refunded or None,
            refunded_at=refunded_at,
        )

    # -- webhooks --------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None) -> None:
        # The PSP authenticates itself by mTLS, which ends before our code: nothing to check here.
        # The route's URL secret gates the call and every event is re-read (events are hints).
        return None

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[WebhookEvent]:
        items = webhook_object(body, NAME).get("pix")
        if isinstance(items, dict):
            items = [items]  # one Pix sent as an object where the spec says a list: still that Pix
        if not isinstance(items, list):
            raise WebhookRejected(f"{NAME}: body has no pix list")
        events: list[WebhookEvent] = []
        for pix in items:
            if not isinstance(pix, dict) or not TXID_RE.fullmatch(str(pix.get("txid", ""))):
                continue  # a Pix without (our kind of) txid is not a charge of ours
            try:
                amount: int | None = valor_to_cents(pix.get("valor"))
                returned, _ = _returned([pix])
            except GatewayError:
                amount, returned = None, 0
            refunded = bool(returned)
            events.append(
                WebhookEvent(
                    kind="refund" if refunded else "payment",
                    gateway_charge_id=str(pix["txid"]),
                    reference=str(pix["txid"]),
                    status=ChargeStatus.REFUNDED if refunded else ChargeStatus.PAID,
                    amount_cents=amount,
                    currency="BRL",
                    occurred_at=parse_time(pix.get("horario")),
                    needs_refetch=True,
                    payer=_pagador(pix),
                    refunded_cents=returned or None,
                )
            )
        return events


def _seconds(value: object) -> int | None:
    """``calendario.expiracao``: an integer, or the digit string some PSPs send (``"3600"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value.strip()):
        return int(value.strip())
    return None


def _pix_list(value: object) -> list[dict[str, Any]]:
    """``pix``: the spec's list, or the single object some PSPs send."""
    items: list[Any] = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
    return [pix for pix in items if isinstance(pix, dict)]


def _returned(pix_list: Sequence[Mapping[str, Any]]) -> tuple[int, datetime | None]:
    """Cents given back (``devolucoes`` with status DEVOLVIDO) and the latest one's settlement time.
    Raises GatewayError when a valor is unreadable."""
    returned, latest = 0, None
    for pix in pix_list:
        devolucoes = pix.get("devolucoes")
        for devolucao in devolucoes if isinstance(devolucoes, list) else []:
            if isinstance(devolucao, dict) and devolucao.get("status") == "DEVOLVIDO":
                returned += valor_to_cents(devolucao.get("valor"))
                horario = fields_of(devolucao.get("horario"))
                moment = parse_time(horario.get("liquidacao")) or parse_time(horario.get("solicitacao"))
                if moment is not None and (latest is None or moment > latest):
                    latest = moment
    return returned, latest


def _person(fields: Mapping[str, Any]) -> Payer | None:
    """A ``devedor``/``pagador`` object (``nome``, ``cpf`` or ``cnpj``, the spec's address fields)."""
    return payer_of(
        name=fields.get("nome"),
        document=fields.get("cpf") or fields.get("cnpj"),
        email=fields.get("email"),
        city=fields.get("cidade"),
        state=fields.get("uf"),
        zip_code=fields.get("cep"),
    )


def _pagador(pix: Mapping[str, Any]) -> Payer | None:
    """The payer a PSP adds to a Pix (Efí: ``gnExtras.pagador``; some: ``pagador``)."""
    extras = fields_of(pix.get("gnExtras"))
    pagador = fields_of(extras.get("pagador")) or fields_of(pix.get("pagador"))
    return _person(pagador) if pagador else None
