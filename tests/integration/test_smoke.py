from tests.conftest import queue_messages


def test_click_then_beacon(invoke, event, seed, table, aws_env):
    answer = invoke("RedirectFunction", event("redirect_get.json"))
    assert answer["statusCode"] == 200, answer
    import re

    token = re.search(r"start=([A-Za-z0-9_-]{22})", answer["body"]).group(1)
    item = table.get(f"CLICK#{token}", "CLICK")
    assert item is not None
    beacon = event("beacon_post.json")
    beacon["body"] = '{"token":"%s","fbp":"fb.1.1732000000000.1234567890"}' % token
    assert invoke("BeaconFunction", beacon)["statusCode"] == 204
    assert invoke("BeaconFunction", beacon)["statusCode"] == 204
    assert len(queue_messages(aws_env, "ConversionsQueue")) == 1
