"""A tenant's tracking domains through the operator's API (docs/domains.md).

- add: the host is checked (``funil.domains.hosts``: IDNA, not a public suffix, free), then ACM is
  asked for a certificate validated by DNS, then the item is written ``pending_dns`` with the records
  the seller creates. ACM failing → 502 and nothing written (a certificate made before a failed write
  is deleted again).
- show: a pending domain is re-checked with ACM; once the certificate is ISSUED the API Gateway
  custom domain and its ``$default`` mapping are made and the domain becomes ``active`` (one
  conditional write: two requests racing make it active once). A certificate ACM gave up on makes
  it ``failed``. ACM or API Gateway unreachable: the stored state is shown, with ``check_error``.
- flag / unflag: ``active`` ↔ ``flagged``, conditional on the state read; a flagged domain's visitors
  go to the tenant's oldest active domain (``funil.domains.serving``).
- remove: the custom domain, its mappings and the certificate, then the item.

After every change of state the tenant's flagged domains get their spare written on them
(``spare_host``: the oldest active domain, or none), so the redirect needs one GetItem, never a
query. Two changes racing may leave a spare one change behind; the next change, or any look at a
flagged domain, writes it again.

Another tenant's domain is answered as a missing one (404), except on add, where a taken host is a
409 whoever holds it (a host can only be served for one tenant).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from funil import keys
from funil.adapters.acm import CertificateState
from funil.adapters.dynamo import is_conditional_failure
from funil.clock import iso
from funil.domains import hosts
from funil.domains.status import ACTIVE, FAILED, FLAGGED, PENDING_DNS
from funil.operator.errors import Conflict, Invalid, NotFound, Unconfigured, Upstream
from funil.operator.ports import OperatorDeps, Store
from funil.operator.records import put_new, tenant_item

log = logging.getLogger(__name__)

ISSUED = "ISSUED"
CERTIFICATE_FAILED = frozenset({"FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE"})
NO_SERVICES = "this deployment cannot manage domains (the operator's API has no HTTP_API_ID)"
UPSTREAM = "AWS could not be reached or refused the request: nothing was written, retry"


class CertificatePort(Protocol):
    def request(self, host: str, tenant_id: str) -> str: ...

    def describe(self, arn: str) -> CertificateState: ...

    def delete(self, arn: str) -> None: ...


class CustomDomainPort(Protocol):
    def serve(self, host: str, certificate_arn: str) -> str | None: ...

    def remove(self, host: str) -> None: ...


@dataclass(frozen=True)
class DomainServices:
    """ACM and the API's custom domains (``funil.adapters.acm``, ``funil.adapters.apigateway``)."""

    certificates: CertificatePort
    custom_domains: CustomDomainPort


class DomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(
        min_length=1,
        max_length=300,
        description="A host of the seller's own domain, e.g. go.example.com (international names are "
        "taken and stored as IDNA A-labels); the cookies go on its registrable parent (example.com)",
    )


def services(deps: OperatorDeps) -> DomainServices:
    if deps.domains is None:
        raise Unconfigured(NO_SERVICES)
    return deps.domains


def normalised(raw: str, field: str = "host") -> str:
    try:
        return hosts.normalise(raw)
    except hosts.BadHost as error:
        raise Invalid.field(field, str(error)) from None


def domain_view(item: dict[str, Any]) -> dict[str, Any]:
    """The domain as the API shows it: its state and the DNS records the seller creates."""
    host = str(item["host"])
    records = [
        {"purpose": "certificate validation", "type": record["type"], "name": record["name"], "value": record["value"]}
        for record in item.get("validation_records") or []
    ]
    target = item.get("target")
    if target:
        records.append({"purpose": "traffic", "type": "CNAME", "name": f"{host}.", "value": f"{target}."})
    view = {
        "host": host,
        "status": item.get("status"),
        "url": f"https://{host}",
        "cookie_domain": item.get("cookie_domain"),
        "target": target,
        "dns_records": records,
        "created_at": item.get("created_at"),
        "activated_at": item.get("activated_at"),
        "flagged_at": item.get("flagged_at"),
        "flag_reason": item.get("flag_reason"),
        "spare_host": item.get("spare_host") if item.get("status") == FLAGGED else None,
        "failure_reason": item.get("failure_reason"),
    }
    return {name: value for name, value in view.items() if value is not None}


def _records(state: CertificateState) -> list[dict[str, str]]:
    return [{"name": record.name, "type": record.type, "value": record.value} for record in state.records]


def add_domain(deps: OperatorDeps, tenant_id: str, request: DomainCreate) -> dict[str, Any]:
    aws = services(deps)
    host = normalised(request.host)
    key = keys.domain(host)
    taken = f"{host} is already a tracking domain"
    if deps.items.get(*key, consistent=True) is not None:
        raise Conflict(taken)
    try:
        arn = aws.certificates.request(host, tenant_id)
    except Exception:
        log.exception("certificate request failed for a new domain")
        raise Upstream(UPSTREAM) from None
    try:
        state = aws.certificates.describe(arn)
    except Exception:
        log.warning("certificate not described yet; its records show on the next look", exc_info=True)
        state = CertificateState("PENDING_VALIDATION", ())
    item = {
        "pk": key[0],
        "sk": key[1],
        "type": "domain",
        "tenant_id": tenant_id,
        "host": host,
        "status": PENDING_DNS,
        "cookie_domain": hosts.cookie_domain(host),
        "certificate_arn": arn,
        "validation_records": _records(state),
        "created_at": iso(deps.now()),
        **keys.tenant_domain_index(tenant_id, host),
    }
    try:
        put_new(deps.items, item, taken)
    except Exception:
        _forget_certificate(aws, arn)
        raise
    return domain_view(item)


def _forget_certificate(aws: DomainServices, arn: str) -> bool:
    try:
        aws.certificates.delete(arn)
    except Exception:
        log.warning("certificate not deleted; delete it in ACM", exc_info=True)
        return False
    return True


def tenant_domain(items: Store, tenant_id: str, raw_host: str) -> dict[str, Any]:
    try:
        host = hosts.normalise(raw_host)
    except hosts.BadHost:
        raise NotFound("no domain") from None
    return tenant_item(items, keys.domain(host), tenant_id, "domain")


def _transition(
    items: Store, item: dict[str, Any], expected: str, changes: dict[str, Any], removes: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Apply ``changes`` if the domain is still ``expected`` and the tenant's; the item as it is now."""
    names = {"#status": "status", "#tenant": "tenant_id"}
    values: dict[str, Any] = {":expected": expected, ":tenant": item["tenant_id"]}
    sets = []
    for index, (name, value) in enumerate(changes.items()):
        names[f"#f{index}"] = name
        values[f":v{index}"] = value
        sets.append(f"#f{index} = :v{index}")
    expression = "SET " + ", ".join(sets) if sets else ""
    if removes:
        for index, name in enumerate(removes):
            names[f"#r{index}"] = name
        expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(removes)))
    try:
        return items.update(
            str(item["pk"]),
            str(item["sk"]),
            expression.strip(),
            values,
            condition="#status = :expected AND #tenant = :tenant",
            names=names,
            return_values="ALL_NEW",
        )
    except Exception as error:
        if is_conditional_failure(error):
            current = items.get(str(item["pk"]), str(item["sk"]), consistent=True)
            if current is None or current.get("tenant_id") != item["tenant_id"]:
                raise NotFound("no domain") from error
            return current  # another request moved it first: show where it is now
        raise


def show_domain(deps: OperatorDeps, tenant_id: str, raw_host: str) -> dict[str, Any]:
    """The domain, re-checked with ACM while it waits for its DNS record (see the module docstring)."""
    item = tenant_domain(deps.items, tenant_id, raw_host)
    if item.get("status") == FLAGGED:
        item = _spread_spares(deps.items, tenant_id, item)
    if item.get("status") != PENDING_DNS:
        return domain_view(item)
    aws = services(deps)
    try:
        state = aws.certificates.describe(str(item["certificate_arn"]))
        if state.status == ISSUED:
            target = aws.custom_domains.serve(str(item["host"]), str(item["certificate_arn"]))
            changes: dict[str, Any] = {"status": ACTIVE, "activated_at": iso(deps.now())}
            if target:
                changes["target"] = target
            return domain_view(
                _spread_spares(deps.items, tenant_id, _transition(deps.items, item, PENDING_DNS, changes))
            )
    except Exception:
        log.warning("domain check failed; shown as stored", exc_info=True)
        return {**domain_view(item), "check_error": "AWS could not be reached: shown as last known, look again"}
    if state.status in CERTIFICATE_FAILED:
        reason = state.failure_reason or state.status
        return domain_view(_transition(deps.items, item, PENDING_DNS, {"status": FAILED, "failure_reason": reason}))
    records = _records(state)
    if records and records != item.get("validation_records"):
        item = _transition(deps.items, item, PENDING_DNS, {"validation_records": records})
    return domain_view(item)


def flag_domain(deps: OperatorDeps, tenant_id: str, raw_host: str, reason: str = "operator") -> dict[str, Any]:
    """Take an active domain out of service: its visitors go to the tenant's oldest active domain."""
    item = tenant_domain(deps.items, tenant_id, raw_host)
    if item.get("status") == FLAGGED:
        return domain_view(item)
    if item.get("status") != ACTIVE:
        raise Conflict(f"only an active domain can be flagged; this one is {item.get('status')}")
    changes = {"status": FLAGGED, "flagged_at": iso(deps.now()), "flag_reason": reason}
    return domain_view(_spread_spares(deps.items, tenant_id, _transition(deps.items, item, ACTIVE, changes)))


def unflag_domain(deps: OperatorDeps, tenant_id: str, raw_host: str) -> dict[str, Any]:
    """Put a flagged domain back in service."""
    item = tenant_domain(deps.items, tenant_id, raw_host)
    if item.get("status") == ACTIVE:
        return domain_view(item)
    if item.get("status") != FLAGGED:
        raise Conflict(f"only a flagged domain can be put back; this one is {item.get('status')}")
    removes = ("flagged_at", "flag_reason", "spare_host")
    back = _transition(deps.items, item, FLAGGED, {"status": ACTIVE}, removes)
    return domain_view(_spread_spares(deps.items, tenant_id, back))


def remove_domain(deps: OperatorDeps, tenant_id: str, raw_host: str) -> dict[str, Any]:
    """Stop serving the domain and delete it (custom domain, mappings, certificate, then the item).

    AWS failing → 502 with the item kept, so the removal can be asked again. A certificate API
    Gateway has not released yet is left in ACM (``certificate_deleted`` false; it costs nothing).
    """
    item = tenant_domain(deps.items, tenant_id, raw_host)
    aws = services(deps)
    host = str(item["host"])
    try:
        aws.custom_domains.remove(host)
    except Exception:
        log.exception("custom domain not removed")
        raise Upstream(UPSTREAM.replace("nothing was written", "the domain is kept")) from None
    deleted = _forget_certificate(aws, str(item["certificate_arn"]))
    try:
        deps.items.delete(str(item["pk"]), str(item["sk"]), condition="attribute_exists(pk)")
    except Exception as error:
        if is_conditional_failure(error):
            raise NotFound("no domain") from error
        raise
    _spread_spares(deps.items, tenant_id)
    return {**domain_view(item), "status": "removed", "certificate_deleted": deleted}


def _spread_spares(items: Store, tenant_id: str, changed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write on each of the tenant's flagged domains the spare its visitors go to: the active domain
    that has served longest (none when there is no active one). ``changed``, as it is now, is returned."""
    listing = keys.tenant_domain_index(tenant_id)
    domains = [
        item
        for item in items.query(
            "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
            {":pk": listing["gsi1pk"], ":prefix": listing["gsi1sk"]},
            index="gsi1",
        )
        if item.get("tenant_id") == tenant_id and item.get("type") == "domain"
    ]
    active = sorted(
        (item for item in domains if item.get("status") == ACTIVE),
        key=lambda item: (str(item.get("activated_at") or ""), str(item["host"])),
    )
    spare = str(active[0]["host"]) if active else None
    found = {str(item["host"]): item for item in domains}
    for item in domains:
        if item.get("status") != FLAGGED or item.get("spare_host") == spare:
            continue
        changes, removes = ({"spare_host": spare}, ()) if spare else ({}, ("spare_host",))
        found[str(item["host"])] = _transition(items, item, FLAGGED, changes, removes)
    if changed is None:
        return {}
    return found.get(str(changed["host"]), changed)
