"""The one recorder of AWS requests, for every test: each call of the sessions `llm_engineering.aws` opens, in
order, and canned answers for the operations moto lacks (Service Quotas for SageMaker, IAM's
SimulatePrincipalPolicy). Tests get it through the `aws_recorder` fixture (tests/conftest.py).

Botocore's `before-parameter-build` event records each request as the tool built it; its `before-call` event (the
hook Stubber uses) short-circuits just the answered operations, every other call reaching moto or the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from botocore.awsrequest import AWSResponse

G5_QUOTA_CODE = "L-1234ABCD"


class Call(NamedTuple):
    """One request: `call.operation`, or `service, operation, params = call`."""

    service: str
    operation: str
    params: dict[str, Any]


Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


@dataclass
class AwsRecorder:
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    # --- answers for what moto lacks -------------------------------------------------------------------------
    def respond(self, service: str, operation: str, response: dict[str, Any]) -> None:
        self.answers[(service, operation)] = lambda _params: (200, response)

    def refuse(self, service: str, operation: str, code: str, message: str = "", status: int = 400) -> None:
        error = {"Error": {"Code": code, "Message": message}}
        self.answers[(service, operation)] = lambda _params: (status, error)

    def quota(self, value: float, instance_type: str = "ml.g5.2xlarge", code: str = G5_QUOTA_CODE) -> None:
        """The account's endpoint quota for `instance_type`, as ListServiceQuotas reports it."""
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
        """SimulatePrincipalPolicy's decision on iam:PassRole for the role asked about."""
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

    # --- what was asked ----------------------------------------------------------------------------------------
    def made(self, service: str, operation: str) -> list[dict[str, Any]]:
        """The parameters of each `operation` request, in order."""
        return [call.params for call in self.calls if (call.service, call.operation) == (service, operation)]

    def operations(self, service: str = "s3") -> list[str]:
        """The operations asked of `service`, in order."""
        return [call.operation for call in self.calls if call.service == service]

    def writes(self) -> list[tuple[str, dict[str, Any]]]:
        """S3 calls that change something, in order."""
        reads = ("Get", "Head", "List")
        return [
            (call.operation, call.params)
            for call in self.calls
            if call.service == "s3" and not call.operation.startswith(reads)
        ]

    # --- the hooks ---------------------------------------------------------------------------------------------
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
