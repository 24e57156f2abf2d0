"""IAM's access advisor, which moto lacks: GenerateServiceLastAccessedDetails / GetServiceLastAccessedDetails.

The emulator notes, for every signed request it answers, which IAM user's access key signed it and which
service (and action) it called, at the emulator's clock; and, for each CreateModel it sees, that SageMaker will
act as the model's execution role on ECR and CloudWatch Logs (and S3 when the weights come from there). A job
completes at once, with a row per service the principal's policies allow (as AWS reports them): last
authenticated time, entity and region where seen, none where not.

What AWS documents: the job's rows are the services the principal's policies allow; action-level rows exist
only for the services IAM tracks actions of (IAM User Guide, "Refining permissions using last accessed
information": Amazon S3, EC2, IAM, Lambda among them). The tracked list below and the service names are the
emulator's reading of it, not verified against AWS.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.iam.models import iam_backends
from werkzeug.wrappers import Request

from llm_engineering.local import clock
from llm_engineering.local.iam_simulation import principal_sources
from llm_engineering.local.protocol import AwsError, signing_scope
from llm_engineering.local.request_log import identify

NAMESPACES = {"monitoring": "cloudwatch", "sagemaker-runtime": "sagemaker", "servicequotas": "servicequotas"}
"""Signing names whose IAM service namespace differs."""
SERVICE_NAMES = {
    "sagemaker": "Amazon SageMaker",
    "iam": "AWS Identity and Access Management",
    "sts": "AWS Security Token Service",
    "s3": "Amazon S3",
    "logs": "Amazon CloudWatch Logs",
    "cloudwatch": "Amazon CloudWatch",
    "ecr": "Amazon Elastic Container Registry",
    "ec2": "Amazon EC2",
    "kms": "AWS Key Management Service",
    "servicequotas": "Service Quotas",
    "application-autoscaling": "Application Auto Scaling",
}
TRACKED_ACTIONS = frozenset({"s3", "ec2", "iam", "lambda"})
"""Services whose actions IAM's access advisor reports one by one (ACTION_LEVEL)."""


@dataclass(frozen=True)
class Access:
    when: datetime
    region: str


@dataclass
class _State:
    lock: threading.Lock
    seen: dict[tuple[str, str, str], Access]
    """(principal ARN, namespace, action) -> the last access."""
    jobs: dict[str, tuple[str, str, datetime]]
    """job id -> (principal ARN, granularity, creation time)."""


STATE = _State(threading.Lock(), {}, {})


def reset() -> None:
    """Forget every access and job (the emulator's reset empties moto's users and roles too)."""
    with STATE.lock:
        STATE.seen.clear()
        STATE.jobs.clear()


def _user_of(access_key: str) -> str | None:
    """The ARN of the IAM user whose access key this is (None: the account's root or a test key)."""
    for account in list(iam_backends):
        backend = iam_backends[account]["global"]
        for user in backend.users.values():
            if any(key.access_key_id == access_key for key in user.access_keys):
                return str(user.arn)
    return None


def _note(principal: str, namespace: str, action: str, region: str) -> None:
    with STATE.lock:
        STATE.seen[(principal, namespace, action)] = Access(clock.now(), region)


def observe(request: Request) -> None:
    """Note who called what (before the request is answered; its body is rewound by `identify`)."""
    scope = signing_scope(request.headers.get("Authorization"))
    found = identify(request) if scope is not None else None
    if scope is None or found is None:
        return
    access_key, region, _ = scope
    service, operation, _ = found
    namespace = NAMESPACES.get(service, service)
    user = _user_of(access_key)
    if user is not None:
        _note(user, namespace, operation, region)
    if namespace == "sagemaker" and operation == "CreateModel":
        _note_execution_role(request, region)


def _note_execution_role(request: Request, region: str) -> None:
    """SageMaker acts as the model's role: it pulls the image, writes logs, reads S3 model data."""
    try:
        params = json.loads(request.get_data() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return
    role = params.get("ExecutionRoleArn") if isinstance(params, dict) else None
    if not isinstance(role, str):
        return
    container = params.get("PrimaryContainer") or {}
    uses = [("ecr", "BatchGetImage"), ("logs", "PutLogEvents")]
    if "ModelDataSource" in container or "ModelDataUrl" in container:
        uses.append(("s3", "GetObject"))
    for namespace, action in uses:
        _note(role, namespace, action, region)


def _allowed(arn: str) -> dict[str, set[str]]:
    """Namespace -> the actions the principal's policies name (patterns included)."""
    sources, _ = principal_sources(arn, [])
    allowed: dict[str, set[str]] = {}
    for source in sources:
        for statement, _ in source.statements:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                namespace, _, name = str(action).partition(":")
                if namespace and namespace != "*":
                    allowed.setdefault(namespace.lower(), set()).add(name)
    return allowed


def _matches(pattern: str, action: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), action, re.IGNORECASE) is not None


def generate(params: Mapping[str, Any]) -> dict[str, Any]:
    arn = str(params["Arn"])
    _allowed(arn)  # an ARN of no user, group or role: NoSuchEntity / InvalidInput, as IAM answers
    job = str(uuid.uuid4())
    with STATE.lock:
        STATE.jobs[job] = (arn, str(params.get("Granularity", "SERVICE_LEVEL")), clock.now())
    return {"JobId": job}


def get(params: Mapping[str, Any]) -> dict[str, Any]:
    job = STATE.jobs.get(str(params["JobId"]))
    if job is None:
        raise AwsError("NoSuchEntity", f"The job with ID {params['JobId']} cannot be found.", 404)
    arn, granularity, created = job
    with STATE.lock:
        seen = {key: value for key, value in STATE.seen.items() if key[0] == arn and value.when <= created}
    rows = []
    for namespace, patterns in sorted(_allowed(arn).items()):
        row: dict[str, Any] = {
            "ServiceName": SERVICE_NAMES.get(namespace, namespace),
            "ServiceNamespace": namespace,
            "TotalAuthenticatedEntities": 0,
        }
        used = {action: access for (_, space, action), access in seen.items() if space == namespace}
        used = {action: access for action, access in used.items() if any(_matches(p, action) for p in patterns)}
        if used:
            latest = max(used.values(), key=lambda access: access.when)
            row |= {
                "LastAuthenticated": latest.when,
                "LastAuthenticatedEntity": arn,
                "LastAuthenticatedRegion": latest.region,
                "TotalAuthenticatedEntities": 1,
            }
        if granularity == "ACTION_LEVEL" and namespace in TRACKED_ACTIONS:
            row["TrackedActionsLastAccessed"] = [
                {
                    "ActionName": action,
                    "LastAccessedEntity": arn,
                    "LastAccessedTime": access.when,
                    "LastAccessedRegion": access.region,
                }
                for action, access in sorted(used.items())
            ]
        rows.append(row)
    return {
        "JobStatus": "COMPLETED",
        "JobType": granularity,
        "JobCreationDate": created,
        "JobCompletionDate": created,
        "ServicesLastAccessed": rows,
        "IsTruncated": False,
    }


OPERATIONS = {"GenerateServiceLastAccessedDetails": generate, "GetServiceLastAccessedDetails": get}
