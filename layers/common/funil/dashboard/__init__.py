"""The seller's dashboard at ``/app``: sign-in by one-time link, sessions, and the JSON it reads (docs/dashboard.md)."""
