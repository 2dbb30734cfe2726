// The dashboard's words and number/date formats: Brazilian Portuguese first, English on request.
// The choice is kept in localStorage; money is BRL cents, times are shown in São Paulo's time.

export const TIME_ZONE = "America/Sao_Paulo";
const STORAGE_KEY = "funil.lang";
const LANGS = ["pt-BR", "en"];

const STRINGS = {
  "pt-BR": {
    "app.loading": "Carregando…",
    "app.error": "Não foi possível carregar estes dados.",
    "app.retry": "Tentar de novo",
    "app.other_lang": "English",
    "app.other_lang_title": "Show the dashboard in English",
    "app.logout": "Sair",
    "app.nav": "Páginas do painel",
    "app.empty": "Ainda não há dados neste período.",
    "app.none": "(sem valor)",
    "app.yes": "Sim",
    "app.no": "Não",
    "app.total": "Total",
    "app.show_numbers": "Ver os números",
    "app.refresh": "Atualizar",

    "signin.title": "Entrar no painel",
    "signin.lead": "O painel abre com um link de acesso pessoal. Para receber um:",
    "signin.cli": "no seu computador, rode {command} e abra o link que ele mostra;",
    "signin.bot": "ou abra o link de acesso que o Funil enviou a você no Telegram.",
    "signin.rules": "Cada link vale por 15 minutos e entra uma vez só. A sessão dura 12 horas.",
    "signin.signed_out": "Você saiu do painel.",
    "signin.expired": "Sua sessão terminou. Peça um novo link para entrar de novo.",

    "page.overview": "Visão geral",
    "page.campaigns": "Campanhas",
    "page.sale": "Depurador de venda",
    "page.meta": "Entrega à Meta",
    "page.health": "Saúde",

    "period.label": "Período",
    "period.today": "Hoje",
    "period.7": "7 dias",
    "period.30": "30 dias",
    "period.range": "{from} a {to}",

    "touch.label": "Atribuição",
    "touch.last": "Último clique",
    "touch.first": "Primeiro clique",

    "overview.funnel_chart": "Cliques, leads e vendas por dia",
    "overview.money_chart": "Receita e investimento por dia",
    "overview.latency_lead": "Tempo do clique ao lead",
    "overview.latency_sale": "Tempo do lead à venda",
    "overview.suspect": "{count} suspeitos",
    "overview.refunds": "{amount} reembolsados",
    "overview.stars": "{sales} vendas em Stars ({stars} ⭐)",
    "overview.day": "Dia",
    "overview.bucket": "Até",
    "overview.count": "Quantidade",
    "overview.more": "mais",

    "campaigns.by": "Agrupar por",
    "campaigns.filters": "Filtros",
    "campaigns.remove_filter": "Remover filtro {dimension} = {value}",
    "campaigns.drill": "Detalhar {value} por {dimension}",
    "campaigns.only": "Filtrar por {value}",
    "campaigns.sort": "Ordenar por {column}",
    "campaigns.from": "De",
    "campaigns.to": "Até",

    "sale.search_by": "Buscar por",
    "sale.by_payment": "ID do pagamento",
    "sale.by_click": "Token do clique",
    "sale.by_lead": "Bot + usuário do Telegram",
    "sale.payment_id": "ID do pagamento",
    "sale.click_token": "Token do clique",
    "sale.bot_id": "Bot",
    "sale.telegram_user_id": "ID do usuário no Telegram",
    "sale.search": "Buscar",
    "sale.hint": "Cole o ID do pagamento, o token do clique (o parâmetro do /start) ou escolha o bot e o ID do usuário.",
    "sale.not_found": "Nada encontrado para esta busca.",
    "sale.invalid": "Verifique os campos: {fields}.",
    "sale.required": "Preencha este campo.",
    "sale.digits": "Use só números.",
    "sale.payments": "Pagamentos",
    "sale.timeline": "Linha do tempo",
    "sale.no_events": "Nenhum evento registrado.",

    "meta.by_status": "Eventos por situação",
    "meta.delivered": "Entregues: {rate}",
    "meta.quality_chart": "Qualidade de correspondência estimada (0–10)",
    "meta.score": "Nota",
    "meta.events": "Eventos",
    "meta.errors": "Erros recentes",
    "meta.since": "Desde {since}.",
    "meta.truncated": "Contagem parcial: foram lidos só os 1.000 registros mais recentes.",
    "meta.status": "Situação",
    "meta.no_errors": "Nenhum erro recente.",
    "meta.at": "Quando",
    "meta.pixel": "Pixel",
    "meta.event": "Evento",
    "meta.error": "Erro",

    "health.bots": "Bots",
    "health.gateways": "Gateways de pagamento",
    "health.bot": "Bot",
    "health.status": "Situação",
    "health.checked_at": "Verificado em",
    "health.detail": "Detalhe",
    "health.name": "Nome",
    "health.kind": "Tipo",
    "health.enabled": "Ativo",
    "health.priority": "Prioridade",
    "health.no_bots": "Nenhum bot cadastrado.",
    "health.no_gateways": "Nenhum gateway cadastrado.",
    "health.disabled": "Desativado",

    "dim.day": "Dia",
    "dim.link": "Link",
    "dim.bot": "Bot",
    "dim.utm_source": "utm_source",
    "dim.utm_medium": "utm_medium",
    "dim.utm_campaign": "utm_campaign",
    "dim.utm_content": "utm_content",
    "dim.utm_term": "utm_term",
    "dim.campaign_id": "ID da campanha",
    "dim.campaign": "Campanha",
    "dim.adset_id": "ID do conjunto",
    "dim.adset": "Conjunto de anúncios",
    "dim.ad_id": "ID do anúncio",
    "dim.ad": "Anúncio",
    "dim.placement": "Posicionamento",
    "dim.device": "Dispositivo",
    "dim.os": "Sistema",
    "dim.browser": "Navegador",
    "dim.in_app": "Navegador de app",
    "dim.country": "País",
    "dim.region": "Região",
    "dim.quality": "Qualidade do tráfego",

    "metric.clicks": "Cliques",
    "metric.suspect_clicks": "Suspeitos",
    "metric.leads": "Leads",
    "metric.checkouts": "Checkouts",
    "metric.sales": "Vendas",
    "metric.revenue_cents": "Receita",
    "metric.refunds_cents": "Reembolsos",
    "metric.stars_sales": "Vendas em Stars",
    "metric.stars": "Stars",
    "metric.spend_cents": "Investimento",
    "metric.impressions": "Impressões",
    "metric.cpa_cents": "CPA",
    "metric.roas": "ROAS",
    "metric.lead_rate": "Clique → lead",
    "metric.checkout_rate": "Lead → checkout",
    "metric.sale_rate": "Checkout → venda",
    "metric.click_to_sale": "Clique → venda",

    "step.click": "Clique",
    "step.start": "/start no bot",
    "step.lead": "Lead",
    "step.checkout": "Checkout",
    "step.charge_attempt": "Cobrança",
    "step.webhook": "Webhook do gateway",
    "step.paid": "Pagamento confirmado",
    "step.delivery": "Entrega",
    "step.conversion": "Evento na Meta",
    "step.refund": "Reembolso",

    "status.in_progress": "Enviando",
    "status.sent": "Entregue",
    "status.retrying": "Tentando de novo",
    "status.dead": "Falhou",
    "status.expired": "Expirado",
    "status.skipped": "Ignorado",
    "status.invalid": "Inválido",
    "status.healthy": "Saudável",
    "status.unhealthy": "Com problema",
    "status.token_invalid": "Token inválido",
    "status.unchecked": "Não verificado",
  },
  en: {
    "app.loading": "Loading…",
    "app.error": "Could not load this data.",
    "app.retry": "Try again",
    "app.other_lang": "Português",
    "app.other_lang_title": "Mostrar o painel em português",
    "app.logout": "Sign out",
    "app.nav": "Dashboard pages",
    "app.empty": "No data in this period yet.",
    "app.none": "(none)",
    "app.yes": "Yes",
    "app.no": "No",
    "app.total": "Total",
    "app.show_numbers": "Show the numbers",
    "app.refresh": "Refresh",

    "signin.title": "Sign in to the dashboard",
    "signin.lead": "The dashboard opens with a personal sign-in link. To get one:",
    "signin.cli": "on your computer, run {command} and open the link it prints;",
    "signin.bot": "or open the sign-in link Funil sent you on Telegram.",
    "signin.rules": "Each link is valid for 15 minutes and signs in once. A session lasts 12 hours.",
    "signin.signed_out": "You signed out.",
    "signin.expired": "Your session ended. Ask for a new link to sign in again.",

    "page.overview": "Overview",
    "page.campaigns": "Campaigns",
    "page.sale": "Sale debugger",
    "page.meta": "Meta delivery",
    "page.health": "Health",

    "period.label": "Period",
    "period.today": "Today",
    "period.7": "7 days",
    "period.30": "30 days",
    "period.range": "{from} to {to}",

    "touch.label": "Attribution",
    "touch.last": "Last click",
    "touch.first": "First click",

    "overview.funnel_chart": "Clicks, leads and sales per day",
    "overview.money_chart": "Revenue and ad spend per day",
    "overview.latency_lead": "Time from click to lead",
    "overview.latency_sale": "Time from lead to sale",
    "overview.suspect": "{count} suspect",
    "overview.refunds": "{amount} refunded",
    "overview.stars": "{sales} Stars sales ({stars} ⭐)",
    "overview.day": "Day",
    "overview.bucket": "Up to",
    "overview.count": "Count",
    "overview.more": "more",

    "campaigns.by": "Group by",
    "campaigns.filters": "Filters",
    "campaigns.remove_filter": "Remove filter {dimension} = {value}",
    "campaigns.drill": "Break {value} down by {dimension}",
    "campaigns.only": "Filter by {value}",
    "campaigns.sort": "Sort by {column}",
    "campaigns.from": "From",
    "campaigns.to": "To",

    "sale.search_by": "Search by",
    "sale.by_payment": "Payment id",
    "sale.by_click": "Click token",
    "sale.by_lead": "Bot + Telegram user",
    "sale.payment_id": "Payment id",
    "sale.click_token": "Click token",
    "sale.bot_id": "Bot",
    "sale.telegram_user_id": "Telegram user id",
    "sale.search": "Search",
    "sale.hint": "Paste the payment id, the click token (the /start parameter) or pick the bot and the user id.",
    "sale.not_found": "Nothing found for this search.",
    "sale.invalid": "Check the fields: {fields}.",
    "sale.required": "Fill in this field.",
    "sale.digits": "Digits only.",
    "sale.payments": "Payments",
    "sale.timeline": "Timeline",
    "sale.no_events": "No events recorded.",

    "meta.by_status": "Events by status",
    "meta.delivered": "Delivered: {rate}",
    "meta.quality_chart": "Estimated match quality (0–10)",
    "meta.score": "Score",
    "meta.events": "Events",
    "meta.errors": "Recent errors",
    "meta.since": "Since {since}.",
    "meta.truncated": "Partial count: only the latest 1,000 records were read.",
    "meta.status": "Status",
    "meta.no_errors": "No recent errors.",
    "meta.at": "When",
    "meta.pixel": "Pixel",
    "meta.event": "Event",
    "meta.error": "Error",

    "health.bots": "Bots",
    "health.gateways": "Payment gateways",
    "health.bot": "Bot",
    "health.status": "Status",
    "health.checked_at": "Checked at",
    "health.detail": "Detail",
    "health.name": "Name",
    "health.kind": "Kind",
    "health.enabled": "Enabled",
    "health.priority": "Priority",
    "health.no_bots": "No bots yet.",
    "health.no_gateways": "No gateways yet.",
    "health.disabled": "Disabled",

    "dim.day": "Day",
    "dim.link": "Link",
    "dim.bot": "Bot",
    "dim.utm_source": "utm_source",
    "dim.utm_medium": "utm_medium",
    "dim.utm_campaign": "utm_campaign",
    "dim.utm_content": "utm_content",
    "dim.utm_term": "utm_term",
    "dim.campaign_id": "Campaign id",
    "dim.campaign": "Campaign",
    "dim.adset_id": "Ad set id",
    "dim.adset": "Ad set",
    "dim.ad_id": "Ad id",
    "dim.ad": "Ad",
    "dim.placement": "Placement",
    "dim.device": "Device",
    "dim.os": "OS",
    "dim.browser": "Browser",
    "dim.in_app": "In-app browser",
    "dim.country": "Country",
    "dim.region": "Region",
    "dim.quality": "Traffic quality",

    "metric.clicks": "Clicks",
    "metric.suspect_clicks": "Suspect",
    "metric.leads": "Leads",
    "metric.checkouts": "Checkouts",
    "metric.sales": "Sales",
    "metric.revenue_cents": "Revenue",
    "metric.refunds_cents": "Refunds",
    "metric.stars_sales": "Stars sales",
    "metric.stars": "Stars",
    "metric.spend_cents": "Ad spend",
    "metric.impressions": "Impressions",
    "metric.cpa_cents": "CPA",
    "metric.roas": "ROAS",
    "metric.lead_rate": "Click → lead",
    "metric.checkout_rate": "Lead → checkout",
    "metric.sale_rate": "Checkout → sale",
    "metric.click_to_sale": "Click → sale",

    "step.click": "Click",
    "step.start": "/start in the bot",
    "step.lead": "Lead",
    "step.checkout": "Checkout",
    "step.charge_attempt": "Charge",
    "step.webhook": "Gateway webhook",
    "step.paid": "Payment confirmed",
    "step.delivery": "Delivery",
    "step.conversion": "Meta event",
    "step.refund": "Refund",

    "status.in_progress": "Sending",
    "status.sent": "Delivered",
    "status.retrying": "Retrying",
    "status.dead": "Failed",
    "status.expired": "Expired",
    "status.skipped": "Skipped",
    "status.invalid": "Invalid",
    "status.healthy": "Healthy",
    "status.unhealthy": "Unhealthy",
    "status.token_invalid": "Invalid token",
    "status.unchecked": "Not checked",
  },
};

function stored() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage refused (private mode, policy): Portuguese
  }
}

let current = LANGS.includes(stored()) ? stored() : "pt-BR";

export function lang() {
  return current;
}

export function otherLang() {
  return current === "pt-BR" ? "en" : "pt-BR";
}

export function setLang(value) {
  current = LANGS.includes(value) ? value : "pt-BR";
  try {
    window.localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // kept for this page only
  }
  document.documentElement.lang = current;
}

/** The text for `key` in the current language, `{name}` replaced from `vars`; the key itself if unknown. */
export function t(key, vars) {
  const text = STRINGS[current][key] ?? STRINGS["pt-BR"][key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(vars, name) ? String(vars[name]) : whole)) : text;
}

/** `t(prefix + value)` when there is such a text, else the value as it came. */
export function label(prefix, value) {
  const key = prefix + value;
  return Object.hasOwn(STRINGS[current], key) ? STRINGS[current][key] : String(value);
}

const formats = new Map();
function format(kind, make) {
  const key = current + " " + kind;
  if (!formats.has(key)) formats.set(key, make(current));
  return formats.get(key);
}

const DASH = "—";

export const fmt = {
  int(value) {
    return value == null ? DASH : format("int", (l) => new Intl.NumberFormat(l)).format(value);
  },
  money(cents) {
    if (cents == null) return DASH;
    return format("money", (l) => new Intl.NumberFormat(l, { style: "currency", currency: "BRL" })).format(cents / 100);
  },
  /** A ratio (0.4) as a percentage (40,0%). */
  pct(ratio) {
    if (ratio == null) return DASH;
    return format("pct", (l) => new Intl.NumberFormat(l, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 })).format(ratio);
  },
  /** Revenue over spend (1.996 → 2,00×). */
  roas(value) {
    if (value == null) return DASH;
    return format("roas", (l) => new Intl.NumberFormat(l, { minimumFractionDigits: 2, maximumFractionDigits: 2 })).format(value) + "×";
  },
  /** A calendar day (yyyy-mm-dd) as 30/11/2026 (pt-BR) or 11/30/2026 (en). */
  day(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return format("day", (l) => new Intl.DateTimeFormat(l, { timeZone: "UTC", day: "2-digit", month: "2-digit", year: "numeric" })).format(new Date(Date.UTC(y, m - 1, d)));
  },
  /** A calendar day without its year, for chart axes (30/11). */
  dayShort(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return format("dayShort", (l) => new Intl.DateTimeFormat(l, { timeZone: "UTC", day: "2-digit", month: "2-digit" })).format(new Date(Date.UTC(y, m - 1, d)));
  },
  /** An instant (ISO with Z) in São Paulo's time: 30/11/2026, 14:03:05. */
  dateTime(iso) {
    if (!iso) return DASH;
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return String(iso);
    return format("dateTime", (l) => new Intl.DateTimeFormat(l, { timeZone: TIME_ZONE, dateStyle: "short", timeStyle: "medium" })).format(when);
  },
  /** A duration in seconds, short: 45 s, 5 min, 2 h, 3 d. */
  seconds(value) {
    if (value == null) return DASH;
    for (const [size, unit] of [[86400, "d"], [3600, "h"], [60, "min"]]) {
      if (value >= size && value % size === 0) return fmt.int(value / size) + " " + unit;
    }
    return fmt.int(value) + " s";
  },
};
