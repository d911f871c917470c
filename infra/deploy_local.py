"""Deploys infra/template.json's resources into a running moto server (the local stack).

    deploy("http://127.0.0.1:5000") -> {"table": ..., "bucket": ..., ..., "env": {...}}

What runs where, and why (moto 5.2.5, measured; see PLATFORM-NOTES.md):
- moto's CloudFormation `create_stack` gets the template's own resources (those with a Type),
  minus the state machine, minus whatever references a removed resource (the Lambda functions'
  managed policy names the state machine), minus the Chalice overrides and SAM `Globals`: there
  are no Lambda functions locally, the app runs in-process.
- The state machine is created through the Step Functions API from the same ASL file: moto's CFN
  reads only `DefinitionString` (not `Definition` / `DefinitionSubstitutions`), and with
  `execute_state_machine` on, a CFN-created machine is invisible to the executing backend.
- moto's CFN accepts but ignores several properties; they are applied afterwards through the
  service APIs from the same template properties: S3 versioning, lifecycle, public access block,
  ownership controls, notifications (S3 -> SQS); DynamoDB TTL and point-in-time recovery.
  AWS::S3::BucketPolicy and AWS::SQS::QueuePolicy are not supported by moto's CFN (it logs a
  warning on every stack call and creates nothing): they are left out of the stack and applied
  through the APIs too. Setting the notification makes moto (like AWS) send an `s3:TestEvent`
  message to the reports queue.
- One transformation: bucket policy statements conditioned on `aws:SecureTransport` are left out.
  moto enforces bucket policies, and the local endpoint is plain HTTP: the template's
  deny-non-TLS statement would make every S3 request fail with 403.

Idempotent: when the stack exists it is reused; the state machine is updated to the current ASL;
the settings above are re-applied.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import urllib.request
from typing import Any

import boto3

from infra.build import merge_template, references, render_definition

log = logging.getLogger(__name__)
STACK_NAME = "failbridge-local"
STATE_MACHINE_NAME = "failbridge-ticket-workflow"
ACCOUNT_FALLBACK = "123456789012"

_SUB_VAR = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")
# Types moto's CloudFormation does not support: applied through the service APIs instead.
APPLIED_THROUGH_APIS = ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy")
# Types the local stack leaves out: moto's CloudFormation does not know them ("not supported"
# warning), and nothing watches CloudWatch alarms locally; nor is there an Athena or QuickSight
# to read the exports' Glue tables and QuickSight data sets (the exports themselves are written
# to the local bucket all the same).
NOT_LOCAL = (
    "AWS::CloudWatch::Alarm",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::QuickSight::DataSource",
    "AWS::QuickSight::DataSet",
)
# Left out with a warning: someone reading the local stack's resources should know they exist.
WARN_NOT_LOCAL = NOT_LOCAL[1:]


# --- template plumbing -------------------------------------------------------------------------


def local_template(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template moto gets: the template's typed resources, minus state
    machines, minus types applied through the APIs or not deployed locally (alarms), and
    (transitively) minus whatever references a removed resource; outputs likewise."""
    template = copy.deepcopy(template if template is not None else merge_template())
    resources: dict[str, Any] = template["Resources"]
    removed = {
        logical_id
        for logical_id, resource in resources.items()
        if "Type" not in resource
        or resource["Type"] == "AWS::StepFunctions::StateMachine"
        or resource["Type"] in APPLIED_THROUGH_APIS
        or resource["Type"] in NOT_LOCAL
        or resource["Type"].startswith("AWS::Serverless::")
    }
    changed = True
    while changed:
        changed = False
        for logical_id, resource in resources.items():
            if logical_id in removed:
                continue
            if references(resource.get("Properties", {})) & removed:
                removed.add(logical_id)
                changed = True
    skipped = sorted(k for k in removed if resources[k].get("Type") in WARN_NOT_LOCAL)
    if skipped:
        log.warning(
            "the local stack leaves out what moto's CloudFormation cannot create: %s",
            ", ".join(skipped),
        )
    kept = {}
    for logical_id, resource in resources.items():
        if logical_id in removed:
            continue
        resource = copy.deepcopy(resource)
        depends = resource.get("DependsOn")
        if depends is not None:
            depends = [depends] if isinstance(depends, str) else depends
            depends = [d for d in depends if d not in removed]
            if depends:
                resource["DependsOn"] = depends
            else:
                del resource["DependsOn"]
        resource.pop("Metadata", None)
        kept[logical_id] = resource
    outputs = {
        key: output
        for key, output in template.get("Outputs", {}).items()
        if not references(output) & removed
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": kept, "Outputs": outputs}


class _Resolver:
    """Resolves Ref / Fn::GetAtt Arn / Fn::Sub against the deployed stack's physical resources."""

    def __init__(self, session: Any, endpoint_url: str | None, region: str, account: str) -> None:
        self._session = session
        self._endpoint = endpoint_url
        self.region = region
        self.account = account
        self.physical: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self._arns: dict[str, str] = {}

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._endpoint, region_name=self.region)

    def add(self, logical_id: str, resource_type: str, physical_id: str, arn: str = "") -> None:
        self.physical[logical_id] = physical_id
        self.types[logical_id] = resource_type
        if arn:
            self._arns[logical_id] = arn

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": STACK_NAME,
        }
        if name in pseudo:
            return pseudo[name]
        return self.physical[name]

    def arn(self, logical_id: str) -> str:
        if logical_id not in self._arns:
            kind, physical = self.types[logical_id], self.physical[logical_id]
            if kind == "AWS::SQS::Queue":
                attrs = self.client("sqs").get_queue_attributes(
                    QueueUrl=physical, AttributeNames=["QueueArn"]
                )
                self._arns[logical_id] = attrs["Attributes"]["QueueArn"]
            elif kind == "AWS::S3::Bucket":
                self._arns[logical_id] = f"arn:aws:s3:::{physical}"
            elif kind == "AWS::DynamoDB::Table":
                table = self.client("dynamodb").describe_table(TableName=physical)
                self._arns[logical_id] = table["Table"]["TableArn"]
            elif kind == "AWS::IAM::Role":
                self._arns[logical_id] = self.client("iam").get_role(RoleName=physical)["Role"][
                    "Arn"
                ]
            else:
                raise KeyError(f"no Arn resolution for {logical_id} ({kind})")
        return self._arns[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute != "Arn":
            raise KeyError(f"unsupported attribute {logical_id}.{attribute}")
        return self.arn(logical_id)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                text, extra = (arg[0], self.resolve(arg[1])) if isinstance(arg, list) else (arg, {})

                def substitute(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name in extra:
                        return str(extra[name])
                    if "." in name and not name.startswith("AWS::"):
                        logical_id, attribute = name.split(".", 1)
                        return self.get_att(logical_id, attribute)
                    return self.ref(name)

                return _SUB_VAR.sub(substitute, text)
        return {k: self.resolve(v) for k, v in value.items()}


# --- applying what moto's CloudFormation ignores -----------------------------------------------


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": rule["ExpirationInDays"]}
    for key in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
        if key in rule:
            out[key] = rule[key]
    return out


def _apply_bucket(res: _Resolver, logical_id: str, props: dict[str, Any]) -> None:
    s3 = res.client("s3")
    bucket = res.physical[logical_id]
    props = res.resolve(props)
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(
            Bucket=bucket,
            VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]},
        )
    if "BucketEncryption" in props:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"],
                **({"BucketKeyEnabled": r["BucketKeyEnabled"]} if "BucketKeyEnabled" in r else {}),
            }
            for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls=props["OwnershipControls"]
        )
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [_lifecycle_rule(r) for r in props["LifecycleConfiguration"]["Rules"]]
            },
        )
    notification = props.get("NotificationConfiguration")
    if notification:
        queue_configs = [
            {
                "QueueArn": q["Queue"],
                "Events": [q["Event"]],
                **(
                    {"Filter": {"Key": {"FilterRules": q["Filter"]["S3Key"]["Rules"]}}}
                    if "Filter" in q
                    else {}
                ),
            }
            for q in notification.get("QueueConfigurations", [])
        ]
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        current_configs = [
            {k: v for k, v in c.items() if k != "Id"}
            for c in current.get("QueueConfigurations", [])
        ]
        # Re-putting sends another s3:TestEvent to the queue: only when something changed.
        if current_configs != queue_configs:
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": queue_configs}
            )


def _apply_table(res: _Resolver, logical_id: str, props: dict[str, Any]) -> None:
    ddb = res.client("dynamodb")
    table = res.physical[logical_id]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") != "ENABLED":
            ddb.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr:
        ddb.update_continuous_backups(
            TableName=table,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": bool(pitr.get("PointInTimeRecoveryEnabled"))
            },
        )


def _apply_ignored_properties(res: _Resolver, template: dict[str, Any]) -> None:
    """Applies, for the resources in the stack and the policies left out of it, what moto's CFN
    does not. `template` is the full merge template."""
    resources = {
        k: v
        for k, v in template["Resources"].items()
        if k in res.physical or v.get("Type") in APPLIED_THROUGH_APIS
    }
    # Policies first: on AWS the bucket waits for the queue policy (DependsOn) before S3 validates
    # the notification destination.
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::QueuePolicy":
            policy = json.dumps(res.resolve(props["PolicyDocument"]))
            for queue_url in res.resolve(props["Queues"]):
                res.client("sqs").set_queue_attributes(
                    QueueUrl=queue_url, Attributes={"Policy": policy}
                )
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::S3::Bucket":
            _apply_bucket(res, logical_id, props)
        elif resource["Type"] == "AWS::DynamoDB::Table":
            _apply_table(res, logical_id, props)
        elif resource["Type"] == "AWS::S3::BucketPolicy":
            document = _without_tls_conditions(res.resolve(props["PolicyDocument"]))
            if document["Statement"]:
                res.client("s3").put_bucket_policy(
                    Bucket=res.resolve(props["Bucket"]), Policy=json.dumps(document)
                )


def _without_tls_conditions(document: dict[str, Any]) -> dict[str, Any]:
    """The policy minus statements conditioned on aws:SecureTransport: moto evaluates bucket
    policies, and the local endpoint is plain HTTP, so a deny-non-TLS statement denies everything.
    """
    statements = document["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    kept = [
        s for s in statements if "aws:SecureTransport" not in json.dumps(s.get("Condition", {}))
    ]
    return {**document, "Statement": kept}


# --- the state machine -------------------------------------------------------------------------


def _ensure_state_machine(res: _Resolver, template: dict[str, Any]) -> dict[str, str]:
    """Creates (or updates) every state machine of the template through the Step Functions API;
    returns logical id -> ARN."""
    sfn = res.client("stepfunctions")
    existing = {
        m["name"]: m["stateMachineArn"]
        for page in sfn.get_paginator("list_state_machines").paginate()
        for m in page["stateMachines"]
    }
    arns: dict[str, str] = {}
    machines = [
        (logical_id, resource)
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::StepFunctions::StateMachine"
    ]
    for logical_id, resource in machines:
        props = resource["Properties"]
        name = STATE_MACHINE_NAME if len(machines) == 1 else f"failbridge-{logical_id}"
        substitutions = {
            key: str(res.resolve(value))
            for key, value in props.get("DefinitionSubstitutions", {}).items()
        }
        definition = render_definition(substitutions, definition=props["Definition"])
        role_arn = res.resolve(props["RoleArn"])
        tracing = props.get("TracingConfiguration", {}).get("Enabled", False)
        if name in existing:
            arn = existing[name]
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
        else:
            arn = sfn.create_state_machine(
                name=name,
                definition=definition,
                roleArn=role_arn,
                type=props.get("StateMachineType", "STANDARD"),
                tracingConfiguration={"enabled": bool(tracing)},
            )["stateMachineArn"]
        arns[logical_id] = arn
    return arns


# --- entry point -------------------------------------------------------------------------------


def configure_moto(endpoint_url: str) -> None:
    """Turns on state machine execution in the moto server (its MOTO_PORT must be set)."""
    if not endpoint_url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP endpoint: {endpoint_url}")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        endpoint_url.rstrip("/") + "/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def _stack(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except cfn.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return stacks[0] if stacks else None


def deploy(
    endpoint_url: str | None,
    region: str = "us-east-1",
    *,
    stack_name: str = STACK_NAME,
    configure: bool = True,
    session: Any = None,
) -> dict[str, Any]:
    """Deploys (or finds) the local stack in the moto server at endpoint_url (None: the default
    endpoints, i.e. moto in-process under `mock_aws`, which then needs its own
    `{"stepfunctions": {"execute_state_machine": True}}` config; `configure` is ignored).

    Returns table, bucket, reportsQueueUrl, workflowQueueUrl, reportsDlqUrl, workflowDlqUrl,
    stateMachineArn, stackName, and `env`: the FAILBRIDGE_* variables the template gives every
    function (its SAM Globals), resolved against this deployment. FAILBRIDGE_PUBLIC_URL is not
    included: the local API's address is the caller's.
    """
    if configure and endpoint_url is not None:
        configure_moto(endpoint_url)
    session = session or boto3.session.Session()
    full = merge_template()
    template = local_template(full)
    cfn = session.client("cloudformation", endpoint_url=endpoint_url, region_name=region)
    stack = _stack(cfn, stack_name)
    if stack is None:
        cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(template))
        stack = _stack(cfn, stack_name)
    if stack is None or stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        status = stack and (stack["StackStatus"], stack.get("StackStatusReason"))
        raise RuntimeError(f"local stack {stack_name} not created: {status}")

    account = (
        session.client("sts", endpoint_url=endpoint_url, region_name=region)
        .get_caller_identity()
        .get("Account", ACCOUNT_FALLBACK)
    )
    res = _Resolver(session, endpoint_url, region, account)
    summaries = cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    for summary in summaries:
        if summary.get("LogicalResourceId") and summary.get("PhysicalResourceId"):
            res.add(
                summary["LogicalResourceId"], summary["ResourceType"], summary["PhysicalResourceId"]
            )
    _apply_ignored_properties(res, full)

    machines = _ensure_state_machine(res, full)
    for logical_id, arn in machines.items():
        res.add(logical_id, "AWS::StepFunctions::StateMachine", arn, arn)

    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    env_template = full.get("Globals", {}).get("Function", {}).get("Environment", {})
    env = {
        name: str(res.resolve(value)) for name, value in env_template.get("Variables", {}).items()
    }
    state_machine_arn = next(iter(machines.values()), "")
    return {
        "stackName": stack_name,
        "table": outputs["TableName"],
        "bucket": outputs["BucketName"],
        "reportsQueueUrl": outputs["ReportsQueueUrl"],
        "workflowQueueUrl": outputs["WorkflowQueueUrl"],
        "reportsDlqUrl": outputs["ReportsDeadLetterQueueUrl"],
        "workflowDlqUrl": outputs["WorkflowDeadLetterQueueUrl"],
        "jiraQueueUrl": outputs["JiraQueueUrl"],
        "jiraDlqUrl": outputs["JiraDeadLetterQueueUrl"],
        "stateMachineArn": state_machine_arn,
        "env": env,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Deploy failbridge's resources into moto.")
    parser.add_argument("endpoint_url", nargs="?", default="http://127.0.0.1:5000")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    print(json.dumps(deploy(args.endpoint_url, args.region), indent=2))
