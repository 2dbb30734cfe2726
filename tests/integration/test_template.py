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
            assert statement.get("Resource") != "*", f"{name} grants on every resource"


def test_redirect_can_only_read_config_and_put_clicks():
    props = load().raw["Resources"]["RedirectFunction"]["Properties"]
    actions = {action for statement in statements(props) for action in statement["Action"]}
    assert actions == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"}
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
