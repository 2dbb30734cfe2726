"""Operational alerts: incidents opened at the failure sites and resolved by the periodic checks
(docs/alerts.md). ``incidents`` holds the items and notices; ``watch`` the Conversions API error
rate; ``checks`` what BotHealthFunction's schedule runs to resolve incidents whose cause is gone."""
