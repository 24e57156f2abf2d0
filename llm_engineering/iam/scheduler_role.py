"""The role EventBridge Scheduler assumes to carry out time limits (ENDPOINT_TTL): delete, and nothing else.

Created and repaired beside the execution role (`make create-sagemaker-execution-role`), deleted with it. Its
trust admits only `scheduler.amazonaws.com` acting for this account (`aws:SourceAccount`, the confused-deputy
guard); its one inline policy allows only DeleteEndpoint and DeleteInferenceComponent, and only on resources
carrying this tool's managed-by tag, so a schedule can never delete anything the tool did not create.
"""

from __future__ import annotations

from typing import Any

from llm_engineering import TOOL_NAME
from llm_engineering.aws import Aws, get_or_none, paginate
from llm_engineering.iam.common import caller_identity, check_ownership
from llm_engineering.iam.names import scheduler_role_name
from llm_engineering.iam.policies import PolicyDocument, same_policy, to_json
from llm_engineering.tags import MANAGED_BY, tool_tags
from llm_engineering.tags import read as read_tags

SCHEDULER_SERVICE = "scheduler.amazonaws.com"
POLICY_NAME = "DeleteExpiredEndpoints"
DELETE_ACTIONS = ("sagemaker:DeleteEndpoint", "sagemaker:DeleteInferenceComponent")
DESCRIPTION = f"Assumed by EventBridge Scheduler to delete endpoints of {TOOL_NAME} when their time limit is up."


def scheduler_trust_policy(account_id: str) -> PolicyDocument:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SCHEDULER_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def scheduler_permissions(partition: str, account_id: str) -> PolicyDocument:
    resources = [
        f"arn:{partition}:sagemaker:*:{account_id}:endpoint/*",
        f"arn:{partition}:sagemaker:*:{account_id}:inference-component/*",
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DeleteThisToolsEndpoints",
                "Effect": "Allow",
                "Action": list(DELETE_ACTIONS),
                "Resource": resources,
                "Condition": {"StringEquals": {f"aws:ResourceTag/{MANAGED_BY}": TOOL_NAME}},
            }
        ],
    }


def ensure_scheduler_role(aws: Aws, execution_role_name: str, *, force: bool = False) -> list[str]:
    """Create the role, or make its trust and its one inline policy exactly what they should be."""
    iam = aws.client("iam")
    identity = caller_identity(aws)
    name = scheduler_role_name(execution_role_name)
    trust = scheduler_trust_policy(identity.account_id)
    permissions = scheduler_permissions(identity.partition, identity.account_id)
    found = get_or_none(iam.get_role, RoleName=name)
    if found is None:
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=to_json(trust), Description=DESCRIPTION, Tags=tool_tags()
        )
        iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=to_json(permissions))
        return [
            f"Created IAM role {name} for time limits (ENDPOINT_TTL): {SCHEDULER_SERVICE} may only delete this "
            "tool's endpoints and inference components."
        ]
    changes: list[str] = []
    if check_ownership("role", name, read_tags(iam, RoleName=name), force=force, action="change it"):
        iam.tag_role(RoleName=name, Tags=tool_tags())
        changes.append(f"Tagged existing role {name} as managed by {TOOL_NAME} (--force).")
    if not same_policy(found["Role"]["AssumeRolePolicyDocument"], trust):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=to_json(trust))
        changes.append(f"Repaired the trust policy of role {name}: only {SCHEDULER_SERVICE} for this account.")
    current = get_or_none(iam.get_role_policy, RoleName=name, PolicyName=POLICY_NAME)
    if current is None or not same_policy(current["PolicyDocument"], permissions):
        iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=to_json(permissions))
        changes.append(f"Repaired inline policy {POLICY_NAME} of role {name}.")
    for other in list(paginate(iam, "list_role_policies", "PolicyNames", RoleName=name)):
        if other != POLICY_NAME:
            iam.delete_role_policy(RoleName=name, PolicyName=other)
            changes.append(f"Removed inline policy {other} from role {name} (not the tool's).")
    return changes


def delete_scheduler_role(aws: Aws, execution_role_name: str, *, force: bool = False) -> list[str]:
    """Delete the role with its policies; nothing when there is none."""
    iam: Any = aws.client("iam")
    name = scheduler_role_name(execution_role_name)
    if get_or_none(iam.get_role, RoleName=name) is None:
        return []
    check_ownership("role", name, read_tags(iam, RoleName=name), force=force, action="delete it")
    changes = []
    for policy in list(paginate(iam, "list_role_policies", "PolicyNames", RoleName=name)):
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    for attached in list(paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)):
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=name)
    changes.append(f"Deleted IAM role {name} (time limits).")
    return changes
