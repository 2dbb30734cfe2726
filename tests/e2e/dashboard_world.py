"""The dashboard's world: a known mix of ad clicks, leads and sales made through the local stack's real
chain, and what the dashboard must show for it.

``make_world`` adds two links (one bot each, so every click's bot is known), then for each
``Visit``: the ad click (``GET /go/<slug>?utm_…&campaign_name=…`` with a phone's, a tablet's or a
desktop's User-Agent and CloudFront's region header), the visitor's ``/start <token>`` through the
bot's real webhook (the fake Bot API's ``/updates``), the offer's PIX button, the payment in the
sandbox (its signed webhook through the real route) and a refund. The stack's queue and stream
consumers do the rest; AnalyticsStreamFunction counts it from the table's stream.

``World.stats`` is what ``/app/api/stats`` must answer for it (the funnel's rules in
docs/analytics.md, written down from the visits, not read back from the counters): clicks under the
click's link, bot, UTMs, ad and visitor; a lead on the day of its first ``/start`` under that click;
checkouts and sales under the payment's click (``touch=last``) or the lead's first click (its link,
UTMs and ad: ``touch=first``). Only what a visit cannot say beforehand is read from the table: the
times (which day, how long from click to lead), and the click's quality verdict (``q``), which the
consumer decides per batch.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
DEVICE = {IPHONE: "mobile", ANDROID: "mobile", IPAD: "tablet", DESKTOP: "desktop"}

BRASILIA = timezone(timedelta(hours=-3))
TOKEN_IN_PAGE = re.compile(r"start=([A-Za-z0-9_-]{22})")
OFFER_PRICES = {"grupo_vip": 1990, "curso": 9700}  # the demo's offers (local/seed.py)
LINKS = {"a": ("painel-a", "bot_demo_a"), "b": ("painel-b", "bot_demo_b")}  # made by make_world

# A campaign's name as strangers may write it: the dashboard must show it as text.
HOSTILE_CAMPAIGN = "Natal <img src=x onerror=\"window.__pwned='campaign'\">"


def _ad(campaign: tuple[str, str], adset: tuple[str, str], ad: tuple[str, str]) -> dict[str, str]:
    """Meta's URL macros ({{campaign.id}}, {{campaign.name}}, …) as an ad's URL parameters carry them."""
    return {
        "utm_source": "facebook",
        "utm_medium": "paid",
        "utm_campaign": campaign[0],
        "campaign_id": campaign[0],
        "campaign_name": campaign[1],
        "adset_id": adset[0],
        "adset_name": adset[1],
        "ad_id": ad[0],
        "ad_name": ad[1],
    }


# The paid campaign is the local Marketing API's demo ad account's (local/fakes/meta_graph.py): its
# spend is imported; Christmas's ads are in no ad account Funil reads (no spend known for them).
PAID = ("120210000000000001", "Grupo VIP - conversões")
BROAD = ("120210000000000011", "Amplo - Brasil 18-45")
INTERESTS = ("120210000000000012", "Interesses - renda extra")
VIDEO = ("120210000000000101", "Vídeo 15s - oferta")
IMAGE = ("120210000000000103", "Imagem - preço")
CHRISTMAS = ("990002", HOSTILE_CAMPAIGN)
REMARKETING = ("990021", "Remarketing")
STORY = ("990211", "Story")
AD_ACCOUNT = "act_1234567890"  # local.fakes.meta_graph.DEMO_AD_ACCOUNT_ID


@dataclass(frozen=True)
class Visit:
    """One ad click and what its visitor does next: ``/start`` as Telegram user ``user``, buy ``buy``,
    pay it, have it refunded."""

    name: str
    link: str  # "a" or "b" (LINKS)
    params: Mapping[str, str]
    user_agent: str
    region: str | None = None  # CloudFront-Viewer-Country-Region
    user: int | None = None
    buy: str | None = None
    pay: bool = False
    refund: bool = False
    payer: Mapping[str, str] | None = None  # who paid, as the gateway reports it (more match keys)
    meta_refuses: bool = False  # Meta refuses the sale's Purchase for good (a recent error)


# Four people come from the paid campaign's ads, two from Christmas's (one of whom comes back through
# the paid campaign and buys: first touch Christmas, last touch paid), one from Instagram's bio.
# fmt: off
VISITS: tuple[Visit, ...] = (
    Visit("paid-1", "a", _ad(PAID, BROAD, VIDEO), IPHONE, "SP", user=910001, buy="grupo_vip", pay=True,
          payer={"name": "Ana Souza", "email": "ana.souza@example.com", "phone": "+5511987654321"}),
    Visit("paid-2", "a", _ad(PAID, BROAD, VIDEO), ANDROID, "RJ", user=910002, buy="curso", pay=True, refund=True),
    Visit("paid-3", "b", _ad(PAID, INTERESTS, IMAGE), DESKTOP, "SP", user=910003, buy="grupo_vip"),
    Visit("paid-4", "b", _ad(PAID, INTERESTS, IMAGE), IPAD, "MG"),
    Visit("xmas-1", "a", _ad(CHRISTMAS, REMARKETING, STORY), IPHONE, "SP", user=910004),
    Visit("paid-5", "a", _ad(PAID, BROAD, VIDEO), IPHONE, "SP", user=910004, buy="curso", pay=True),
    Visit("bio-1", "b", {"utm_source": "instagram", "utm_medium": "bio"}, ANDROID, "RJ", user=910005,
          buy="grupo_vip", pay=True, meta_refuses=True),
    Visit("xmas-2", "a", _ad(CHRISTMAS, REMARKETING, STORY), DESKTOP, None),
)
# fmt: on

# What /app/api/stats answers, per row (docs/analytics.md).
COUNTED = (
    "clicks",
    "suspect_clicks",
    "leads",
    "checkouts",
    "sales",
    "revenue_cents",
    "refunds_cents",
    "stars_sales",
    "stars",
)
SALE_METRICS = ("checkouts", "sales", "revenue_cents", "refunds_cents", "stars_sales", "stars")
SPEND_DIMENSIONS = ("campaign_id", "campaign", "adset_id", "adset", "ad_id", "ad")
DIMENSIONS = (
    "link", "bot", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
    "campaign_id", "campaign", "adset_id", "adset", "ad_id", "ad", "placement",
    "device", "os", "browser", "in_app", "country", "region", "quality",
)  # fmt: skip
FIRST_TOUCH_DIMENSIONS = (
    "link", "bot", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
    "campaign_id", "campaign", "adset_id", "adset", "ad_id", "ad", "placement",
)  # fmt: skip


@dataclass(frozen=True)
class Spend:
    """One ad's spend on one day, as Meta reports it (the local Marketing API's demo account)."""

    day: str
    dims: Mapping[str, str]  # campaign_id, campaign, adset_id, adset, ad_id, ad
    spend_cents: int
    impressions: int


@dataclass(frozen=True)
class Fact:
    day: str
    dims: Mapping[str, str]
    metrics: Mapping[str, int]


@dataclass
class Click:
    visit: Visit
    token: str
    bot_id: str
    item: dict[str, Any]  # as stored (compact)


@dataclass
class World:
    tenant_id: str
    clicks: list[Click] = field(default_factory=list)
    payments: dict[str, Visit] = field(default_factory=dict)  # payment id → the visit that bought
    leads: dict[tuple[str, int], Click] = field(default_factory=dict)  # (bot, user) → its first click
    facts: list[Fact] = field(default_factory=list)
    spend: list[Spend] = field(default_factory=list)
    latencies: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # name → (day, seconds)

    def click(self, name: str) -> Click:
        (found,) = [click for click in self.clicks if click.visit.name == name]
        return found

    def payment_of(self, name: str) -> str:
        (found,) = [payment for payment, visit in self.payments.items() if visit.name == name]
        return found

    @property
    def days(self) -> set[str]:
        return {fact.day for fact in self.facts}

    def stats(
        self,
        start: str,
        end: str,
        by: str,
        filters: Mapping[str, str] | None = None,
        touch: str = "last",
    ) -> dict[str, Any]:
        """What ``GET /app/api/stats`` must answer for this world alone (its rows keyed by ``key``)."""
        filters = dict(filters or {})
        rows: dict[str, dict[str, Any]] = {}
        if by == "day":
            first, last = date.fromisoformat(start), date.fromisoformat(end)
            for offset in range((last - first).days + 1):
                day = (first + timedelta(days=offset)).isoformat()
                rows[day] = _row(day)
        totals = _row("total")
        for fact in self.facts:
            if not start <= fact.day <= end or any(fact.dims.get(name, "") != value for name, value in filters.items()):
                continue
            key = fact.day if by == "day" else fact.dims.get(by, "")
            metrics = _touched(fact.metrics, touch)
            if not metrics:
                continue
            row = rows.setdefault(key, _row(key))
            for name, value in metrics.items():
                row[name] += value
                totals[name] += value
        # Spend is known for the ad dimensions and days, and in all when no filter names another
        # dimension; unknown (None) elsewhere, and when none was imported for the range.
        spent = [entry for entry in self.spend if start <= entry.day <= end]
        if spent and all(name in SPEND_DIMENSIONS for name in filters):
            totals["spend_cents"] = totals["impressions"] = 0
            for entry in spent:
                if any(entry.dims[name] != value for name, value in filters.items()):
                    continue
                totals["spend_cents"] += entry.spend_cents
                totals["impressions"] += entry.impressions
                if by in (*SPEND_DIMENSIONS, "day"):
                    key = entry.day if by == "day" else entry.dims[by]
                    row = rows.setdefault(key, _row(key))
                    row["spend_cents"] = (row["spend_cents"] or 0) + entry.spend_cents
                    row["impressions"] = (row["impressions"] or 0) + entry.impressions
            if by in (*SPEND_DIMENSIONS, "day"):
                for row in rows.values():
                    if row["spend_cents"] is None:
                        row["spend_cents"] = row["impressions"] = 0
        if by == "day":
            ordered = sorted(rows.values(), key=lambda row: row["key"])
        else:
            ordered = sorted(rows.values(), key=lambda row: (-row["revenue_cents"], -row["clicks"], row["key"]))
        return {"rows": [_finish(row) for row in ordered], "totals": _finish(totals)}

    def latency(self, name: str, bounds: Sequence[int | None], start: str, end: str) -> list[int]:
        """This world's ``name`` times of ``start``…``end`` (the lead's day, the sale's) counted in the
        API's buckets (``bounds``: each bucket's upper bound in seconds, inclusive; None: unbounded)."""
        finite = [bound for bound in bounds if bound is not None]
        counts = [0] * len(bounds)
        for day, seconds in self.latencies.get(name, []):
            if start <= day <= end:
                counts[bisect_left(finite, max(seconds, 0))] += 1
        return counts


def _row(key: str) -> dict[str, Any]:
    return {"key": key, **dict.fromkeys(COUNTED, 0), "spend_cents": None, "impressions": None}


def _touched(metrics: Mapping[str, int], touch: str) -> dict[str, int]:
    """A fact's metrics as a query by ``touch`` counts them: sale metrics from the ``ft_`` ones for first."""
    counted: dict[str, int] = {}
    for name, value in metrics.items():
        if name.startswith("ft_"):
            if touch == "first":
                counted[name[3:]] = value
        elif name in SALE_METRICS:
            if touch == "last":
                counted[name] = value
        else:
            counted[name] = value
    return counted


def _ratio(part: int, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    row["lead_rate"] = _ratio(row["leads"], row["clicks"])
    row["checkout_rate"] = _ratio(row["checkouts"], row["leads"])
    row["sale_rate"] = _ratio(row["sales"], row["checkouts"])
    row["click_to_sale"] = _ratio(row["sales"], row["clicks"])
    spend = row["spend_cents"]
    row["cpa_cents"] = round(spend / row["sales"]) if spend is not None and row["sales"] else None
    row["roas"] = _ratio(row["revenue_cents"] - row["refunds_cents"], spend) if spend is not None else None
    return row


# --- driving the chain --------------------------------------------------------------------------


def _day(moment: datetime) -> str:
    return moment.astimezone(BRASILIA).date().isoformat()


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _items(client: httpx.Client, prefix: str) -> list[dict[str, Any]]:
    return list(client.get("/_local/items", params={"prefix": prefix}).json())


def _one(client: httpx.Client, pk: str, sk: str) -> dict[str, Any]:
    (item,) = [item for item in _items(client, pk) if item["pk"] == pk and item["sk"] == sk]
    return item


def api_key(client: httpx.Client) -> str:
    return str(client.get("/_local/seed").json()["api_key"])


def tenant_api(client: httpx.Client, method: str, path: str, body: Any = None) -> httpx.Response:
    """The operator's API with the demo tenant's key, as the CLI calls it."""
    headers = {"Authorization": f"Bearer {api_key(client)}"}
    return client.request(method, "/api/v1" + path, json=body, headers=headers)


def login_url(client: httpx.Client) -> str:
    """A new one-time sign-in link for the demo tenant (``funil login``'s request)."""
    answer = tenant_api(client, "POST", "/login-links")
    assert answer.status_code == 201, answer.text
    return str(answer.json()["url"])


def _update(client: httpx.Client, bot_id: str, update: dict[str, Any]) -> None:
    answer = client.post(f"/_local/telegram/{bot_id}/updates", json=update)
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text


def _start(client: httpx.Client, bot_id: str, user: int, token: str, message_id: int) -> dict[str, Any]:
    person = {"id": user, "is_bot": False, "first_name": "Comprador", "language_code": "pt-br"}
    chat = {"id": user, "type": "private", "first_name": "Comprador"}
    text = f"/start {token}"
    moment = int(datetime.now(UTC).timestamp())
    _update(
        client,
        bot_id,
        {"message": {"message_id": message_id, "date": moment, "chat": chat, "from": person, "text": text}},
    )
    return person


def _buy(client: httpx.Client, bot_id: str, person: dict[str, Any], offer: str, message_id: int) -> str:
    chat = {"id": person["id"], "type": "private", "first_name": person["first_name"]}
    moment = int(datetime.now(UTC).timestamp())
    tap = {
        "id": f"cb-{person['id']}-{message_id}",
        "from": person,
        "chat_instance": str(person["id"]),
        "data": f"b:{offer}",
        "message": {"message_id": message_id, "date": moment, "chat": chat, "text": "Ofertas"},
    }
    _update(client, bot_id, {"callback_query": tap})
    pending = client.get(f"/_local/telegram/{bot_id}/pending", params={"chat": str(person["id"])}).json()
    return str(pending[0]["payment_id"])  # the newest: this one


def _click(client: httpx.Client, visit: Visit) -> tuple[str, dict[str, Any]]:
    slug, _ = LINKS[visit.link]
    headers = {"user-agent": visit.user_agent, "accept-language": "pt-BR,pt;q=0.9"}
    if visit.region:
        headers |= {"cloudfront-viewer-country": "BR", "cloudfront-viewer-country-region": visit.region}
    page = client.get(f"/go/{slug}?{urlencode(dict(visit.params))}", headers=headers)
    assert page.status_code == 200, page.text
    found = TOKEN_IN_PAGE.search(page.text)
    assert found, "the bridge page names the click's token"
    token = found.group(1)
    return token, _one(client, f"CLICK#{token}", "CLICK")


def add_links(client: httpx.Client) -> None:
    for slug, bot_id in LINKS.values():
        body = {"slug": slug, "bots": [{"id": bot_id, "weight": 1}], "pixel_id": "px_demo"}
        answer = tenant_api(client, "POST", "/links", body)
        assert answer.status_code == 201, answer.text


def import_spend(client: httpx.Client, world: World) -> None:
    """The demo ad account added through the operator's API and its spend imported (the daily schedule,
    run now); the world's spend is what the local Marketing API reports for the days imported."""
    from local.fakes.meta_graph import DEMO_ADS, daily_impressions, daily_spend_cents

    token = "EAAB" + "dashboardWorldToken0123"  # any token of Meta's shape reads the local demo account
    added = tenant_api(client, "POST", "/ad-accounts", {"account_id": AD_ACCOUNT, "access_token": token})
    assert added.status_code == 201, added.text
    ran = client.post("/_local/schedules/SpendImportFunction")
    assert ran.status_code == 200, ran.text
    stored = [item for item in _items(client, f"SPEND#{world.tenant_id}") if item.get("type") == "spend"]
    days = sorted({str(item["day"]) for item in stored})
    assert days, "the import wrote the account's recent days"
    ads = {ad.ad_id: ad for ad in DEMO_ADS}
    for item in stored:
        ad = ads[str(item["ad_id"])]
        day = str(item["day"])
        spend = Spend(
            day,
            {
                "campaign_id": ad.campaign_id,
                "campaign": ad.campaign_name,
                "adset_id": ad.adset_id,
                "adset": ad.adset_name,
                "ad_id": ad.ad_id,
                "ad": ad.ad_name,
            },
            daily_spend_cents(ad.ad_id, day),
            daily_impressions(ad.ad_id, day),
        )
        assert (int(item["spend_cents"]), int(item["impressions"])) == (spend.spend_cents, spend.impressions)
        world.spend.append(spend)
    assert len(world.spend) == len(days) * len(DEMO_ADS), "every ad on every day imported"


def make_world(stack: Any, client: httpx.Client, visits: Sequence[Visit] = VISITS) -> World:
    """Every visit through the chain, then the stack drained; the world knows what must be counted."""
    seed = client.get("/_local/seed").json()
    world = World(tenant_id=str(seed["tenant_id"]))
    add_links(client)
    import_spend(client, world)
    message_id = 1
    started: dict[tuple[str, int], dict[str, Any]] = {}
    for visit in visits:
        token, item = _click(client, visit)
        click = Click(visit, token, str(item["b"]), item)
        assert click.bot_id == LINKS[visit.link][1]
        world.clicks.append(click)
        if visit.user is None:
            continue
        lead_key = (click.bot_id, visit.user)
        started[lead_key] = _start(client, click.bot_id, visit.user, token, message_id)
        world.leads.setdefault(lead_key, click)
        message_id += 1
        if visit.buy:
            payment_id = _buy(client, click.bot_id, started[lead_key], visit.buy, message_id)
            world.payments[payment_id] = visit
            message_id += 1
            if visit.pay:
                if visit.meta_refuses:  # the next Graph API request (this sale's Purchase) is refused for good
                    assert stack.drain(60), "the queues and the stream caught up"
                    fault = {"status": 400, "code": 100, "is_transient": False, "times": 1}
                    assert client.post("/_local/capi/faults", json=fault).status_code == 201
                body = {"payer": dict(visit.payer)} if visit.payer else None
                paid = client.post(f"/_local/sandbox/pay/{payment_id}", json=body).json()
                assert paid["payment_status"] == "paid", paid
                if visit.refund:
                    assert stack.drain(60), "the queues and the stream caught up"
                    refunded = client.post(f"/_local/sandbox/refund/{payment_id}")
                    assert refunded.status_code == 200, refunded.text
    assert stack.drain(60), "the queues and the stream caught up"
    _facts(world, client)
    return world


def _dims(click: Click, *, counted_as: str) -> dict[str, str]:
    """The dimensions a click's visit counts under: as a click, or as a lead's / sale's click (whose
    region the IP database alone knows, and none knows the local stack's loopback address)."""
    params = click.visit.params
    from funil.click.fields import click_fields

    visitor = click_fields(click.item, visitor=True).get("visitor") or {}
    dims = {
        "link": LINKS[click.visit.link][0],
        "bot": click.bot_id,
        **{
            name: params.get(name, "")
            for name in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
        },
        "campaign_id": params.get("campaign_id", ""),
        "campaign": params.get("campaign_name", ""),
        "adset_id": params.get("adset_id", ""),
        "adset": params.get("adset_name", ""),
        "ad_id": params.get("ad_id", ""),
        "ad": params.get("ad_name", ""),
        "placement": "",
        "device": DEVICE[click.visit.user_agent],
        "os": str(visitor.get("os") or ""),
        "browser": str(visitor.get("browser") or ""),
        "in_app": str(visitor.get("in_app") or ""),
        "country": "",
        "region": "",
        "quality": "",
    }
    assert visitor.get("device") == dims["device"], visitor
    if counted_as == "click":
        dims["country"] = "BR" if click.visit.region else ""
        dims["region"] = click.visit.region or ""
        verdict = click.item.get("q") or {}
        dims["quality"] = "suspect" if verdict.get("suspect") else "clean"
    return dims


def _first_touch(click: Click) -> dict[str, str]:
    dims = _dims(click, counted_as="sale")
    return {name: dims[name] if name in FIRST_TOUCH_DIMENSIONS else "" for name in DIMENSIONS}


def _facts(world: World, client: httpx.Client) -> None:
    """The world's facts, from its visits and the times (and click verdicts) the table holds."""
    for click in world.clicks:
        click.item = _one(client, f"CLICK#{click.token}", "CLICK")  # with its verdict (q), if any
        day = _day(datetime.fromtimestamp(int(click.item["t"]) / 1000, UTC))
        suspect = bool((click.item.get("q") or {}).get("suspect"))
        metrics = {"clicks": 1, "suspect_clicks": 1} if suspect else {"clicks": 1}
        world.facts.append(Fact(day, _dims(click, counted_as="click"), metrics))
    by_token = {click.token: click for click in world.clicks}
    for (bot_id, user), first in world.leads.items():
        lead = _one(client, f"LEAD#{bot_id}#{user}", "LEAD")
        started = _iso(lead["first_seen_at"])
        world.facts.append(Fact(_day(started), _dims(first, counted_as="lead"), {"leads": 1}))
        clicked = datetime.fromtimestamp(int(first.item["t"]) / 1000, UTC)
        world.latencies.setdefault("click_to_lead", []).append((_day(started), (started - clicked).total_seconds()))
    for payment_id, visit in world.payments.items():
        payment = _one(client, f"PAYMENT#{payment_id}", "PAYMENT")
        attribution = payment["attribution"]
        last = by_token[attribution["click_token"]]
        assert last.visit == visit, "a sale counts under the click its buyer came through last"
        first = world.leads[(last.bot_id, int(visit.user or 0))]
        last_dims, first_dims = _dims(last, counted_as="sale"), _first_touch(first)
        created = _day(_iso(payment["created_at"]))
        world.facts += [Fact(created, last_dims, {"checkouts": 1}), Fact(created, first_dims, {"ft_checkouts": 1})]
        amount = OFFER_PRICES[str(visit.buy)]
        assert int(payment["amount_cents"]) == amount
        if not visit.pay:
            assert payment["status"] == "pending", payment["status"]
            continue
        assert payment["status"] == ("refunded" if visit.refund else "paid"), payment["status"]
        sold_at = _iso(payment.get("paid_at") or payment["confirmed_at"])
        sale = {"sales": 1, "revenue_cents": amount} | ({"refunds_cents": amount} if visit.refund else {})
        world.facts += [
            Fact(_day(sold_at), last_dims, sale),
            Fact(_day(sold_at), first_dims, {f"ft_{name}": value for name, value in sale.items()}),
        ]
        lead_since = _iso(attribution["lead_since"])
        world.latencies.setdefault("lead_to_sale", []).append((_day(sold_at), (sold_at - lead_since).total_seconds()))


def dump(world: World) -> str:
    """The world in a failure message."""
    return json.dumps(
        {"clicks": [(c.visit.name, c.token, c.bot_id) for c in world.clicks], "payments": world.payments},
        default=str,
        indent=1,
    )


# --- the dashboard in a browser ------------------------------------------------------------------

# Runs before the page's scripts in every document (not subject to its CSP): reports CSP violations and
# any script that sets window.__pwned (what a campaign name would do if it were ever run as HTML).
RECORDER = """(function(){
  document.addEventListener('securitypolicyviolation', function(e){
    window.__dashCsp(JSON.stringify({directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile}));
  });
  var pwned;
  Object.defineProperty(window, '__pwned', {configurable: false,
    get: function(){ return pwned; }, set: function(v){ pwned = v; window.__dashPwned(String(v)); }});
})();"""

READ_TABLE = """(selector) => [...document.querySelectorAll(selector + ' tbody tr, ' + selector + ' tfoot tr')].map(tr => ({
  key: tr.dataset.key ?? tr.dataset.x ?? null,
  head: tr.querySelector('th') ? tr.querySelector('th').textContent : null,
  shown: tr.querySelector('.key-text') ? tr.querySelector('.key-text').textContent : null,
  foot: tr.parentElement.tagName === 'TFOOT',
  cells: Object.fromEntries([...tr.querySelectorAll('td')].map(td => [td.dataset.col ?? td.dataset.series,
    {value: td.dataset.value === undefined || td.dataset.value === '' ? null : Number(td.dataset.value), text: td.textContent}]))
}))"""

READ_KPIS = """() => Object.fromEntries([...document.querySelectorAll('.kpi[data-metric]')].map(kpi => [kpi.dataset.metric,
  {value: kpi.dataset.value === '' ? null : Number(kpi.dataset.value), text: kpi.querySelector('.kpi-value').textContent}]))"""


STRAY_TEXT = re.compile(r"\b(?:null|undefined|NaN|Infinity|\[object Object\])")
CLIENT_ERROR_LOGGED = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d ")


@dataclass
class Dashboard:
    """One browser context on the dashboard, with what its pages did wrong recorded."""

    base_url: str
    context: Any
    page: Any
    csp_violations: list[dict[str, Any]] = field(default_factory=list)
    pwned: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    api_answers: list[tuple[str, int]] = field(default_factory=list)  # (url, status) of /app/api/…

    def record_console(self, message: Any) -> None:
        # A 4xx the views expect (401 signed out, 404 nothing found) is logged by Chromium as an error
        # too; answers are judged in api_answers instead.
        if message.type == "error" and not CLIENT_ERROR_LOGGED.match(message.text):
            self.console_errors.append(message.text)

    def record_response(self, response: Any) -> None:
        if "/app/api/" in response.url:
            self.api_answers.append((response.url, response.status))

    def open(self, path: str, page_id: str | None = None) -> None:
        self.page.goto(self.base_url + path)
        self.wait_ready(page_id)

    def wait_ready(self, page_id: str | None = None) -> str:
        """The view's state once it has its data (ready, empty or error), ``page_id``'s when given."""
        selector = f'#main[data-page="{page_id}"]' if page_id else "#main[data-page]"
        self.page.wait_for_selector(f"{selector}:not([data-state='loading'])")
        return str(self.page.get_attribute("#main", "data-state"))

    def after(self, action: Any, page_id: str | None = None) -> str:
        """Runs ``action`` (a click that draws the view again) and waits for the new view's data."""
        self.page.evaluate("document.querySelector('#main').dataset.state = 'loading'")
        action()
        return self.wait_ready(page_id)

    def table(self, selector: str) -> list[dict[str, Any]]:
        return list(self.page.evaluate(READ_TABLE, selector))

    def kpis(self) -> dict[str, dict[str, Any]]:
        return dict(self.page.evaluate(READ_KPIS))

    def range(self) -> tuple[str, str]:
        note = self.page.locator(".range")
        return str(note.get_attribute("data-from")), str(note.get_attribute("data-to"))

    def in_page_json(self, path: str) -> Any:
        """What the dashboard's API answers this session (the page's own cookies)."""
        return self.page.evaluate(
            "async (path) => { const r = await fetch(path, {headers: {Accept: 'application/json'}}); "
            "return {status: r.status, body: await r.json().catch(() => null)}; }",
            path,
        )

    def problems(self) -> dict[str, list[Any]]:
        """Whatever went wrong in the pages so far (empty lists when nothing did), and on the page
        shown now: text a script wrote from a missing value (null, undefined, NaN)."""
        text = str(self.page.evaluate("() => document.body.innerText"))
        return {
            "stray_text": STRAY_TEXT.findall(text),
            "csp": self.csp_violations,
            "pwned": self.pwned,
            "page_errors": self.page_errors,
            "console_errors": self.console_errors,
            "server_errors": [answer for answer in self.api_answers if answer[1] >= 500],
        }


def open_dashboard(
    browser: Any, base_url: str, *, viewport: dict[str, int] | None = None, locale: str = "pt-BR"
) -> Dashboard:
    """A fresh browser context (no session) with the recorder; nothing opened yet."""
    context = browser.new_context(
        locale=locale,
        # Away from home: the views show São Paulo's days and times whatever the browser's zone.
        timezone_id="Asia/Tokyo",
        viewport=viewport or {"width": 1280, "height": 900},
        service_workers="block",
    )
    context.set_default_timeout(30_000)
    context.set_default_navigation_timeout(30_000)
    # Nothing outside the stack: the dashboard must work offline (its chart library is its own).
    context.route(lambda url: not url.startswith(base_url + "/"), lambda route: route.abort("blockedbyclient"))
    page = context.new_page()
    dashboard = Dashboard(base_url, context, page)
    context.expose_binding("__dashCsp", lambda _source, data: dashboard.csp_violations.append(json.loads(data)))
    context.expose_binding("__dashPwned", lambda _source, value: dashboard.pwned.append(value))
    context.add_init_script(RECORDER)
    page.on("pageerror", lambda error: dashboard.page_errors.append(str(error)))
    page.on("console", dashboard.record_console)
    context.on("response", dashboard.record_response)
    return dashboard


def sign_in(dashboard: Dashboard, url: str) -> None:
    """Open a one-time sign-in link and press its button, as a person does; the overview follows."""
    dashboard.page.goto(url)
    with dashboard.page.expect_navigation(url=re.compile(r"/app/?$")) as landed:
        dashboard.page.locator("form button[type=submit]").click()
    answer = landed.value
    assert answer is not None and answer.status == 200, f"signed in, the browser lands on {answer and answer.url}: " + (
        f"{answer.status} {answer.text()[:100]}" if answer else "nothing"
    )
    dashboard.wait_ready("overview")
