"""A fake PSP speaking Banco Central's API Pix (v2.9): OAuth2 client credentials and immediate charges.

Routes (under ``base_path``, e.g. ``/v2``): ``PUT/GET/PATCH /cob/{txid}``, ``GET /cob?inicio&fim``
(``CobsConsultadas``: charges created in the window, paged), ``GET /pix?inicio&fim``,
``PUT /webhook/{chave}``; the token at ``oauth_path`` (HTTP Basic client id/secret, form or JSON
``grant_type=client_credentials``). Errors follow RFC 7807 like the spec (``type``, ``title``,
``status``, ``detail``). ``pay(txid)`` simulates the payer; ``webhook_body(txid)`` is the ``{"pix": [...]}``
callback the PSP would POST (authenticated by mTLS at the PSP, which a fake cannot show) and
``notify(txid, deliver)`` POSTs it to the ``webhookUrl`` registered for the charge's key with
``/pix`` appended, as the spec's callback does (no registration: nothing is sent).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx

from local.fakes.gateway_common import Deliver, FakeGatewayBase, dynamic_brcode, json_body

TXID_RE = re.compile(r"^[a-zA-Z0-9]{26,35}$")
VALOR_RE = re.compile(r"^\d{1,10}\.\d{2}$")
PROBLEM = "https://pix.bcb.gov.br/api/v2/error/"


def _problem(status: int, kind: str, title: str, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"type": PROBLEM + kind, "title": title, "status": status, "detail": detail},
        headers={"content-type": "application/problem+json"},
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class FakeApiPix(FakeGatewayBase):
    client_id: str = "fake-client"
    client_secret: str = "fake-secret"  # noqa: S105 - a fake's credential
    base_path: str = "/v2"
    oauth_path: str = "/oauth/token"
    chave: str = "7f6844d0-de89-47e5-9ef7-e0a35a681615"
    app_key_param: str | None = None  # e.g. "gw-dev-app-key" (Banco do Brasil)
    app_key: str | None = None
    now: Any = field(default=lambda: datetime.now(UTC))
    cobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    token_forms: list[dict[str, str]] = field(default_factory=list)
    webhooks: dict[str, str] = field(default_factory=dict)
    repeat_put_answers_same: bool = True  # False: a second PUT of a txid is a 400, as some PSPs do
    psp_moves_expired: bool = True  # False: keep ATIVA past expiry, as some PSPs do for a while

    # -- simulation --------------------------------------------------------------------------

    def pay(self, txid: str, *, valor: str | None = None) -> dict[str, Any]:
        cob = self.cobs[txid]
        pix = {
            "endToEndId": "E" + secrets.token_hex(15)[:31].upper(),
            "txid": txid,
            "valor": valor or cob["valor"]["original"],
            "horario": _iso(self.now()),
            "infoPagador": "pagamento",
        }
        cob["status"] = "CONCLUIDA"
        cob.setdefault("pix", []).append(pix)
        return pix

    def refund(self, txid: str) -> None:
        pix = self.cobs[txid]["pix"][0]
        pix["devolucoes"] = [
            {
                "id": "D" + secrets.token_hex(8),
                "rtrId": "D" + secrets.token_hex(15)[:31].upper(),
                "valor": pix["valor"],
                "horario": {"solicitacao": _iso(self.now()), "liquidacao": _iso(self.now())},
                "status": "DEVOLVIDO",
            }
        ]

    def expire(self, txid: str) -> None:
        self.cobs[txid]["status"] = "REMOVIDA_PELO_PSP"

    def webhook_body(self, *txids: str) -> bytes:
        return json.dumps({"pix": [pix for txid in txids for pix in self.cobs[txid].get("pix", [])]}).encode()

    def notify(self, *txids: str, deliver: Deliver) -> int | None:
        registered = self.webhooks.get(self.chave)
        url = registered + "/pix" if registered else None
        return self.send_webhook(url, {"content-type": "application/json"}, self.webhook_body(*txids), deliver)

    # -- routing -----------------------------------------------------------------------------

    def route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == self.oauth_path:
            return self._token(request)
        if not path.startswith(self.base_path + "/"):
            return _problem(404, "NaoEncontrado", "Não Encontrado", "rota desconhecida")
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return _problem(401, "AcessoNegado", "Acesso Negado", "token ausente ou inválido")
        if self.app_key_param and request.url.params.get(self.app_key_param) != self.app_key:
            return _problem(401, "AcessoNegado", "Acesso Negado", "app key ausente ou inválida")
        parts = path[len(self.base_path) + 1 :].split("/")
        if len(parts) == 2 and parts[0] == "cob":
            txid = parts[1]
            if not TXID_RE.fullmatch(txid):
                return _problem(400, "RequisicaoInvalida", "Requisição inválida", "txid inválido")
            if request.method == "PUT":
                return self._put_cob(txid, json_body(request))
            if request.method == "GET":
                return self._get_cob(txid)
            if request.method == "PATCH":
                return self._patch_cob(txid, json_body(request))
        if parts == ["pix"] and request.method == "GET":
            return self._list_pix(request)
        if parts == ["cob"] and request.method == "GET":
            return self._list_cobs(request)
        if len(parts) == 2 and parts[0] == "webhook" and request.method == "PUT":
            body = json_body(request)
            if not isinstance(body, dict) or not str(body.get("webhookUrl", "")).startswith("https://"):
                return _problem(400, "RequisicaoInvalida", "Requisição inválida", "webhookUrl inválida")
            self.webhooks[parts[1]] = body["webhookUrl"]
            return httpx.Response(200)
        return _problem(404, "NaoEncontrado", "Não Encontrado", "rota desconhecida")

    def _token(self, request: httpx.Request) -> httpx.Response:
        if "json" in request.headers.get("content-type", ""):
            form = {key: str(value) for key, value in (json_body(request) or {}).items()}
        else:
            form = {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        # Client authentication by HTTP Basic, or by client_id/client_secret in the body (RFC 6749 §2.3.1).
        basic_ok = request.headers.get("authorization") == f"Basic {expected}"
        body_ok = form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret
        if not (basic_ok or body_ok):
            return httpx.Response(401, json={"error": "invalid_client"})
        self.token_forms.append(form)
        if form.get("grant_type") != "client_credentials":
            return httpx.Response(400, json={"error": "unsupported_grant_type"})
        self.token_requests += 1
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return httpx.Response(
            200, json={"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "cob.write cob.read"}
        )

    def _put_cob(self, txid: str, body: Any) -> httpx.Response:
        if not isinstance(body, dict):
            return _problem(400, "RequisicaoInvalida", "Requisição inválida", "corpo inválido")
        valor = (body.get("valor") or {}).get("original")
        if not isinstance(valor, str) or not VALOR_RE.fullmatch(valor) or Decimal(valor) <= 0:
            return _problem(400, "CobOperacaoInvalida", "Cobrança inválida", "valor.original inválido")
        if body.get("chave") != self.chave:
            return _problem(400, "CobOperacaoInvalida", "Cobrança inválida", "chave não pertence ao recebedor")
        expiracao = (body.get("calendario") or {}).get("expiracao", 86400)
        if not isinstance(expiracao, int) or expiracao <= 0:
            return _problem(400, "CobOperacaoInvalida", "Cobrança inválida", "calendario.expiracao inválido")
        existing = self.cobs.get(txid)
        if existing is not None:
            # A retry of the same creation (after a timeout) answers the same charge.
            if (
                self.repeat_put_answers_same
                and existing["valor"]["original"] == valor
                and existing["status"] == "ATIVA"
            ):
                return httpx.Response(201, json=existing)
            return _problem(400, "CobOperacaoInvalida", "Cobrança inválida", "txid já utilizado")
        created = self.now()
        location = f"pix.fake.test/qr/v2/{secrets.token_hex(16)}"
        cob: dict[str, Any] = {
            "calendario": {"criacao": _iso(created), "expiracao": expiracao},
            "txid": txid,
            "revisao": 0,
            "loc": {"id": len(self.cobs) + 1, "location": location, "tipoCob": "cob", "criacao": _iso(created)},
            "location": location,
            "status": "ATIVA",
            "valor": {"original": valor},
            "chave": self.chave,
            "pixCopiaECola": dynamic_brcode(location, int(Decimal(valor) * 100)),
        }
        if "solicitacaoPagador" in body:
            cob["solicitacaoPagador"] = body["solicitacaoPagador"]
        self.cobs[txid] = cob
        return httpx.Response(201, json=cob)

    def _get_cob(self, txid: str) -> httpx.Response:
        cob = self.cobs.get(txid)
        if cob is None:
            return _problem(404, "CobNaoEncontrado", "Cobrança não encontrada", f"txid {txid} não encontrado")
        if cob["status"] == "ATIVA" and self.psp_moves_expired:
            created = datetime.fromisoformat(cob["calendario"]["criacao"].replace("Z", "+00:00"))
            if self.now() > created + timedelta(seconds=cob["calendario"]["expiracao"]):
                cob["status"] = "REMOVIDA_PELO_PSP"
        return httpx.Response(200, json=cob)

    def _patch_cob(self, txid: str, body: Any) -> httpx.Response:
        cob = self.cobs.get(txid)
        if cob is None:
            return _problem(404, "CobNaoEncontrado", "Cobrança não encontrada", f"txid {txid} não encontrado")
        if not isinstance(body, dict) or body.get("status") != "REMOVIDA_PELO_USUARIO_RECEBEDOR":
            return _problem(400, "CobOperacaoInvalida", "Cobrança inválida", "revisão não suportada pelo fake")
        if cob["status"] != "ATIVA":
            return _problem(400, "CobOperacaoInvalida", "Cobrança inválida", "cobrança não está ATIVA")
        cob["status"] = "REMOVIDA_PELO_USUARIO_RECEBEDOR"
        cob["revisao"] += 1
        return httpx.Response(200, json=cob)

    def _list_cobs(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        try:
            start = datetime.fromisoformat(params["inicio"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(params["fim"].replace("Z", "+00:00"))
            page = int(params.get("paginacao.paginaAtual", "0"))
            per_page = int(params.get("paginacao.itensPorPagina", "100"))
        except (KeyError, ValueError):
            return _problem(400, "ConsultaInvalida", "Consulta inválida", "inicio e fim são obrigatórios (RFC 3339)")
        created = [
            cob
            for cob in self.cobs.values()
            if start <= datetime.fromisoformat(cob["calendario"]["criacao"].replace("Z", "+00:00")) <= end
        ]
        pages = max(1, -(-len(created) // per_page))
        return httpx.Response(
            200,
            json={
                "parametros": {
                    "inicio": params["inicio"],
                    "fim": params["fim"],
                    "paginacao": {
                        "paginaAtual": page,
                        "itensPorPagina": per_page,
                        "quantidadeDePaginas": pages,
                        "quantidadeTotalDeItens": len(created),
                    },
                },
                "cobs": created[page * per_page : (page + 1) * per_page],
            },
        )

    def _list_pix(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        try:
            start = datetime.fromisoformat(params["inicio"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(params["fim"].replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return _problem(400, "ConsultaInvalida", "Consulta inválida", "inicio e fim são obrigatórios (RFC 3339)")
        page = int(params.get("paginacao.paginaAtual", "0"))
        per_page = int(params.get("paginacao.itensPorPagina", "100"))
        received = [
            pix
            for cob in self.cobs.values()
            for pix in cob.get("pix", [])
            if start <= datetime.fromisoformat(pix["horario"].replace("Z", "+00:00")) <= end
        ]
        pages = max(1, -(-len(received) // per_page))
        return httpx.Response(
            200,
            json={
                "parametros": {
                    "inicio": params["inicio"],
                    "fim": params["fim"],
                    "paginacao": {
                        "paginaAtual": page,
                        "itensPorPagina": per_page,
                        "quantidadeDePaginas": pages,
                        "quantidadeTotalDeItens": len(received),
                    },
                },
                "pix": received[page * per_page : (page + 1) * per_page],
            },
        )
