"""AWS Certificate Manager: the certificate of a seller's tracking domain, validated by DNS (docs/domains.md).

Requested in the API's own region (a regional API Gateway custom domain takes a certificate from
there). ACM fills in the validation record a few seconds after the request: ``describe`` is asked
again by whoever shows the domain until it is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_acm.client import ACMClient

_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


@lru_cache(maxsize=1)
def acm_client() -> ACMClient:
    import boto3

    return boto3.client("acm", config=_CLIENT_CONFIG)


@dataclass(frozen=True)
class ValidationRecord:
    name: str  # e.g. _3f1c….go.example.com.
    type: str  # CNAME
    value: str  # e.g. _9a2b….acm-validations.aws.


@dataclass(frozen=True)
class CertificateState:
    status: str  # PENDING_VALIDATION | ISSUED | FAILED | VALIDATION_TIMED_OUT | REVOKED | INACTIVE | EXPIRED
    records: tuple[ValidationRecord, ...]  # empty until ACM has made them
    failure_reason: str | None = None


class Certificates:
    """Certificates of tracking domains; the boto3 client is made on first use (AdminApi's cold start)."""

    def __init__(self, client: ACMClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> ACMClient:
        if self._client is None:
            self._client = acm_client()
        return self._client

    def request(self, host: str, tenant_id: str) -> str:
        """A new certificate of ``host`` validated by DNS; its ARN."""
        answer = self.client.request_certificate(
            DomainName=host,
            ValidationMethod="DNS",
            Tags=[{"Key": "funil:tenant", "Value": tenant_id}, {"Key": "funil:domain", "Value": host}],
        )
        return str(answer["CertificateArn"])

    def describe(self, arn: str) -> CertificateState:
        certificate: dict[str, Any] = dict(self.client.describe_certificate(CertificateArn=arn)["Certificate"])
        records = []
        for option in certificate.get("DomainValidationOptions") or []:
            record = option.get("ResourceRecord")
            if record and record.get("Name") and record.get("Value"):
                records.append(
                    ValidationRecord(str(record["Name"]), str(record.get("Type", "CNAME")), str(record["Value"]))
                )
        reason = certificate.get("FailureReason")
        return CertificateState(str(certificate.get("Status", "")), tuple(records), str(reason) if reason else None)

    def delete(self, arn: str) -> None:
        """Delete the certificate; a certificate already gone is not an error."""
        try:
            self.client.delete_certificate(CertificateArn=arn)
        except self.client.exceptions.ResourceNotFoundException:
            return
