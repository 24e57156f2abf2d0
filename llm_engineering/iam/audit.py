"""`make audit-iam`: what the deployer user and the execution role hold, what they use, and what to fix.

For each principal: its access keys (age, last use: service, region, date), its MFA devices, the services
its policies allow that were used in the last 90 days and those never used (IAM's access advisor:
GenerateServiceLastAccessedDetails, then GetServiceLastAccessedDetails until the job completes), and the
policies the tool did not put there. Each finding comes with a verdict and the command that fixes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from llm_engineering.aws import Aws, get_or_none, paginate
from llm_engineering.errors import AwsRequestError
from llm_engineering.iam.common import caller_identity
from llm_engineering.iam.names import EXECUTION_POLICY_NAME, deployer_policy_name
from llm_engineering.iam.policies import policy_arn
from llm_engineering.retrying import Exhausted, Retry

KEY_MAX_AGE_DAYS = 90
UNUSED_AFTER_DAYS = 90
JOB_READS = Retry(waits=(1, 1, 2, 2, 3, 3, 5, 5, 5, 5, 5), first_wait=0)
"""Reads of an access-advisor job and the seconds between them (about 40 s in all; AWS's usually completes in
seconds)."""

Verdict = Literal["ok", "warning"]


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    what: str
    fix: str = ""


@dataclass
class PrincipalAudit:
    kind: Literal["user", "role"]
    name: str
    arn: str | None
    keys: list[dict[str, Any]] = field(default_factory=list)
    mfa_devices: int | None = None
    used_services: list[dict[str, Any]] = field(default_factory=list)
    unused_services: list[str] = field(default_factory=list)
    foreign_policies: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class AccessAdvisorFailed(AwsRequestError):
    """The access-advisor job failed or did not complete in time."""


def _advisor(iam: Any, arn: str, now: datetime, sleep: Callable[[float], None]) -> tuple[list[dict], list[str]]:
    """(services used within UNUSED_AFTER_DAYS with when and where, services allowed but not used)."""
    job = iam.generate_service_last_accessed_details(Arn=arn, Granularity="ACTION_LEVEL")["JobId"]
    try:
        answer = replace(JOB_READS, sleep=sleep).until(
            lambda: iam.get_service_last_accessed_details(JobId=job),
            done=lambda read: read["JobStatus"] != "IN_PROGRESS",
        )
    except Exhausted as gave_up:
        answer = gave_up.last
    if answer.get("JobStatus") != "COMPLETED":
        why = answer.get("Error", {}).get("Message") or f"still {answer.get('JobStatus')}"
        raise AccessAdvisorFailed(f"IAM's access advisor job {job} for {arn} did not complete ({why}): run again.")
    services = list(answer.get("ServicesLastAccessed", []))
    marker = answer.get("Marker")
    while answer.get("IsTruncated") and marker:
        answer = iam.get_service_last_accessed_details(JobId=job, Marker=marker)
        services += answer.get("ServicesLastAccessed", [])
        marker = answer.get("Marker")
    cutoff = now - timedelta(days=UNUSED_AFTER_DAYS)
    used, unused = [], []
    for service in services:
        last = service.get("LastAuthenticated")
        if last is not None and last >= cutoff:
            actions = [item["ActionName"] for item in service.get("TrackedActionsLastAccessed", [])]
            used.append(
                {
                    "service": service["ServiceNamespace"],
                    "last": last.isoformat(),
                    "region": service.get("LastAuthenticatedRegion"),
                    "actions": actions,
                }
            )
        else:
            unused.append(service["ServiceNamespace"])
    return used, unused


def _keys(iam: Any, user: str, now: datetime) -> list[dict[str, Any]]:
    keys = []
    for key in paginate(iam, "list_access_keys", "AccessKeyMetadata", UserName=user):
        last = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"]).get("AccessKeyLastUsed", {})
        used = last.get("LastUsedDate")
        keys.append(
            {
                "id": key["AccessKeyId"],
                "status": key.get("Status", "Active"),
                "age_days": (now - key["CreateDate"]).days,
                "last_used": used.isoformat() if used else None,
                "last_service": last.get("ServiceName") if used else None,
                "last_region": last.get("Region") if used else None,
            }
        )
    return keys


def audit_user(aws: Aws, name: str, now: datetime, sleep: Callable[[float], None]) -> PrincipalAudit:
    iam = aws.client("iam")
    user = get_or_none(iam.get_user, UserName=name)
    if user is None:
        finding = Finding("warning", f"user {name} does not exist", "make create-sagemaker-role")
        return PrincipalAudit("user", name, None, findings=[finding])
    identity = caller_identity(aws)
    audit = PrincipalAudit("user", name, user["User"]["Arn"], keys=_keys(iam, name, now))
    audit.mfa_devices = len(list(paginate(iam, "list_mfa_devices", "MFADevices", UserName=name)))
    own = policy_arn(identity.partition, identity.account_id, deployer_policy_name(name))
    attached = paginate(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)
    audit.foreign_policies = [item["PolicyArn"] for item in attached if item["PolicyArn"] != own]
    audit.foreign_policies += [
        f"inline {policy}" for policy in paginate(iam, "list_user_policies", "PolicyNames", UserName=name)
    ]
    audit.used_services, audit.unused_services = _advisor(iam, audit.arn or "", now, sleep)
    for key in audit.keys:
        if key["age_days"] > KEY_MAX_AGE_DAYS:
            audit.findings.append(
                Finding("warning", f"access key {key['id']} is {key['age_days']} days old", "make rotate-deployer-key")
            )
    if len(audit.keys) > 1:
        audit.findings.append(
            Finding(
                "warning",
                f"{len(audit.keys)} access keys ({', '.join(key['id'] for key in audit.keys)})",
                f"aws iam delete-access-key --user-name {name} --access-key-id <the one not in use>",
            )
        )
    if not audit.mfa_devices:
        audit.findings.append(
            Finding(
                "warning",
                f"user {name} has no MFA device",
                f"aws iam create-virtual-mfa-device --virtual-mfa-device-name {name} --outfile qr.png "
                f"--bootstrap-method QRCodePNG; aws iam enable-mfa-device --user-name {name} ...; then "
                "REQUIRE_MFA=true make create-sagemaker-role",
            )
        )
    _common_findings(audit, f"aws iam detach-user-policy --user-name {name} --policy-arn")
    return audit


def audit_role(aws: Aws, name: str, now: datetime, sleep: Callable[[float], None]) -> PrincipalAudit:
    iam = aws.client("iam")
    role = get_or_none(iam.get_role, RoleName=name)
    if role is None:
        finding = Finding("warning", f"role {name} does not exist", "make create-sagemaker-execution-role")
        return PrincipalAudit("role", name, None, findings=[finding])
    audit = PrincipalAudit("role", name, role["Role"]["Arn"])
    attached = paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)
    audit.foreign_policies = [item["PolicyArn"] for item in attached]
    audit.foreign_policies += [
        f"inline {policy}"
        for policy in paginate(iam, "list_role_policies", "PolicyNames", RoleName=name)
        if policy != EXECUTION_POLICY_NAME
    ]
    audit.used_services, audit.unused_services = _advisor(iam, audit.arn or "", now, sleep)
    _common_findings(audit, f"aws iam detach-role-policy --role-name {name} --policy-arn")
    return audit


def _common_findings(audit: PrincipalAudit, detach: str) -> None:
    for policy in audit.foreign_policies:
        fix = (
            f"{detach} {policy}"
            if policy.startswith("arn:")
            else f"aws iam delete-{audit.kind}-policy --{audit.kind}-name {audit.name} --policy-name "
            f"{policy.removeprefix('inline ')}"
        )
        audit.findings.append(Finding("warning", f"policy {policy} was not attached by this tool", fix))
    if audit.unused_services:
        repair = "make create-sagemaker-role" if audit.kind == "user" else "make create-sagemaker-execution-role"
        audit.findings.append(
            Finding(
                "warning",
                f"permissions for {', '.join(audit.unused_services)} unused in the last {UNUSED_AFTER_DAYS} days",
                f"remove the policies that grant them if nothing needs them ({repair} restores the tool's own set "
                "and drops the others)",
            )
        )
    if not audit.findings:
        audit.findings.append(Finding("ok", "nothing to fix"))


@dataclass
class AuditReport:
    principals: list[PrincipalAudit]

    @property
    def warnings(self) -> int:
        return sum(finding.verdict == "warning" for item in self.principals for finding in item.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"principals": [asdict(item) for item in self.principals], "warnings": self.warnings}


def audit_iam(
    aws: Aws, user_name: str, role_name: str, *, now: datetime, sleep: Callable[[float], None] = time.sleep
) -> AuditReport:
    return AuditReport([audit_user(aws, user_name, now, sleep), audit_role(aws, role_name, now, sleep)])


def render_audit(report: AuditReport) -> str:
    lines: list[str] = []
    for item in report.principals:
        lines.append(f"IAM {item.kind} {item.name}" + (f" ({item.arn})" if item.arn else ""))
        for key in item.keys:
            last = (
                f"last used {key['last_used'][:10]} ({key['last_service']}, {key['last_region']})"
                if key["last_used"]
                else "never used"
            )
            lines.append(f"  access key     {key['id']} {key['status']}, {key['age_days']} days old, {last}")
        if item.kind == "user" and item.arn:
            lines.append(f"  MFA devices    {item.mfa_devices}")
        for service in item.used_services:
            actions = f": {', '.join(service['actions'])}" if service["actions"] else ""
            lines.append(
                f"  used           {service['service']} {service['last'][:10]} in {service['region']}{actions}"
            )
        if item.unused_services:
            lines.append(f"  never used     {', '.join(item.unused_services)} (last {UNUSED_AFTER_DAYS} days)")
        if item.foreign_policies:
            lines.append(f"  not the tool's {', '.join(item.foreign_policies)}")
        for finding in item.findings:
            fix = f" -> {finding.fix}" if finding.fix else ""
            lines.append(f"  {finding.verdict:<14} {finding.what}{fix}")
    return "\n".join(lines)
