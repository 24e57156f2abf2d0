"""An invoke-only policy for one endpoint: what an application attaches to call it, and nothing else.

SageMaker endpoints accept only SigV4-signed calls from principals allowed `sagemaker:InvokeEndpoint`; this
customer-managed policy allows that (and the streaming variant) on one endpoint and, for an endpoint of
inference components, on its component. Created, repaired and deleted with the helpers every customer policy
of the tool shares (`iam.common`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_engineering import TOOL_NAME
from llm_engineering.aws import Aws, get_or_none
from llm_engineering.iam.common import caller_identity, delete_customer_policy, ensure_customer_policy
from llm_engineering.iam.policies import POLICY_LANGUAGE_VERSION, PolicyDocument, policy_arn
from llm_engineering.names import check_sagemaker_name

INVOKE_ACTIONS: tuple[str, ...] = ("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream")


def invoke_policy_name(endpoint_name: str) -> str:
    """The policy's name: one per endpoint (SageMaker names fit IAM's 128-character policy names)."""
    return f"{TOOL_NAME}-invoke-{endpoint_name}"


@dataclass(frozen=True)
class InvokePolicySpec:
    """The endpoint to invoke, and its inference component when it hosts one."""

    endpoint_name: str
    component_name: str | None = None

    @classmethod
    def of(cls, endpoint_name: str, component_name: str | None = None) -> InvokePolicySpec:
        return cls(
            check_sagemaker_name(endpoint_name, "ENDPOINT_NAME"),
            check_sagemaker_name(component_name, "SAGEMAKER_INFERENCE_COMPONENT_NAME") if component_name else None,
        )

    @property
    def name(self) -> str:
        return invoke_policy_name(self.endpoint_name)


def invoke_policy_document(spec: InvokePolicySpec, *, partition: str, region: str, account_id: str) -> PolicyDocument:
    """Invoke (plain and streaming) on this endpoint and its component only. SageMaker ARNs hold names in
    lower case, so the resources are written that way."""
    base = f"arn:{partition}:sagemaker:{region}:{account_id}"
    resources = [f"{base}:endpoint/{spec.endpoint_name.lower()}"]
    if spec.component_name:
        resources.append(f"{base}:inference-component/{spec.component_name.lower()}")
    statement = {"Sid": "InvokeOneEndpoint", "Effect": "Allow", "Action": list(INVOKE_ACTIONS), "Resource": resources}
    return {"Version": POLICY_LANGUAGE_VERSION, "Statement": [statement]}


@dataclass(frozen=True)
class InvokePolicyOutcome:
    arn: str
    changes: list[str]


def ensure_invoke_policy(aws: Aws, spec: InvokePolicySpec, *, force: bool = False) -> InvokePolicyOutcome:
    """Create the policy, or bring its document back to exactly this endpoint's invoke permissions."""
    identity = caller_identity(aws)
    arn = policy_arn(identity.partition, identity.account_id, spec.name)
    document = invoke_policy_document(
        spec, partition=identity.partition, region=aws.region, account_id=identity.account_id
    )
    description = f"Invoke SageMaker endpoint {spec.endpoint_name} in {aws.region} only ({TOOL_NAME})."
    changes = ensure_customer_policy(
        aws.client("iam"), arn=arn, name=spec.name, document=document, description=description, force=force
    )
    return InvokePolicyOutcome(arn, changes)


def attachments(aws: Aws, endpoint_name: str) -> tuple[str | None, list[str]]:
    """The endpoint's invoke policy ARN (None when there is none) and who it is attached to (`role/x`, ...)."""
    identity = caller_identity(aws)
    iam = aws.client("iam")
    arn = policy_arn(identity.partition, identity.account_id, invoke_policy_name(endpoint_name))
    if get_or_none(iam.get_policy, PolicyArn=arn) is None:
        return None, []
    answer: dict[str, Any] = iam.list_entities_for_policy(PolicyArn=arn)
    return arn, [
        *(f"role/{item['RoleName']}" for item in answer.get("PolicyRoles", [])),
        *(f"user/{item['UserName']}" for item in answer.get("PolicyUsers", [])),
        *(f"group/{item['GroupName']}" for item in answer.get("PolicyGroups", [])),
    ]


def delete_invoke_policy(aws: Aws, endpoint_name: str, *, detach: bool = False, force: bool = False) -> list[str]:
    """Delete the endpoint's invoke policy (detaching it first when `detach`); empty: there was none."""
    arn, attached = attachments(aws, endpoint_name)
    if arn is None:
        return []
    iam = aws.client("iam")
    changes = []
    if detach:
        for entity in attached:
            kind, _, name = entity.partition("/")
            detach_call = {"role": iam.detach_role_policy, "user": iam.detach_user_policy}.get(kind)
            if detach_call is None:
                iam.detach_group_policy(GroupName=name, PolicyArn=arn)
            else:
                detach_call(**{f"{kind.capitalize()}Name": name, "PolicyArn": arn})
            changes.append(f"Detached policy {invoke_policy_name(endpoint_name)} from {entity}.")
    return changes + delete_customer_policy(iam, arn=arn, name=invoke_policy_name(endpoint_name), force=force)
