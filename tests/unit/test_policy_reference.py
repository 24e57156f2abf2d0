"""Every IAM document the tool writes, checked against AWS's Service Authorization Reference (policy_sentry's
copy of it): the actions exist, the condition keys are ones AWS lists for every action of their statement, and
each Resource is an ARN of a resource type its statement's actions apply to.

The three rules, per statement:

1. actions: each action is one the reference lists (case-insensitive, as IAM reads them); a wildcard such as
   `ecr:BatchGet*` must match at least one, and stands for all it matches;
2. conditions: each condition key is listed for every action of the statement, in the action's row or in the
   row of one of its resource types (templates such as `aws:ResourceTag/${TagKey}` match any tag key). AWS's
   global keys (`aws:SourceArn`, `aws:MultiFactorAuthPresent`, ...) apply to every action and are only checked to
   be global keys; `aws:RequestTag/...`, `aws:ResourceTag/...` and `aws:TagKeys` are not global: the reference
   lists them per action, and they are checked like service keys;
3. resources: each Resource other than `*` names a resource type of at least one action of the statement; each
   action gets a Resource of each resource type the reference marks required (or of one of its types when none
   is required); an action that takes no resource type gets `*`.

What a Resource names: its wildcards stand for one plain name (`model/*` names `model/x`), and that ARN is of the
most specific resource type of the service whose ARN format it fits (`bucket/models/*` is an object, not a
bucket, though a bucket name written as `${BucketName}` would fit it too).

Trust policies (AssumeRolePolicyDocument) name a Principal and no Resource: rules 1 and 2 only.

The documents are built by the tool's own builders from the settings, for every combination of the options
that change them (REQUIRE_MFA, DEPLOYER_INSTANCE_TYPES, MODEL_S3_BUCKET / MODEL_S3_URI, VPC_SUBNET_IDS,
KMS_KEY_ID, AWS_ARN_ROLE, IMAGE_URI, EXECUTION_ROLE_S3_BUCKETS) in each partition. Where policy_sentry's data
lacks something AWS honours, `REFERENCE_GAPS` names it, action by action, with why; nothing else is set aside.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from policy_sentry.analysis.expand import expand
from policy_sentry.shared.iam_data import get_service_prefix_data

from llm_engineering.catalogue.images import image_repository_arns
from llm_engineering.iam.common import Identity
from llm_engineering.iam.invoke_policy import InvokePolicySpec, invoke_policy_document
from llm_engineering.iam.network_encryption import kms_statements, vpc_statements
from llm_engineering.iam.policies import execution_role_permissions, execution_role_trust_policy
from llm_engineering.iam.role import ExecutionRoleSpec
from llm_engineering.iam.scheduler_role import scheduler_permissions, scheduler_trust_policy
from llm_engineering.iam.user import DeployerSpec, deployer_policy_for
from llm_engineering.settings import Settings, load_settings

# --- The reference, read once per module ------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$\{[^}]+\}|<[^>]+>")
"""`${TagKey}`, `${EncryptionContextKey}`, `<key>`: the reference's placeholders in condition keys."""

GLOBAL_CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        # IAM User Guide, "AWS global condition context keys"
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalOrgID",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:userid",
        "aws:username",
        "aws:AssumedRoot",
        "aws:FederatedProvider",
        "aws:TokenIssueTime",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:Ec2InstanceSourceVpc",
        "aws:Ec2InstanceSourcePrivateIPv4",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:SourceVpcArn",
        "aws:SourceVpce",
        "aws:VpcSourceIp",
        "aws:VpceAccount",
        "aws:VpceOrgID",
        "aws:VpceOrgPaths",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:ViaAWSService",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:referer",
        "aws:RequestedRegion",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:UserAgent",
    )
)
GLOBAL_CONDITION_PREFIXES = ("aws:principaltag/",)
"""Global keys with a tag key in their name."""
PER_ACTION_AWS_KEYS = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")
"""`aws:` keys that are not global: the reference lists them per action and resource type."""


def _key_pattern(reference_key: str) -> re.Pattern[str]:
    """A condition key as the reference writes it, as a pattern over the keys a policy may write."""
    parts = _PLACEHOLDER.split(reference_key)
    return re.compile(".+".join(re.escape(part) for part in parts), re.IGNORECASE)


def _arn_pattern(arn_format: str) -> re.Pattern[str]:
    """An ARN format (`arn:${Partition}:sagemaker:${Region}:${Account}:endpoint/${EndpointName}`) as a pattern:
    the partition, region and account are one field each; names in the resource part may hold `/` and `:`."""
    fields = arn_format.split(":", 5)
    head = [re.escape(field) if "${" not in field else "[^:]+" for field in fields[:5]]
    tail = [re.escape(part) for part in re.split(r"\$\{[^}]+\}", fields[5])] if len(fields) > 5 else []
    return re.compile(":".join([*head, ".+".join(tail)]) if tail else ":".join(head))


@dataclass(frozen=True)
class ResourceType:
    name: str
    pattern: re.Pattern[str]
    literal_length: int
    """How much of the format is fixed text: among formats an ARN fits, the longest names its type."""


@dataclass(frozen=True)
class Service:
    prefix: str
    actions: Mapping[str, str]
    """lower-case action name -> the action as the reference spells it."""
    resource_types: Mapping[str, ResourceType]


@dataclass(frozen=True)
class Action:
    name: str
    service: Service
    resource_types: Mapping[str, bool]
    """Resource type -> whether the reference marks it required (`endpoint*`); empty: only `*`."""
    condition_keys: tuple[re.Pattern[str], ...]


@functools.cache
def service(prefix: str) -> Service | None:
    data = get_service_prefix_data(prefix.lower())
    if not data:
        return None
    resource_types = {
        name: ResourceType(name, _arn_pattern(row["arn"]), len(_PLACEHOLDER.sub("", row["arn"])))
        for name, row in data["resources"].items()
    }
    return Service(data["prefix"], dict(data["privileges_lower_name"]), resource_types)


REFERENCE_GAPS: dict[str, dict[str, str]] = {}
"""What policy_sentry's copy of the reference leaves out of an action though AWS honours it: action (as the
reference spells it) -> {condition key, or resource type (no `:` in it) -> why, with AWS's page that says so}.
Added to the action's row before any rule reads it, and checked to be still missing (`test_the_gaps_are_real`).
Empty: every document the tool writes fits the reference as it stands."""


def _row(service_data: Mapping[str, Any], name: str) -> tuple[dict[str, bool], list[str]]:
    """An action's resource types (-> required) and condition keys, from its row and its resource types' rows."""
    keys: list[str] = []
    types: dict[str, bool] = {}
    for type_name, entry in service_data["privileges"][name]["resource_types"].items():
        keys += entry["condition_keys"]
        if type_name:
            types[type_name] = entry["required"]
            keys += service_data["resources"][type_name]["condition_keys"]
    return types, keys


@functools.cache
def action(name: str) -> Action | None:
    """The reference's row of one action (no wildcard), None when the reference lists no such action."""
    prefix, _, short = name.partition(":")
    found = service(prefix)
    if found is None or short.lower() not in found.actions:
        return None
    spelled = found.actions[short.lower()]
    canonical = f"{found.prefix}:{spelled}"
    types, keys = _row(get_service_prefix_data(found.prefix), spelled)
    for missing in REFERENCE_GAPS.get(canonical, {}):
        if ":" in missing:
            keys.append(missing)
        else:
            types.setdefault(missing, False)
    return Action(canonical, found, types, tuple(_key_pattern(key) for key in dict.fromkeys(keys)))


@functools.cache
def expand_action(written: str) -> tuple[Action, ...]:
    """The actions a policy's Action entry stands for (a `*` wildcard: all it matches, as policy_sentry expands
    it); empty when none exists. The tool writes no `?` wildcard: one would be reported as no action."""
    names = [name for name in expand(written) if "*" not in name]  # expand gives back a pattern matching nothing
    return tuple(found for name in names if (found := action(name)) is not None)


@functools.cache
def named_types(arn: str, prefix: str) -> frozenset[str]:
    """The resource types of service `prefix` a policy Resource names (its wildcards read as one plain name)."""
    witness = arn.replace("*", "x").replace("?", "x")
    owner = service(prefix)
    fitting = [kind for kind in owner.resource_types.values() if kind.pattern.fullmatch(witness)] if owner else []
    if not fitting:
        return frozenset()
    longest = max(kind.literal_length for kind in fitting)
    return frozenset(kind.name for kind in fitting if kind.literal_length == longest)


# --- The checker --------------------------------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, str | Mapping) else list(value)


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _listed(document["Statement"])


def condition_keys(statement: Mapping[str, Any]) -> list[str]:
    """Every key of the Condition block, whatever its operator (`ForAllValues:StringEquals`, `Null`, ...)."""
    return [key for pairs in statement.get("Condition", {}).values() for key in pairs]


def _label(statement: Mapping[str, Any]) -> str:
    return statement.get("Sid") or str(_listed(statement.get("Action")))


def check_actions(statement: Mapping[str, Any]) -> list[str]:
    """Rule 1: each action (each wildcard) is, or matches, an action of the reference."""
    problems = []
    if "NotAction" in statement or "NotResource" in statement:
        problems.append(f"action: {_label(statement)} uses NotAction/NotResource, which this check does not read")
    for written in _listed(statement.get("Action")):
        if not expand_action(written):
            problems.append(f"action: {_label(statement)}: {written} is no action of the reference")
    return problems


def _is_global(key: str) -> bool:
    lowered = key.lower()
    if lowered.startswith(PER_ACTION_AWS_KEYS):
        return False
    return lowered.startswith("aws:")


def check_conditions(statement: Mapping[str, Any]) -> list[str]:
    """Rule 2: each condition key is a global key, or one the reference lists for every action of the statement."""
    problems = []
    actions = [found for written in _listed(statement.get("Action")) for found in expand_action(written)]
    for key in condition_keys(statement):
        if _is_global(key):
            lowered = key.lower()
            if lowered not in GLOBAL_CONDITION_KEYS and not lowered.startswith(GLOBAL_CONDITION_PREFIXES):
                problems.append(f"condition: {_label(statement)}: {key} is no global condition key")
            continue
        for found in actions:
            if not any(pattern.fullmatch(key) for pattern in found.condition_keys):
                problems.append(f"condition: {_label(statement)}: {found.name} does not take {key}")
    return problems


def _covers(resource: str, found: Action, kinds: Iterable[str]) -> bool:
    return resource == "*" or bool(named_types(resource, found.service.prefix) & set(kinds))


def check_resources(statement: Mapping[str, Any]) -> list[str]:
    """Rule 3: each Resource names a type of one of the actions; each action gets its required types (or one of
    its types), and `*` when it takes no resource type."""
    label = _label(statement)
    resources = [str(resource) for resource in _listed(statement.get("Resource"))]
    actions = [found for written in _listed(statement.get("Action")) for found in expand_action(written)]
    problems: list[str] = []
    if not actions:
        return problems  # rule 1 reports them
    for resource in resources:
        if resource != "*" and not any(_covers(resource, found, found.resource_types) for found in actions):
            named = sorted({kind for found in actions for kind in named_types(resource, found.service.prefix)})
            problems.append(
                f"resource: {label}: {resource} ({' or '.join(named) or 'no known type'}) is of no resource type of "
                f"{', '.join(found.name for found in actions)}"
            )
    for found in actions:
        if not found.resource_types:
            if "*" not in resources:
                problems.append(f"resource: {label}: {found.name} takes only `*` as its resource")
            continue
        required = [kind for kind, is_required in found.resource_types.items() if is_required]
        groups = [[kind] for kind in required] or [sorted(found.resource_types)]
        for kinds in groups:
            if not any(_covers(resource, found, kinds) for resource in resources):
                problems.append(f"resource: {label}: {found.name} gets no {' or '.join(kinds)} resource")
    return problems


def check_statement(statement: Mapping[str, Any], *, trust: bool = False) -> list[str]:
    problems = check_actions(statement) + check_conditions(statement)
    if trust:
        if "Principal" not in statement:
            problems.append(f"principal: {_label(statement)}: a trust statement without a Principal")
        return problems
    return problems + check_resources(statement)


@functools.cache
def _check_once(statement: str, trust: bool) -> tuple[str, ...]:
    return tuple(check_statement(json.loads(statement), trust=trust))


def check_document(document: Mapping[str, Any], *, trust: bool = False) -> list[str]:
    """Every problem of every statement (a statement met in many documents is checked once)."""
    return [
        problem
        for statement in statements(document)
        for problem in _check_once(json.dumps(statement, sort_keys=True), trust)
    ]


# --- The documents, under every option ------------------------------------------------------------------------

ACCOUNT = "123456789012"
REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
"""A region of each partition: every ARN the tool builds takes its partition from the caller's identity."""
BUCKET = "my-models"
STAGES: dict[str, dict[str, str]] = {
    "no-s3": {},
    "MODEL_S3_BUCKET": {"model_s3_bucket": BUCKET},
    "MODEL_S3_URI": {"model_s3_uri": f"s3://{BUCKET}/teams/llm/Qwen--Qwen3-8B/0123456789abcdef/"},
}
VPC = {
    "vpc_subnet_ids": ("subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"),
    "vpc_security_group_ids": ("sg-0123456789abcdef0",),
}
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def _settings(partition: str, **values: Any) -> Settings:
    return load_settings(aws_region=REGIONS[partition], **values)


def _identity(partition: str) -> Identity:
    return Identity(ACCOUNT, partition, f"arn:{partition}:iam::{ACCOUNT}:user/admin")


Options = dict[str, dict[str, dict[str, Any]]]
"""setting -> its alternatives: label -> the settings they take (the first, none: the default)."""


def _every_combination(
    partition: str, options: Options, spec_of: Callable[[Settings], Any]
) -> Iterator[tuple[str, Any]]:
    """The spec `spec_of` makes from the settings, for every combination of the options. Each alternative is read
    through the settings once; the combinations join what each changes in the spec (the options are independent:
    each sets fields of its own), so hundreds of combinations cost a few dozen settings loads."""
    base = spec_of(_settings(partition))
    changes = [
        [(label, _changed(base, spec_of(_settings(partition, **values)))) for label, values in alternatives.items()]
        for alternatives in options.values()
    ]
    for combination in itertools.product(*changes):
        fields = {name: value for _, changed in combination for name, value in changed.items()}
        yield " ".join(label for label, _ in combination), dataclasses.replace(base, **fields)


def _changed(base: Any, spec: Any) -> dict[str, Any]:
    return {
        field.name: getattr(spec, field.name)
        for field in dataclasses.fields(spec)
        if getattr(spec, field.name) != getattr(base, field.name)
    }


def deployer_options(partition: str) -> Options:
    return {
        "REQUIRE_MFA": {"no-mfa": {}, "mfa": {"require_mfa": True}},
        "DEPLOYER_INSTANCE_TYPES": {
            "all-gpus": {},
            "allow-list": {"deployer_instance_types": ("ml.g5.2xlarge", "ml.g6e.xlarge")},
        },
        "MODEL_S3_BUCKET / MODEL_S3_URI": STAGES,
        "VPC_SUBNET_IDS": {"no-vpc": {}, "vpc": VPC},
        "KMS_KEY_ID": {"no-kms": {}, "kms": {"kms_key_id": KEY_ID}},
        "AWS_ARN_ROLE": {
            "role-by-name": {},
            "role-arn": {"aws_arn_role": f"arn:{partition}:iam::{ACCOUNT}:role/service/llm/MyExecutionRole"},
        },
    }


def execution_role_options(partition: str) -> Options:
    region = REGIONS[partition]
    registry = f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com{'.cn' if partition == 'aws-cn' else ''}"
    return {
        "IMAGE_URI": {
            "engine-image": {},
            "own-ecr-image": {"image_uri": f"{registry}/team/tgi:3.3.6"},
            "image-outside-ecr": {"image_uri": "ghcr.io/huggingface/text-generation-inference:3.3.6"},
        },
        "EXECUTION_ROLE_S3_BUCKETS": {
            "no-buckets": {},
            "bucket": {"execution_role_s3_buckets": ("whole-bucket",)},
            "bucket-and-prefix": {"execution_role_s3_buckets": ("whole-bucket", "other-models/extra/weights")},
        },
        "MODEL_S3_BUCKET / MODEL_S3_URI": STAGES,
        "VPC_SUBNET_IDS": {"no-vpc": {}, "vpc": VPC},
        "KMS_KEY_ID": {"no-kms": {}, "kms": {"kms_key_id": KEY_ID}},
    }


@functools.cache
def deployer_documents() -> dict[str, dict[str, Any]]:
    """The deployer's policy as `make create-sagemaker-role` builds it (`iam.user.deployer_policy_for`)."""
    documents = {}
    for partition in REGIONS:
        for label, spec in _every_combination(partition, deployer_options(partition), DeployerSpec.from_settings):
            documents[f"{partition} {label}"] = deployer_policy_for(spec, _identity(partition))
    return documents


@functools.cache
def execution_role_documents() -> dict[str, dict[str, Any]]:
    """The execution role's inline policy as `iam.role.ensure_execution_role` builds it (with the key's ARN that
    `security_statements` reads from KMS)."""
    documents = {}
    for partition, region in REGIONS.items():
        options = execution_role_options(partition)
        for label, spec in _every_combination(partition, options, ExecutionRoleSpec.from_settings):
            key_arn = f"arn:{partition}:kms:{region}:{ACCOUNT}:key/{spec.kms_key_id}" if spec.kms_key_id else None
            documents[f"{partition} {label}"] = execution_role_permissions(
                partition=partition,
                account_id=ACCOUNT,
                image_repositories=image_repository_arns(partition, region, spec.image_uri),
                s3_buckets=spec.s3_buckets,
                s3_prefixes=spec.s3_prefixes,
                security=[
                    *vpc_statements(partition, region, ACCOUNT, spec.subnets, spec.security_groups),
                    *kms_statements(key_arn),
                ],
            )
    return documents


def time_limit_documents() -> dict[str, dict[str, Any]]:
    """The time-limit role's inline policy (`iam.scheduler_role`)."""
    return {partition: scheduler_permissions(partition, ACCOUNT) for partition in REGIONS}


def invoke_documents() -> dict[str, dict[str, Any]]:
    """`make create-invoke-policy`: one endpoint, and its inference component when it has one."""
    return {
        f"{partition} {'component' if component else 'endpoint'}": invoke_policy_document(
            InvokePolicySpec.of("Qwen3-8B-Endpoint", component), partition=partition, region=region, account_id=ACCOUNT
        )
        for partition, region in REGIONS.items()
        for component in (None, "Qwen3-8B-Component")
    }


def trust_documents() -> dict[str, dict[str, Any]]:
    """The trust policies of the execution role and the time-limit role."""
    return {
        **{
            f"execution role {partition}": execution_role_trust_policy(ACCOUNT, partition=partition, region=region)
            for partition, region in REGIONS.items()
        },
        "time-limit role": scheduler_trust_policy(ACCOUNT),
    }


PERMISSION_FAMILIES = {
    "deployer": deployer_documents,
    "execution role": execution_role_documents,
    "time-limit role": time_limit_documents,
    "invoke policy": invoke_documents,
}


@pytest.mark.parametrize("family", PERMISSION_FAMILIES)
def test_every_permission_policy_fits_the_reference(family):
    documents = PERMISSION_FAMILIES[family]()
    assert documents
    problems = {name: found for name, document in documents.items() if (found := check_document(document))}
    assert problems == {}


def test_every_trust_policy_fits_the_reference():
    documents = trust_documents()
    problems = {name: found for name, document in documents.items() if (found := check_document(document, trust=True))}
    assert problems == {}


def test_the_gaps_are_real():
    """Each exception names an action of the reference and something its row really lacks."""
    for name, missing in REFERENCE_GAPS.items():
        prefix, _, short = name.partition(":")
        data = get_service_prefix_data(prefix)
        assert short in data["privileges"], name
        types, keys = _row(data, short)
        for item, why in missing.items():
            assert why and item not in (keys if ":" in item else types), (name, item)


def _sids(documents: Mapping[str, dict[str, Any]]) -> set[str]:
    return {statement.get("Sid", "") for document in documents.values() for statement in statements(document)}


def _resources(documents: Mapping[str, dict[str, Any]]) -> set[str]:
    return {
        resource
        for document in documents.values()
        for statement in statements(document)
        for resource in _listed(statement.get("Resource"))
    }


def test_the_options_reach_every_statement_they_add():
    """The documents checked above hold what each option adds: nothing of them goes unchecked."""
    assert {
        "ManageTaggedSageMakerHostingWithMfa",  # REQUIRE_MFA
        "StagingBuckets",  # MODEL_S3_BUCKET, MODEL_S3_URI
        "StagedModelObjects",
        "ReadVpcNetwork",  # VPC_SUBNET_IDS
        "DescribeStorageKey",  # KMS_KEY_ID
        "StageWithStorageKeyThroughS3",
        "GrantStorageKeyToSageMakerWithMfa",
    } <= _sids(deployer_documents())
    assert {
        "ListModelBuckets",  # EXECUTION_ROLE_S3_BUCKETS
        "ListStagedModel1",  # a staged model, or a bucket/prefix entry
        "ListStagedModel2",
        "ReadStagedModel",
        "CreateModelNetworkInterfaces",  # VPC_SUBNET_IDS
        "UseStorageKey",  # KMS_KEY_ID
        "GrantStorageKeyToAwsServices",
    } <= _sids(execution_role_documents())
    assert f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/tgi" in _resources(execution_role_documents())  # IMAGE_URI
    assert f"arn:aws:iam::{ACCOUNT}:role/service/llm/MyExecutionRole" in _resources(
        deployer_documents()
    )  # AWS_ARN_ROLE


# --- The checker catches each kind of mistake -------------------------------------------------------------------

SM = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"
TAGGED = {"StringEquals": {"aws:ResourceTag/llm-engineering:managed-by": "llm-engineering"}}


def _allow(actions, resources, condition=None) -> dict[str, Any]:
    statement = {"Sid": "Probe", "Effect": "Allow", "Action": actions, "Resource": resources}
    return {**statement, "Condition": condition} if condition else statement


def test_a_statement_that_fits_the_reference_passes():
    statement = _allow(
        ["sagemaker:DeleteEndpoint", "sagemaker:DescribeEndpoint*"],  # DescribeEndpoint, DescribeEndpointConfig
        [f"{SM}:endpoint/*", f"{SM}:endpoint-config/*"],
        {**TAGGED, "StringLike": {"sagemaker:ResourceTag/team": "llm*"}},  # ${TagKey} templates: any tag key
    )
    assert check_statement(statement) == []
    assert (
        check_statement(_allow("s3:ListBucket", "arn:aws:s3:::my-models", {"StringLike": {"s3:prefix": "m/*"}})) == []
    )
    assert check_statement(_allow(["sagemaker:ListEndpoints", "sagemaker:DescribeEndpoint"], "*")) == []
    assert check_statement(_allow("ecr:BatchGet*", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/tgi")) == []


@pytest.mark.parametrize("written", ["sagemaker:CreateEndpointz", "sagemaker:Frobnicate*", "sagemakr:CreateEndpoint"])
def test_an_action_the_reference_does_not_list_fails_rule_1(written):
    problems = check_statement(_allow(written, f"{SM}:endpoint/*"))
    assert problems == [f"action: Probe: {written} is no action of the reference"]


KEYS = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"


@pytest.mark.parametrize(
    ("actions", "resources", "condition", "refused"),
    [
        # a key of another action of the same service
        (
            "sagemaker:DeleteEndpoint",
            f"{SM}:endpoint/*",
            {"ForAllValues:StringEquals": {"sagemaker:InstanceTypes": ["ml.g5.xlarge"]}},
            "sagemaker:DeleteEndpoint does not take sagemaker:InstanceTypes",
        ),
        # s3:prefix is ListBucket's: a statement with GetObject as well may not use it
        (
            ["s3:ListBucket", "s3:GetObject"],
            ["arn:aws:s3:::my-models", "arn:aws:s3:::my-models/models/*"],
            {"StringLike": {"s3:prefix": "models/*"}},
            "s3:GetObject does not take s3:prefix",
        ),
        # aws:RequestTag is per action: a create takes it, DescribeModel does not
        (
            ["sagemaker:CreateModel", "sagemaker:DescribeModel"],
            f"{SM}:model/*",
            {"StringEquals": {"aws:RequestTag/a": "b"}},
            "sagemaker:DescribeModel does not take aws:RequestTag/a",
        ),
        # a wildcard: every action it stands for must take the key
        (
            "kms:GenerateDataKey*",
            KEYS,
            {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            "kms:GenerateDataKeyPair does not take kms:GrantIsForAWSResource",
        ),
        # an aws: key that is not global, nor one the reference lists per action
        (
            "sagemaker:DeleteEndpoint",
            f"{SM}:endpoint/*",
            {"Bool": {"aws:MultiFactorAuthPresnt": "true"}},
            "aws:MultiFactorAuthPresnt is no global condition key",
        ),
    ],
)
def test_a_condition_key_the_action_does_not_take_fails_rule_2(actions, resources, condition, refused):
    assert check_statement(_allow(actions, resources)) == []  # without the condition, the statement fits
    problems = check_statement(_allow(actions, resources, condition))
    assert problems and all(problem.startswith("condition: Probe: ") for problem in problems)
    assert any(problem.endswith(refused) for problem in problems), problems


def test_global_keys_are_set_aside_from_rule_2():
    condition = {"Bool": {"aws:MultiFactorAuthPresent": "true"}, "StringEquals": {"aws:PrincipalTag/team": "llm"}}
    assert check_statement(_allow("sagemaker:DeleteEndpoint", f"{SM}:endpoint/*", condition)) == []


@pytest.mark.parametrize(
    ("actions", "resources", "refused"),
    [
        # a model where an endpoint is due: of no type of the action, and the action gets none of its own
        ("sagemaker:DeleteEndpoint", f"{SM}:model/*", "is of no resource type of sagemaker:DeleteEndpoint"),
        ("sagemaker:DeleteEndpoint", f"{SM}:model/*", "sagemaker:DeleteEndpoint gets no endpoint resource"),
        # objects, not the bucket: ListBucket gets no bucket
        ("s3:ListBucket", "arn:aws:s3:::my-models/models/*", "s3:ListBucket gets no accesspoint or bucket resource"),
        # a log group where PutLogEvents needs a stream
        ("logs:PutLogEvents", f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/sagemaker/*", "gets no log-stream resource"),
        # one required type of two missing: CreateEndpoint needs its config too
        ("sagemaker:CreateEndpoint", f"{SM}:endpoint/*", "sagemaker:CreateEndpoint gets no endpoint-config resource"),
        # an action that takes no resource type, given an ARN
        ("sagemaker:ListEndpoints", f"{SM}:endpoint/*", "sagemaker:ListEndpoints takes only `*` as its resource"),
        # an extra resource none of the actions take, though each action has its own
        (
            ["sagemaker:DescribeModel"],
            [f"{SM}:model/*", f"{SM}:endpoint-config/*"],
            "(endpoint-config) is of no resource type",
        ),
    ],
)
def test_a_resource_of_the_wrong_type_fails_rule_3(actions, resources, refused):
    problems = check_statement(_allow(actions, resources))
    assert problems and all(problem.startswith("resource: Probe: ") for problem in problems)
    assert any(refused in problem for problem in problems), problems


def test_a_trust_policy_is_checked_for_its_actions_and_conditions():
    trust = {
        "Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:AssumeRoleWithSAMLz"],
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT, "sts:ExternalIdz": "x"}},
    }
    problems = check_statement(trust, trust=True)
    assert [problem.split(":", 1)[0] for problem in problems] == ["action", "condition"]
    assert "sts:AssumeRoleWithSAMLz is no action" in problems[0]
    assert problems[1].endswith("sts:AssumeRole does not take sts:ExternalIdz")
    assert check_statement({key: value for key, value in trust.items() if key != "Principal"}, trust=True)[-1] == (
        "principal: ['sts:AssumeRole', 'sts:AssumeRoleWithSAMLz']: a trust statement without a Principal"
    )


def _forget_rows() -> None:
    for cached in (action, expand_action, _check_once):
        cached.cache_clear()


@pytest.fixture
def forget_rows():
    """The reference's rows are cached per module: a test that changes the exceptions reads them again, and
    leaves them as the other tests know them."""
    yield _forget_rows
    _forget_rows()


def test_an_exception_allows_exactly_what_it_names(monkeypatch, forget_rows):
    statement = _allow(
        "sagemaker:DeleteEndpoint",
        [f"{SM}:endpoint/*", f"{SM}:model/*"],
        {"StringEquals": {"sagemaker:InstanceTypes": "ml.g5.xlarge", "sagemaker:VolumeKmsKey": "k"}},
    )
    assert len(check_statement(statement)) == 3  # two keys, and a model for DeleteEndpoint
    gaps = {"sagemaker:InstanceTypes": "a test", "model": "a test"}
    monkeypatch.setitem(REFERENCE_GAPS, "sagemaker:DeleteEndpoint", gaps)
    forget_rows()
    assert check_statement(statement) == [
        "condition: Probe: sagemaker:DeleteEndpoint does not take sagemaker:VolumeKmsKey"
    ]
