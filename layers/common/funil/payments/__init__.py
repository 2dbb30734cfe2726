"""Payments: PIX charges through per-tenant gateways, confirmed exactly once (docs/architecture.md §2.4–2.5)."""
