"""Meta ad accounts: where a tenant's ad spend is read from (``funil.analytics.spend`` imports it daily).

Adding one proves the token before anything is written: ``GET act_<id>?fields=name,currency,
account_status,timezone_name`` read with it. Meta's answer decides, in this order: throttled, down
or answering nonsense → 502 (retry); the token refused (190, 102, 104) or without access to the
account (10, 200–299) → 422 on ``access_token``; no such account within the token's reach (100/33,
803) → 422 on ``account_id``; an account whose ads do not run (anything but ACTIVE,
PENDING_SETTLEMENT and IN_GRACE_PERIOD: disabled, closed, unsettled, under risk review) → 422 on
``account_id``. Only then is the token encrypted under the item's own context, exactly as a pixel's
(``funil.encryption``), and the item written; the same account added twice by a tenant is a 409,
found before Meta is asked.

The item is the tenant's own, ``ADACCOUNT#<tenant>#<digits>`` / ``ADACCOUNT``: two tenants may each
add the same ad account (an agency and its client) with their own tokens, and another tenant's is
not even addressable (404). Listed by pattern 4 (``gsi1pk = TENANT#<tenant>``, ``gsi1sk =
ADACCOUNT#<digits>``); found by the daily import while its token works through ``gsi2pk =
ADACCOUNTS``, ``gsi2sk = <last import attempt, ISO, or 0 if never>#<tenant>#<digits>``: the least
recently tried first, so a run cut short by its budget never starves the same accounts. An import
that finds the token refused sets ``status = token_invalid`` and takes the item out of that index
(delete it and add it again with a new token). Deleting an account keeps the spend it imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from funil import encryption, keys
from funil.adapters.dynamo import is_conditional_failure
from funil.adapters.meta_marketing import AdAccountInfo, MarketingClient, MarketingError, MarketingFailure
from funil.clock import iso
from funil.operator.errors import Conflict, Invalid, NotFound, Upstream
from funil.operator.pixels import ACCESS_TOKEN_RE
from funil.operator.ports import OperatorDeps, Store
from funil.operator.records import put_new, tenant_item
from funil.ports import Secrets

ACCESS_TOKEN = encryption.PIXEL_ACCESS_TOKEN  # the attribute's name, as on a pixel; the context is the item's
STATUS_ACTIVE = "active"
STATUS_TOKEN_INVALID = "token_invalid"  # noqa: S105 - a status, not a secret
ACCOUNT_ID_PATTERN = r"^(act_)?[0-9]{1,20}$"
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
CHECK_TIMEOUT_SECONDS = 5.0  # a person waits on the answer (API Gateway gives up at 29 s)


# -- keys -----------------------------------------------------------------------------------------


def digits_of(account_id: str) -> str:
    """``act_123`` or ``123`` → ``123`` (the path and body patterns admit nothing else)."""
    return account_id.removeprefix("act_")


def access_token(secrets: Secrets, item: Mapping[str, Any]) -> str:
    """The stored account item → its decrypted access token (never logged, never shown)."""
    key = keys.ad_account(str(item["tenant_id"]), str(item["account_id"]))
    return encryption.decrypt_field(secrets, key, ACCESS_TOKEN, str(item[ACCESS_TOKEN]))


# -- the API --------------------------------------------------------------------------------------


class AdAccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(
        pattern=ACCOUNT_ID_PATTERN,
        description="The ad account's id: act_<digits> as Ads Manager shows it, or the digits alone",
    )
    access_token: str = Field(
        pattern=ACCESS_TOKEN_RE,
        description="A token that may read the account's insights (ads_read; a system user's does not "
        "expire): proven by reading the account, stored encrypted, never shown again",
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=NAME_PATTERN,
        description="What to call it here (default: its name at Meta)",
    )


def ad_account_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stored ad account as the API shows it: never the token, nor its ciphertext."""
    return {
        "id": f"act_{item['account_id']}",
        "name": item.get("name"),
        "currency": item.get("currency"),
        "timezone_name": item.get("timezone_name"),
        "account_status": item.get("account_status"),
        "status": item.get("status", STATUS_ACTIVE),
        "status_reason": item.get("status_reason"),
        "status_at": item.get("status_at"),
        "access_token_set": bool(item.get(ACCESS_TOKEN)),
        "created_at": item.get("created_at"),
        "imported_through": item.get("imported_through"),
        "last_import": item.get("last_import"),
    }


def marketing_client(deps: OperatorDeps) -> MarketingClient:
    """The Marketing API at the operator's Graph origin and version (the pixels' ``GraphClient``'s)."""
    return MarketingClient(deps.graph.base_url, deps.graph.version, timeout=CHECK_TIMEOUT_SECONDS)


def refusal(error: MarketingError) -> Invalid | Upstream:
    """What a failed account read means for the request (messages carry Meta's codes, never its text)."""
    where = error.describe()
    if error.kind == "token":
        return Invalid.field("access_token", f"Meta refused this access token ({where}): generate a new one")
    if error.kind == "permission":
        return Invalid.field(
            "access_token", f"this access token may not read this ad account ({where}): give it ads_read there"
        )
    if error.kind == "unknown_account":
        return Invalid.field("account_id", f"Meta knows no ad account with this id that this token can reach ({where})")
    if error.kind in ("throttled", "transient"):
        return Upstream(f"Meta is unavailable or throttling ({where}): nothing was saved, try again")
    return Upstream(f"Meta's answer could not be used ({where}): nothing was saved")


def tenant_ad_account(items: Store, tenant_id: str, account_id: str) -> dict[str, Any]:
    """One of the tenant's ad accounts; NotFound otherwise."""
    return tenant_item(items, keys.ad_account(tenant_id, digits_of(account_id)), tenant_id, f"ad account {account_id}")


def create_ad_account(
    deps: OperatorDeps, tenant_id: str, request: AdAccountCreate, marketing: MarketingClient
) -> dict[str, Any]:
    """Prove the token by reading the account, then write it with its token encrypted; its view."""
    digits = digits_of(request.account_id)
    key = keys.ad_account(tenant_id, digits)
    taken = f"ad account act_{digits} is already added: delete it first to replace its token"
    if deps.items.get(*key, consistent=True) is not None:  # before bothering Meta
        raise Conflict(taken)
    try:
        info = marketing.ad_account(digits, request.access_token)
    except MarketingFailure as failure:
        raise refusal(failure.error) from None
    if not info.running:
        raise Invalid.field(
            "account_id",
            f"this ad account is not active at Meta (account_status {info.status_name}): nothing to import",
        )
    item = _item(deps, tenant_id, digits, request, info)
    put_new(deps.items, item, taken)
    return ad_account_view(item)


def _item(
    deps: OperatorDeps, tenant_id: str, digits: str, request: AdAccountCreate, info: AdAccountInfo
) -> dict[str, Any]:
    key = keys.ad_account(tenant_id, digits)
    return {
        "pk": key[0],
        "sk": key[1],
        "type": "ad_account",
        "tenant_id": tenant_id,
        "account_id": digits,
        "name": request.name or info.name or f"act_{digits}",
        "currency": info.currency,
        "timezone_name": info.timezone_name,
        "account_status": info.account_status,
        "status": STATUS_ACTIVE,
        ACCESS_TOKEN: encryption.encrypt_field(deps.secrets, deps.key_id, key, ACCESS_TOKEN, request.access_token),
        "created_at": iso(deps.now()),
        **keys.tenant_ad_account_index(tenant_id, digits),
        **keys.ad_account_import_index(tenant_id, digits, None),
    }


def delete_ad_account(items: Store, tenant_id: str, account_id: str) -> dict[str, Any]:
    """Remove the account (the spend it imported stays); its last view, NotFound when absent."""
    key = keys.ad_account(tenant_id, digits_of(account_id))
    item = tenant_ad_account(items, tenant_id, account_id)
    try:
        items.delete(*key, condition="attribute_exists(pk)")
    except Exception as error:
        if is_conditional_failure(error):
            raise NotFound(f"no ad account {account_id}") from error
        raise
    return ad_account_view(item)
