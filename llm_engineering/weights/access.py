"""May the execution role read a staged model? IAM's evaluation of the role's own policies, for two requests.

SageMaker downloads an S3Prefix with the execution role: `s3:ListBucket` on the bucket (request context
`s3:prefix` = the prefix) and `s3:GetObject` on every object under it. This evaluates the role's identity
policies the way IAM does for those requests: an explicit Deny wins, then an Allow, else the implicit
deny; `*` and `?` wildcards (actions case-insensitive, resources case-sensitive), NotAction and
NotResource, and the String condition operators on `s3:prefix`. A condition on any other key cannot be
judged from here and makes the answer "uncertain", never a refusal. Bucket policies, permission
boundaries and SCPs are not visible to this check (preflight says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from llm_engineering.catalogue.s3 import S3Location

Decision = Literal["allowed", "denied", "uncertain"]
STRING_OPERATORS = {"StringEquals", "StringLike", "StringNotEquals", "StringNotLike"}


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadAccess:
    """The decision on every request a download makes, and the ones that are not allowed."""

    decision: Decision
    refused: tuple[str, ...] = ()
    """`action on resource` of each request that is denied (or uncertain)."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _pattern(text: str, *, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in text)
    return re.compile(f"^{regex}$", 0 if case_sensitive else re.IGNORECASE)


def _matches(patterns: Iterable[Any], value: str, *, case_sensitive: bool) -> bool:
    return any(_pattern(str(item), case_sensitive=case_sensitive).match(value) for item in patterns)


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotAction" in statement:
        action = not _matches(_as_list(statement["NotAction"]), request.action, case_sensitive=False)
    else:
        action = _matches(_as_list(statement.get("Action")), request.action, case_sensitive=False)
    if "NotResource" in statement:
        resource = not _matches(_as_list(statement["NotResource"]), request.resource, case_sensitive=True)
    else:
        resource = _matches(_as_list(statement.get("Resource")), request.resource, case_sensitive=True)
    return action and resource


def _condition(condition: Mapping[str, Any] | None, context: Mapping[str, str]) -> bool | None:
    """True or False as IAM would decide it, None when it depends on a key this check cannot see."""
    result: bool | None = True
    for operator, pairs in (condition or {}).items():
        base = operator.removesuffix("IfExists")
        if base not in STRING_OPERATORS or not isinstance(pairs, Mapping):
            return None
        for key, values in pairs.items():
            if key.lower() not in {name.lower() for name in context}:
                if key.lower() != "s3:prefix":
                    return None
                # IAM's rule for a key absent from the request: only negated and IfExists operators hold.
                holds = operator.endswith("IfExists") or "Not" in base
            else:
                actual = next(value for name, value in context.items() if name.lower() == key.lower())
                like = base.endswith("Like")
                hit = (
                    _matches(_as_list(values), actual, case_sensitive=True)
                    if like
                    else actual in map(str, _as_list(values))
                )
                holds = not hit if "Not" in base else hit
            if not holds:
                result = False
    return result


def evaluate(documents: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """IAM's decision on one request from identity policies alone."""
    allowed = allow_uncertain = deny_uncertain = False
    for document in documents:
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, Mapping) else statements:
            if not _applies(statement, request):
                continue
            holds = _condition(statement.get("Condition"), request.context)
            if statement.get("Effect") == "Deny":
                if holds:
                    return "denied"
                deny_uncertain = deny_uncertain or holds is None
            elif statement.get("Effect") == "Allow":
                allowed = allowed or bool(holds)
                allow_uncertain = allow_uncertain or holds is None
    if allowed:
        return "uncertain" if deny_uncertain else "allowed"
    return "uncertain" if allow_uncertain else "denied"


def download_requests(location: S3Location, names: Sequence[str], partition: str = "aws") -> list[Request]:
    """What SageMaker asks S3 for to download the stage: list the prefix, then get every file."""
    listing = Request("s3:ListBucket", location.bucket_arn(partition), {"s3:prefix": location.prefix})
    objects = [
        Request("s3:GetObject", f"arn:{partition}:s3:::{location.bucket}/{location.key(name)}") for name in names
    ]
    return [listing, *objects]


def read_access(
    documents: Sequence[Mapping[str, Any]], location: S3Location, names: Sequence[str], partition: str = "aws"
) -> ReadAccess:
    """Whether policies `documents` let their role download `names` from `location`."""
    decisions = [(request, evaluate(documents, request)) for request in download_requests(location, names, partition)]
    refused = tuple(
        f"{request.action} on {request.resource}" for request, decision in decisions if decision != "allowed"
    )
    if any(decision == "denied" for _, decision in decisions):
        return ReadAccess("denied", refused)
    if refused:
        return ReadAccess("uncertain", refused)
    return ReadAccess("allowed")
