"""template.yaml: valid SAM (offline lint) and least privilege per function."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local.template import ROOT, load


@pytest.mark.template
def test_sam_validate_lint_passes_offline():
    sam = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    assert sam, "aws-sam-cli is in requirements-dev.txt"
    env = {
        **os.environ,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "SAM_CLI_TELEMETRY": "0",
    }
    result = subprocess.run(
        [sam, "validate", "--lint", "--region", "us-east-1", "--template-file", str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def statements(function_props):
    for policy in function_props.get("Policies") or []:
        yield from policy.get("Statement", []) if isinstance(policy, dict) else []


def test_every_function_has_least_privilege_policies():
    template = load()
    for name, resource in template.resources_of("AWS::Serverless::Function").items():
        props = resource["Properties"]
        assert props.get("Policies"), f"{name} has no explicit policies"
        for statement in statements(props):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), f"{name} has a wildcard action"
            if statement.get("Resource") == "*":
                # Only where AWS names no resource for the action, and then narrowed by a condition.
                assert actions == ["acm:RequestCertificate"], f"{name} grants on every resource"
                assert statement.get("Condition"), f"{name} grants {actions} on every resource unconditionally"


def test_redirect_can_only_read_config_put_clicks_and_read_the_ip_hash_key():
    props = load().raw["Resources"]["RedirectFunction"]["Properties"]
    granted = {
        (action, str(statement["Resource"]))
        for statement in statements(props)
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }
    table, key = str({"Fn::GetAtt": ["AppTable", "Arn"]}), str({"Ref": "IpHashKey"})
    assert granted == {
        ("dynamodb:GetItem", table),
        ("dynamodb:BatchGetItem", table),
        ("dynamodb:PutItem", table),
        ("secretsmanager:GetSecretValue", key),
    }
    assert props["MemorySize"] == 128


def test_every_queue_consumed_by_a_function_has_a_dead_letter_queue():
    template = load()
    queues = template.resources_of("AWS::SQS::Queue")
    for function in template.functions.values():
        for trigger in function.queues:
            assert "RedrivePolicy" in queues[trigger.queue]["Properties"], trigger.queue
            assert trigger.report_failures, f"{function.logical_id} must report partial batch failures"


def test_every_alarm_on_our_namespace_watches_a_metric_the_code_emits() -> None:
    """Alarms on EMF metrics (namespace Funil) would stay silent forever on a name nothing writes."""
    import re

    from local.template import ROOT, load

    code = [*(ROOT / "layers/common/funil").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    source = "\n".join(path.read_text() for path in code)
    emitted = set(re.findall(r'count\(\s*"([A-Za-z]+)"', source)) | {"Anomalies"}
    alarms = {
        name: resource["Properties"]
        for name, resource in load().resources_of("AWS::CloudWatch::Alarm").items()
        if resource["Properties"].get("Namespace") == "Funil"
    }
    assert {"ClicksNotStoredAlarm", "RedirectFailuresAlarm", "AnomaliesAlarm"} <= set(alarms)
    assert {name: props["MetricName"] for name, props in alarms.items() if props["MetricName"] not in emitted} == {}
    assert all(props["Dimensions"] == [{"Name": "service", "Value": "funil"}] for props in alarms.values())


def test_limits_in_front_every_public_route_throttled_on_its_own() -> None:
    api = load().raw["Resources"]["HttpApi"]["Properties"]
    routes = {f"{route.method} {route.path}" for function in load().functions.values() for route in function.routes}
    settings = api["RouteSettings"]
    assert set(settings) == routes  # each route has its own bucket; none only the default
    clicks = settings["GET /go/{slug}"]["ThrottlingRateLimit"]
    assert all(value["ThrottlingRateLimit"] <= clicks for value in settings.values())
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] < min(v["ThrottlingRateLimit"] for v in settings.values())


def test_access_logs_never_carry_a_path_a_query_or_an_ip() -> None:
    access = load().raw["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    line = access["Format"]
    assert "$context.routeKey" in line and "$context.requestId" in line
    for leaky in ("$context.path", "$context.rawPath", "querystring", "$context.identity.sourceIp"):
        assert leaky not in line  # /pay/{gateway}/{secret} has a secret in its path


def test_every_function_and_the_api_have_log_retention() -> None:
    resources = load().raw["Resources"]
    groups = {
        str(props.get("LogGroupName", "")): props
        for props in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup")
    }
    for name in load().functions:
        group = groups.get(str({"Fn::Sub": f"/aws/lambda/${{{name}}}"}))
        assert group is not None, f"{name} has no log group with retention"
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_webhooks_keep_their_concurrency_and_scheduled_runs_have_a_failure_destination() -> None:
    functions = load().raw["Resources"]
    for name in ("GatewayWebhookFunction", "TelegramWebhookFunction"):
        reserved = functions[name]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved["Fn::If"][0] == "ReservesConcurrency" and reserved["Fn::If"][1] > 0
    for name, function in load().functions.items():
        if function.schedules:
            on_failure = functions[name]["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
            assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["ScheduleFailuresQueue", "Arn"]}}


def _failure_queues(value: object) -> set[str]:
    """The queues a template value names as where failures go: redrive targets and OnFailure destinations."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "deadLetterTargetArn" or (key == "OnFailure" and isinstance(inner, dict)):
                target = inner if key == "deadLetterTargetArn" else inner.get("Destination")
                if isinstance(target, dict) and "Fn::GetAtt" in target:
                    found.add(str(target["Fn::GetAtt"][0]))
            found |= _failure_queues(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _failure_queues(inner)
    return found


def test_every_dead_letter_queue_has_an_alarm_on_it() -> None:
    """A dead-lettered message nobody hears of is lost: every queue used as a dead-letter target (or a
    failure destination) is watched by an alarm on its depth, which notifies the alarm topic."""
    template = load()
    resources = template.raw["Resources"]
    queues = set(template.resources_of("AWS::SQS::Queue"))
    targets = _failure_queues(resources) & queues
    assert {"ConversionsDeadLetterQueue", "DestinationsDeadLetterQueue", "NotificationsDeadLetterQueue"} <= targets
    watched = {
        str(dimension["Value"]["Fn::GetAtt"][0])
        for resource in template.resources_of("AWS::CloudWatch::Alarm").values()
        for dimension in resource["Properties"].get("Dimensions") or []
        if resource["Properties"].get("Namespace") == "AWS/SQS"
        and resource["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and resource["Properties"].get("AlarmActions") == [{"Ref": "AlarmTopic"}]
        and dimension["Name"] == "QueueName"
        and isinstance(dimension["Value"], dict)
    }
    assert sorted(targets - watched) == []
