"""What the user and role code share: the caller's account, ownership tags and customer-managed policies.

Every change returns one line describing it, so the scripts can report exactly what a run did and
"nothing changed" stays honest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llm_engineering import TOOL_NAME
from llm_engineering.aws import Aws, arn_partition, get_or_none
from llm_engineering.errors import UserFacingError
from llm_engineering.iam.policies import PolicyDocument, same_policy, to_json
from llm_engineering.tags import MANAGED_BY, TagShape, is_managed, tool_tags
from llm_engineering.tags import read as read_tags

MAX_POLICY_VERSIONS = 5
"""IAM keeps at most five versions of a customer-managed policy."""


class ForeignResourceError(UserFacingError):
    """An IAM resource with the tool's name exists but was not created by the tool."""


@dataclass(frozen=True)
class Identity:
    """The account and partition the credentials act in: every ARN the tool builds derives from them."""

    account_id: str
    partition: str
    arn: str


def caller_identity(aws: Aws) -> Identity:
    """Who the credentials are (sts:GetCallerIdentity needs no permission)."""
    answer = aws.client("sts").get_caller_identity()
    arn = answer["Arn"]
    return Identity(account_id=answer["Account"], partition=arn_partition(arn), arn=arn)


def check_ownership(kind: str, name: str, tags: TagShape, *, force: bool, action: str) -> bool:
    """Refuse to touch a resource the tool did not create, unless forced; True when it must be tagged now.

    `action` completes the sentence "refusing to ...", e.g. "delete it" or "change it".
    """
    if is_managed(tags):
        return False
    if not force:
        raise ForeignResourceError(
            f"IAM {kind} '{name}' was not created by {TOOL_NAME} (it lacks the {MANAGED_BY} tag): "
            f"refusing to {action}; pass --force to {action} anyway, or choose another name."
        )
    return True


def _version_age(version: Mapping[str, Any]) -> tuple[Any, int]:
    """Creation time, then the number in "vN" (IAM's dates have one-second resolution)."""
    number = version["VersionId"].lstrip("v")
    return version["CreateDate"], int(number) if number.isdigit() else 0


def ensure_customer_policy(
    iam: Any, *, arn: str, name: str, document: PolicyDocument, description: str, force: bool
) -> list[str]:
    """Create the policy, or make its default version equal `document`; the lines say what changed.

    IAM keeps five versions at most: when full, the oldest non-default version goes first.
    """
    policy = _get_policy(iam, arn)
    if policy is None:
        iam.create_policy(PolicyName=name, PolicyDocument=to_json(document), Description=description, Tags=tool_tags())
        return [f"Created policy {name}."]
    changes: list[str] = []
    if check_ownership("policy", name, read_tags(iam, PolicyArn=arn), force=force, action="change it"):
        iam.tag_policy(PolicyArn=arn, Tags=tool_tags())
        changes.append(f"Tagged existing policy {name} as managed by {TOOL_NAME} (--force).")
    current = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    if same_policy(current["Document"], document):
        return changes
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= MAX_POLICY_VERSIONS:
        oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=_version_age)
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
        changes.append(f"Deleted the oldest version {oldest['VersionId']} of policy {name} (IAM keeps five).")
    created = iam.create_policy_version(PolicyArn=arn, PolicyDocument=to_json(document), SetAsDefault=True)
    version = created["PolicyVersion"]["VersionId"]
    changes.append(f"Repaired policy {name}: its document had drifted; {version} is now the default version.")
    return changes


def _get_policy(iam: Any, arn: str) -> dict[str, Any] | None:
    answer = get_or_none(iam.get_policy, PolicyArn=arn)
    return None if answer is None else answer["Policy"]


def check_policy_deletable(iam: Any, *, arn: str, name: str, force: bool) -> None:
    """Refuse early, before anything else changes, when the policy exists and is not the tool's."""
    if _get_policy(iam, arn) is not None:
        check_ownership("policy", name, read_tags(iam, PolicyArn=arn), force=force, action="delete it")


def delete_customer_policy(iam: Any, *, arn: str, name: str, force: bool) -> list[str]:
    """Delete the policy with all its versions, if it exists, is ours and nothing else uses it."""
    policy = _get_policy(iam, arn)
    if policy is None:
        return []
    check_ownership("policy", name, read_tags(iam, PolicyArn=arn), force=force, action="delete it")
    if policy.get("AttachmentCount", 0):
        raise ForeignResourceError(
            f"Policy {name} is still attached to {policy['AttachmentCount']} other user(s), group(s) or role(s): "
            "detach it from them (IAM console, Policies > Entities attached) and run again."
        )
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)
    return [f"Deleted policy {name}."]
