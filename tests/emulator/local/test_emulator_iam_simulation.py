"""IAM's policy simulator in the emulator (SimulatePrincipalPolicy, SimulateCustomPolicy) through real HTTP, in
IAM's own XML: the caller's identity policies, Allow/Deny, wildcards, NotAction/NotResource, conditions."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from llm_engineering.iam.policies import SAGEMAKER_SERVICE, deployer_policy_document
from llm_engineering.local.iam_simulation import principal_sources
from llm_engineering.local.protocol import AwsError

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRoleLLM"
USER = f"arn:aws:iam::{ACCOUNT}:user/deployer"
PASSED_TO_SAGEMAKER = [
    {"ContextKeyName": "iam:PassedToService", "ContextKeyValues": [SAGEMAKER_SERVICE], "ContextKeyType": "string"}
]


@pytest.fixture
def iam(server_env: dict[str, str]) -> Any:
    return boto3.client(
        "iam",
        endpoint_url=server_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def user_with(iam: Any, *documents: str, name: str = "deployer") -> str:
    iam.create_user(UserName=name)
    for index, document in enumerate(documents):
        iam.put_user_policy(UserName=name, PolicyName=f"inline-{index}", PolicyDocument=document)
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def decision(iam: Any, principal: str, action: str, resource: str | None = ROLE, context: Any = ()) -> dict[str, Any]:
    request: dict[str, Any] = {"PolicySourceArn": principal, "ActionNames": [action]}
    if resource is not None:
        request["ResourceArns"] = [resource]
    if context:
        request["ContextEntries"] = list(context)
    [result] = iam.simulate_principal_policy(**request)["EvaluationResults"]
    return result


GPU_TYPES = ("ml.g5.2xlarge", "ml.g6.2xlarge")


def test_the_deployer_policy_lets_its_user_pass_the_role_to_sagemaker_only(iam: Any) -> None:
    document = deployer_policy_document(
        partition="aws", account_id=ACCOUNT, user_name="deployer", execution_role_arn=ROLE, instance_types=GPU_TYPES
    )
    iam.create_user(UserName="deployer")
    arn = iam.create_policy(PolicyName="deployer-policy", PolicyDocument=json.dumps(document, indent=4))["Policy"][
        "Arn"
    ]
    iam.attach_user_policy(UserName="deployer", PolicyArn=arn)

    passed = decision(iam, USER, "iam:PassRole", context=PASSED_TO_SAGEMAKER)
    elsewhere = decision(
        iam, USER, "iam:PassRole", context=[{**PASSED_TO_SAGEMAKER[0], "ContextKeyValues": ["ec2.amazonaws.com"]}]
    )
    unsaid = decision(iam, USER, "iam:PassRole")
    other_role = decision(iam, USER, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/Admin", PASSED_TO_SAGEMAKER)

    assert (passed["EvalActionName"], passed["EvalResourceName"], passed["EvalDecision"]) == (
        "iam:PassRole",
        ROLE,
        "allowed",
    )
    [matched] = passed["MatchedStatements"]
    assert (matched["SourcePolicyId"], matched["SourcePolicyType"]) == ("deployer-policy", "user-managed")
    statement_line = json.dumps(document, indent=4).splitlines()[matched["StartPosition"]["Line"] - 1]
    assert statement_line.strip() == "{" and matched["EndPosition"]["Line"] > matched["StartPosition"]["Line"]
    assert passed["ResourceSpecificResults"][0]["EvalResourceDecision"] == "allowed"
    assert elsewhere["EvalDecision"] == "implicitDeny" and elsewhere["MatchedStatements"] == []
    # A context key the condition needs and the request lacks: the condition fails, and IAM says which key.
    assert unsaid["EvalDecision"] == "implicitDeny"
    assert unsaid["ResourceSpecificResults"][0]["MissingContextValues"] == ["iam:PassedToService"]
    assert other_role["EvalDecision"] == "implicitDeny"


def test_a_user_without_pass_role_is_denied_implicitly(iam: Any) -> None:
    principal = user_with(iam, policy(allow("sagemaker:*")))
    result = decision(iam, principal, "iam:PassRole", context=PASSED_TO_SAGEMAKER)
    assert (result["EvalDecision"], result["MatchedStatements"]) == ("implicitDeny", [])
    assert decision(iam, principal, "sagemaker:CreateModel", resource=None)["EvalDecision"] == "allowed"


def test_an_explicit_deny_wins_and_is_the_only_statement_reported(iam: Any) -> None:
    deny = {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/SageMaker*"}
    principal = user_with(iam, policy(allow("*")), policy(deny))
    result = decision(iam, principal, "iam:PassRole")
    assert result["EvalDecision"] == "explicitDeny"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in result["MatchedStatements"]] == [("inline-1", "user")]


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (allow("iam:Pass*"), "allowed"),
        (allow("IAM:passrole"), "allowed"),  # actions are case-insensitive
        (allow("iam:PassRol?"), "allowed"),
        (allow("iam:Pass?"), "implicitDeny"),
        (allow("iam:PassRole", "arn:aws:iam::123456789012:role/SageMaker*"), "allowed"),
        (allow("iam:PassRole", "arn:aws:iam::*:role/SageMakerExecutionRoleLL?"), "allowed"),
        (allow("iam:PassRole", "arn:aws:iam::123456789012:role/sagemaker*"), "implicitDeny"),  # ARNs are not
        (allow("iam:PassRole", "arn:aws:iam::*:role/*/Other"), "implicitDeny"),
        ({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}, "allowed"),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "implicitDeny"),
        ({"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:iam::*:role/Admin"}, "allowed"),
        (
            {"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:iam::*:role/SageMaker*"},
            "implicitDeny",
        ),
    ],
)
def test_actions_and_resources_match_with_wildcards(iam: Any, statement: dict[str, Any], expected: str) -> None:
    principal = user_with(iam, policy(statement))
    assert decision(iam, principal, "iam:PassRole")["EvalDecision"] == expected


def context(key: str, *values: str, kind: str = "string") -> dict[str, Any]:
    return {"ContextKeyName": key, "ContextKeyValues": list(values), "ContextKeyType": kind}


PASSED = "iam:PassedToService"
SOURCE = "aws:SourceArn"
ENDPOINT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e"
ANY_ENDPOINT = "arn:aws:sagemaker:*:123456789012:endpoint/*"
TAG_KEYS = [context("aws:TagKeys", "a", "c", kind="stringList")]


@pytest.mark.parametrize(
    ("condition", "entries", "expected", "missing"),
    [
        ({"StringEquals": {PASSED: SAGEMAKER_SERVICE}}, [context(PASSED.lower(), SAGEMAKER_SERVICE)], "allowed", []),
        ({"StringLike": {PASSED: "sagemaker.*"}}, PASSED_TO_SAGEMAKER, "allowed", []),
        ({"StringNotEquals": {PASSED: "ec2.amazonaws.com"}}, PASSED_TO_SAGEMAKER, "allowed", []),
        ({"StringNotEquals": {PASSED: "ec2.amazonaws.com"}}, [], "allowed", [PASSED]),
        ({"StringEqualsIfExists": {PASSED: "ec2.amazonaws.com"}}, [], "allowed", []),
        ({"ArnLike": {SOURCE: ANY_ENDPOINT}}, [context(SOURCE, ENDPOINT_ARN)], "allowed", []),
        (
            {"ArnEquals": {SOURCE: ANY_ENDPOINT}},
            [context(SOURCE, ENDPOINT_ARN.replace("1234", "9999"))],
            "implicitDeny",
            [],
        ),
        (
            {"Bool": {"aws:SecureTransport": "true"}},
            [context("aws:SecureTransport", "true", kind="boolean")],
            "allowed",
            [],
        ),
        ({"Bool": {"aws:SecureTransport": "true"}}, [], "implicitDeny", ["aws:SecureTransport"]),
        ({"Null": {SOURCE: "true"}}, [], "allowed", []),
        (
            {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
            [context("aws:MultiFactorAuthAge", "60")],
            "allowed",
            [],
        ),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, TAG_KEYS, "implicitDeny", []),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, TAG_KEYS, "allowed", []),
    ],
)
def test_conditions_use_the_context_entries(
    iam: Any, condition: Any, entries: Any, expected: str, missing: Any
) -> None:
    principal = user_with(iam, policy(allow("iam:PassRole", "*", Condition=condition)))
    result = decision(iam, principal, "iam:PassRole", resource=None, context=entries)
    assert (result["EvalResourceName"], result["EvalDecision"], result["MissingContextValues"]) == (
        "*",
        expected,
        missing,
    )


def test_group_policies_count_for_their_users(iam: Any) -> None:
    principal = user_with(iam)
    iam.create_group(GroupName="deployers")
    iam.add_user_to_group(GroupName="deployers", UserName="deployer")
    iam.put_group_policy(GroupName="deployers", PolicyName="pass", PolicyDocument=policy(allow("iam:PassRole", ROLE)))
    [matched] = decision(iam, principal, "iam:PassRole")["MatchedStatements"]
    assert (matched["SourcePolicyId"], matched["SourcePolicyType"]) == ("pass", "group")


def test_a_roles_inline_and_attached_policies_and_its_permissions_boundary(iam: Any) -> None:
    iam.create_role(RoleName="Admin", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="Admin", PolicyName="own", PolicyDocument=policy(allow("iam:PassRole", ROLE)))
    iam.attach_role_policy(RoleName="Admin", PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    role = f"arn:aws:iam::{ACCOUNT}:role/Admin"

    [matched] = decision(iam, role, "iam:PassRole")["MatchedStatements"]
    assert (matched["SourcePolicyId"], matched["SourcePolicyType"]) == ("own", "role")
    sources = {m["SourcePolicyType"] for m in decision(iam, role, "sagemaker:CreateModel", None)["MatchedStatements"]}
    assert sources == {"aws-managed"}

    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=policy(allow("sagemaker:*")))["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName="Admin", PermissionsBoundary=boundary)
    bounded = decision(iam, role, "iam:PassRole")
    assert bounded["EvalDecision"] == "implicitDeny"
    assert bounded["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert decision(iam, role, "sagemaker:CreateModel", None)["EvalDecision"] == "allowed"


def test_several_actions_and_resources_are_one_result_each_and_page(iam: Any) -> None:
    principal = user_with(iam, policy(allow("iam:PassRole", ROLE)))
    other = f"arn:aws:iam::{ACCOUNT}:role/Other"
    request = {
        "PolicySourceArn": principal,
        "ActionNames": ["iam:PassRole", "iam:GetRole"],
        "ResourceArns": [ROLE, other],
    }
    first = iam.simulate_principal_policy(**request, MaxItems=3)
    rest = iam.simulate_principal_policy(**request, MaxItems=3, Marker=first["Marker"])

    results = first["EvaluationResults"] + rest["EvaluationResults"]
    assert (first["IsTruncated"], rest["IsTruncated"]) == (True, False)
    assert [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in results] == [
        ("iam:PassRole", ROLE, "allowed"),
        ("iam:PassRole", other, "implicitDeny"),
        ("iam:GetRole", ROLE, "implicitDeny"),
        ("iam:GetRole", other, "implicitDeny"),
    ]


def test_custom_policies_and_extra_input_policies_are_simulated_too(iam: Any) -> None:
    given = iam.simulate_custom_policy(PolicyInputList=[policy(allow("iam:PassRole"))], ActionNames=["iam:PassRole"])
    [result] = given["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert (result["MatchedStatements"][0]["SourcePolicyId"], result["MatchedStatements"][0]["SourcePolicyType"]) == (
        "PolicyInputList.1",
        "none",
    )
    principal = user_with(iam)
    extra = iam.simulate_principal_policy(
        PolicySourceArn=principal, ActionNames=["iam:PassRole"], PolicyInputList=[policy(allow("iam:*"))]
    )
    assert extra["EvaluationResults"][0]["EvalDecision"] == "allowed"


@pytest.mark.parametrize(
    ("principal", "code", "message"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/ghost", "NoSuchEntity", "The user with name ghost cannot be found."),
        (f"arn:aws:iam::{ACCOUNT}:role/ghost", "NoSuchEntity", "The role with name ghost cannot be found."),
        (
            "arn:aws:sts::123456789012:user/moto",
            "InvalidInput",
            "ARN arn:aws:sts::123456789012:user/moto is not valid.",
        ),
    ],
)
def test_unknown_or_invalid_principals_are_refused_like_iam(iam: Any, principal: str, code: str, message: str) -> None:
    with pytest.raises(ClientError) as refused:
        iam.simulate_principal_policy(PolicySourceArn=principal, ActionNames=["iam:PassRole"])
    assert (refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]) == (code, message)


def test_other_iam_calls_still_reach_moto(iam: Any) -> None:
    user_with(iam, policy(allow("iam:PassRole")))
    assert iam.get_user(UserName="deployer")["User"]["UserName"] == "deployer"
    assert iam.list_user_policies(UserName="deployer")["PolicyNames"] == ["inline-0"]


def test_an_arn_in_an_unknown_partition_is_invalid_input():
    with pytest.raises(AwsError, match="is not valid"):
        principal_sources("arn:nowhere:iam::123456789012:role/r", [])
