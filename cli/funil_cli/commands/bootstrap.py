"""``funil bootstrap``: the first operator key, written straight into the stack's table.

The API needs a key and the first key cannot come from the API: this uses the deployer's AWS
credentials instead (CloudFormation to find the table, DynamoDB to write the key's item) and the
same functions the API uses (``funil.operator``), imported only here so the other commands never
load boto3 or the app's package.
"""

from typing import Annotated, Any

import typer

from funil_cli.errors import CliError
from funil_cli.session import Session, session

TABLE_OUTPUT = "AppTableName"
API_URL_OUTPUT = "ApiUrl"


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def key_json(created: Any) -> dict[str, Any]:
    """A ``funil.operator.api_keys.CreatedKey`` as the API shows a new key."""
    fields = ("id", "name", "key", "prefix", "created_at", "tenant_id")
    return {name: getattr(created, name) for name in fields}


def bootstrap(
    ctx: typer.Context,
    *,  # options: Typer passes them by name
    stack: Annotated[str | None, typer.Option(help="The CloudFormation stack (sam deploy's stack name)")] = None,
    table: Annotated[str | None, typer.Option(help="The application table, instead of --stack")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration's)")] = None,
    tenant_id: Annotated[str | None, typer.Option(help="Also create this tenant (with --tenant-name)")] = None,
    tenant_name: Annotated[str | None, typer.Option(help="Also create a tenant with this name, and its key")] = None,
    key_name: Annotated[str, typer.Option(help="The operator key's name")] = "bootstrap",
) -> None:
    """Create the deployment's first operator key (and optionally a first tenant) with AWS credentials."""
    current = session(ctx)
    if bool(stack) == bool(table):
        raise CliError("error.bootstrap_target")
    if tenant_id and not tenant_name:
        raise CliError("error.tenant_name")

    import boto3
    from funil.adapters.dynamo import Table
    from funil.clock import utc_now
    from funil.operator.api_keys import create_operator_key
    from funil.operator.tenants import TenantCreate, create_tenant

    made: dict[str, Any] = {}
    try:
        # Checked before anything is written, so a bad --tenant-id writes no key either.
        tenant_request = TenantCreate(id=tenant_id, name=tenant_name) if tenant_name else None
        api_url = None
        if stack:
            outputs = stack_outputs(boto3.client("cloudformation", region_name=region), stack)
            if TABLE_OUTPUT not in outputs:
                raise CliError("error.stack_output", stack=stack, output=TABLE_OUTPUT)
            table, api_url = outputs[TABLE_OUTPUT], outputs.get(API_URL_OUTPUT)
        assert table is not None  # one of the two, checked above
        items = Table(table, client=boto3.client("dynamodb", region_name=region))
        operator_key = create_operator_key(items, key_name, utc_now)
        made = {"table": table, "api_url": api_url, "operator_key": key_json(operator_key)}
        if tenant_request is not None:
            tenant, tenant_key = create_tenant(items, tenant_request, utc_now)
            made["tenant"] = {"id": tenant.tenant_id, **tenant.model_dump(mode="json", exclude={"tenant_id"})}
            made["tenant_key"] = key_json(tenant_key)
    except Exception as error:
        if made:  # the operator key is written whatever failed after it: show it, it is shown only now
            _show(current, made)
        raise one_line(error) from None
    _show(current, made)


def one_line(error: Exception) -> Exception:
    """What bootstrap can fail with, as a CliError; anything else is left to the CLI's last resort."""
    from botocore.exceptions import BotoCoreError, ClientError
    from funil.operator.errors import OperatorError
    from pydantic import ValidationError

    if isinstance(error, CliError):
        return error
    if isinstance(error, ValidationError):  # the tenant's id or name
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return CliError("error.rejected", message=f"tenant: {problems}")
    if isinstance(error, BotoCoreError | ClientError):  # no credentials, no such stack or table, denied
        return CliError("error.aws", reason=error)
    if isinstance(error, OperatorError):  # the app's refusal: a tenant id taken
        details = "; ".join(f"{problem.field}: {problem.message}" for problem in error.fields)
        return CliError("error.rejected", message=f"{error.message} ({details})" if details else error.message)
    return error


def _show(current: Session, made: dict[str, Any]) -> None:
    out, tr = current.out, current.tr
    if out.as_json:
        out.json(made)
        return
    out.note(tr("note.bootstrap_table", table=made["table"]))
    out.note(tr("note.operator_key"))
    out.record(made["operator_key"])
    if "tenant" in made:
        out.record(made["tenant"])
        out.note(tr("note.tenant_key", tenant=made["tenant"]["id"]))
        out.record(made["tenant_key"])
    out.note(tr("note.key_once"))
    if made.get("api_url"):
        out.note(tr("note.bootstrap_login", url=made["api_url"]))
