"""A seller's DNS, locally: the stand-in for creating a tracking domain's validation record.

ACM issues a DNS-validated certificate once the validation record resolves; moto's certificates stay
``PENDING_VALIDATION`` for a minute (``MOTO_ACM_VALIDATION_WAIT``), then pass.
``POST /_local/domains/{host}/validate`` marks the certificate of that domain ISSUED in moto's ACM,
what creating the record does to a real one; the next
``GET /api/v1/domains/{host}`` (``funil domains show``) then makes the domain active. Clicks reach
any host through the stack as API Gateway passes it (``requestContext.domainName``, ``Host``), e.g.
``curl -H 'Host: go.demo.test' <stack>/go/demo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from local import aws

if TYPE_CHECKING:
    from local.server import LocalRequest, LocalResponse, LocalStack


def validate_certificates(host: str) -> list[str]:
    """Mark every pending certificate of ``host`` ISSUED in moto's ACM; the ARNs marked."""
    from moto.acm.models import acm_backends

    backend = acm_backends[aws.ACCOUNT][aws.REGION]
    marked = []
    for arn, certificate in backend._certificates.items():
        if certificate.common_name == host and certificate.status == "PENDING_VALIDATION":
            certificate.status = "ISSUED"
            marked.append(arn)
    return marked


def register(stack: LocalStack) -> None:
    from local.server import LocalResponse

    def validate(request: LocalRequest) -> LocalResponse:
        host = request.path_params["host"].strip().rstrip(".").lower()
        marked = validate_certificates(host)
        if not marked:
            return LocalResponse.json({"error": f"no pending certificate of {host}"}, 404)
        return LocalResponse.json({"host": host, "certificates_issued": marked})

    stack.add_route("POST", "/_local/domains/{host}/validate", validate)
