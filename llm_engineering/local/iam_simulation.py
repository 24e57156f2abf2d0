"""IAM's policy simulator, which moto lacks: SimulatePrincipalPolicy and SimulateCustomPolicy.

The caller's identity policies are read from moto's IAM backend (a user's inline, attached and group policies;
a role's inline and attached ones) and evaluated as IAM's documentation describes evaluation within one
account: an explicit Deny wins, else any Allow, else the implicit deny; a permissions boundary, when there is
one, must allow too. Statements match on Action/NotAction (case-insensitive), Resource/NotResource (each of
an ARN's six parts on its own), with `*` and `?` wildcards, and on their Condition block with the request's
ContextEntries: the string, ARN, numeric, Bool and Null operators, `...IfExists`, and the
`ForAnyValue:`/`ForAllValues:` set qualifiers. A context key the request does not supply makes a condition
false (true for the negated operators, `...IfExists` and `Null`), and is reported in MissingContextValues.

Not emulated: resource-based policies (`ResourcePolicy` is refused rather than ignored), organizations'
SCPs, and the Date, IpAddress and Binary operators (a condition using one does not match).
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.iam.models import iam_backends
from moto.utilities.utils import PARTITION_NAMES

from llm_engineering.local.protocol import AwsError

Context = dict[str, list[str]]
"""Context key (lower case: IAM's keys are case-insensitive) -> its values."""


@dataclass(frozen=True)
class Source:
    """One policy document taking part in a simulation, and how IAM names it in MatchedStatements."""

    policy_id: str
    policy_type: str
    """`user`, `group` or `role` (inline), `aws-managed` / `user-managed` (attached), `none` (given inline)."""
    text: str

    @functools.cached_property
    def statements(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(statement, its Statement shape with start and end positions) for each statement of the document."""
        return [
            (statement, {"SourcePolicyId": self.policy_id, "SourcePolicyType": self.policy_type, **positions})
            for statement, positions in _statement_positions(self.text)
        ]


@dataclass
class Decision:
    """The outcome for one action on one resource."""

    decision: str = "implicitDeny"
    matched: list[dict[str, Any]] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)


# --- where statements are, for MatchedStatements ------------------------------------------------------------


def _position(text: str, offset: int) -> dict[str, int]:
    line = text.count("\n", 0, offset) + 1
    return {"Line": line, "Column": offset - (text.rfind("\n", 0, offset) + 1) + 1}


def _statement_positions(text: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each statement of a policy document with its start and end positions (1-based lines and columns).

    IAM counts positions in the document as stored; the exact column IAM reports for the end (the closing
    brace, here) is not verifiable.
    """
    decoder = json.JSONDecoder()
    try:
        document, _ = decoder.raw_decode(text.strip())
    except json.JSONDecodeError:
        raise AwsError("MalformedPolicyDocument", "The policy document is not valid JSON.") from None
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    spans: list[tuple[int, int]] = []
    start = text.find('"Statement"')
    position = text.find(":", start) + 1 if start >= 0 else len(text)
    while position < len(text) and text[position].isspace():
        position += 1
    if position < len(text) and text[position] == "[":
        position += 1
        for _ in statements if isinstance(statements, list) else []:
            while text[position] in " \t\r\n,":
                position += 1
            _, end = decoder.raw_decode(text, position)
            spans.append((position, end))
            position = end
    elif position < len(text):
        spans.append((position, decoder.raw_decode(text, position)[1]))
    listed = statements if isinstance(statements, list) else [statements]
    return [
        (statement, {"StartPosition": _position(text, begin), "EndPosition": _position(text, end - 1)})
        for statement, (begin, end) in zip(listed, spans, strict=False)
        if isinstance(statement, dict)
    ]


# --- matching -----------------------------------------------------------------------------------------------


@functools.cache
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ARN matching: each of the six colon-separated parts on its own, wildcards within a part."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(actual) == 6 and all(_like(w, a) for w, a in zip(wanted, actual, strict=True))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _substitute(pattern: str, context: Context) -> str:
    """Policy variables (`${aws:username}`) from the context; one that is absent stays as written."""

    def value(match: re.Match[str]) -> str:
        values = context.get(match.group(1).lower())
        return values[0] if values and len(values) == 1 else match.group(0)

    return re.sub(r"\$\{([^}]+)\}", value, pattern)


def _covers(statement: Mapping[str, Any], action: str, resource: str, context: Context) -> bool:
    if "NotAction" in statement:
        action_ok = not any(_like(p, action, ignore_case=True) for p in _as_list(statement["NotAction"]))
    else:
        action_ok = any(_like(p, action, ignore_case=True) for p in _as_list(statement.get("Action")))
    if not action_ok:
        return False
    if "NotResource" in statement:
        return not any(_arn_like(_substitute(p, context), resource) for p in _as_list(statement["NotResource"]))
    return any(_arn_like(_substitute(p, context), resource) for p in _as_list(statement.get("Resource")))


# --- conditions ---------------------------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def test(wanted: str, actual: str) -> bool:
        left, right = _number(actual), _number(wanted)
        return left is not None and right is not None and compare(left, right)

    return test


MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda wanted, actual: wanted == actual,
    "StringEqualsIgnoreCase": lambda wanted, actual: wanted.lower() == actual.lower(),
    "StringLike": lambda wanted, actual: _like(wanted, actual),
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "NumericEquals": _numeric(lambda actual, wanted: actual == wanted),
    "NumericLessThan": _numeric(lambda actual, wanted: actual < wanted),
    "NumericLessThanEquals": _numeric(lambda actual, wanted: actual <= wanted),
    "NumericGreaterThan": _numeric(lambda actual, wanted: actual > wanted),
    "NumericGreaterThanEquals": _numeric(lambda actual, wanted: actual >= wanted),
    "Bool": lambda wanted, actual: wanted.lower() == actual.lower(),
}
"""Positive operators: a context value matches a policy value. Negated ones (`...Not...`) invert them."""
NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _condition_holds(operator: str, key: str, wanted: list[str], context: Context) -> tuple[bool, bool]:
    """(holds, key missing) for one `operator: {key: values}` pair."""
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    actual = context.get(key.lower())
    if name == "Null":
        return (actual is None) == (wanted[:1] == ["true"]), False
    if actual is None:
        if if_exists:
            return True, False
        if qualifier == "ForAllValues":
            return True, True
        return name in NEGATED, True
    negated = name in NEGATED
    matcher = MATCHERS.get(NEGATED.get(name, name))
    if matcher is None:  # Date, IpAddress, Binary: not emulated
        return False, False

    def hit(value: str) -> bool:
        return any(matcher(_substitute(item, context), value) for item in wanted)

    if qualifier == "ForAllValues":
        holds = all(hit(value) for value in actual)
        return (not holds if negated else holds), False
    holds = any(hit(value) for value in actual)
    return (not holds if negated else holds), False


def _conditions(statement: Mapping[str, Any], context: Context) -> tuple[bool, set[str]]:
    """Whether every condition of the statement holds, and the context keys it needed that were absent."""
    missing: set[str] = set()
    holds = True
    block = statement.get("Condition") or {}
    for operator, pairs in block.items() if isinstance(block, Mapping) else []:
        for key, values in pairs.items() if isinstance(pairs, Mapping) else []:
            ok, absent = _condition_holds(operator, key, _as_list(values), context)
            holds = holds and ok
            if absent:
                missing.add(key)
    return holds, missing


# --- evaluation ---------------------------------------------------------------------------------------------


def evaluate(sources: Iterable[Source], action: str, resource: str, context: Context) -> Decision:
    """IAM's decision on `action` for `resource` under `sources` (identity policies of one account)."""
    allows: list[dict[str, Any]] = []
    denies: list[dict[str, Any]] = []
    missing: set[str] = set()
    for source in sources:
        for statement, shape in source.statements:
            if not _covers(statement, action, resource, context):
                continue
            holds, absent = _conditions(statement, context)
            missing |= absent
            if holds:
                (denies if statement.get("Effect") == "Deny" else allows).append(shape)
    if denies:
        return Decision("explicitDeny", denies, missing)  # the deny statements are the only ones reported
    return Decision("allowed" if allows else "implicitDeny", allows, missing)


def decide(
    sources: Iterable[Source], boundary: list[Source] | None, action: str, resource: str, context: Context
) -> tuple[Decision, bool | None]:
    """IAM's decision under identity policies and a permissions boundary (None: the principal has none), and
    whether the boundary allows the request (None without one): an explicit Deny in either wins, and an Allow
    counts only when the boundary allows too."""
    found = evaluate(sources, action, resource, context)
    if boundary is None:
        return found, None
    limit = evaluate(boundary, action, resource, context)
    found.missing |= limit.missing
    if limit.decision == "explicitDeny":
        found = Decision("explicitDeny", limit.matched, found.missing)
    elif limit.decision != "allowed" and found.decision == "allowed":
        found = Decision("implicitDeny", [], found.missing)
    return found, limit.decision == "allowed"


def context_of(entries: Iterable[Mapping[str, Any]]) -> Context:
    return {str(entry["ContextKeyName"]).lower(): _as_list(entry.get("ContextKeyValues")) for entry in entries}


# --- the principal's policies, from moto's IAM backend --------------------------------------------------------


def _text(document: Any) -> str:
    if isinstance(document, Mapping):
        return json.dumps(document, indent=4)
    text = str(document)
    return text if text.lstrip().startswith("{") else urllib.parse.unquote(text)


@dataclass(frozen=True)
class _Exclusions:
    """PolicyExclusionList: attached policies by ARN, inline ones by (attachment type, attachment, name)."""

    managed: set[str]
    inline: set[tuple[str, str, str]]

    @classmethod
    def of(cls, items: list[Mapping[str, Any]]) -> _Exclusions:
        inline = {
            (str(ref["AttachmentType"]), str(ref["AttachmentName"]), str(ref["PolicyName"]))
            for ref in (item.get("InlinePolicyIdentifier") for item in items)
            if ref
        }
        return cls({str(item["PolicyArn"]) for item in items if item.get("PolicyArn")}, inline)

    def sources(self, owner: Any, kind: str) -> list[Source]:
        """The inline and attached policies of a user, group or role."""
        inline = [
            Source(name, kind, _text(document))
            for name, document in owner.policies.items()
            if (kind, owner.name, name) not in self.inline
        ]
        managed = {arn: policy for arn, policy in owner.managed_policies.items() if arn not in self.managed}
        return inline + _managed(managed)


def _managed(policies: Mapping[str, Any]) -> list[Source]:
    sources = []
    for arn, policy in policies.items():
        version = next(v for v in policy.versions if v.version_id == policy.default_version_id)
        kind = "aws-managed" if ":iam::aws:policy/" in arn else "user-managed"
        sources.append(Source(policy.name, kind, _text(version.document)))
    return sources


def _not_found(kind: str, name: str) -> AwsError:
    return AwsError("NoSuchEntity", f"The {kind} with name {name} cannot be found.", 404)


def principal_sources(arn: str, exclusions: list[Mapping[str, Any]]) -> tuple[list[Source], list[Source] | None]:
    """(identity policies, permissions boundary or None) of the user, group or role `arn` names.

    A user's are its own and its groups'. IAM's SourcePolicyId for an attached policy is taken to be the
    policy's name (not verifiable).
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or "/" not in parts[5]:
        raise AwsError("InvalidInput", f"ARN {arn} is not valid.")
    kind, _, path = parts[5].partition("/")
    name = path.rsplit("/", 1)[-1]
    if parts[1] not in PARTITION_NAMES:  # checked first: looking up an account creates moto state
        raise AwsError("InvalidInput", f"ARN {arn} is not valid.")
    backend = iam_backends[parts[4]][parts[1]]
    excluded = _Exclusions.of(exclusions)
    if kind == "user":
        user = backend.users.get(name)
        if user is None:
            raise _not_found(kind, name)
        groups = [group for group in backend.groups.values() if user in group.users]
        return excluded.sources(user, "user") + [s for g in groups for s in excluded.sources(g, "group")], None
    if kind == "group":
        group = backend.groups.get(name)
        if group is None:
            raise _not_found(kind, name)
        return excluded.sources(group, "group"), None
    if kind != "role":
        raise AwsError("InvalidInput", f"ARN {arn} is not a user, group or role: only those can be simulated.")
    role = next((role for role in backend.roles.values() if role.name == name), None)
    if role is None:
        raise _not_found(kind, name)
    boundary = backend.managed_policies.get(role.permissions_boundary_arn or "")
    return excluded.sources(role, "role"), (_managed({boundary.arn: boundary}) if boundary is not None else None)


# --- the operations -------------------------------------------------------------------------------------------


def _given(documents: Iterable[str], label: str) -> list[Source]:
    return [Source(f"{label}.{index}", "none", _text(text)) for index, text in enumerate(documents, start=1)]


def _result(
    action: str, resource: str, sources: list[Source], boundary: list[Source] | None, context: Context, listed: bool
) -> dict[str, Any]:
    found, bounded = decide(sources, boundary, action, resource, context)
    detail: dict[str, Any] = {}
    if bounded is not None:
        detail["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": bounded}
    missing = sorted(found.missing)
    result: dict[str, Any] = {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": found.decision,
        "MatchedStatements": found.matched,
        "MissingContextValues": [] if listed else missing,
        **detail,
    }
    if listed:  # with ResourceArns, missing keys are reported per resource (IAM's documentation)
        result["EvalDecisionDetails"] = {}
        result["ResourceSpecificResults"] = [
            {
                "EvalResourceName": resource,
                "EvalResourceDecision": found.decision,
                "MatchedStatements": found.matched,
                "MissingContextValues": missing,
                "EvalDecisionDetails": {},
                **detail,
            }
        ]
    return result


def _simulate(params: Mapping[str, Any], sources: list[Source], boundary: list[Source] | None) -> dict[str, Any]:
    """One result per action and resource (`*` when no ResourceArns), paged by MaxItems/Marker."""
    if params.get("ResourcePolicy"):
        raise AwsError(
            "NotImplemented", "The emulator does not simulate resource-based policies (ResourcePolicy).", 501
        )
    if params.get("PermissionsBoundaryPolicyInputList"):
        boundary = _given(params["PermissionsBoundaryPolicyInputList"], "PermissionsBoundaryPolicyInputList")
    context = context_of(params.get("ContextEntries") or [])
    resources = list(params.get("ResourceArns") or [])
    results = [
        _result(action, resource, sources, boundary, context, listed=bool(resources))
        for action in params["ActionNames"]
        for resource in resources or ["*"]
    ]
    start = int(params["Marker"]) if str(params.get("Marker", "")).isdigit() else 0
    size = int(params.get("MaxItems") or 100)
    page = results[start : start + size]
    truncated = start + size < len(results)
    return {"EvaluationResults": page, "IsTruncated": truncated, **({"Marker": str(start + size)} if truncated else {})}


def simulate_principal_policy(params: Mapping[str, Any]) -> dict[str, Any]:
    sources, boundary = principal_sources(params["PolicySourceArn"], list(params.get("PolicyExclusionList") or []))
    sources += _given(params.get("PolicyInputList") or [], "PolicyInputList")
    return _simulate(params, sources, boundary)


def simulate_custom_policy(params: Mapping[str, Any]) -> dict[str, Any]:
    return _simulate(params, _given(params["PolicyInputList"], "PolicyInputList"), None)


OPERATIONS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "SimulatePrincipalPolicy": simulate_principal_policy,
    "SimulateCustomPolicy": simulate_custom_policy,
}
"""IAM operations this module answers; every other IAM operation is moto's."""
