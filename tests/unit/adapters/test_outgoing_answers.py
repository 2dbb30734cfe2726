"""What a destination answers is read within bounds: a huge or trickling answer cannot hold the batch."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from funil.adapters import outgoing


def client_answering(chunks: Iterator[bytes], status: int = 500) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(status, content=chunks)))


def test_a_huge_answer_is_read_only_up_to_the_cap() -> None:
    served = 0

    def endless() -> Iterator[bytes]:
        nonlocal served
        while True:
            served += 1
            yield b"x" * 4096

    answer = outgoing.post(client_answering(endless()), "https://api.example/x", b"{}", {})
    assert answer.status_code == 500 and len(answer.body) == outgoing.MAX_ANSWER_BYTES
    assert served <= outgoing.MAX_ANSWER_BYTES // 4096 + 1  # the rest was never read
    assert outgoing.classify(answer).reason == "http_500"


def test_an_answer_trickling_past_the_deadline_is_a_transient_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(outgoing.time, "monotonic", lambda: clock[0])

    def trickle() -> Iterator[bytes]:
        while True:
            clock[0] += 2.0  # each byte arrives within httpx's per-read timeout, but never ends
            yield b"."

    answer = outgoing.post(client_answering(trickle(), status=200), "https://api.example/x", b"{}", {})
    delivery = outgoing.classify(answer)
    assert (delivery.failure, delivery.reason, delivery.detail) == ("transient", "network_error", "timeout")
    assert clock[0] <= outgoing.TIMEOUT_SECONDS + 2.0
