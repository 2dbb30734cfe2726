"""A domain's states, shared by the operator's side and the redirect's (standard library only)."""

from __future__ import annotations

PENDING_DNS = "pending_dns"  # the certificate waits for its validation record in the seller's DNS
ACTIVE = "active"  # certificate issued, API Gateway custom domain and mapping made: it serves links
FLAGGED = "flagged"  # blocked or distrusted (Meta, Telegram): its visitors go to the next active domain
FAILED = "failed"  # the certificate will not be issued (validation timed out, refused): remove and add again
STATUSES = (PENDING_DNS, ACTIVE, FLAGGED, FAILED)
