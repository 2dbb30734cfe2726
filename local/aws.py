"""AWS for the local stack and the tests: the template's tables, queues, key, secrets and buckets, created in moto.

Call inside an active ``moto.mock_aws()``. Physical names are the logical ids, so `!Ref AppTable`
resolves to ``AppTable`` (a bucket's is lowercased, as S3 wants: `!Ref ExportBucket` is ``exportbucket``).
Glue and Athena resources are not created: nothing runs a query locally.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.template import Template, load

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class Resources:
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    stream_arns: dict[str, str] = field(default_factory=dict)  # logical id of a table -> its stream's ARN
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> queue url
    queue_arns: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # logical id -> KMS key id
    secrets: dict[str, str] = field(default_factory=dict)  # logical id -> Secrets Manager secret ARN (!Ref)
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> S3 bucket name
    apis: dict[str, str] = field(default_factory=dict)  # logical id of an HttpApi -> its API id
    parameters: dict[str, str] = field(default_factory=dict)

    def ref(self, logical_id: str) -> str:
        for mapping in (self.tables, self.queues, self.keys, self.secrets, self.buckets, self.apis, self.parameters):
            if logical_id in mapping:
                return mapping[logical_id]
        raise KeyError(logical_id)


def use_fake_credentials() -> None:
    """Point every boto3 client at moto's fake account, whatever the machine has configured."""
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)


_MOTO_LOCK = threading.RLock()


def serialise_moto() -> None:
    """Let one AWS call at a time into moto, whichever thread makes it.

    moto's in-memory backends are not thread-safe (a transaction iterating a table while another
    thread writes it raises ``dictionary changed size during iteration``). AWS itself serialises
    nothing, but every call is short, so one lock around the stubber costs the local stack nothing
    that matters and makes concurrent handlers see what they would see on AWS. Idempotent.
    """
    from moto.core.models import botocore_stubber

    if getattr(botocore_stubber.process_request, "serialised", False):
        return
    unlocked = botocore_stubber.process_request

    def process_request(request: Any) -> Any:
        with _MOTO_LOCK:
            return unlocked(request)

    process_request.serialised = True  # type: ignore[attr-defined]
    botocore_stubber.process_request = process_request  # type: ignore[method-assign]


def _table_kwargs(name: str, props: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return kwargs


def provision(template: Template | None = None) -> Resources:
    template = template or load()
    resources = Resources(
        parameters={name: str(value) for name, value in template.parameter_defaults().items() if value is not None}
    )
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for name, res in template.resources_of("AWS::DynamoDB::Table").items():
        created = dynamodb.create_table(**_table_kwargs(name, res["Properties"]))["TableDescription"]
        if created.get("LatestStreamArn"):
            resources.stream_arns[name] = created["LatestStreamArn"]
        ttl = res["Properties"].get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        resources.tables[name] = name
    sqs = boto3.client("sqs", region_name=REGION)
    queues = template.resources_of("AWS::SQS::Queue")
    # Dead-letter queues first: the others' redrive policies point at them.
    ordered = sorted(queues.items(), key=lambda item: "RedrivePolicy" in (item[1].get("Properties") or {}))
    for name, res in ordered:
        props = res.get("Properties") or {}
        attributes = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30))}
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": resources.queue_arns[target], "maxReceiveCount": redrive["maxReceiveCount"]}
            )
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        resources.queues[name] = url
        resources.queue_arns[name] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    kms = boto3.client("kms", region_name=REGION)
    for name in template.resources_of("AWS::KMS::Key"):
        resources.keys[name] = kms.create_key(Description=name)["KeyMetadata"]["KeyId"]
    for name, res in template.resources_of("AWS::SecretsManager::Secret").items():
        resources.secrets[name] = _create_secret(name, res.get("Properties") or {})
    s3 = boto3.client("s3", region_name=REGION)
    for name in template.resources_of("AWS::S3::Bucket"):
        s3.create_bucket(Bucket=name.lower())
        resources.buckets[name] = name.lower()
    apigateway = boto3.client("apigatewayv2", region_name=REGION)
    for name in template.resources_of("AWS::Serverless::HttpApi"):
        resources.apis[name] = apigateway.create_api(Name=name, ProtocolType="HTTP")["ApiId"]
    return resources


def _create_secret(name: str, props: dict[str, Any]) -> str:
    """The secret as CloudFormation makes it: a fresh random value from its GenerateSecretString; its ARN."""
    secretsmanager = boto3.client("secretsmanager", region_name=REGION)
    generate = props.get("GenerateSecretString")
    if generate is None or "SecretStringTemplate" in generate:
        raise ValueError(f"{name}: only a generated plain-string secret is provisioned locally")
    options = {key: value for key, value in generate.items() if key in _RANDOM_PASSWORD_OPTIONS}
    value = secretsmanager.get_random_password(**options)["RandomPassword"]
    return secretsmanager.create_secret(Name=name, SecretString=value)["ARN"]


# GenerateSecretString's properties that are GetRandomPassword's parameters too.
_RANDOM_PASSWORD_OPTIONS = {
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
}


def resolve(value: Any, resources: Resources) -> str:
    """An environment value of the template, with !Ref / !GetAtt resolved to local names."""
    if isinstance(value, dict) and "Ref" in value:
        return resources.ref(str(value["Ref"]))
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        if attribute == "Arn" and logical in resources.queue_arns:
            return resources.queue_arns[logical]
        if attribute == "StreamArn":
            return resources.stream_arns[logical]
        return resources.ref(logical)
    return str(value)


def function_environment(template: Template, resources: Resources) -> dict[str, str]:
    """The union of every function's environment, resolved (the names do not clash by design)."""
    env: dict[str, str] = {}
    for function in template.functions.values():
        for name, value in function.environment.items():
            env[name] = resolve(value, resources)
    return env
