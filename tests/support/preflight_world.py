"""The preflight tests' world: account, deployer, role and model names, and canned AWS answers for what moto
lacks, recorded. A module of its own, so tests import it by name (not through `conftest`, which pytest
resolves per directory)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

ACCOUNT = "123456789012"
DEPLOYER = "sagemaker-deployer"
DEPLOYER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{DEPLOYER}"
ROLE = "SageMakerExecutionRoleLLM"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
MODEL = "Qwen/Qwen2.5-7B-Instruct"
QWEN_7B_PARAMETERS = {"BF16": 7_615_616_512}
G5_QUOTA_CODE = "L-1234ABCD"
SAGEMAKER_CREATES = {"CreateModel", "CreateEndpointConfig", "CreateEndpoint", "CreateInferenceComponent"}


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

    def attach(self, session: Any) -> None:
        """Record and answer on every client of `session` (handlers on a session reach all its clients)."""

        def record(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["recorded_params"] = dict(params)
            self.calls.append(Call(_service(model), model.name, dict(params)))

        def before_call(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            answer = self.answers.get((_service(model), model.name))
            if answer is None:
                return None
            status, parsed = answer(context["recorded_params"])
            parsed = {**parsed, "ResponseMetadata": {"HTTPStatusCode": status}}
            return AWSResponse("https://aws.invalid", status, {}, None), parsed

        session.register("before-parameter-build.*.*", record)
        session.register("before-call.*.*", before_call)


def _service(model: Any) -> str:
    return model.service_model.service_id.hyphenize()
