"""Names of the IAM resources the tool creates, checked against IAM's rules before any request.

IAM answers a malformed name with a ValidationError only after credentials and region are in place (and
some emulators accept it): checking here turns a typo in `.env` into one line that names the setting.
"""

from __future__ import annotations

import re

from llm_engineering import TOOL_NAME
from llm_engineering.errors import ConfigurationError

# IAM's pattern for user and role names (CreateUser/CreateRole: [\w+=,.@-]+, 1-64 characters, ASCII).
IAM_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")
# A profile name must survive as an INI section header (`[name]`) that boto3 reads back unchanged.
PROFILE_PATTERN = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")

EXECUTION_POLICY_NAME = f"{TOOL_NAME}-execution"
"""Inline policy on the execution role holding its scoped permissions."""
SCHEDULE_GROUP = TOOL_NAME
"""The tool's EventBridge Scheduler group, the only one the time-limit role and the deployer act in (schedules
themselves carry no tags in EventBridge Scheduler; groups do)."""


def _invalid(setting: str, value: str, rule: str) -> ConfigurationError:
    return ConfigurationError(f"{setting}={value!r} is invalid: {rule}. Fix it in .env or the environment.")


def check_user_name(name: str, setting: str = "SAGEMAKER_USER_NAME") -> str:
    """`name` when IAM accepts it as a user name, else a `ConfigurationError` naming `setting`."""
    if not IAM_NAME_PATTERN.match(name):
        raise _invalid(setting, name, "IAM user names are 1-64 letters, digits or + = , . @ _ - characters")
    return name


def check_role_name(name: str, setting: str = "SAGEMAKER_EXECUTION_ROLE_NAME") -> str:
    """`name` when IAM accepts it as a role name, else a `ConfigurationError` naming `setting`."""
    if not IAM_NAME_PATTERN.match(name):
        raise _invalid(setting, name, "IAM role names are 1-64 letters, digits or + = , . @ _ - characters")
    return name


def check_profile_name(name: str, setting: str = "SAGEMAKER_USER_PROFILE") -> str:
    """`name` when it can be written as a credentials-file profile, else a `ConfigurationError`."""
    if not PROFILE_PATTERN.match(name):
        raise _invalid(setting, name, "profile names are 1-64 letters, digits or + = , . @ _ - characters")
    return name


def deployer_policy_name(user_name: str) -> str:
    """The customer-managed policy that holds the deployer user's least-privilege permissions."""
    return f"{TOOL_NAME}-deployer-{user_name}"


def scheduler_role_name(execution_role_name: str) -> str:
    """The role EventBridge Scheduler assumes to delete this tool's endpoints (beside the execution role)."""
    return f"{execution_role_name[: 64 - len('-ttl')]}-ttl"
