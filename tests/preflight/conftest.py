"""Fixtures for preflight: in-process moto, answers for the calls moto lacks, a deployer, a role, a fake Hub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import huggingface_hub.constants
import pytest
from botocore.awsrequest import AWSResponse
from fake_hub import QWEN_7B_CONFIG, FakeHub, FakeModel
from moto import mock_aws

from llm_engineering.aws import Aws
from llm_engineering.hosting.instances import hosting_instance_types
from llm_engineering.iam import ExecutionRoleSpec, ensure_execution_role

ACCOUNT = "123456789012"
DEPLOYER = "sagemaker-deployer"
DEPLOYER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{DEPLOYER}"
ROLE = "SageMakerExecutionRoleLLM"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
MODEL = "Qwen/Qwen2.5-7B-Instruct"
QWEN_7B_PARAMETERS = {"BF16": 7_615_616_512}
G5_QUOTA_CODE = "L-1234ABCD"
SAGEMAKER_CREATES = {"CreateModel", "CreateEndpointConfig", "CreateEndpoint", "CreateInferenceComponent"}


def _validate_against_botocore(_self: object, instance_type: str) -> None:
    if instance_type not in hosting_instance_types():
        raise ValueError(f"{instance_type} is not a ProductionVariantInstanceType")


@pytest.fixture
def moto_aws(offline_env) -> Iterator[None]:
    """In-process moto for every AWS call; endpoint configs accept what botocore accepts (ml.g5 included)."""
    with (
        mock_aws(),
        mock.patch("moto.sagemaker.models.FakeEndpointConfig.validate_instance_type", _validate_against_botocore),
    ):
        yield


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class AwsAnswers:
    """Canned answers for the operations moto lacks, on every client `llm_engineering.aws` builds.

    Botocore's `before-call` event (the hook Stubber uses) short-circuits just those operations; every other
    call reaches moto. All calls are recorded, so tests can assert the exact requests and that no Create*
    call was made.
    """

    answers: dict[tuple[str, str], Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def respond(self, service: str, operation: str, response: dict[str, Any]) -> None:
        self.answers[(service, operation)] = lambda _params: (200, response)

    def refuse(self, service: str, operation: str, code: str, message: str = "", status: int = 400) -> None:
        error = {"Error": {"Code": code, "Message": message}}
        self.answers[(service, operation)] = lambda _params: (status, error)

    def quota(self, value: float, instance_type: str = "ml.g5.2xlarge", code: str = G5_QUOTA_CODE) -> None:
        quotas = [
            {
                "ServiceCode": "sagemaker",
                "QuotaCode": code,
                "QuotaName": f"{instance_type} for endpoint usage",
                "Value": value,
                "Unit": "None",
                "Adjustable": True,
            }
        ]
        self.respond("service-quotas", "ListServiceQuotas", {"Quotas": quotas})

    def pass_role(self, decision: str) -> None:
        self.answers[("iam", "SimulatePrincipalPolicy")] = lambda params: (
            200,
            {
                "EvaluationResults": [
                    {
                        "EvalActionName": "iam:PassRole",
                        "EvalResourceName": params["ResourceArns"][0],
                        "EvalDecision": decision,
                    }
                ]
            },
        )

    def made(self, service: str, operation: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if (call.service, call.operation) == (service, operation)]

    def operations(self, service: str) -> set[str]:
        return {call.operation for call in self.calls if call.service == service}

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()

        def record(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["recorded_params"] = dict(params)
            self.calls.append(Call(service, model.name, dict(params)))

        def before_call(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            answer = self.answers.get((service, model.name))
            if answer is None:
                return None
            status, parsed = answer(context["recorded_params"])
            parsed = {**parsed, "ResponseMetadata": {"HTTPStatusCode": status}}
            return AWSResponse("https://aws.invalid", status, {}, None), parsed

        client.meta.events.register("before-parameter-build.*.*", record)
        client.meta.events.register("before-call.*.*", before_call)


@pytest.fixture
def answers(moto_aws, monkeypatch) -> AwsAnswers:
    """Answers for Service Quotas and SimulatePrincipalPolicy (moto has neither for SageMaker/IAM), recorded."""
    recorded = AwsAnswers()
    original = Aws.client

    def client(self: Aws, service: str, *, read_timeout: float | None = None) -> Any:
        created = (service, read_timeout) not in self._clients
        built = original(self, service, read_timeout=read_timeout)
        if created:
            recorded.attach(built)
        return built

    monkeypatch.setattr(Aws, "client", client)
    return recorded


@pytest.fixture
def deployer(moto_aws, monkeypatch) -> str:
    """Act as an IAM user (moto then answers GetCallerIdentity with its ARN, as AWS does)."""
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName=DEPLOYER)
    key = iam.create_access_key(UserName=DEPLOYER)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return DEPLOYER_ARN


@pytest.fixture
def execution_role(moto_aws) -> str:
    """The execution role exactly as make create-sagemaker-execution-role makes it."""
    from llm_engineering.aws import connect

    return ensure_execution_role(connect("us-east-1"), ExecutionRoleSpec(name=ROLE)).arn


@pytest.fixture(autouse=True)
def no_real_hub(monkeypatch) -> None:
    """Whatever a test does, huggingface_hub's default endpoint is a closed local port, never huggingface.co."""
    dead = "http://127.0.0.1:9"
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", dead)
    monkeypatch.setattr(
        huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", dead + "/{repo_id}/resolve/{revision}/{filename}"
    )


@pytest.fixture
def fake_hub(monkeypatch) -> Iterator[FakeHub]:
    """A Hub on 127.0.0.1 that huggingface_hub uses by default (as HF_ENDPOINT would make it), online."""
    hub = FakeHub().start()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(
        huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def scenario(answers, deployer, execution_role, fake_hub) -> AwsAnswers:
    """Everything fine: quota 2 for ml.g5.2xlarge, PassRole allowed, the default model public and readable."""
    answers.quota(2)
    answers.pass_role("allowed")
    fake_hub.add(FakeModel(MODEL, parameters=dict(QWEN_7B_PARAMETERS), config=dict(QWEN_7B_CONFIG)))
    return answers
