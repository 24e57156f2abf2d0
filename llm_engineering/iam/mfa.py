"""REQUIRE_MFA: the deployer policy allows creates, updates and deletes only to credentials obtained with MFA.

Each statement is split in two: its changing actions (Create*, Update*, Delete*, Put*, Add*, Remove*, Attach*,
Detach*, Tag*, Untag*, Abort*, Deregister*, Register*, PassRole) keep their resources and conditions and gain
`"Bool": {"aws:MultiFactorAuthPresent": "true"}`; reads, lists and invokes stay as they were. Long-term access
keys carry no `aws:MultiFactorAuthPresent` at all, so the Bool test fails for them: only session credentials
from `aws sts get-session-token --serial-number ... --token-code ...` (or an MFA-protected profile) pass (IAM
User Guide, "Configuring MFA-protected API access").
"""

from __future__ import annotations

import copy
import re
from typing import Any

from llm_engineering.iam.policies import PolicyDocument

MFA_CONDITION = {"aws:MultiFactorAuthPresent": "true"}
_CHANGING = re.compile(
    r"^[a-z0-9-]+:(Create|Update|Delete|Put|Add|Remove|Attach|Detach|Tag|Untag|Abort|Deregister|Register|Pass)"
)


def is_changing(action: str) -> bool:
    """Whether an IAM action creates, changes or deletes something (what MFA protects)."""
    return bool(_CHANGING.match(action))


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def require_mfa(document: PolicyDocument) -> PolicyDocument:
    """The same permissions, with every changing action conditioned on MFA."""
    statements: list[dict[str, Any]] = []
    for statement in document["Statement"]:
        actions = _actions(statement)
        changing = [action for action in actions if is_changing(action)]
        if statement.get("Effect") != "Allow" or not changing:
            statements.append(statement)
            continue
        rest = [action for action in actions if action not in changing]
        if rest:
            statements.append({**copy.deepcopy(statement), "Action": rest})
        guarded = copy.deepcopy(statement)
        guarded["Action"] = changing
        if "Sid" in guarded:
            guarded["Sid"] = f"{guarded['Sid']}WithMfa"
        condition = guarded.setdefault("Condition", {})
        condition["Bool"] = {**condition.get("Bool", {}), **MFA_CONDITION}
        statements.append(guarded)
    return {**document, "Statement": statements}
