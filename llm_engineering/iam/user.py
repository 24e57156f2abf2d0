"""The deployer IAM user: its permissions, its access key and their safe storage, and its removal.

By default the user holds one customer-managed policy with exactly the actions the tool calls; the
Handbook's AWS managed policies are an explicit opt-in. The secret of an access key goes straight from
IAM's answer into the credentials store and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from llm_engineering import TOOL_NAME
from llm_engineering.aws import Aws, delete_if_exists, get_or_none, paginate
from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.catalogue.s3 import S3Location
from llm_engineering.errors import AwsRequestError, ConfigurationError
from llm_engineering.iam.common import (
    Identity,
    caller_identity,
    check_ownership,
    check_policy_deletable,
    delete_customer_policy,
    ensure_customer_policy,
)
from llm_engineering.iam.credentials import AccessKey, CredentialsFile, CredentialsStoreError
from llm_engineering.iam.mfa import require_mfa
from llm_engineering.iam.names import (
    check_profile_name,
    check_role_name,
    check_user_name,
    deployer_policy_name,
)
from llm_engineering.iam.network_encryption import deployer_security_statements
from llm_engineering.iam.policies import (
    HANDBOOK_MANAGED_POLICIES,
    PolicyDocument,
    aws_managed_policy_arn,
    deployer_policy_document,
    policy_arn,
    role_arn,
)
from llm_engineering.iam.s3_access import deployer_s3_statements
from llm_engineering.settings import Settings
from llm_engineering.tags import read as read_tags
from llm_engineering.tags import tool_tags

MAX_ACCESS_KEYS = 2
"""IAM lets a user hold two access keys at most."""


class AccessKeyLimitError(AwsRequestError):
    """The user already holds the two access keys IAM allows."""


@dataclass(frozen=True)
class DeployerSpec:
    """What the settings say the deployer must be, validated before any request."""

    user_name: str
    profile: str
    execution_role_name: str
    execution_role_arn: str | None = None
    instance_types: tuple[str, ...] = tuple(GPU_INSTANCES)
    """DEPLOYER_INSTANCE_TYPES, else every GPU type the tool knows: what endpoint configs may run on."""
    gpu_instance_type: str | None = None
    """GPU_INSTANCE_TYPE, to warn when the allow-list would refuse it."""
    s3_roots: tuple[S3Location, ...] = ()
    """Where the deployer stages and reads model weights (MODEL_S3_URI / MODEL_S3_BUCKET); empty: no S3."""
    require_mfa: bool = False
    """REQUIRE_MFA: every create, update and delete needs MFA-authenticated credentials (`iam.mfa`)."""
    reads_vpc: bool = False
    """VPC_SUBNET_IDS set: deploys read the subnets, groups, routes and VPC endpoints (`iam.security_access`)."""
    reads_kms_key: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> DeployerSpec:
        user_name = check_user_name(settings.sagemaker_user_name)
        if settings.sagemaker_user_profile:
            check_profile_name(settings.sagemaker_user_profile)
        return cls(
            user_name=user_name,
            profile=settings.deployer_profile,
            execution_role_name=check_role_name(settings.sagemaker_execution_role_name),
            execution_role_arn=settings.aws_arn_role,
            instance_types=settings.deployer_instance_types or tuple(GPU_INSTANCES),
            gpu_instance_type=settings.gpu_instance_type,
            s3_roots=settings.deployer_stage_roots,
            require_mfa=settings.require_mfa,
            reads_vpc=bool(settings.vpc_subnet_ids),
            reads_kms_key=settings.kms_key_id is not None,
        )

    @property
    def policy_name(self) -> str:
        return deployer_policy_name(self.user_name)


def check_store_is_safe(store: CredentialsFile, active_profile: str | None) -> None:
    """Refuse to write the deployer's key over the profile whose credentials run this very command."""
    if store.dedicated:
        return
    active = active_profile or "default"
    if store.profile == active:
        raise ConfigurationError(
            f"The deployer's key would overwrite profile '{active}', whose credentials you are using now: "
            "set SAGEMAKER_USER_PROFILE to another profile name, or use --key-file."
        )


def deployer_policy_for(spec: DeployerSpec, identity: Identity) -> PolicyDocument:
    """The deployer policy for this account: PassRole names AWS_ARN_ROLE if set, else the role by name."""
    execution_role = spec.execution_role_arn or role_arn(
        identity.partition, identity.account_id, spec.execution_role_name
    )
    document = deployer_policy_document(
        partition=identity.partition,
        account_id=identity.account_id,
        user_name=spec.user_name,
        execution_role_arn=execution_role,
        instance_types=spec.instance_types,
    )
    # --- staged weights: stage, read, list and delete under the staging prefixes only (iam/s3_access.py) ---
    document["Statement"] += deployer_s3_statements(identity.partition, spec.s3_roots)
    document["Statement"] += deployer_security_statements(
        identity.partition, identity.account_id, vpc=spec.reads_vpc, kms_key=spec.reads_kms_key
    )
    return require_mfa(document) if spec.require_mfa else document  # REQUIRE_MFA (iam/mfa.py)


@dataclass
class DeployerOutcome:
    """What a run did: one line per change, warnings, and where the usable key is (if any)."""

    user_arn: str
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    key_id: str | None = None
    """The key the store holds after the run, None when the store holds no key of this user."""


def _get_user(iam: Any, name: str) -> dict[str, Any] | None:
    answer = get_or_none(iam.get_user, UserName=name)
    return None if answer is None else answer["User"]


def _key_ids(iam: Any, user_name: str) -> list[str]:
    return [key["AccessKeyId"] for key in paginate(iam, "list_access_keys", "AccessKeyMetadata", UserName=user_name)]


def _attached_arns(iam: Any, user_name: str) -> list[str]:
    attached = paginate(iam, "list_attached_user_policies", "AttachedPolicies", UserName=user_name)
    return [policy["PolicyArn"] for policy in attached]


def _check_key_limit(spec: DeployerSpec, key_ids: Sequence[str]) -> None:
    if len(key_ids) >= MAX_ACCESS_KEYS:
        raise AccessKeyLimitError(
            f"IAM user '{spec.user_name}' already holds {len(key_ids)} access keys ({', '.join(key_ids)}), the most "
            f"IAM allows, so no new key can be created: delete the one you no longer use (aws iam delete-access-key "
            f"--user-name {spec.user_name} --access-key-id <id>) and run again with --rotate-key."
        )


def ensure_deployer(
    aws: Aws,
    spec: DeployerSpec,
    store: CredentialsFile,
    *,
    managed_policies: bool = False,
    rotate_key: bool = False,
    force: bool = False,
) -> DeployerOutcome:
    """Create or repair the user, its permissions and its stored access key; safe to run again."""
    stored = store.stored_key_id()  # an unreadable store fails here, before anything changes
    iam = aws.client("iam")
    identity = caller_identity(aws)
    user = _get_user(iam, spec.user_name)
    key_ids: list[str] = []
    changes: list[str] = []
    if user is None:
        user = iam.create_user(UserName=spec.user_name, Tags=tool_tags())["User"]
        changes.append(f"Created IAM user {spec.user_name}.")
    else:
        tags = read_tags(iam, UserName=spec.user_name)
        must_tag = check_ownership("user", spec.user_name, tags, force=force, action="change it")
        key_ids = _key_ids(iam, spec.user_name)
        if rotate_key:
            _check_key_limit(spec, key_ids)  # before any change, so a refused run changes nothing
        if must_tag:
            iam.tag_user(UserName=spec.user_name, Tags=tool_tags())
            changes.append(f"Tagged existing user {spec.user_name} as managed by {TOOL_NAME} (--force).")
    outcome = DeployerOutcome(user_arn=user["Arn"], changes=changes)
    if spec.gpu_instance_type and spec.gpu_instance_type not in spec.instance_types and not managed_policies:
        outcome.warnings.append(
            f"GPU_INSTANCE_TYPE={spec.gpu_instance_type} is not among DEPLOYER_INSTANCE_TYPES: the deployer may not "
            "create endpoints on it; add it to DEPLOYER_INSTANCE_TYPES and run make create-sagemaker-role again."
        )
    if managed_policies:
        outcome.changes += _use_managed_policies(iam, spec, identity, force=force)
    else:
        outcome.changes += _use_least_privilege(iam, spec, identity, force=force)
    _ensure_key(iam, spec, store, stored, key_ids, rotate_key=rotate_key, outcome=outcome)
    return outcome


def _use_least_privilege(iam: Any, spec: DeployerSpec, identity: Identity, *, force: bool) -> list[str]:
    """Attach the tool's own policy (current document) and drop the Handbook's broad ones if present."""
    arn = policy_arn(identity.partition, identity.account_id, spec.policy_name)
    changes = ensure_customer_policy(
        iam,
        arn=arn,
        name=spec.policy_name,
        document=deployer_policy_for(spec, identity),
        description=f"Least privilege for {TOOL_NAME}'s deployer user {spec.user_name}: SageMaker hosting only.",
        force=force,
    )
    attached = _attached_arns(iam, spec.user_name)
    if arn not in attached:
        iam.attach_user_policy(UserName=spec.user_name, PolicyArn=arn)
        changes.append(f"Attached policy {spec.policy_name} to user {spec.user_name}.")
    for name in HANDBOOK_MANAGED_POLICIES:
        managed = aws_managed_policy_arn(identity.partition, name)
        if managed in attached:
            iam.detach_user_policy(UserName=spec.user_name, PolicyArn=managed)
            changes.append(f"Detached AWS managed policy {name} from user {spec.user_name} (least privilege).")
    return changes


def _use_managed_policies(iam: Any, spec: DeployerSpec, identity: Identity, *, force: bool) -> list[str]:
    """Attach the Handbook's AWS managed policies and drop the tool's own policy if present."""
    attached = _attached_arns(iam, spec.user_name)
    changes: list[str] = []
    for name in HANDBOOK_MANAGED_POLICIES:
        managed = aws_managed_policy_arn(identity.partition, name)
        if managed not in attached:
            iam.attach_user_policy(UserName=spec.user_name, PolicyArn=managed)
            changes.append(f"Attached AWS managed policy {name} to user {spec.user_name}.")
    own = policy_arn(identity.partition, identity.account_id, spec.policy_name)
    if own in attached:
        iam.detach_user_policy(UserName=spec.user_name, PolicyArn=own)
        changes.append(f"Detached policy {spec.policy_name} from user {spec.user_name}.")
    changes += delete_customer_policy(iam, arn=own, name=spec.policy_name, force=force)
    return changes


def _create_and_store_key(iam: Any, spec: DeployerSpec, store: CredentialsFile) -> str:
    """A new access key, written to the store; if the store fails, the key is deleted again (no orphan)."""
    answer = iam.create_access_key(UserName=spec.user_name)["AccessKey"]
    key = AccessKey(key_id=answer["AccessKeyId"], secret=SecretStr(answer.pop("SecretAccessKey")))
    try:
        store.save(key)
    except BaseException as error:  # Ctrl-C included: a key nobody holds must not outlive the run
        iam.delete_access_key(UserName=spec.user_name, AccessKeyId=key.key_id)
        if isinstance(error, CredentialsStoreError):
            raise CredentialsStoreError(f"{error} (the new access key {key.key_id} was deleted again)") from None
        raise
    return key.key_id


def _ensure_key(
    iam: Any,
    spec: DeployerSpec,
    store: CredentialsFile,
    stored: str | None,
    key_ids: list[str],
    *,
    rotate_key: bool,
    outcome: DeployerOutcome,
) -> None:
    """One usable key in the store: keep the stored one, create the first, or rotate on request."""
    if rotate_key:
        _check_key_limit(spec, key_ids)
        new_key = _create_and_store_key(iam, spec, store)
        outcome.changes.append(f"Created access key {new_key} and stored it in {store.describe()} (mode 0600).")
        for old in key_ids:
            iam.delete_access_key(UserName=spec.user_name, AccessKeyId=old)
            outcome.changes.append(f"Deleted the previous access key {old}.")
        outcome.key_id = new_key
    elif stored is not None and stored in key_ids:
        outcome.key_id = stored
    elif not key_ids:
        new_key = _create_and_store_key(iam, spec, store)
        outcome.changes.append(f"Created access key {new_key} and stored it in {store.describe()} (mode 0600).")
        outcome.key_id = new_key
    else:
        outcome.warnings.append(
            f"IAM user {spec.user_name} already has access key {', '.join(key_ids)}, but {store.describe()} "
            "does not hold it: run again with --rotate-key to create and store a new key (the old one is then "
            "deleted), or pass the --key-file that holds it."
        )


def delete_deployer(
    aws: Aws, spec: DeployerSpec, stores: Sequence[CredentialsFile], *, force: bool = False
) -> list[str]:
    """Delete the user with its keys, policies and stored key; an empty list means there was nothing."""
    iam = aws.client("iam")
    identity = caller_identity(aws)
    own_policy = policy_arn(identity.partition, identity.account_id, spec.policy_name)
    if _get_user(iam, spec.user_name) is None:
        # A run interrupted after the user went may have left the policy behind: finish the job.
        return delete_customer_policy(iam, arn=own_policy, name=spec.policy_name, force=force)
    check_ownership("user", spec.user_name, read_tags(iam, UserName=spec.user_name), force=force, action="delete it")
    check_policy_deletable(iam, arn=own_policy, name=spec.policy_name, force=force)
    changes: list[str] = []
    key_ids = _key_ids(iam, spec.user_name)
    for store in stores:  # first the stored copies, so an interrupted run never leaves a dangling profile
        if store.remove(key_ids):
            what = f"key file {store.path}" if store.dedicated else store.describe()
            changes.append(f"Removed the stored access key from {what}.")
    for key_id in key_ids:
        iam.delete_access_key(UserName=spec.user_name, AccessKeyId=key_id)
        changes.append(f"Deleted access key {key_id}.")
    for arn in _attached_arns(iam, spec.user_name):
        iam.detach_user_policy(UserName=spec.user_name, PolicyArn=arn)
        changes.append(f"Detached policy {arn.rsplit('/', 1)[-1]} from user {spec.user_name}.")
    for name in list(paginate(iam, "list_user_policies", "PolicyNames", UserName=spec.user_name)):
        iam.delete_user_policy(UserName=spec.user_name, PolicyName=name)
        changes.append(f"Deleted inline policy {name} of user {spec.user_name}.")
    for group in list(paginate(iam, "list_groups_for_user", "Groups", UserName=spec.user_name)):
        iam.remove_user_from_group(UserName=spec.user_name, GroupName=group["GroupName"])
        changes.append(f"Removed user {spec.user_name} from group {group['GroupName']}.")
    if delete_if_exists(iam.delete_login_profile, UserName=spec.user_name):
        changes.append(f"Deleted the console password of user {spec.user_name}.")
    changes += delete_customer_policy(iam, arn=own_policy, name=spec.policy_name, force=force)
    iam.delete_user(UserName=spec.user_name)
    changes.append(f"Deleted IAM user {spec.user_name}.")
    return changes
