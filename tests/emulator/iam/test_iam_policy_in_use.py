"""The deployer policy against the tool's own calls: every request of a whole workflow, made as the deployer
user against the emulator, is evaluated against the policy document IAM holds for that user.

The emulator does not enforce IAM, so a small evaluator does: actions, resource ARNs and the condition
operators the tool's documents use (StringEquals, StringLike, ArnLike, Null, ForAllValues:StringEquals), with
the request context AWS builds (aws:RequestTag from the request's Tags, aws:ResourceTag from the resource's
tags at the time of the call, sagemaker:InstanceTypes, iam:PassedToService, the autoscaling namespace and
dimension). A scoped-down statement that broke a step would fail here, not on a user's account.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from llm_engineering import aws as aws_module
from llm_engineering.cli import run
from llm_engineering.iam.policies import parse_document
from llm_engineering.model.deploy import create_sagemaker_execution_role, create_sagemaker_role, delete, deploy
from llm_engineering.model.deploy import status as status_script
from llm_engineering.model.deploy import test as test_script

ACCOUNT = "123456789012"
REGION = "us-east-1"
USER = "sagemaker-deployer"
PREFIX = {
    "service-quotas": "servicequotas",
    "sagemaker-runtime": "sagemaker",
    "application-auto-scaling": "application-autoscaling",
    "cloudwatch-logs": "logs",
}
"""botocore's service ids -> IAM's service prefixes, where they differ."""
FREE = {("sts", "GetCallerIdentity")}
"""Calls IAM never checks."""


@dataclass(frozen=True)
class Request:
    """What IAM evaluates for one call: the action, the resources, and the request context."""

    action: str
    resources: tuple[str, ...]
    context: dict[str, list[str]] = field(default_factory=dict)


def _client(service: str, url: str) -> Any:
    """A client of the test's own (not the tool's, so not recorded), on a session of its own."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return session.client(service, endpoint_url=url)


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


class Recorder:
    """Turns every call of the tool's sessions into the IAM requests it needs, with the resource's tags then."""

    def __init__(self, url: str) -> None:
        self.sagemaker = _client("sagemaker", url)
        self.cloudwatch = _client("cloudwatch", url)
        self.requests: list[tuple[str, Request]] = []

    def attach(self, session: Any) -> None:
        session.register("before-parameter-build.*.*", self._record)

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_id.hyphenize()
        if (service, model.name) in FREE:
            return
        call = f"{service}:{model.name}"
        for request in self._requests(service, model.name, dict(params)):
            self.requests.append((call, request))

    def _tags(self, arn: str) -> list[dict[str, str]]:
        try:
            return self.sagemaker.list_tags(ResourceArn=arn)["Tags"]
        except self.sagemaker.exceptions.ClientError:
            return []

    def _alarm_tags(self, arn: str) -> dict[str, list[str]]:
        tags = self.cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"]
        return {f"aws:ResourceTag/{tag['Key']}": [tag["Value"]] for tag in tags}

    def _requests(self, service: str, operation: str, params: dict[str, Any]) -> list[Request]:
        prefix = PREFIX.get(service, service)
        action = f"{prefix}:{operation}"
        if service in ("sagemaker", "sagemaker-runtime"):
            return self._sagemaker(action, operation, params)
        if service == "iam":
            arn = params.get("PolicyArn") or params.get("PolicySourceArn")
            if "RoleName" in params:
                arn = f"arn:aws:iam::{ACCOUNT}:role/{params['RoleName']}"
            return [Request(action, (arn or "*",))]
        if prefix == "logs":
            group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{params.get('logGroupName', '')}"
            stream = params.get("logStreamName")
            return [Request(action, (f"{group}:log-stream:{stream}" if stream else group,))]
        if prefix == "application-autoscaling" and operation.startswith(("Deregister", "Delete", "Register", "Put")):
            context = {
                "application-autoscaling:service-namespace": [params["ServiceNamespace"]],
                "application-autoscaling:scalable-dimension": [params["ScalableDimension"]],
            }
            target = f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/x"
            requests = [Request(action, (target,), context)]
            if params.get("Tags"):  # tagging on register needs TagResource too
                tags = {f"aws:RequestTag/{key}": [value] for key, value in params["Tags"].items()}
                requests.append(Request("application-autoscaling:TagResource", (target,), tags))
            return requests
        if prefix == "scheduler" and "GroupName" in params:  # time limits: the schedules of one group
            group = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule"
            if operation == "ListSchedules":
                return [Request(action, ("*",))]
            return [Request(action, (f"{group}/{params['GroupName']}/{params['Name']}",))]
        if prefix == "scheduler" and operation.endswith("ScheduleGroup"):
            return [Request(action, (f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/{params['Name']}",))]
        if prefix == "cloudwatch" and operation != "DescribeAlarms":
            names = params.get("AlarmNames") or [params.get("AlarmName") or params["ResourceARN"].rsplit(":", 1)[-1]]
            alarms = tuple(f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}" for name in names)
            if operation == "DeleteAlarms":  # IAM decides per alarm, with that alarm's tags
                return [Request(action, (alarm,), self._alarm_tags(alarm)) for alarm in alarms]
            requests = [Request(action, alarms)]
            if params.get("Tags"):
                tags = {f"aws:RequestTag/{tag['Key']}": [tag["Value"]] for tag in params["Tags"]}
                requests.append(Request("cloudwatch:TagResource", alarms, tags))
            return requests
        return [Request(action, ("*",))]

    def _sagemaker(self, action: str, operation: str, params: dict[str, Any]) -> list[Request]:
        if operation.startswith("List") and operation != "ListTags":
            return [Request(action, ("*",))]
        arn = params.get("ResourceArn")
        for key, kind in (
            ("InferenceComponentName", "inference-component"),
            ("EndpointName", "endpoint"),
            ("EndpointConfigName", "endpoint-config"),
            ("ModelName", "model"),
        ):
            if arn is None and key in params and (kind in _kebab(operation) or operation.startswith("Invoke")):
                arn = _arn(kind, params[key])
        assert arn is not None, f"{operation}: no resource found in {params}"
        context: dict[str, list[str]] = {}
        for tag in params.get("Tags", []):
            context[f"aws:RequestTag/{tag['Key']}"] = [tag["Value"]]
        if not operation.startswith("Create"):
            for tag in self._tags(arn):
                context[f"aws:ResourceTag/{tag['Key']}"] = [tag["Value"]]
        types = [
            variant["InstanceType"] for variant in params.get("ProductionVariants", []) if "InstanceType" in variant
        ]
        if types:
            context["sagemaker:InstanceTypes"] = types
        requests = [Request(action, (arn,), context)]
        if operation.startswith("Create") and params.get("Tags"):
            requests.append(Request("sagemaker:AddTags", (arn,), context))  # tagging on create needs AddTags too
        if params.get("ExecutionRoleArn"):
            passed = {"iam:PassedToService": ["sagemaker.amazonaws.com"]}
            requests.append(Request("iam:PassRole", (params["ExecutionRoleArn"],), passed))
        return requests


def _kebab(operation: str) -> str:
    import re

    return "-".join(word.lower() for word in re.findall(r"[A-Z][a-z]*", operation))


# --- The evaluator -----------------------------------------------------------------------------------------


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, list[str]]) -> bool:
    values = context.get(key)
    wanted = _listed(expected)
    if operator == "Null":
        return (values is None) == (wanted == ["true"])
    if operator == "ForAllValues:StringEquals":
        return all(value in wanted for value in values or [])
    if values is None:
        return False
    if operator == "StringEquals":
        return all(value in wanted for value in values)
    if operator in ("StringLike", "ArnLike"):
        return all(any(fnmatch.fnmatchcase(value, pattern) for pattern in wanted) for value in values)
    raise AssertionError(f"the evaluator does not know the condition operator {operator}")


def allowed(document: dict[str, Any], request: Request) -> bool:
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow" or request.action not in _listed(statement["Action"]):
            continue
        patterns = _listed(statement["Resource"])
        if not all(any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns) for arn in request.resources):
            continue
        conditions = statement.get("Condition", {})
        if all(
            _condition_holds(operator, key, expected, request.context)
            for operator, pairs in conditions.items()
            for key, expected in pairs.items()
        ):
            return True
    return False


def test_the_evaluator_refuses_what_the_conditions_exclude():
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sagemaker:DeleteEndpoint",
                "Resource": "arn:aws:sagemaker:*:1:endpoint/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/k": "v"}},
            }
        ]
    }
    ours = Request(
        "sagemaker:DeleteEndpoint", ("arn:aws:sagemaker:us-east-1:1:endpoint/e",), {"aws:ResourceTag/k": ["v"]}
    )
    assert allowed(document, ours)
    assert not allowed(document, Request(ours.action, ours.resources, {}))
    assert not allowed(document, Request(ours.action, ("arn:aws:sagemaker:us-east-1:2:endpoint/e",), ours.context))
    assert not allowed(document, Request("sagemaker:DeleteModel", ours.resources, ours.context))


# --- The workflow, as the deployer ---------------------------------------------------------------------------


def _script(main: Callable[[list[str]], int], *argv: str, code: int = 0) -> None:
    with pytest.raises(SystemExit) as stopped:
        run(lambda: main(list(argv)))
    assert (stopped.value.code or 0) == code, f"{main.__module__} {argv} exited {stopped.value.code}"


@pytest.fixture
def as_deployer(server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The emulator, the execution role and the deployer user made by the tool; then the deployer's own key."""
    for name, value in {**server_env, "WAIT_POLL_INTERVAL": "0.05", "HF_HUB_OFFLINE": "1"}.items():
        monkeypatch.setenv(name, value)
    _script(create_sagemaker_execution_role.main)
    _script(create_sagemaker_role.main)
    iam = _client("iam", server_env["AWS_ENDPOINT_URL"])
    arn = f"arn:aws:iam::{ACCOUNT}:policy/llm-engineering-deployer-{USER}"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = parse_document(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    recorder = Recorder(server_env["AWS_ENDPOINT_URL"])
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_PROFILE", USER)  # from here on the tool runs with the key create_sagemaker_role stored
    monkeypatch.setattr(aws_module, "SESSION_OBSERVERS", [recorder.attach])
    return {"document": document, "recorder": recorder}


@pytest.mark.parametrize("endpoint_type", ["model-based", "inference-component"])
def test_every_call_of_deploy_redeploy_test_status_and_delete_is_allowed(as_deployer, monkeypatch, endpoint_type):
    monkeypatch.setenv("ENDPOINT_TYPE", endpoint_type)
    _script(deploy.main, "--yes")  # with preflight: identity, role, PassRole simulation, quota
    monkeypatch.setenv("HF_MODEL_ID", "Qwen/Qwen2.5-1.5B-Instruct")
    _script(deploy.main, "--yes")  # an update: UpdateEndpoint or UpdateInferenceComponent, AddTags, retiring
    _script(test_script.main, "--prompt", "Hi")
    _script(test_script.main, "--prompt", "Hi", "--no-stream", "--chat")
    _script(status_script.main)
    _script(delete.main)
    recorder: Recorder = as_deployer["recorder"]
    calls = {call for call, _ in recorder.requests}
    assert {
        "sagemaker:CreateModel",
        "sagemaker:DeleteModel",
        "sagemaker-runtime:InvokeEndpointWithResponseStream",
    } <= calls
    denied = [(call, request) for call, request in recorder.requests if not allowed(as_deployer["document"], request)]
    assert denied == [], json.dumps([[call, request.__dict__] for call, request in denied], indent=1)


def test_autoscaling_with_scale_to_zero_its_redeploy_and_delete_are_allowed(as_deployer, monkeypatch):
    monkeypatch.setenv("ENDPOINT_TYPE", "inference-component")
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "0")
    monkeypatch.setenv("AUTOSCALING_MAX_CAPACITY", "1")
    _script(deploy.main, "--yes")
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "1")
    _script(deploy.main, "--yes")  # in place: the step policy and the alarms go
    _script(status_script.main)
    _script(delete.main)
    recorder: Recorder = as_deployer["recorder"]
    actions = {request.action for _, request in recorder.requests}
    assert {
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:TagResource",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:TagResource",
        "cloudwatch:DeleteAlarms",
    } <= actions
    denied = [(call, request) for call, request in recorder.requests if not allowed(as_deployer["document"], request)]
    assert denied == [], json.dumps([[call, request.__dict__] for call, request in denied], indent=1)


def test_a_failed_deploy_its_diagnosis_and_rollback_are_allowed_too(as_deployer, server_env, monkeypatch):
    from llm_engineering.local.server import configure

    configure(server_env["AWS_ENDPOINT_URL"], health_check_failures={"*": "oom"})
    _script(deploy.main, "--yes", "--skip-preflight", code=1)
    recorder: Recorder = as_deployer["recorder"]
    actions = {request.action for _, request in recorder.requests}
    assert {
        "logs:DescribeLogStreams",
        "logs:GetLogEvents",
        "sagemaker:DeleteEndpoint",
        "sagemaker:DeleteModel",
    } <= actions
    denied = [(call, request) for call, request in recorder.requests if not allowed(as_deployer["document"], request)]
    assert denied == [], denied


def test_the_policy_refuses_to_delete_or_invoke_what_is_not_the_tools(as_deployer):
    foreign = _arn("endpoint", "theirs")
    document = as_deployer["document"]
    for action in ("sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:InvokeEndpoint"):
        assert not allowed(document, Request(action, (foreign,), {}))
    assert not allowed(document, Request("sagemaker:DescribeModel", (_arn("model", "theirs"),), {}))
    untagged_create = Request("sagemaker:CreateEndpoint", (foreign,), {})
    assert not allowed(document, untagged_create)
    cpu = {
        "aws:RequestTag/llm-engineering:managed-by": ["llm-engineering"],
        "sagemaker:InstanceTypes": ["ml.m5.24xlarge"],
    }
    assert not allowed(document, Request("sagemaker:CreateEndpointConfig", (_arn("endpoint-config", "x"),), cpu))
    dynamo = {
        "application-autoscaling:service-namespace": ["dynamodb"],
        "application-autoscaling:scalable-dimension": ["dynamodb:table:ReadCapacityUnits"],
    }
    scalable = (f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/x",)
    assert not allowed(document, Request("application-autoscaling:DeregisterScalableTarget", scalable, dynamo))
