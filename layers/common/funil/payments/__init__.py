"""Payments: PIX charges through per-tenant gateways, confirmed exactly once (DESIGN.md §2.4–2.5)."""
