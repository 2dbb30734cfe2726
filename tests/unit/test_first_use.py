"""Clients built on first use: a cold start builds only what its request touches, once."""

from __future__ import annotations

from typing import Any

from funil.adapters import first_use
from funil.adapters.first_use import on_first_use


def test_the_client_is_built_on_the_first_call_and_then_kept() -> None:
    built: list[Any] = []

    class Client:
        def ping(self) -> str:
            return "pong"

    def build() -> Client:
        built.append(Client())
        return built[-1]

    client = on_first_use(build)
    assert built == []  # made, not built
    assert (client.ping(), client.ping()) == ("pong", "pong")
    assert len(built) == 1


def test_setting_an_attribute_builds_it_and_sets_it_there() -> None:
    class Core:
        http = "real"

    cores: list[Core] = []
    core = on_first_use(lambda: cores.append(Core()) or cores[-1])
    core.http = "fake"  # what tests do to the bot's payments core
    assert len(cores) == 1 and cores[0].http == "fake" and core.http == "fake"
    assert first_use.built(core) is cores[0] and first_use.built(cores[0]) is cores[0]


def test_a_queue_builds_its_client_on_first_use_the_table_and_kms_with_the_container() -> None:
    from funil.adapters import dynamo, kms, sqs

    for builder in (dynamo.dynamodb_client, sqs.sqs_client, kms.kms_client):
        builder.cache_clear()
    sqs.Queue("https://sqs.us-east-1.amazonaws.com/123456789012/Queue")
    assert sqs.sqs_client.cache_info().currsize == 0  # a consumer that queues only to retry pays nothing
    dynamo.Table("AppTable")
    kms.CachedKms()
    assert [b.cache_info().currsize for b in (dynamo.dynamodb_client, kms.kms_client)] == [1, 1]
