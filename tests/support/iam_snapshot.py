"""The IAM state of an account as plain data, so tests can compare runs exactly."""

from __future__ import annotations

from typing import Any

from llm_engineering.iam.policies import canonical

ACCOUNT = "123456789012"
"""The account the emulator answers for."""


def _tags(items: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in items}


def snapshot(iam: Any) -> dict[str, Any]:
    """Users, roles and customer-managed policies with everything the scripts set on them."""
    state: dict[str, Any] = {"users": {}, "roles": {}, "policies": {}, "instance_profiles": []}
    for user in iam.list_users()["Users"]:
        name = user["UserName"]
        state["users"][name] = {
            "tags": _tags(iam.list_user_tags(UserName=name)["Tags"]),
            "attached": sorted(
                p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
            ),
            "inline": sorted(iam.list_user_policies(UserName=name)["PolicyNames"]),
            "keys": sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]),
        }
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        full = iam.get_role(RoleName=name)["Role"]
        state["roles"][name] = {
            "arn": full["Arn"],
            "trust": canonical(full["AssumeRolePolicyDocument"]),
            "tags": _tags(iam.list_role_tags(RoleName=name)["Tags"]),
            "inline": {
                policy: canonical(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
                for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
            },
            "attached": sorted(
                p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
            ),
        }
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        arn = policy["Arn"]
        state["policies"][policy["PolicyName"]] = {
            "tags": _tags(iam.list_policy_tags(PolicyArn=arn)["Tags"]),
            "default": policy["DefaultVersionId"],
            "versions": sorted(v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]),
            "document": canonical(
                iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
            ),
        }
    state["instance_profiles"] = sorted(
        p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]
    )
    return state


def is_empty(state: dict[str, Any]) -> bool:
    """No user, role, customer-managed policy or instance profile."""
    return not any(state.values())
