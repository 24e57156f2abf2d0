"""IAM for the tool, in one import: the deploy side resolves the execution role here, preflight reads the
deployer's exact action list here, and the two role scripts drive the rest.
"""

from __future__ import annotations

from llm_engineering.iam.common import ForeignResourceError, Identity, caller_identity
from llm_engineering.iam.names import check_profile_name, check_role_name, check_user_name
from llm_engineering.iam.policies import (
    DEPLOYER_ACTIONS,
    HANDBOOK_MANAGED_POLICIES,
    canonical,
    deployer_policy_document,
    execution_role_permissions,
    execution_role_trust_policy,
    same_policy,
)
from llm_engineering.iam.role import (
    ExecutionRoleMissingError,
    ExecutionRoleSpec,
    RoleOutcome,
    delete_execution_role,
    ensure_execution_role,
    resolve_execution_role,
    resolve_execution_role_arn,
)
from llm_engineering.iam.user import (
    AccessKeyLimitError,
    DeployerOutcome,
    DeployerSpec,
    delete_deployer,
    deployer_policy_for,
    ensure_deployer,
)

__all__ = [
    "DEPLOYER_ACTIONS",
    "HANDBOOK_MANAGED_POLICIES",
    "AccessKeyLimitError",
    "DeployerOutcome",
    "DeployerSpec",
    "ExecutionRoleMissingError",
    "ExecutionRoleSpec",
    "ForeignResourceError",
    "Identity",
    "RoleOutcome",
    "caller_identity",
    "canonical",
    "check_profile_name",
    "check_role_name",
    "check_user_name",
    "delete_deployer",
    "delete_execution_role",
    "deployer_policy_document",
    "deployer_policy_for",
    "ensure_deployer",
    "ensure_execution_role",
    "execution_role_permissions",
    "execution_role_trust_policy",
    "resolve_execution_role",
    "resolve_execution_role_arn",
    "same_policy",
]
