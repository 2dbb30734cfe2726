"""`funil bootstrap`: the first keys, written with AWS credentials into the table the stack names (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
from funil.adapters.dynamo import Table
from funil.clock import utc_now
from funil.operator.api_keys import authenticate

from local import aws
from tests.unit.cli.conftest import Run

pytestmark = pytest.mark.usefixtures("aws_env")  # moto with the template's table, AppTable


def _stack(name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=aws.REGION).create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )


def _tenant_of(key: str) -> str | None:
    return authenticate(Table("AppTable"), f"Bearer {key}", utc_now()).tenant_id


def test_from_the_stacks_outputs_an_operator_key_that_authenticates(cli: Run) -> None:
    _stack("funil-prod", {"AppTableName": "AppTable", "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com"})
    result = cli("--json", "bootstrap", "--stack", "funil-prod", "--region", aws.REGION)
    assert result.exit_code == 0, result.stderr
    made = json.loads(result.stdout)
    assert (made["table"], made["api_url"]) == ("AppTable", "https://abc.execute-api.us-east-1.amazonaws.com")
    assert made["operator_key"]["key"].startswith("fnl_")
    assert made["operator_key"]["tenant_id"] is None
    assert _tenant_of(made["operator_key"]["key"]) is None  # the operator


def test_a_table_and_a_first_tenant_with_its_own_key(cli: Run) -> None:
    result = cli("--lang", "en", "bootstrap", "--table", "AppTable", "--tenant-id", "t_ana", "--tenant-name", "Ana")
    assert result.exit_code == 0, result.stderr
    keys = [line.split()[1] for line in result.stdout.splitlines() if line.split()[:1] == ["key"]]  # field, value
    assert len(keys) == 2
    assert [_tenant_of(key) for key in keys] == [None, "t_ana"]
    assert "Key of tenant t_ana:" in result.stderr
    assert "it will not be shown again" in result.stderr


def test_the_login_line_names_the_api_url(cli: Run) -> None:
    _stack("funil", {"AppTableName": "AppTable", "ApiUrl": "https://abc.example"})
    result = cli("--lang", "en", "bootstrap", "--stack", "funil")
    assert "funil login --url https://abc.example --key <the key above>" in result.stderr


def test_a_tenant_id_taken_still_shows_the_operator_key_written(cli: Run) -> None:
    assert cli("bootstrap", "--table", "AppTable", "--tenant-id", "t_ana", "--tenant-name", "Ana").exit_code == 0
    result = cli(
        "--json", "--lang", "en", "bootstrap", "--table", "AppTable", "--tenant-id", "t_ana", "--tenant-name", "B"
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: tenant t_ana already exists"
    made = json.loads(result.stdout)
    assert "tenant" not in made
    assert _tenant_of(made["operator_key"]["key"]) is None


def test_a_bad_tenant_id_writes_nothing(cli: Run) -> None:
    result = cli("--lang", "en", "bootstrap", "--table", "AppTable", "--tenant-id", "bad id!", "--tenant-name", "X")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: tenant: id: String should match pattern")
    assert result.stdout == ""
    assert boto3.client("dynamodb", region_name=aws.REGION).scan(TableName="AppTable")["Count"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: say which deployment: --stack NAME (the CloudFormation stack) or --table TABLE"),
        (["--stack", "a", "--table", "b"], "error: say which deployment: --stack NAME (the CloudFormation stack) or --table TABLE"),
        (["--table", "AppTable", "--tenant-id", "t1"], "error: --tenant-id needs --tenant-name"),
        (["--stack", "nope"], "error: AWS: An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id nope does not exist"),
        (["--table", "NoSuchTable"], "error: AWS: An error occurred (ResourceNotFoundException) when calling the PutItem operation: Requested resource not found"),
    ],
)  # fmt: skip
def test_failures_are_one_line(cli: Run, args: list[str], message: str) -> None:
    result = cli("--lang", "en", "bootstrap", *args)
    assert result.exit_code == 1
    assert result.stderr.strip() == message


def test_a_stack_without_the_table_output(cli: Run) -> None:
    _stack("other", {"Something": "x"})
    result = cli("--lang", "en", "bootstrap", "--stack", "other")
    assert result.stderr.strip() == "error: stack other has no output AppTableName"
