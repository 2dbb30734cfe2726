"""The operator's side: tenants, API keys and every resource a seller configures (docs/operator-api.md)."""
