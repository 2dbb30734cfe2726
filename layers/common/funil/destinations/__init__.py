"""Destinations beyond Meta: UTMify, TikTok's Events API, GA4's Measurement Protocol, outgoing webhooks.

Each sale event (InitiateCheckout, Purchase, Refund) reaches the destinations queue as a copy of its
conversions message (``funil.wiring.conversions_out``); DestinationsFunction sends it to every
destination its tenant configured, each once (docs/destinations.md).
"""
