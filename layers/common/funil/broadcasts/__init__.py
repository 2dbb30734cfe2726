"""Broadcasts: a seller's message to a segment of a bot's leads, now or at a time (docs/broadcasts.md).

``models`` (what the operator asks for, which leads a segment takes), ``manage`` (the operator's
API and the timer that starts one), ``sending`` (the queue consumer: paced, at most once per person).
"""
