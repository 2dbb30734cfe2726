"""The CLI's words in pt-BR and English: table headers, notes and error messages.

``--lang pt|en`` wins; else ``FUNIL_LANG``; else a ``LANG`` that starts with "en" gives English;
else pt-BR (the product's users are Brazilian). The API's own error messages are passed through
as the API wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Lang = Literal["pt", "en"]
LANGS: tuple[Lang, ...] = ("pt", "en")

CATALOG: dict[str, tuple[str, str]] = {  # key: (pt, en)
    # table headers
    "col.id": ("ID", "ID"),
    "col.name": ("Nome", "Name"),
    "col.enabled": ("Ativo", "Enabled"),
    "col.timezone": ("Fuso", "Time zone"),
    "col.country": ("País", "Country"),
    "col.prefix": ("Prefixo", "Prefix"),
    "col.created_at": ("Criada em", "Created"),
    "col.last_used_at": ("Último uso", "Last used"),
    "col.revoked_at": ("Revogada em", "Revoked"),
    "col.username": ("Usuário", "Username"),
    "col.health": ("Saúde", "Health"),
    "col.pixel": ("Pixel", "Pixel"),
    "col.kind": ("Tipo", "Kind"),
    "col.events": ("Eventos", "Events"),
    "col.priority": ("Prioridade", "Priority"),
    "col.weight": ("Peso", "Weight"),
    "col.meta_pixel_id": ("Pixel da Meta", "Meta pixel"),
    "col.test_event_code": ("Código de teste", "Test event code"),
    "col.title": ("Título", "Title"),
    "col.price": ("Preço", "Price"),
    "col.stars": ("Stars", "Stars"),
    "col.bots": ("Bots", "Bots"),
    "col.slug": ("Slug", "Slug"),
    "col.url": ("URL", "URL"),
    "col.window": ("Janela (dias)", "Window (days)"),
    "col.field": ("Campo", "Field"),
    "col.value": ("Valor", "Value"),
    "col.host": ("Domínio", "Host"),
    "col.status": ("Situação", "Status"),
    "col.cookie_domain": ("Cookies em", "Cookies on"),
    "col.activated_at": ("Ativo desde", "Active since"),
    # broadcasts
    "col.bot": ("Bot", "Bot"),
    "col.segment": ("Público", "Segment"),
    "col.send_at": ("Envio em", "Sends at"),
    "col.sent": ("Enviadas", "Sent"),
    "col.blocked": ("Bloqueados", "Blocked"),
    "col.failed": ("Falhas", "Failed"),
    # notifications
    "col.kinds": ("Avisos", "Kinds"),
    "col.report_hour": ("Hora do relatório", "Report hour"),
    # incidents
    "col.subject": ("Sobre", "Subject"),
    "col.opened_at": ("Aberto em", "Opened"),
    "col.resolved_at": ("Resolvido em", "Resolved"),
    "col.detail": ("Detalhe", "Detail"),
    "yes": ("sim", "yes"),
    "no": ("não", "no"),
    # notes (stderr, so --json output stays parseable)
    "note.nothing": ("Nada por aqui ainda.", "Nothing here yet."),
    "note.logged_in": ("Configuração salva em {path} (API {url}).", "Configuration saved to {path} (API {url})."),
    "note.key_once": (
        "Guarde a chave agora: ela não será mostrada de novo.",
        "Keep the key now: it will not be shown again.",
    ),
    "note.webhook_once": (
        "Guarde a webhook_url acima: ela só é mostrada desta vez.",
        "Keep the webhook_url above: it is shown only this once.",
    ),
    "note.link_url": ("Link: {url}", "Link: {url}"),
    "note.domain_dns": (
        "Crie no DNS de {host} os registros acima; depois rode `funil domains show {host}` até ficar active.",
        "Create the records above in {host}'s DNS, then run `funil domains show {host}` until it is active.",
    ),
    "note.domain_record": ("{type} {name} → {value} ({purpose})", "{type} {name} → {value} ({purpose})"),
    "note.login_link": (
        "Link de acesso ao painel acima: vale uma vez, até {expires_at} (UTC). Não o compartilhe.",
        "Sign-in link to the dashboard above: it works once, until {expires_at} (UTC). Do not share it.",
    ),
    "note.exported": ("Dados exportados para {path}.", "Data exported to {path}."),
    "note.erased": ("Dados apagados:", "Data erased:"),
    "note.bootstrap_table": ("Tabela: {table}", "Table: {table}"),
    "note.bootstrap_login": (
        "Para usar a API: funil login --url {url} --key <a chave acima>",
        "To use the API: funil login --url {url} --key <the key above>",
    ),
    "note.operator_key": ("Chave do operador:", "Operator key:"),
    "note.tenant_key": ("Chave do cliente {tenant}:", "Key of tenant {tenant}:"),
    "confirm.erase": (
        "Apagar todos os dados de {who}? Isso não pode ser desfeito.",
        "Erase all data of {who}? This cannot be undone.",
    ),
    # errors (one line on stderr, exit non-zero)
    "error.prefix": ("erro", "error"),
    "error.usage_hint": ("veja {command} --help", "see {command} --help"),
    "error.aborted": ("cancelado", "aborted"),
    "error.no_url": (
        "nenhuma URL da API: rode `funil login --url URL --key CHAVE` ou defina FUNIL_API_URL",
        "no API URL: run `funil login --url URL --key KEY` or set FUNIL_API_URL",
    ),
    "error.no_key": (
        "nenhuma chave de API: rode `funil login --url URL --key CHAVE` ou defina FUNIL_API_KEY",
        "no API key: run `funil login --url URL --key KEY` or set FUNIL_API_KEY",
    ),
    "error.bad_config": ("não consegui ler {path}: {reason}", "could not read {path}: {reason}"),
    "error.write_file": ("não consegui gravar {path}: {reason}", "could not write {path}: {reason}"),
    "error.unreachable": ("não foi possível acessar {url}: {reason}", "could not reach {url}: {reason}"),
    "error.invalid_url": (
        "URL da API inválida: {url} (use https://…)",
        "invalid API URL: {url} (use https://…)",
    ),
    "error.http": ("a API respondeu {status}: {message}", "the API answered {status}: {message}"),
    "error.not_json": ("a API respondeu {status} sem JSON", "the API answered {status} without JSON"),
    "error.check_key": ("confira a chave (funil login)", "check the key (funil login)"),
    "error.pagination_loop": (
        "a API repetiu o cursor {cursor} ao paginar {path}",
        "the API repeated cursor {cursor} while paging {path}",
    ),
    "error.price": ("preço inválido: {value} (use 19,90 ou 19.90)", "invalid price: {value} (use 19,90 or 19.90)"),
    "error.pair": ("esperava chave=valor, recebi {value}", "expected key=value, got {value}"),
    "error.bot_weight": (
        "bot inválido: {value} (use ID, ID:PESO ou @usuario:PESO)",
        "invalid bot: {value} (use ID, ID:WEIGHT or @username:WEIGHT)",
    ),
    "error.unknown_username": ("nenhum bot seu tem o usuário @{username}", "none of your bots is @{username}"),
    "error.one_delivery": (
        "use só um de --invite-chat, --join-chat e --message",
        "use only one of --invite-chat, --join-chat and --message",
    ),
    "error.lead_selector": (
        "diga de quem com um só de --telegram-user-id, --email e --phone",
        "say whose data with exactly one of --telegram-user-id, --email and --phone",
    ),
    "error.not_erased": ("nada foi apagado", "nothing was erased"),
    "error.bootstrap_target": (
        "diga qual implantação: --stack NOME (a pilha do CloudFormation) ou --table TABELA",
        "say which deployment: --stack NAME (the CloudFormation stack) or --table TABLE",
    ),
    "error.tenant_name": ("--tenant-id precisa de --tenant-name", "--tenant-id needs --tenant-name"),
    "error.stack_output": ("a pilha {stack} não tem a saída {output}", "stack {stack} has no output {output}"),
    "error.aws": ("AWS: {reason}", "AWS: {reason}"),
    "error.segment": (
        "público inválido: {value} (use all, never-bought, bought:OFERTA, access-expired[:OFERTA] ou campaign:NOME)",
        "invalid segment: {value} (use all, never-bought, bought:OFFER, access-expired[:OFFER] or campaign:NAME)",
    ),
    "error.when": (
        "data inválida: {value} (use ISO 8601, ex.: 2026-12-24T20:00)",
        "invalid time: {value} (use ISO 8601, e.g. 2026-12-24T20:00)",
    ),
    "note.admin_code": (
        "Envie {command} a um dos seus bots, no chat privado, em até 15 minutos.",
        "Send {command} to one of your bots, in a private chat, within 15 minutes.",
    ),
    "error.notification_kind": (
        "tipo inválido: {value} (use sale, refund, daily, weekly ou alerts)",
        "invalid kind: {value} (use sale, refund, daily, weekly or alerts)",
    ),
    "error.rejected": ("{message}", "{message}"),
    "error.unexpected": ("erro inesperado: {reason}", "unexpected error: {reason}"),
}


def resolve_lang(flag: str | None, env: Mapping[str, str]) -> Lang:
    """The flag, else FUNIL_LANG, else LANG (en… → en), else pt."""
    for choice in (flag, env.get("FUNIL_LANG")):
        if choice:
            return "en" if choice.lower().startswith("en") else "pt"
    return "en" if env.get("LANG", "").lower().startswith("en") else "pt"


class Translator:
    def __init__(self, lang: Lang) -> None:
        self.lang = lang

    def __call__(self, key: str, **params: object) -> str:
        pt, en = CATALOG[key]
        return (en if self.lang == "en" else pt).format(**params)
