"""A tenant's own tracking domains (docs/domains.md): the operator's side in ``manage``, the redirect's
lean view in ``serving``, host names in ``hosts``."""
