"""Fakes of the outside world that speak the real wire protocols (Telegram, Meta Graph, gateways)."""
