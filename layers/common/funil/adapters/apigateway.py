"""API Gateway (v2): a seller's tracking domain as a custom domain name of the deployment's HttpApi.

``serve`` makes the regional custom domain with the domain's certificate and maps it to the API's
``$default`` stage, so every route (``/go/{slug}``, ``/d/{token}``) answers on it; its
``ApiGatewayDomainName`` is what the seller's CNAME points at. Both steps tolerate what an earlier,
interrupted call already made. ``remove`` deletes the mappings, then the domain.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_apigatewayv2.client import ApiGatewayV2Client

_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
STAGE = "$default"


@lru_cache(maxsize=1)
def apigateway_client() -> ApiGatewayV2Client:
    import boto3

    return boto3.client("apigatewayv2", config=_CLIENT_CONFIG)


def _target(domain: dict[str, Any]) -> str | None:
    for configuration in domain.get("DomainNameConfigurations") or []:
        name = configuration.get("ApiGatewayDomainName")
        if name:
            return str(name)
    return None


class CustomDomains:
    """Custom domain names of one HttpApi; the boto3 client is made on first use."""

    def __init__(self, api_id: str, client: ApiGatewayV2Client | None = None) -> None:
        self.api_id = api_id
        self._client = client

    @property
    def client(self) -> ApiGatewayV2Client:
        if self._client is None:
            self._client = apigateway_client()
        return self._client

    def serve(self, host: str, certificate_arn: str) -> str | None:
        """Make ``host`` a custom domain of the API, mapped to its default stage; the target name the
        seller's CNAME points at (None where the API gives none, as moto)."""
        client = self.client
        try:
            domain: dict[str, Any] = dict(client.get_domain_name(DomainName=host))
        except client.exceptions.NotFoundException:
            domain = dict(
                client.create_domain_name(
                    DomainName=host,
                    DomainNameConfigurations=[
                        {"CertificateArn": certificate_arn, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
                    ],
                )
            )
        mappings = client.get_api_mappings(DomainName=host).get("Items") or []
        if not any(mapping.get("ApiId") == self.api_id for mapping in mappings):
            client.create_api_mapping(DomainName=host, ApiId=self.api_id, Stage=STAGE)
        return _target(domain)

    def remove(self, host: str) -> None:
        """Delete the domain's mappings and the domain; one already gone is not an error."""
        client = self.client
        try:
            for mapping in client.get_api_mappings(DomainName=host).get("Items") or []:
                client.delete_api_mapping(ApiMappingId=str(mapping["ApiMappingId"]), DomainName=host)
            client.delete_domain_name(DomainName=host)
        except client.exceptions.NotFoundException:
            return
