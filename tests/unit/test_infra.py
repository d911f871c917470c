"""The infrastructure as data: the ticket workflow's ASL and the merge template."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib import settings
from chalicelib.domain.tasks import TaskType
from infra.build import (
    adapt_to_app,
    chalice_resources,
    find_cycle,
    load_asl,
    merge_template,
    plain_template,
    references,
    render_definition,
)

WAIT_FOR_TOKEN = ".waitForTaskToken"
TERMINAL_TYPES = {"Succeed", "Fail"}


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    return load_asl()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return merge_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"])


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return chalice_resources()


def _of_type(resources: dict[str, Any], type_: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v.get("Type") == type_}


def _transitions(state: dict[str, Any]) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    if "Default" in state:
        targets.append(state["Default"])
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return targets


# --- the state machine definition ---------------------------------------------------------------


def test_every_transition_target_exists(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert asl["StartAt"] in states
    for name, state in states.items():
        for target in _transitions(state):
            assert target in states, f"{name} -> {target}"


def test_every_state_is_reachable(asl: dict[str, Any]) -> None:
    seen, todo = set(), [asl["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _transitions(asl["States"][name])
    assert seen == set(asl["States"])


def test_terminals(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert any(s["Type"] in TERMINAL_TYPES or s.get("End") for s in states.values())
    for name, state in states.items():
        ends = state["Type"] in TERMINAL_TYPES or state.get("End") is True
        if state["Type"] == "Choice":
            assert "Default" in state, name
        else:
            assert ends != ("Next" in state), f"{name}: exactly one of Next / End"


def test_no_retry_on_wait_for_task_token(asl: dict[str, Any]) -> None:
    # moto reuses the first token on retry (PLATFORM-NOTES): redelivery + DLQ do the retrying.
    waiting = [
        s for s in asl["States"].values() if str(s.get("Resource", "")).endswith(WAIT_FOR_TOKEN)
    ]
    assert waiting
    for state in waiting:
        assert "Retry" not in state


def test_jsonpath_only(asl: dict[str, Any]) -> None:
    assert asl.get("QueryLanguage", "JSONPath") == "JSONPath"
    for state in asl["States"].values():
        assert state.get("QueryLanguage", "JSONPath") == "JSONPath"


def test_await_decision_shape(asl: dict[str, Any]) -> None:
    states = asl["States"]
    state = states["AwaitDecision"]
    assert state["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert state["Parameters"]["MessageBody"] == {
        "type": TaskType.AWAIT_DECISION.value,
        "ticketId.$": "$.ticketId",
        "taskToken.$": "$$.Task.Token",
        "round.$": "$.wait.round",
        "deadline.$": "$.wait.deadline",
    }
    assert state["TimeoutSecondsPath"] == "$.wait.seconds"
    assert state["ResultPath"] == "$.decision"
    assert [(c["ErrorEquals"], c["Next"]) for c in state["Catch"]] == [
        (["States.Timeout"], "CountRound")
    ]
    # Both ways in fill $.wait: the app's rounds, or the {decisionTimeoutSeconds} shorthand.
    assert states["Rounds"]["ResultPath"] == states["SingleRound"]["ResultPath"] == "$.wait"
    for plan in ("Rounds", "SingleRound", "CountRound"):
        keys = {k.removesuffix(".$") for k in states[plan]["Parameters"]}
        assert keys == {"round", "maxRounds", "seconds", "deadline"}, plan
    assert states["AnotherRound"]["Choices"][0]["Next"] == "AwaitDecision"
    assert states["AnotherRound"]["Default"] == "ExpireDraft"
    assert states["ExpireDraft"]["Parameters"]["MessageBody"]["type"] == TaskType.EXPIRE_DRAFT
    decided = states["Decided"]
    routes = {c.get("StringEquals"): c["Next"] for c in decided["Choices"]}
    assert routes["approve"] == "Approved"
    assert routes["reject"] == "Rejected"
    assert routes["merge"] == "Merged"
    assert states[decided["Default"]]["Type"] == "Fail"


def test_render_definition_fills_placeholders() -> None:
    url = 'https://sqs.example/q?"quoted"'
    rendered = render_definition({"WorkflowQueueUrl": url, "JiraQueueUrl": "https://sqs.example/j"})
    assert "${" not in rendered
    data = json.loads(rendered)
    assert data["States"]["AwaitDecision"]["Parameters"]["QueueUrl"] == url
    assert data["States"]["ExpireDraft"]["Parameters"]["QueueUrl"] == url
    with pytest.raises(KeyError):
        render_definition({})


# --- the merge template -------------------------------------------------------------------------


def test_definition_is_the_asl_file(resources: dict[str, Any], asl: dict[str, Any]) -> None:
    machine = resources["TicketWorkflow"]
    assert machine["Type"] == "AWS::StepFunctions::StateMachine"
    props = machine["Properties"]
    assert props["Definition"] == asl
    assert "DefinitionString" not in props
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", json.dumps(asl)))
    assert placeholders == set(props["DefinitionSubstitutions"])
    assert props["DefinitionSubstitutions"]["WorkflowQueueUrl"] == {"Ref": "WorkflowQueue"}


def test_state_machine_role_sends_only_to_its_queues(resources: dict[str, Any]) -> None:
    role = resources["TicketWorkflowRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    # X-Ray and log delivery need resource "*"; everything else is scoped to our queues
    scoped = [s for s in statements if not str(s["Action"]).startswith(("['xray:", "['logs:"))]
    assert scoped == [
        {
            "Sid": "SendToWorkflowQueue",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": [
                {"Fn::GetAtt": ["WorkflowQueue", "Arn"]},
                {"Fn::GetAtt": ["JiraQueue", "Arn"]},
            ],
        }
    ]


def test_every_queue_has_a_dlq(resources: dict[str, Any]) -> None:
    queues = _of_type(resources, "AWS::SQS::Queue")
    targets = set()
    for logical_id, queue in queues.items():
        props = queue["Properties"]
        assert props["SqsManagedSseEnabled"] is True, logical_id
        if logical_id.endswith("DeadLetterQueue"):
            assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
            continue
        redrive = props["RedrivePolicy"]
        target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert target in queues and target.endswith("DeadLetterQueue")
        # the Jira queue allows more deliveries: its handler spends a retry budget first
        assert redrive["maxReceiveCount"] == (8 if logical_id == "JiraQueue" else 5)
        targets.add(target)
    stream = resources["OnChange"]["Properties"]["Events"]["OnChangeDynamodbEventSource"]
    targets.add(
        stream["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    )
    assert targets == {k for k in queues if k.endswith("DeadLetterQueue")}
    names = {q["Properties"]["QueueName"] for q in queues.values()}
    assert {settings.REPORTS_QUEUE_NAME, settings.WORKFLOW_QUEUE_NAME} <= names


def test_sqs_handlers_report_partial_batches_and_fit_visibility(
    resources: dict[str, Any], generated: dict[str, str]
) -> None:
    events = [
        k for k, kind in generated.items() if kind == "event" and k.endswith("SqsEventSource")
    ]
    assert events
    for event in events:
        function_id = event.removesuffix("SqsEventSource")
        function = resources[function_id]["Properties"]
        source = function["Events"][event]["Properties"]
        assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        # Chalice generates Queue as {"Fn::Sub": ...}; the merge is a dict merge, so the override
        # must use the same intrinsic (a GetAtt would end up next to the Fn::Sub in one dict).
        assert list(source["Queue"]) == ["Fn::Sub"]
        queue_id = re.fullmatch(r"\$\{(\w+)\.Arn\}", source["Queue"]["Fn::Sub"])
        assert queue_id, source["Queue"]
        queue = resources[queue_id.group(1)]["Properties"]
        assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_table(resources: dict[str, Any]) -> None:
    props = resources["Table"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"gsi1", "gsi2"}
    for name, index in indexes.items():
        assert [k["AttributeName"] for k in index["KeySchema"]] == [name + "pk", name + "sk"]
        assert index["Projection"] == {"ProjectionType": "ALL"}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_bucket_is_private_encrypted_versioned(resources: dict[str, Any]) -> None:
    props = resources["Bucket"]["Properties"]
    block = props["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-uploads"]["Prefix"] == "uploads/"
    assert rules["expire-uploads"]["ExpirationInDays"] == 7
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 30
    }
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    policies = _of_type(resources, "AWS::S3::BucketPolicy").values()
    deny_tls = [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
        and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert deny_tls


def test_bucket_notifies_reports_queue(resources: dict[str, Any]) -> None:
    bucket = resources["Bucket"]
    configs = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    prefixes = set()
    for config in configs:
        assert config["Event"] == "s3:ObjectCreated:*"
        assert config["Queue"] == {"Fn::GetAtt": ["ReportsQueue", "Arn"]}
        (rule,) = config["Filter"]["S3Key"]["Rules"]
        assert rule["Name"] == "prefix"
        prefixes.add(rule["Value"])
    assert prefixes == {"uploads/", "evidence/"}
    # S3 checks the destination when the bucket is created: the queue policy must exist first,
    # and it names the bucket by its computed name (a Ref would be a cycle).
    assert "ReportsQueuePolicy" in bucket["DependsOn"]
    policy = resources["ReportsQueuePolicy"]["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    source_arn = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert (
        source_arn == "arn:${AWS::Partition}:s3:::" + bucket["Properties"]["BucketName"]["Fn::Sub"]
    )
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]


def test_functions_get_every_setting(
    template: dict[str, Any], resources: dict[str, Any], generated: dict[str, str]
) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env == {
        settings.TABLE_NAME: {"Ref": "Table"},
        settings.BUCKET_NAME: {"Ref": "Bucket"},
        settings.REPORTS_QUEUE_URL: {"Ref": "ReportsQueue"},
        settings.WORKFLOW_QUEUE_URL: {"Ref": "WorkflowQueue"},
        settings.JIRA_QUEUE_URL: {"Ref": "JiraQueue"},
        settings.STATE_MACHINE_ARN: {"Ref": "TicketWorkflow"},
        settings.BUILD_QUEUE_URL: {"Ref": "BuildQueue"},
    }
    functions = {
        k: v
        for k, v in resources.items()
        if "Type" not in v and "Role" not in k and generated.get(k) == "function"
    }
    assert {
        "APIHandler",
        "OnReportUploaded",
        "OnWorkflowTask",
        "OnJiraTask",
        "OnReportRequested",
        "SendReportSchedules",
    } <= set(functions)
    for logical_id, function in functions.items():
        props = function["Properties"]
        assert settings.PUBLIC_URL in props["Environment"]["Variables"], logical_id
        assert isinstance(props["Timeout"], int), logical_id
        # sized from measurements (docs/scale.md), never Lambda's 128 MB default by omission
        assert isinstance(props["MemorySize"], int) and props["MemorySize"] >= 256, logical_id


def test_api_handler_does_not_reference_its_own_api(template: dict[str, Any]) -> None:
    # RestAPI's DefinitionBody references ${APIHandler.Arn}; cfn-lint 1.58 does not see the cycle.
    packaged = json.loads(json.dumps(template))
    packaged["Resources"]["APIHandler"]["Type"] = "AWS::Serverless::Function"
    packaged["Resources"]["RestAPI"] = {
        "Type": "AWS::Serverless::Api",
        "Properties": {"DefinitionBody": {"uri": {"Fn::Sub": "x/${APIHandler.Arn}/invocations"}}},
    }
    assert find_cycle(packaged) == []
    packaged["Resources"]["APIHandler"]["Properties"]["Environment"] = {
        "Variables": {"X": {"Ref": "RestAPI"}}
    }
    assert find_cycle(packaged) in (
        ["APIHandler", "RestAPI", "APIHandler"],
        ["RestAPI", "APIHandler", "RestAPI"],
    )


def test_every_chalice_role_gets_the_functions_policy(
    resources: dict[str, Any], generated: dict[str, str]
) -> None:
    roles = [k for k, kind in generated.items() if kind == "role"]
    assert roles
    for role in roles:
        props = resources[role]["Properties"]
        assert props["ManagedPolicyArns"] == [{"Ref": "FunctionsPolicy"}]
        # replaces the inline policy from .chalice/policy-dev.json; the change stream's reader
        # alone also reads the table's stream
        extra = [p["PolicyName"] for p in props["Policies"]]
        assert extra == (["ReadChangeStream"] if role == "OnChangeRole" else [])


def test_functions_policy_is_scoped(resources: dict[str, Any]) -> None:
    statements = resources["FunctionsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in a for a in actions), statement
        if statement["Resource"] == "*":
            # actions without resource-level permissions
            assert all(a.startswith(("xray:", "states:SendTask")) for a in actions), statement
    by_sid = {s["Sid"]: s for s in statements}
    assert references(by_sid["Table"]["Resource"]) == {"Table"}
    assert references(by_sid["Queues"]["Resource"]) == {
        "ReportsQueue",
        "WorkflowQueue",
        "JiraQueue",
        "JiraDeadLetterQueue",
        "BuildQueue",
        "BuildDeadLetterQueue",
    }  # redrive reads it
    assert by_sid["StartWorkflow"]["Resource"] == {"Ref": "TicketWorkflow"}


def test_outputs(template: dict[str, Any]) -> None:
    assert set(template["Outputs"]) >= {
        "TableName",
        "BucketName",
        "ReportsQueueUrl",
        "WorkflowQueueUrl",
        "ReportsDeadLetterQueueUrl",
        "WorkflowDeadLetterQueueUrl",
        "StateMachineArn",
    }


# --- reconciling with the Chalice app -----------------------------------------------------------


def test_overrides_match_the_app(template: dict[str, Any], generated: dict[str, str]) -> None:
    adapted = adapt_to_app(template, generated)
    overrides = {k for k, v in adapted["Resources"].items() if "Type" not in v}
    assert overrides <= set(generated)
    assert find_cycle(adapted) == []


def test_app_without_routes_drops_api_overrides(template: dict[str, Any], capsys: Any) -> None:
    generated = {
        "OnReportUploaded": "function",
        "OnReportUploadedRole": "role",
        "OnReportUploadedSqsEventSource": "event",
        "OnWorkflowTask": "function",
        "OnWorkflowTaskRole": "role",
        "OnWorkflowTaskSqsEventSource": "event",
    }
    adapted = adapt_to_app(template, generated)
    assert "APIHandler" not in adapted["Resources"]
    assert "ApiHandlerRole" not in adapted["Resources"]
    env = adapted["Resources"]["OnWorkflowTask"]["Properties"]["Environment"]["Variables"]
    assert env[settings.PUBLIC_URL] == {"Ref": "PublicUrl"}
    assert "dropping" in capsys.readouterr().err


def test_renamed_handler_is_an_error(template: dict[str, Any]) -> None:
    generated = {
        "OnReportUploaded": "function",
        "OnReportUploadedRole": "role",
        "OnReportUploadedSqsEventSource": "event",
        "OnWorkflowTask": "function",
        "OnWorkflowTaskRole": "role",
        "OnWorkflowTaskQueueSqsEventSource": "event",
        "APIHandler": "function",
        "ApiHandlerRole": "role",
        "RestAPI": "api",
    }
    with pytest.raises(ValueError, match="OnWorkflowTaskSqsEventSource"):
        adapt_to_app(template, generated)


def test_our_resources_lint_clean_without_the_sam_transform(template: dict[str, Any]) -> None:
    """`make cfn-lint` lints the packaged SAM template; with the SAM Transform present cfn-lint
    skips some rules (e.g. W3037 unknown IAM actions), so lint our own resources plainly too."""
    from cfnlint.api import ManualArgs, lint

    matches = lint(json.dumps(plain_template(template)), config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message}" for m in matches] == []


# --- operations: logs, alarms, gateway responses -------------------------------------------------


def _alarms(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["Properties"] for a in _of_type(resources, "AWS::CloudWatch::Alarm").values()]


def _fires_on_any(alarm: dict[str, Any]) -> bool:
    return (
        alarm["Threshold"] == 0
        and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["TreatMissingData"] == "notBreaching"
    )


def test_the_state_machine_logs_to_its_log_group(resources: dict[str, Any]) -> None:
    [(log_group_id, log_group)] = _of_type(resources, "AWS::Logs::LogGroup").items()
    assert log_group["Properties"]["RetentionInDays"] > 0
    logging = resources["TicketWorkflow"]["Properties"]["LoggingConfiguration"]
    assert logging["Level"] in ("ERROR", "ALL")
    [destination] = logging["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": [log_group_id, "Arn"]
    }
    role = resources["TicketWorkflowRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    granted = {a for s in role["Statement"] for a in s["Action"] if s["Effect"] == "Allow"}
    # what Step Functions needs to deliver logs (its documented list; resource "*" required)
    assert {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    } <= granted


def test_every_dlq_has_a_depth_alarm(resources: dict[str, Any]) -> None:
    dlqs = {
        logical_id
        for logical_id, queue in _of_type(resources, "AWS::SQS::Queue").items()
        if queue["Properties"]["QueueName"].endswith("-dlq")
    }
    assert len(dlqs) == 5  # reports, workflow, Jira, change stream, report builds
    watched = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in _alarms(resources)
        if a["Namespace"] == "AWS/SQS"
        and a["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and _fires_on_any(a)
    }
    assert watched == dlqs


def test_jira_failed_tickets_raise_an_alarm_on_the_metric_the_code_emits(
    resources: dict[str, Any],
) -> None:
    from chalicelib.observability import JIRA_FAILED_METRIC, metrics

    [alarm] = [a for a in _alarms(resources) if a["MetricName"] == JIRA_FAILED_METRIC]
    # Powertools puts every metric in its namespace with a `service` dimension: the alarm must
    # name both, or it watches a metric that never receives data.
    assert alarm["Namespace"] == metrics.namespace
    assert alarm["Dimensions"] == [{"Name": "service", "Value": metrics.service}]
    assert alarm["Statistic"] == "Sum" and _fires_on_any(alarm)


def test_failed_workflow_executions_raise_an_alarm(resources: dict[str, Any]) -> None:
    [alarm] = [a for a in _alarms(resources) if a["Namespace"] == "AWS/States"]
    assert alarm["MetricName"] == "ExecutionsFailed"
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "TicketWorkflow"}}]
    assert _fires_on_any(alarm)


def test_alarms_notify_the_topic_when_one_is_given(resources: dict[str, Any]) -> None:
    for alarm in _alarms(resources):
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }


def test_unknown_routes_and_gateway_errors_use_the_one_error_shape(
    template: dict[str, Any],
) -> None:
    """API Gateway answers an unknown path or method itself (403 Missing Authentication Token);
    the RestAPI's gateway responses put those, and its other own errors, in the contract's shape."""
    responses = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    unknown = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown["StatusCode"] == "404"
    assert json.loads(unknown["ResponseTemplates"]["application/json"]) == {
        "error": {
            "code": "not_found",
            "message": "no route for this method and path",
            "details": [],
        }
    }
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        body = responses[kind]["ResponseTemplates"]["application/json"]
        # $context.error.messageString is a quoted JSON string: the body stays valid JSON
        error = json.loads(body.replace("$context.error.messageString", '"x"'))["error"]
        assert set(error) == {"code", "message", "details"}
    for response in responses.values():
        assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/json'"


def test_the_local_stack_leaves_the_alarms_out(template: dict[str, Any]) -> None:
    from infra.deploy_local import local_template

    local = local_template(template)["Resources"]
    assert not _of_type(local, "AWS::CloudWatch::Alarm")
    assert _of_type(local, "AWS::Logs::LogGroup")


def test_the_local_stack_answers_unknown_routes_as_the_gateway_does(
    template: dict[str, Any],
) -> None:
    from devstack.api_server import UNKNOWN_ROUTE_BODY

    responses = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    body = responses["MISSING_AUTHENTICATION_TOKEN"]["ResponseTemplates"]["application/json"]
    assert json.loads(body) == UNKNOWN_ROUTE_BODY


def test_every_task_the_state_machine_sends_is_a_task_type_the_handlers_know(
    asl: dict[str, Any],
) -> None:
    """The workflow's messages name their kind; the handlers dispatch on the same enum."""
    kinds = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            body = value.get("MessageBody")
            if isinstance(body, dict) and "type" in body:
                kinds.add(body["type"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(asl)
    assert kinds == {
        TaskType.AWAIT_DECISION,
        TaskType.CREATE_DEFECT,
        TaskType.EXPIRE_DRAFT,
        TaskType.AWAIT_FEEDBACK,
    }
    assert kinds <= {t.value for t in TaskType}


def test_a_digest_flush_lease_outlasts_the_function_that_holds_it(
    resources: dict[str, Any],
) -> None:
    """A flush holds its lead's lease while it sends; a second flush may start only once the
    first cannot be running any more (its invocation timed out at the latest)."""
    from chalicelib.services.asking import FLUSH_LEASE_SECONDS

    assert resources["OnWorkflowTask"]["Properties"]["Timeout"] < FLUSH_LEASE_SECONDS
