"""Rotating the deployer's access key without ever leaving the profile without a working key.

Create a second key, store it in place of the first, prove it works (STS GetCallerIdentity signed with it,
retried while IAM propagates the new key), and only then delete the old key. A failure at any step puts things
back so that the profile holds a key that works, and says which key is where; two keys are never left behind
(except when deleting the old one fails, which is said with the command that finishes the job).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import botocore.session
from pydantic import SecretStr

from llm_engineering.aws import AWS_FAILURES, Aws, describe_failure, get_or_none, paginate
from llm_engineering.errors import ConfigurationError, UserFacingError
from llm_engineering.iam.credentials import AccessKey, CredentialsFile, CredentialsStoreError
from llm_engineering.retrying import Exhausted, Retry, of_type

PROOF = Retry(waits=(1, 2, 3, 4, 5, 5, 5, 5), first_wait=0, retry_on=of_type(*AWS_FAILURES))
"""Proofs of the new key, the seconds between them (about 30 s in all: IAM takes a few seconds to accept a new
key), and what is worth another proof: any refusal (InvalidClientTokenId while the key propagates)."""


class RotationRefused(ConfigurationError):
    """Rotation cannot start (two keys already, nothing stored, no such user): nothing was changed."""


class RotationFailed(UserFacingError):
    """A step failed after the new key was created: what was undone and which key is where."""


@dataclass
class RotationOutcome:
    old_key: str
    new_key: str
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


Prover = Callable[[AccessKey], str]
"""Signs one request with the key and returns the caller's ARN; raises when AWS refuses the key."""


def sts_prover(region: str) -> Prover:
    """A proof through STS GetCallerIdentity (it needs no permission), with a session holding only the key."""

    def prove(key: AccessKey) -> str:
        session = botocore.session.Session()
        session.set_credentials(key.key_id, key.secret.get_secret_value())
        client = session.create_client("sts", region_name=region)
        return str(client.get_caller_identity()["Arn"])

    return prove


def _key_ids(iam: Any, user_name: str) -> list[str]:
    return [item["AccessKeyId"] for item in paginate(iam, "list_access_keys", "AccessKeyMetadata", UserName=user_name)]


def _prove(prove: Prover, key: AccessKey, user_arn: str, sleep: Callable[[float], None]) -> None:
    """Retry until the key signs as the user; the last refusal (or the last other signer) is raised."""
    try:
        replace(PROOF, sleep=sleep).until(lambda: prove(key), done=lambda arn: arn == user_arn)
    except Exhausted as gave_up:
        raise RuntimeError(f"it signs as {gave_up.last}, not {user_arn}") from None


def rotate_deployer_key(
    aws: Aws,
    user_name: str,
    store: CredentialsFile,
    *,
    prove: Prover | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RotationOutcome:
    """Replace the stored key of `user_name` by a new one, proven before the old one is deleted."""
    old = store.stored_key()  # an unreadable store fails here, before anything changes
    iam = aws.client("iam")
    user = get_or_none(iam.get_user, UserName=user_name)
    if user is None:
        raise RotationRefused(f"IAM user {user_name} does not exist: create it with make create-sagemaker-role.")
    user_arn = user["User"]["Arn"]
    key_ids = _key_ids(iam, user_name)
    if len(key_ids) >= 2:
        raise RotationRefused(
            f"IAM user {user_name} already has two access keys ({', '.join(key_ids)}), the most IAM allows: delete "
            f"the one {store.describe()} does not hold (aws iam delete-access-key --user-name {user_name} "
            "--access-key-id <id>), then rotate again. Nothing was changed."
        )
    if old is None or old.key_id not in key_ids:
        held = f"holds {old.key_id}, not a key of {user_name}" if old else "holds no key"
        raise RotationRefused(
            f"{store.describe()} {held} (the user's keys: {', '.join(key_ids) or 'none'}): rotation replaces the "
            "stored key; store one first with make create-sagemaker-role ARGS=--rotate-key. Nothing was changed."
        )
    answer = iam.create_access_key(UserName=user_name)["AccessKey"]
    new = AccessKey(answer["AccessKeyId"], SecretStr(answer.pop("SecretAccessKey")))
    outcome = RotationOutcome(old.key_id, new.key_id, [f"Created access key {new.key_id} for {user_name}."])
    try:
        store.save(new)
    except BaseException as error:  # Ctrl-C included: a key nobody holds must not outlive the run
        iam.delete_access_key(UserName=user_name, AccessKeyId=new.key_id)
        if isinstance(error, CredentialsStoreError):
            raise RotationFailed(
                f"{error}; the new key {new.key_id} was deleted again and {store.describe()} still holds "
                f"{old.key_id}, which still works."
            ) from None
        raise
    outcome.changes.append(f"Stored {new.key_id} in {store.describe()} in place of {old.key_id} (mode 0600).")
    try:
        _prove(prove or sts_prover(aws.region), new, user_arn, sleep)
    except BaseException as error:
        store.save(old)
        iam.delete_access_key(UserName=user_name, AccessKeyId=new.key_id)
        if isinstance(error, KeyboardInterrupt):
            raise
        why = describe_failure(error) if isinstance(error, AWS_FAILURES) else str(error)
        raise RotationFailed(
            f"The new access key {new.key_id} did not work ({why}): it was deleted, and {store.describe()} holds "
            f"the previous key {old.key_id} again, which still works."
        ) from None
    outcome.changes.append(f"Proved {new.key_id} works: STS GetCallerIdentity signed with it answers {user_arn}.")
    try:
        iam.delete_access_key(UserName=user_name, AccessKeyId=old.key_id)
    except AWS_FAILURES as error:
        outcome.warnings.append(
            f"could not delete the previous key {old.key_id} ({describe_failure(error)}); {new.key_id} is in "
            f"{store.describe()} and works: delete the old one with aws iam delete-access-key --user-name "
            f"{user_name} --access-key-id {old.key_id}"
        )
        return outcome
    outcome.changes.append(f"Deleted the previous access key {old.key_id}.")
    return outcome
