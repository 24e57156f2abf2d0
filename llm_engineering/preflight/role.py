"""Can SageMaker use the execution role, and may the caller hand it over?

Three failures look alike from the outside (the endpoint never starts, or CreateModel is refused): the role
does not trust sagemaker.amazonaws.com, it cannot pull the TGI image or write logs, or the caller lacks
iam:PassRole on it. The role's own policies are read and searched for the actions the tool's execution
policy grants (`execution_role_permissions`); PassRole is simulated for the caller, which IAM allows for
users and roles.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_engineering.aws import Aws
from llm_engineering.catalogue.images import repository_arn
from llm_engineering.iam import Identity
from llm_engineering.iam.policies import (
    ECR_PULL_ACTIONS,
    LOG_WRITE_ACTIONS,
    SAGEMAKER_SERVICE,
    parse_document,
    sagemaker_source_arn,
)
from llm_engineering.iam.role import get_role, role_documents
from llm_engineering.preflight.report import AWS_FAILURES, CheckResult, describe_failure
from llm_engineering.tags import is_managed

ROLE_CHECK = "Execution role"
PASS_CHECK = "Pass role"
REPAIR = "make create-sagemaker-execution-role"
READ_FIX = (
    "allow iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy and "
    "iam:GetPolicyVersion on the role and its policies (make create-sagemaker-role grants them)"
)
BLOCKING_SERVICES = {"ecr": "pull the image from ECR"}
WARNING_SERVICES = {"logs": "write container logs to CloudWatch Logs (failures could not be diagnosed)"}


@dataclass(frozen=True)
class RoleRef:
    """The role a deploy will use, and the setting that names it."""

    name: str
    arn: str | None
    setting: str

    @classmethod
    def of(cls, role_name: str, role_arn: str | None) -> RoleRef:
        """AWS_ARN_ROLE when set, else SAGEMAKER_EXECUTION_ROLE_NAME."""
        if role_arn:
            return cls(role_arn.rsplit("/", 1)[-1], role_arn, "AWS_ARN_ROLE")
        return cls(role_name, None, "SAGEMAKER_EXECUTION_ROLE_NAME")

    @property
    def account(self) -> str | None:
        return self.arn.split(":")[4] if self.arn else None


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _matches(patterns: Iterable[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(pattern).lower()) for pattern in patterns)


def _covers(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _matches(_as_list(statement["NotAction"]), action)
    return _matches(_as_list(statement.get("Action")), action)


def _applies(statement: Mapping[str, Any], resource: str | None) -> bool:
    """Whether the statement's Resource (or NotResource) takes in `resource` (None: some resource, any)."""
    if resource is None:
        return True
    if "NotResource" in statement:
        return not _matches(_as_list(statement["NotResource"]), resource)
    return _matches(_as_list(statement.get("Resource")), resource)


def allowed(documents: Iterable[Mapping[str, Any]], action: str, resource: str | None = None) -> bool:
    """Whether the documents allow `action` (on `resource`, else on some resource) and do not deny it there.

    Conditions of Allow statements are taken as satisfiable; a Deny counts only without conditions, and (with
    no `resource`) only when it applies to every resource. Permission boundaries and SCPs are not visible here.
    """
    statements = [statement for document in documents for statement in _statements(document)]
    denied = any(
        statement.get("Effect") == "Deny"
        and _covers(statement, action)
        and (_applies(statement, resource) if resource else "*" in _as_list(statement.get("Resource")))
        and "Condition" not in statement
        for statement in statements
    )
    return not denied and any(
        statement.get("Effect") == "Allow" and _covers(statement, action) and _applies(statement, resource)
        for statement in statements
    )


def _condition_values(statement: Mapping[str, Any], key: str) -> list[str]:
    """Every value a statement's conditions give `key` (any operator)."""
    return [
        str(value)
        for pairs in statement.get("Condition", {}).values()
        for name, values in pairs.items()
        if name.lower() == key.lower()
        for value in _as_list(values)
    ]


def trust_problem(
    document: Mapping[str, Any], account_id: str | None, region: str | None = None, partition: str = "aws"
) -> str | None:
    """Why SageMaker cannot assume a role with this trust policy for this account and region (None: it can)."""
    for statement in _statements(document):
        if statement.get("Effect") != "Allow" or not _covers(statement, "sts:AssumeRole"):
            continue
        principal = statement.get("Principal", {})
        services = _as_list(principal.get("Service")) if isinstance(principal, Mapping) else _as_list(principal)
        if SAGEMAKER_SERVICE not in services and "*" not in services:
            continue
        accounts = _condition_values(statement, "aws:SourceAccount")
        if accounts and account_id and account_id not in accounts:
            return f"it trusts {SAGEMAKER_SERVICE} only on behalf of account(s) {', '.join(accounts)}, not {account_id}"
        sources = _condition_values(statement, "aws:SourceArn")
        if sources and account_id and region:
            resource = sagemaker_source_arn(partition, region, account_id).replace("*", "endpoint/any")
            if not _matches(sources, resource):
                return (
                    f"it trusts {SAGEMAKER_SERVICE} only for {', '.join(sources)}, not for SageMaker in {region} "
                    f"(aws:SourceArn): run make create-sagemaker-execution-role with AWS_REGION={region}"
                )
        return None
    return f"its trust policy does not let {SAGEMAKER_SERVICE} assume it (sts:AssumeRole)"


def required_actions() -> dict[str, list[str]]:
    """The image-pull and log-write actions of the tool's own execution policy, by service prefix."""
    return {"ecr": ["ecr:GetAuthorizationToken", *ECR_PULL_ACTIONS], "logs": list(LOG_WRITE_ACTIONS)}


def _repair_fix(ref: RoleRef, managed: bool) -> str:
    if ref.setting == "AWS_ARN_ROLE":
        return (
            f"fix the role named by AWS_ARN_ROLE, or unset AWS_ARN_ROLE and run {REPAIR} "
            f"(it creates/repairs {ref.name} as SAGEMAKER_EXECUTION_ROLE_NAME)"
        )
    return REPAIR if managed else f"{REPAIR} ARGS=--force (the role was not created by this tool)"


def _missing_role_row(ref: RoleRef) -> CheckResult:
    fix = (
        f"{REPAIR}, or set SAGEMAKER_EXECUTION_ROLE_NAME / AWS_ARN_ROLE to an existing role"
        if ref.setting == "SAGEMAKER_EXECUTION_ROLE_NAME"
        else f"fix AWS_ARN_ROLE, or unset it and run {REPAIR}"
    )
    return CheckResult(
        ROLE_CHECK,
        "blocked",
        f"role '{ref.name}' ({ref.setting}) does not exist: SageMaker has no role to run the model",
        fix,
        {"role_name": ref.name, "exists": False},
    )


@dataclass
class _Findings:
    """What is wrong with a role: problems block, warnings do not."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    read: str = "permissions not checked"
    missing_actions: list[str] = field(default_factory=list)
    other_repository: bool = False
    """The role may pull images, only not from the repository of the image deployed (an IMAGE_URI elsewhere)."""


def _permission_findings(iam: Any, ref: RoleRef, arn: str, findings: _Findings, repository: str | None) -> None:
    """Search the role's policies for the image-pull (blocking, on the repository of the image deployed when
    it is known) and log-write (warning) actions."""
    try:
        documents, inline, attached = role_documents(iam, ref.name)
    except AWS_FAILURES as error:
        findings.warnings.append(f"its policies could not be read ({describe_failure(error)})")
        findings.fixes.append(READ_FIX)
        return
    findings.read = f"{inline} inline and {attached} attached polic{'y' if inline + attached == 1 else 'ies'} read"
    for service, actions in required_actions().items():
        def scope(action: str) -> str | None:
            return repository if action in ECR_PULL_ACTIONS else None

        missing = [action for action in actions if not allowed(documents, action, scope(action))]
        findings.missing_actions += missing
        if missing:
            what = BLOCKING_SERVICES.get(service) or WARNING_SERVICES[service]
            listed = findings.problems if service in BLOCKING_SERVICES else findings.warnings
            elsewhere = [action for action in missing if scope(action) and allowed(documents, action)]
            where = f" on {repository} (only on other repositories)" if elsewhere else ""
            listed.append(f"it cannot {what}: {', '.join(missing)} not allowed{where}")
            findings.other_repository = findings.other_repository or bool(elsewhere)


def check_execution_role(
    aws: Aws,
    ref: RoleRef,
    identity: Identity | None,
    known: Mapping[str, Any] | None = None,
    image_uri: str | None = None,
) -> tuple[CheckResult, str | None]:
    """The role row, and the role's ARN when it exists (for the PassRole check). `known` is the role as already
    read (by the deploy's observation), when it was; `image_uri` the image the deploy runs, whose repository the
    role must be allowed to pull from."""
    if identity is not None and ref.account and ref.account != identity.account_id:
        evidence = (
            f"{ref.arn} is in account {ref.account}, not {identity.account_id}: its trust and policies "
            "cannot be read from here"
        )
        fix = "make sure that role trusts sagemaker.amazonaws.com and may pull ECR images and write logs"
        return CheckResult(ROLE_CHECK, "warning", evidence, fix), ref.arn
    iam = aws.client("iam")
    try:
        role = dict(known) if known is not None and known.get("RoleName") == ref.name else get_role(iam, ref.name)
    except AWS_FAILURES as error:
        return _unreadable(ref, error), ref.arn
    if role is None:
        return _missing_role_row(ref), None

    arn = role["Arn"]
    findings = _Findings()
    trust = trust_problem(
        parse_document(role["AssumeRolePolicyDocument"]),
        identity.account_id if identity else None,
        aws.region,
        identity.partition if identity else "aws",
    )
    if trust:
        findings.problems.append(trust)
    repository = repository_arn(image_uri, identity.partition if identity else "aws") if image_uri else None
    _permission_findings(iam, ref, arn, findings, repository)
    details: dict[str, Any] = {"role_arn": arn, "exists": True, "trusted": trust is None}
    if findings.read != "permissions not checked":
        details["missing_actions"] = findings.missing_actions
    if not (findings.problems or findings.warnings):
        pull = f"ECR image pull from {repository}" if repository else "ECR image pull"
        evidence = f"{arn}: trusted by {SAGEMAKER_SERVICE}; allows {pull} and CloudWatch Logs writes"
        return CheckResult(ROLE_CHECK, "ok", f"{evidence} ({findings.read})", details=details), arn
    status = "blocked" if findings.problems else "warning"
    evidence = f"{arn}: " + "; ".join(findings.problems + findings.warnings) + f" ({findings.read})"
    if trust or findings.missing_actions:
        repair = _repair_fix(ref, is_managed(role.get("Tags", [])))
        if findings.other_repository:
            repair += " with this IMAGE_URI set (it then grants pull on the image's repository)"
        findings.fixes.insert(0, repair)
    return CheckResult(ROLE_CHECK, status, evidence, "; ".join(findings.fixes), details), arn


def _unreadable(ref: RoleRef, error: Exception) -> CheckResult:
    return CheckResult(
        ROLE_CHECK,
        "warning",
        f"role '{ref.name}' could not be read ({describe_failure(error)}): trust and permissions not checked",
        READ_FIX,
    )


def simulation_principal(iam: Any, identity: Identity) -> str | None:
    """The IAM ARN to simulate for the caller: the user, or the role behind an assumed-role ARN."""
    parts = identity.arn.split(":", 5)
    resource = parts[5] if len(parts) == 6 else ""
    if resource.startswith("user/"):
        return identity.arn
    if resource.startswith("assumed-role/"):
        role_name = resource.split("/")[1]
        try:  # the role's path is not in the assumed-role ARN; GetRole knows it
            return iam.get_role(RoleName=role_name)["Role"]["Arn"]
        except AWS_FAILURES:
            return f"arn:{identity.partition}:iam::{identity.account_id}:role/{role_name}"
    return None


def simulate_pass_role(iam: Any, principal: str, role_arn: str) -> str:
    """IAM's decision ("allowed", "explicitDeny" or "implicitDeny") on `principal` passing the role to SageMaker."""
    answer = iam.simulate_principal_policy(
        PolicySourceArn=principal,
        ActionNames=["iam:PassRole"],
        ResourceArns=[role_arn],
        ContextEntries=[
            {
                "ContextKeyName": "iam:PassedToService",
                "ContextKeyValues": [SAGEMAKER_SERVICE],
                "ContextKeyType": "string",
            }
        ],
    )
    return answer["EvaluationResults"][0]["EvalDecision"]


def check_pass_role(aws: Aws, identity: Identity | None, role_arn: str | None, deployer_profile: str) -> CheckResult:
    """The PassRole row: iam:SimulatePrincipalPolicy for the caller on the role, passed to SageMaker.

    `deployer_profile` is where make create-sagemaker-role stores the deployer's key (for the advice).
    """
    if role_arn is None:
        return CheckResult(PASS_CHECK, "warning", "not checked: there is no execution role to pass yet", REPAIR)
    if identity is None:
        return CheckResult(PASS_CHECK, "warning", "not checked: the caller's identity is unknown")
    if identity.arn.endswith(":root"):
        return CheckResult(PASS_CHECK, "ok", f"{identity.arn} is the account root: it may pass any role")
    iam = aws.client("iam")
    principal = simulation_principal(iam, identity)
    if principal is None:
        return CheckResult(
            PASS_CHECK,
            "warning",
            f"not checked: IAM simulates users and roles only, and the caller is {identity.arn}",
            f"make sure the caller may iam:PassRole {role_arn} to {SAGEMAKER_SERVICE}",
        )
    try:
        decision = simulate_pass_role(iam, principal, role_arn)
    except AWS_FAILURES as error:
        return CheckResult(
            PASS_CHECK,
            "warning",
            f"not checked for {principal} ({describe_failure(error)})",
            f"allow iam:SimulatePrincipalPolicy on {principal} (make create-sagemaker-role grants it), or make sure "
            f"it may iam:PassRole {role_arn}",
        )
    details = {"principal": principal, "role_arn": role_arn, "decision": decision}
    if decision == "allowed":
        return CheckResult(
            PASS_CHECK, "ok", f"{principal} may pass {role_arn} to {SAGEMAKER_SERVICE} (simulated)", details=details
        )
    return CheckResult(
        PASS_CHECK,
        "blocked",
        f"{principal} may not pass {role_arn} to {SAGEMAKER_SERVICE} (iam:PassRole simulated: {decision}): "
        "CreateModel would be refused",
        f"deploy as the deployer user (make create-sagemaker-role, then AWS_PROFILE={deployer_profile}), or grant "
        f"iam:PassRole on {role_arn} with condition iam:PassedToService={SAGEMAKER_SERVICE}",
        details,
    )
