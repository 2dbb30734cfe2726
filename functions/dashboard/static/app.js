// The seller's dashboard: one page, five views under /app/, drawn from the dashboard's JSON API.
//
// No framework and no build step. The DOM is built with textContent only (never innerHTML): every
// value shown (campaign names, UTMs, errors) comes from ad clicks, that is from strangers. Each view
// marks #main with data-page and data-state (loading → ready | empty | error) and every chart keeps
// its numbers in a table beside it, so people without sight of the canvas, and tests, read them.

import { TIME_ZONE, fmt, label, lang, otherLang, setLang, t } from "./i18n.js";

const ROOT = "/app"; // the overview; every other view is /app/<slug>
const API = "/app/api/";

// --- small helpers --------------------------------------------------------------------------------

/** An element: h("a", {href, class, onclick, dataset: {…}}, child, "text", [children]…). */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "dataset") {
      for (const [key, item] of Object.entries(value)) if (item != null) el.dataset[key] = String(item);
    } else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "value" || name === "checked" || name === "selected") el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Appends children, skipping null and false (the DOM's own append would write them as text). */
function add(el, ...children) {
  append(el, children);
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

let session = null;

async function api(path, { method = "GET", signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && session) headers["X-CSRF-Token"] = session.csrf_token;
  const response = await fetch(path, { method, headers, signal, credentials: "same-origin", cache: "no-store" });
  if (response.status === 204) return null;
  // A body that is not JSON reads as null; a view left while its body was still arriving stays an abort.
  const body = await response.json().catch((error) => {
    if (error?.name === "AbortError") throw error;
    return null;
  });
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value != null && value !== "") search.set(name, value);
  return search.toString();
}

// --- days in São Paulo ----------------------------------------------------------------------------

const dayParts = new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit" });

function todayIso() {
  const parts = Object.fromEntries(dayParts.formatToParts(new Date()).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

function addDays(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

const PERIODS = { today: 0, 7: 6, 30: 29 };
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The period asked for in the page's URL: today, the last 7 or 30 days (today included), or from/to. */
function periodOf(params, fallback = "7") {
  const from = params.get("from");
  const to = params.get("to");
  if (from && to && DAY.test(from) && DAY.test(to)) return { period: "custom", from, to };
  const period = Object.hasOwn(PERIODS, params.get("period") ?? "") ? params.get("period") : fallback;
  const end = todayIso();
  return { period, from: addDays(end, -PERIODS[period]), to: end };
}

// --- the page: session, shell, routes -------------------------------------------------------------

const PAGES = [
  { id: "overview", slug: "", title: "page.overview", render: overviewPage },
  { id: "campaigns", slug: "campanhas", title: "page.campaigns", render: campaignsPage },
  { id: "sale", slug: "venda", title: "page.sale", render: salePage },
  { id: "meta", slug: "meta", title: "page.meta", render: metaPage },
  { id: "health", slug: "saude", title: "page.health", render: healthPage },
];

const root = document.getElementById("app");
let view = null; // the view on screen: {controller, cleanups}

function pageOf(pathname) {
  if (pathname !== ROOT && !pathname.startsWith(ROOT + "/")) return null;
  const slug = pathname.slice(ROOT.length).replace(/^\/+|\/+$/g, "");
  return PAGES.find((page) => page.slug === slug) || null;
}

function pageUrl(page) {
  return page.slug ? `${ROOT}/${page.slug}` : ROOT;
}

function langButton() {
  const other = otherLang();
  return h(
    "button",
    { type: "button", class: "lang", lang: other, title: t("app.other_lang_title"), dataset: { focus: "lang" }, onclick: () => {
      setLang(other);
      if (session) showShell();
      else showSignIn(root.dataset.reason);
    } },
    t("app.other_lang"),
  );
}

function showSignIn(reason) {
  session = null;
  stopView();
  root.dataset.page = "signin";
  root.dataset.reason = reason || "";
  document.title = `${t("signin.title")} · Funil`;
  const notice = reason ? h("p", { class: "notice", role: "status" }, t(`signin.${reason}`)) : null;
  root.replaceChildren(
    h("main", { class: "signin", id: "main", dataset: { page: "signin", state: "ready" } },
      h("div", { class: "signin-top" }, h("span", { class: "brand" }, "Funil"), langButton()),
      h("h1", {}, t("signin.title")),
      notice,
      h("p", {}, t("signin.lead")),
      h("ul", {},
        h("li", {}, ...withCode(t("signin.cli", { command: "\u0000" }), "funil login")),
        h("li", {}, t("signin.bot"))),
      h("p", { class: "muted" }, t("signin.rules"))),
  );
  restoreFocus();
}

/** `text` with its \0 replaced by <code>code</code>. */
function withCode(text, code) {
  const [before, after] = text.split("\u0000");
  return [before, h("code", {}, code), after];
}

function showShell() {
  stopView();
  root.dataset.page = "app";
  const links = PAGES.map((page) =>
    h("a", { href: pageUrl(page), dataset: { nav: page.id, focus: `nav-${page.id}` } }, t(page.title)),
  );
  root.replaceChildren(
    h("header", { class: "top" },
      h("div", { class: "top-row" },
        h("a", { class: "brand", href: ROOT, dataset: { nav: "overview" } }, "Funil"),
        h("span", { class: "tenant", title: session.tenant_id }, session.tenant_name || session.tenant_id),
        h("div", { class: "top-actions" },
          langButton(),
          h("button", { type: "button", class: "logout", dataset: { focus: "logout" }, onclick: logout }, t("app.logout")))),
      h("nav", { "aria-label": t("app.nav") }, links)),
    h("div", { class: "notice-area", role: "status", "aria-live": "polite", id: "notice" }),
    h("main", { id: "main", tabindex: "-1" }),
  );
  route();
}

async function logout() {
  try {
    await api("/app/logout", { method: "POST" });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      const notice = document.getElementById("notice");
      if (notice) notice.replaceChildren(h("p", { class: "error" }, t("app.error")));
      return;
    }
  }
  history.replaceState(null, "", ROOT);
  showSignIn("signed_out");
}

function stopView() {
  if (!view) return;
  view.controller.abort();
  for (const cleanup of view.cleanups) cleanup();
  view = null;
}

function navigate(url, { replace = false } = {}) {
  const target = new URL(url, location.href);
  if (target.href !== location.href) history[replace ? "replaceState" : "pushState"](null, "", target.href);
  route();
}

async function route() {
  if (!session) return;
  let page = pageOf(location.pathname);
  if (!page) {
    history.replaceState(null, "", ROOT);
    page = PAGES[0];
  }
  const focusKey = document.activeElement?.dataset?.focus;
  stopView();
  const current = { controller: new AbortController(), cleanups: [] };
  view = current;
  for (const link of root.querySelectorAll("nav a[data-nav]")) {
    if (link.dataset.nav === page.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${t(page.title)} · Funil`;
  const main = document.getElementById("main");
  main.dataset.page = page.id;
  main.dataset.state = "loading";
  main.replaceChildren();
  const params = new URLSearchParams(location.search);
  const ctx = {
    main,
    params,
    signal: current.controller.signal,
    cleanups: current.cleanups,
    /** Changes the view's URL parameters (null removes one) and draws the view again. */
    update(changes) {
      const next = new URLSearchParams(location.search);
      for (const [name, value] of Object.entries(changes)) {
        if (value == null || value === "") next.delete(name);
        else next.set(name, value);
      }
      const search = next.toString();
      navigate(location.pathname + (search ? "?" + search : ""));
    },
  };
  try {
    const state = await page.render(ctx);
    if (view !== current) return;
    main.dataset.state = state || "ready";
  } catch (error) {
    if (view !== current || error?.name === "AbortError") return;
    if (error instanceof ApiError && error.status === 401) {
      showSignIn("expired");
      return;
    }
    main.dataset.state = "error";
    main.append(errorBox(error));
  }
  restoreFocus(focusKey);
}

function restoreFocus(key) {
  if (!key) return;
  const target = [...root.querySelectorAll("[data-focus]")].find((el) => el.dataset.focus === key);
  if (target) target.focus();
}

/** The parameters a 422 names: its fields as [{field, message}] (or {field: message}). */
function fieldNames(error) {
  const fields = error instanceof ApiError && error.body ? error.body.fields : null;
  if (Array.isArray(fields)) return fields.map((problem) => String(problem?.field ?? "")).filter(Boolean);
  return fields && typeof fields === "object" ? Object.keys(fields) : [];
}

function errorBox(error) {
  const fields = fieldNames(error);
  const detail = fields.length ? h("p", { class: "muted" }, fields.join(", ")) : null;
  return h("div", { class: "error-box", role: "alert" },
    h("p", {}, t("app.error")),
    detail,
    h("button", { type: "button", onclick: () => route() }, t("app.retry")));
}

document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[href]");
  if (!link || !session || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || link.target) return;
  const target = new URL(link.href, location.href);
  if (target.origin !== location.origin || !pageOf(target.pathname)) return;
  event.preventDefault();
  navigate(target.href);
  document.getElementById("main")?.focus({ preventScroll: true });
});

window.addEventListener("popstate", () => route());

async function boot() {
  setLang(lang());
  try {
    session = await api(API + "session");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) showSignIn("");
    else {
      // Not an answer about the session (network, server): say so, and ask again on demand.
      root.replaceChildren(h("main", { id: "main", class: "signin", dataset: { page: "boot", state: "error" } },
        h("span", { class: "brand" }, "Funil"),
        h("div", { class: "error-box", role: "alert" }, h("p", {}, t("app.error")), h("button", { type: "button", onclick: boot }, t("app.retry")))));
    }
    return;
  }
  showShell();
}

// --- shared pieces of the views -------------------------------------------------------------------

function pageHeader(title, ...controls) {
  return h("div", { class: "page-head" }, h("h1", {}, title), h("div", { class: "controls" }, controls));
}

/** A row of toggle buttons; the pressed one is `value`. */
function segmented(name, legend, options, value, onpick) {
  return h("div", { class: "segmented", role: "group", "aria-label": legend, dataset: { control: name } },
    options.map(([option, text]) =>
      h("button", {
        type: "button",
        "aria-pressed": String(option === value),
        dataset: { value: option, focus: `${name}-${option}` },
        onclick: () => option !== value && onpick(option),
      }, text)),
  );
}

function periodPicker(period, ctx) {
  return segmented("period", t("period.label"),
    [["today", t("period.today")], ["7", t("period.7")], ["30", t("period.30")]],
    period, (value) => ctx.update({ period: value, from: null, to: null }));
}

function rangeNote(range) {
  return h("p", { class: "range muted", dataset: { from: range.from, to: range.to } },
    range.from === range.to ? fmt.day(range.from) : t("period.range", { from: fmt.day(range.from), to: fmt.day(range.to) }));
}

function emptyNote(text = t("app.empty")) {
  return h("p", { class: "empty muted" }, text);
}

const METRIC_FORMAT = {
  clicks: fmt.int, suspect_clicks: fmt.int, leads: fmt.int, checkouts: fmt.int, sales: fmt.int,
  revenue_cents: fmt.money, refunds_cents: fmt.money, stars_sales: fmt.int, stars: fmt.int,
  spend_cents: fmt.money, impressions: fmt.int, cpa_cents: fmt.money, roas: fmt.roas,
  lead_rate: fmt.pct, checkout_rate: fmt.pct, sale_rate: fmt.pct, click_to_sale: fmt.pct,
};

function metricText(metric, value) {
  return (METRIC_FORMAT[metric] || fmt.int)(value);
}

/** A table cell holding a number: the raw value in data-value, the formatted one as its text. */
function numberCell(metric, value, tag = "td") {
  return h(tag, { class: "num", dataset: { col: metric, value: value == null ? "" : value } }, metricText(metric, value));
}

function statsUrl(params) {
  return API + "stats?" + query(params);
}

function keyText(key) {
  return key == null || key === "" ? t("app.none") : String(key);
}

// --- charts (uPlot) with their numbers as a table ------------------------------------------------

const COLORS = { clicks: "#2563eb", leads: "#7c3aed", sales: "#15803d", revenue_cents: "#15803d", spend_cents: "#ea580c", count: "#2563eb" };

function steps(base) {
  const out = [];
  for (let power = 1; power <= 1e12; power *= 10) for (const step of [1, 2, 5]) out.push(step * power * base);
  return out;
}

/**
 * A chart: a <figure data-chart=id> with the canvas (uPlot, drawn once it has a width) and a table of
 * every number it draws (<td data-series data-value>). `points` are the x values (labels already),
 * `series` [{key, label, values, format}], `kind` "line" or "bars".
 */
function chart(ctx, { id, title, xLabel, points, xKeys, series, kind = "line", money = false }) {
  const plot = h("div", { class: "plot", role: "img", "aria-label": chartSummary(title, series) });
  const table = h("table", { class: "chart-table", dataset: { chartTable: id } },
    h("caption", { class: "visually-hidden" }, title),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, xLabel), series.map((s) => h("th", { scope: "col", dataset: { series: s.key } }, s.label)))),
    h("tbody", {}, points.map((point, i) =>
      h("tr", { dataset: { x: xKeys[i] } },
        h("th", { scope: "row" }, point),
        series.map((s) => h("td", { class: "num", dataset: { series: s.key, value: s.values[i] == null ? "" : s.values[i] } }, s.format(s.values[i])))))),
  );
  const figure = h("figure", { class: "chart", dataset: { chart: id, plot: "pending" } },
    h("figcaption", {}, title),
    plot,
    h("details", { class: "chart-numbers" }, h("summary", {}, t("app.show_numbers")), h("div", { class: "table-wrap" }, table)),
  );
  if (typeof window.uPlot !== "function") {
    figure.dataset.plot = "unavailable";
    return figure;
  }
  let drawn = null;
  const observer = new ResizeObserver(() => {
    const width = Math.floor(plot.clientWidth);
    if (width <= 0) return;
    if (drawn) drawn.setSize({ width, height: plotHeight() });
    else {
      drawn = new window.uPlot(plotOptions({ width, points, series, kind, money, xLabel }), [points.map((_, i) => i), ...series.map((s) => s.values)], plot);
      figure.dataset.plot = "drawn";
    }
  });
  observer.observe(plot);
  ctx.cleanups.push(() => {
    observer.disconnect();
    if (drawn) drawn.destroy();
  });
  return figure;
}

function plotHeight() {
  return window.matchMedia("(max-width: 640px)").matches ? 180 : 240;
}

function chartSummary(title, series) {
  const parts = series.map((s) => `${s.label}: ${s.values.map((value) => s.format(value)).join(", ")}`);
  return `${title}. ${parts.join("; ")}`;
}

function plotOptions({ width, points, series, kind, money, xLabel }) {
  const bars = kind === "bars";
  const yFormat = money ? (value) => fmt.money(value) : (value) => fmt.int(value);
  return {
    width,
    height: plotHeight(),
    legend: { show: series.length > 1 || !bars },
    cursor: { drag: { x: false, y: false }, points: { size: 8 } },
    scales: {
      x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] },
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : (money ? 10000 : 5)] },
    },
    axes: [
      {
        incrs: [1, 2, 3, 5, 7, 10, 14, 15, 30, 60, 90, 180, 365],
        space: Math.max(40, 8 * Math.max(0, ...points.map((point) => String(point).length)) + 12), // labels never overlap
        values: (u, splits) => splits.map((i) => (Number.isInteger(i) && points[i] != null ? points[i] : "")),
        grid: { show: false },
      },
      { incrs: steps(money ? 100 : 1), values: (u, splits) => splits.map(yFormat), size: money ? 80 : 50 },
    ],
    series: [
      { label: xLabel, value: (u, i) => (i == null || points[i] == null ? "—" : points[i]) },
      ...series.map((s) => ({
        label: s.label,
        stroke: COLORS[s.key] || COLORS.count,
        fill: bars ? (COLORS[s.key] || COLORS.count) + "cc" : undefined,
        width: bars ? 1 : 2,
        points: { show: !bars, size: 6 },
        paths: bars ? window.uPlot.paths.bars({ size: [0.6, 64] }) : undefined,
        value: (u, value) => s.format(value),
        spanGaps: false,
      })),
    ],
  };
}

// --- Visão geral ----------------------------------------------------------------------------------

const KPIS = [
  ["clicks", (total) => (total.suspect_clicks ? t("overview.suspect", { count: fmt.int(total.suspect_clicks) }) : null)],
  ["leads"],
  ["checkouts"],
  ["sales", (total) => (total.stars_sales ? t("overview.stars", { sales: fmt.int(total.stars_sales), stars: fmt.int(total.stars) }) : null)],
  ["revenue_cents", (total) => (total.refunds_cents ? t("overview.refunds", { amount: fmt.money(total.refunds_cents) }) : null)],
  ["spend_cents"],
  ["roas"],
  ["cpa_cents"],
  ["lead_rate"],
  ["checkout_rate"],
  ["sale_rate"],
  ["click_to_sale"],
];

async function overviewPage(ctx) {
  const range = periodOf(ctx.params, "7");
  add(ctx.main, pageHeader(t("page.overview"), periodPicker(range.period, ctx)), rangeNote(range));
  const data = await api(statsUrl({ from: range.from, to: range.to, by: "day" }), { signal: ctx.signal });
  const total = data.totals || {};
  add(ctx.main, 
    h("section", { class: "kpis", "aria-label": t("page.overview") },
      KPIS.map(([metric, sub]) =>
        h("div", { class: "kpi", dataset: { metric, value: total[metric] == null ? "" : total[metric] } },
          h("span", { class: "kpi-label" }, t(`metric.${metric}`)),
          h("strong", { class: "kpi-value" }, metricText(metric, total[metric])),
          sub && sub(total) ? h("span", { class: "kpi-sub" }, sub(total)) : null))),
  );
  const rows = data.rows || [];
  const days = rows.map((row) => row.key);
  const labels = days.map((day) => fmt.dayShort(day));
  const pick = (metric) => rows.map((row) => (row[metric] == null ? null : row[metric]));
  const charts = h("section", { class: "charts" },
    chart(ctx, {
      id: "funnel", title: t("overview.funnel_chart"), xLabel: t("overview.day"), points: labels, xKeys: days,
      series: ["clicks", "leads", "sales"].map((key) => ({ key, label: t(`metric.${key}`), values: pick(key), format: fmt.int })),
    }),
    chart(ctx, {
      id: "money", title: t("overview.money_chart"), xLabel: t("overview.day"), points: labels, xKeys: days, money: true,
      series: ["revenue_cents", "spend_cents"].map((key) => ({ key, label: t(`metric.${key}`), values: pick(key), format: fmt.money })),
    }),
    latencyChart(ctx, "click_to_lead", t("overview.latency_lead"), data.latency?.click_to_lead),
    latencyChart(ctx, "lead_to_sale", t("overview.latency_sale"), data.latency?.lead_to_sale),
  );
  const empty = !(total.clicks || total.leads || total.checkouts || total.sales || total.spend_cents);
  add(ctx.main, empty ? emptyNote() : null, charts);
  return empty ? "empty" : "ready";
}

function latencyChart(ctx, id, title, buckets) {
  const list = Array.isArray(buckets) ? buckets : [];
  const keys = list.map((bucket) => (bucket.le_seconds == null ? "+inf" : String(bucket.le_seconds)));
  const points = list.map((bucket) => (bucket.le_seconds == null ? t("overview.more") : "≤ " + fmt.seconds(bucket.le_seconds)));
  return chart(ctx, {
    id: `latency-${id}`, title, xLabel: t("overview.bucket"), points, xKeys: keys, kind: "bars",
    series: [{ key: "count", label: t("overview.count"), values: list.map((bucket) => bucket.count), format: fmt.int }],
  });
}

// --- Campanhas ------------------------------------------------------------------------------------

const DIMENSIONS = [
  "campaign", "adset", "ad", "bot", "device", "region",
  "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
  "campaign_id", "adset_id", "ad_id", "link", "placement", "os", "browser", "in_app", "country", "quality",
];
// Where a row leads when it is broken down: a campaign into its ad sets, an ad set into its ads…
const DRILL = {
  campaign: "adset", adset: "ad", campaign_id: "adset_id", adset_id: "ad_id",
  utm_source: "utm_medium", utm_medium: "utm_campaign", utm_campaign: "utm_content", utm_content: "utm_term",
  link: "bot", country: "region", device: "os", os: "browser",
};
const COLUMNS = [
  "clicks", "suspect_clicks", "leads", "checkouts", "sales", "revenue_cents", "spend_cents",
  "cpa_cents", "roas", "lead_rate", "checkout_rate", "sale_rate", "click_to_sale",
];

async function campaignsPage(ctx) {
  const range = periodOf(ctx.params, "7");
  const by = DIMENSIONS.includes(ctx.params.get("by")) ? ctx.params.get("by") : "campaign";
  const touch = ctx.params.get("touch") === "first" ? "first" : "last";
  const filters = DIMENSIONS.filter((dimension) => ctx.params.has(dimension)).map((dimension) => [dimension, ctx.params.get(dimension)]);
  const sort = COLUMNS.includes(ctx.params.get("sort")) || ctx.params.get("sort") === "key" ? ctx.params.get("sort") : "revenue_cents";
  const dir = ctx.params.get("dir") === "asc" ? "asc" : "desc";

  const bySelect = h("select", { id: "by", dataset: { focus: "by" }, onchange: (event) => ctx.update({ by: event.target.value, sort: null, dir: null }) },
    DIMENSIONS.map((dimension) => h("option", { value: dimension, selected: dimension === by }, t(`dim.${dimension}`))));
  const dateInput = (name, value) => h("input", {
    type: "date", id: `range-${name}`, value, dataset: { focus: `range-${name}` },
    onchange: (event) => {
      const other = name === "from" ? range.to : range.from;
      if (!DAY.test(event.target.value)) return;
      ctx.update(name === "from" ? { from: event.target.value, to: other, period: null } : { from: other, to: event.target.value, period: null });
    },
  });
  add(ctx.main, 
    pageHeader(t("page.campaigns"),
      h("label", { class: "field" }, h("span", {}, t("campaigns.by")), bySelect),
      periodPicker(range.period, ctx),
      h("span", { class: "dates" },
        h("label", { class: "field" }, h("span", {}, t("campaigns.from")), dateInput("from", range.from)),
        h("label", { class: "field" }, h("span", {}, t("campaigns.to")), dateInput("to", range.to))),
      segmented("touch", t("touch.label"), [["last", t("touch.last")], ["first", t("touch.first")]], touch, (value) => ctx.update({ touch: value === "last" ? null : value }))),
    rangeNote(range),
  );
  if (filters.length) {
    add(ctx.main, h("ul", { class: "chips", "aria-label": t("campaigns.filters") },
      filters.map(([dimension, value]) => h("li", { dataset: { filter: dimension, value } },
        h("span", {}, `${t(`dim.${dimension}`)}: ${keyText(value)}`),
        h("button", {
          type: "button", class: "chip-remove", "aria-label": t("campaigns.remove_filter", { dimension: t(`dim.${dimension}`), value: keyText(value) }),
          onclick: () => ctx.update({ [dimension]: null }),
        }, "×")))));
  }
  const data = await api(statsUrl({ from: range.from, to: range.to, by, touch, ...Object.fromEntries(filters) }), { signal: ctx.signal });
  const rows = (data.rows || []).map((row, index) => ({ row, index }));
  rows.sort((a, b) => compareRows(a, b, sort, dir));

  const header = (column, text) => {
    const sorted = column === sort;
    const nextDir = sorted ? (dir === "desc" ? "asc" : "desc") : column === "key" ? "asc" : "desc";
    return h("th", { scope: "col", class: column === "key" ? "key" : "num", "aria-sort": sorted ? (dir === "desc" ? "descending" : "ascending") : null, dataset: { col: column } },
      h("button", { type: "button", class: "sort", dataset: { focus: `sort-${column}` }, title: t("campaigns.sort", { column: text }), onclick: () => ctx.update({ sort: column, dir: nextDir }) },
        text, h("span", { class: "sort-mark", "aria-hidden": "true" }, sorted ? (dir === "desc" ? " ▼" : " ▲") : "")));
  };
  const next = DRILL[by] && !filters.some(([dimension]) => dimension === DRILL[by]) ? DRILL[by] : null;
  const keyCell = (key) => {
    const text = keyText(key);
    const cell = h("th", { scope: "row", class: "key", dataset: { key: key == null ? "" : key } }, h("span", { class: "key-text" }, text));
    if (key != null && key !== "") {
      const change = next ? { [by]: key, by: next, sort: null, dir: null } : { [by]: key };
      cell.append(h("button", {
        type: "button", class: "drill",
        "aria-label": next ? t("campaigns.drill", { value: text, dimension: t(`dim.${next}`) }) : t("campaigns.only", { value: text }),
        onclick: () => ctx.update(change),
      }, next ? "›" : "⌕"));
    }
    return cell;
  };
  const totals = data.totals || {};
  const table = h("table", { class: "breakdown", dataset: { table: "breakdown", by } },
    h("thead", {}, h("tr", {}, header("key", t(`dim.${by}`)), COLUMNS.map((column) => header(column, t(`metric.${column}`))))),
    h("tbody", {}, rows.map(({ row }) => h("tr", { dataset: { key: row.key == null ? "" : row.key } }, keyCell(row.key), COLUMNS.map((column) => numberCell(column, row[column]))))),
    h("tfoot", {}, h("tr", { dataset: { key: "total" } }, h("th", { scope: "row", class: "key" }, t("app.total")), COLUMNS.map((column) => numberCell(column, totals[column])))),
  );
  add(ctx.main, h("div", { class: "table-wrap sticky-first" }, table));
  if (!rows.length) {
    add(ctx.main, emptyNote());
    return "empty";
  }
  return "ready";
}

function compareRows(a, b, column, dir) {
  const sign = dir === "asc" ? 1 : -1;
  if (column === "key") {
    const order = keyText(a.row.key).localeCompare(keyText(b.row.key), lang(), { numeric: true, sensitivity: "base" });
    return order ? sign * order : a.index - b.index;
  }
  const x = a.row[column];
  const y = b.row[column];
  if (x == null || y == null) return x == null && y == null ? a.index - b.index : x == null ? 1 : -1; // empty last
  return x === y ? a.index - b.index : sign * (x < y ? -1 : 1);
}

// --- Depurador de venda ---------------------------------------------------------------------------

const SEARCHES = {
  payment: ["payment_id"],
  click: ["click_token"],
  lead: ["bot_id", "telegram_user_id"],
};

async function salePage(ctx) {
  const asked = Object.entries(SEARCHES).find(([, fields]) => fields.every((field) => ctx.params.get(field)));
  const mode = asked ? asked[0] : Object.hasOwn(SEARCHES, ctx.params.get("mode") ?? "") ? ctx.params.get("mode") : "payment";
  const values = Object.fromEntries(SEARCHES[mode].map((field) => [field, ctx.params.get(field) || ""]));

  const inputs = SEARCHES[mode].map((field) => {
    const input = h("input", {
      id: `sale-${field}`, name: field, value: values[field], required: true, maxlength: 200, autocomplete: "off", spellcheck: "false",
      inputmode: field === "telegram_user_id" ? "numeric" : null, list: field === "bot_id" ? "sale-bots" : null,
      dataset: { focus: `sale-${field}` },
    });
    return h("label", { class: "field" }, h("span", {}, t(`sale.${field}`)), input, h("span", { class: "field-error", id: `sale-${field}-error` }));
  });
  const bots = h("datalist", { id: "sale-bots" });
  const form = h("form", { class: "search", novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    const entered = {};
    let ok = true;
    for (const field of SEARCHES[mode]) {
      const input = form.elements.namedItem(field);
      const value = input.value.trim();
      const problem = !value ? t("sale.required") : field === "telegram_user_id" && !/^\d{1,20}$/.test(value) ? t("sale.digits") : "";
      document.getElementById(`sale-${field}-error`).textContent = problem;
      input.setAttribute("aria-invalid", String(Boolean(problem)));
      if (problem) {
        if (ok) input.focus();
        ok = false;
      }
      entered[field] = value;
    }
    if (!ok) return;
    const cleared = Object.fromEntries(Object.values(SEARCHES).flat().map((field) => [field, null]));
    ctx.update({ ...cleared, mode: null, ...entered });
  } },
    h("fieldset", { class: "modes" }, h("legend", {}, t("sale.search_by")),
      Object.keys(SEARCHES).map((option) => h("label", { class: "mode" },
        h("input", { type: "radio", name: "mode", value: option, checked: option === mode, dataset: { focus: `mode-${option}` },
          onchange: () => ctx.update({ ...Object.fromEntries(Object.values(SEARCHES).flat().map((field) => [field, null])), mode: option }) }),
        t(`sale.by_${option}`)))),
    h("div", { class: "fields" }, inputs, h("button", { type: "submit", class: "primary", dataset: { focus: "sale-search" } }, t("sale.search"))),
    bots,
  );
  add(ctx.main, pageHeader(t("page.sale")), h("p", { class: "muted" }, t("sale.hint")), form);
  if (mode === "lead") {
    api(API + "health", { signal: ctx.signal }).then((health) => {
      bots.replaceChildren(...(health?.bots || []).map((bot) => h("option", { value: bot.bot_id }, bot.username ? "@" + bot.username : bot.bot_id)));
    }, () => {}); // only suggestions: the field works without them
  }
  if (!asked) return "ready";

  const result = h("section", { class: "trace", "aria-live": "polite" });
  add(ctx.main, result);
  let trace;
  try {
    trace = await api(API + "trace?" + query(values), { signal: ctx.signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      add(result, h("p", { class: "not-found", role: "status" }, t("sale.not_found")));
      return "empty";
    }
    if (error instanceof ApiError && error.status === 422) {
      const fields = fieldNames(error).map((field) => label("sale.", field)).join(", ");
      add(result, h("p", { class: "error", role: "alert" }, t("sale.invalid", { fields: fields || "?" })));
      return "error";
    }
    throw error;
  }
  const payments = trace.payments || [];
  if (payments.length) {
    add(result, h("h2", {}, t("sale.payments")), h("ul", { class: "payments" },
      payments.map((payment) => h("li", {}, h("a", { href: `${ROOT}/venda?${query({ payment_id: payment })}`, dataset: { payment } }, h("code", {}, payment))))));
  }
  const events = trace.events || [];
  add(result, h("h2", {}, t("sale.timeline")));
  if (!events.length) {
    add(result, emptyNote(t("sale.no_events")));
    return "empty";
  }
  add(result, h("ol", { class: "timeline", dataset: { count: events.length } },
    events.map((event) => h("li", { class: "event", dataset: { step: event.step, at: event.at } },
      h("div", { class: "event-head" },
        h("time", { datetime: event.at }, fmt.dateTime(event.at)),
        h("span", { class: `step step-${String(event.step).replace(/[^a-z_]/g, "")}` }, label("step.", event.step)),
        h("strong", { class: "event-title" }, event.title)),
      detailList(event.detail)))));
  return "ready";
}

/** A trace event's details as nested definition lists (keys as they come: they are technical names). */
function detailList(detail, depth = 0) {
  if (detail == null || typeof detail !== "object" || depth > 4) return null;
  const entries = Array.isArray(detail) ? detail.map((value, index) => [String(index), value]) : Object.entries(detail);
  if (!entries.length) return null;
  return h("dl", { class: "detail" }, entries.map(([key, value]) => [
    h("dt", {}, key),
    h("dd", { dataset: { key } }, detailValue(value, depth)),
  ]));
}

function detailValue(value, depth) {
  if (value == null) return "—";
  if (typeof value === "boolean") return value ? t("app.yes") : t("app.no");
  if (Array.isArray(value) && value.every((item) => item == null || typeof item !== "object")) return value.map((item) => String(item)).join(", ") || "—";
  if (typeof value === "object") return detailList(value, depth + 1) || "—";
  return String(value);
}

// --- Entrega à Meta -------------------------------------------------------------------------------

const STATUS_ORDER = ["sent", "in_progress", "retrying", "dead", "invalid", "skipped", "expired"];

async function metaPage(ctx) {
  add(ctx.main, pageHeader(t("page.meta"), h("button", { type: "button", dataset: { focus: "refresh" }, onclick: () => route() }, t("app.refresh"))));
  const health = await api(API + "health", { signal: ctx.signal });
  const conversions = health.conversions || {};
  const byStatus = conversions.by_status || {};
  const statuses = [...STATUS_ORDER.filter((status) => status in byStatus), ...Object.keys(byStatus).filter((status) => !STATUS_ORDER.includes(status)).sort()];
  const all = statuses.reduce((sum, status) => sum + (byStatus[status] || 0), 0);
  add(ctx.main, 
    h("h2", {}, t("meta.by_status")),
    h("p", { class: "muted", dataset: { delivered: byStatus.sent || 0, total: all } },
      conversions.since ? t("meta.since", { since: fmt.dateTime(conversions.since) }) + " " : "",
      t("meta.delivered", { rate: fmt.pct(all ? (byStatus.sent || 0) / all : null) })),
    conversions.truncated ? h("p", { class: "notice", role: "note", dataset: { truncated: "true" } }, t("meta.truncated")) : null,
    statuses.length
      ? h("div", { class: "kpis statuses" }, statuses.map((status) =>
        h("div", { class: `kpi status-${status.replace(/[^a-z_]/g, "")}`, dataset: { status, value: byStatus[status] } },
          h("span", { class: "kpi-label" }, label("status.", status)),
          h("strong", { class: "kpi-value" }, fmt.int(byStatus[status])))))
      : emptyNote(),
  );
  // Every score 0–10 on the axis, the ones without events as 0.
  const counted = new Map((conversions.match_quality || []).map((bucket) => [bucket.score, bucket.count]));
  const quality = Array.from({ length: 11 }, (_, score) => ({ score, count: counted.get(score) || 0 }));
  add(ctx.main, h("section", { class: "charts" }, chart(ctx, {
    id: "match-quality", title: t("meta.quality_chart"), xLabel: t("meta.score"), kind: "bars",
    points: quality.map((bucket) => fmt.int(bucket.score)), xKeys: quality.map((bucket) => bucket.score),
    series: [{ key: "count", label: t("meta.events"), values: quality.map((bucket) => bucket.count), format: fmt.int }],
  })));
  const errors = conversions.errors || [];
  add(ctx.main, h("h2", {}, t("meta.errors")));
  add(ctx.main, errors.length
    ? h("div", { class: "table-wrap" }, h("table", { dataset: { table: "errors" } },
      h("thead", {}, h("tr", {}, ["meta.at", "meta.pixel", "meta.event", "meta.status", "meta.error"].map((key) => h("th", { scope: "col" }, t(key))))),
      h("tbody", {}, errors.map((error) => h("tr", { dataset: { pixel: error.pixel_id, event: error.event_name, status: error.status } },
        h("td", {}, h("time", { datetime: error.at }, fmt.dateTime(error.at))),
        h("td", {}, h("code", {}, error.pixel_id)),
        h("td", {}, error.event_name),
        h("td", {}, error.status ? label("status.", error.status) : "—"),
        h("td", { class: "wrap" }, error.error))))))
    : emptyNote(t("meta.no_errors")));
  return all ? "ready" : "empty";
}

// --- Saúde ----------------------------------------------------------------------------------------

async function healthPage(ctx) {
  add(ctx.main, pageHeader(t("page.health"), h("button", { type: "button", dataset: { focus: "refresh" }, onclick: () => route() }, t("app.refresh"))));
  const health = await api(API + "health", { signal: ctx.signal });
  const bots = health.bots || [];
  const gateways = health.gateways || []; // in the order routing tries them
  const badge = (status) => h("span", { class: `badge badge-${String(status || "unchecked").replace(/[^a-z_]/g, "")}` }, label("status.", status || "unchecked"));
  add(ctx.main, 
    h("h2", {}, t("health.bots")),
    bots.length
      ? h("div", { class: "table-wrap" }, h("table", { dataset: { table: "bots" } },
        h("thead", {}, h("tr", {}, ["health.bot", "health.status", "health.checked_at", "health.detail"].map((key) => h("th", { scope: "col" }, t(key))))),
        h("tbody", {}, bots.map((bot) => h("tr", { dataset: { bot: bot.bot_id, status: bot.status || "unchecked", enabled: String(bot.enabled !== false) } },
          h("th", { scope: "row" }, bot.username ? "@" + bot.username : bot.bot_id, h("small", { class: "muted block" }, bot.bot_id)),
          h("td", {}, badge(bot.status), bot.enabled === false ? [" ", h("span", { class: "badge badge-off" }, t("health.disabled"))] : null),
          h("td", {}, bot.checked_at ? h("time", { datetime: bot.checked_at }, fmt.dateTime(bot.checked_at)) : "—"),
          h("td", { class: "wrap" }, bot.detail || "—"))))))
      : emptyNote(t("health.no_bots")),
    h("h2", {}, t("health.gateways")),
    gateways.length
      ? h("div", { class: "table-wrap" }, h("table", { dataset: { table: "gateways" } },
        h("thead", {}, h("tr", {}, ["health.name", "health.kind", "health.enabled", "health.priority"].map((key) => h("th", { scope: "col", class: key === "health.priority" ? "num" : null }, t(key))))),
        h("tbody", {}, gateways.map((gateway) => h("tr", { dataset: { gateway: gateway.gateway_id, enabled: String(Boolean(gateway.enabled)) } },
          h("th", { scope: "row" }, gateway.name || gateway.gateway_id, h("small", { class: "muted block" }, gateway.gateway_id)),
          h("td", {}, gateway.kind),
          h("td", {}, h("span", { class: `badge badge-${gateway.enabled ? "healthy" : "off"}` }, gateway.enabled ? t("app.yes") : t("app.no"))),
          numberCell("priority", gateway.priority))))))
      : emptyNote(t("health.no_gateways")),
  );
  return "ready";
}

boot();
