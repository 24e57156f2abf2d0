"""`make rotate-deployer-key`: new key stored, proven, old key deleted; every failure leaves a working key."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from iam_snapshot import ACCOUNT

from llm_engineering.aws import connect
from llm_engineering.iam.credentials import CredentialsFile, CredentialsStoreError, shared_credentials_store
from llm_engineering.iam.rotation import RotationFailed, RotationRefused, rotate_deployer_key, sts_prover
from llm_engineering.model.deploy import create_sagemaker_role
from llm_engineering.model.deploy import rotate_deployer_key as script

USER = "sagemaker-deployer"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
OTHER = "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = keep-me\n"


@pytest.fixture
def deployer(iam, run_main, offline_env: Path) -> str:
    """The deployer user with one key, stored in its profile next to another profile; the key id."""
    (offline_env / "aws-credentials").write_text(OTHER)
    assert run_main(create_sagemaker_role.main)[0] == 0
    (key,) = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    return key["AccessKeyId"]


def _profile(offline_env: Path) -> dict[str, str]:
    parser = configparser.RawConfigParser()
    parser.read(offline_env / "aws-credentials")
    return dict(parser[USER])


def _keys(iam) -> list[str]:
    return [key["AccessKeyId"] for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]]


def test_rotation_stores_proves_then_deletes_the_old_key(deployer, iam, run_main, offline_env):
    code, out, err = run_main(script.main)
    assert (code, err) == (0, "")
    (new,) = _keys(iam)
    assert new != deployer
    assert _profile(offline_env)["aws_access_key_id"] == new
    assert (offline_env / "aws-credentials").read_text().startswith(OTHER)  # the other profile untouched
    assert stat.S_IMODE((offline_env / "aws-credentials").stat().st_mode) == 0o600
    assert out.splitlines() == [
        f"Created access key {new} for {USER}.",
        f"Stored {new} in profile '{USER}' of {offline_env / 'aws-credentials'} in place of {deployer} (mode 0600).",
        f"Proved {new} works: STS GetCallerIdentity signed with it answers {USER_ARN}.",
        f"Deleted the previous access key {deployer}.",
        f"Access key {new} is in profile '{USER}' of {offline_env / 'aws-credentials'}.",
    ]
    assert _profile(offline_env)["aws_secret_access_key"] not in out + err


def test_the_new_key_signs_as_the_user(deployer, iam, offline_env):
    key = shared_credentials_store(USER).stored_key()
    assert key is not None and sts_prover("us-east-1")(key) == USER_ARN


def test_two_keys_present_is_refused_naming_both_and_nothing_changes(deployer, iam, run_main, offline_env):
    second = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    before = (offline_env / "aws-credentials").read_text()
    code, out, err = run_main(script.main)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"already has two access keys ({deployer}, {second})" in err and "Nothing was changed." in err
    assert sorted(_keys(iam)) == sorted([deployer, second])
    assert (offline_env / "aws-credentials").read_text() == before


def test_no_stored_key_is_refused(iam, run_main, offline_env):
    iam.create_user(UserName=USER)
    code, _out, err = run_main(script.main)
    assert code == 2 and err.count("\n") == 1 and "holds no key" in err
    assert _keys(iam) == []


def test_a_key_that_never_works_is_undone_and_the_old_key_is_back(deployer, iam, offline_env):
    refused = ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": "invalid"}}, "GetCallerIdentity")
    attempts = []

    def never(key):
        attempts.append(key.key_id)
        raise refused

    store = shared_credentials_store(USER)
    with pytest.raises(RotationFailed) as failed:
        rotate_deployer_key(connect(region="us-east-1"), USER, store, prove=never, sleep=lambda _s: None)
    assert len(attempts) == 9  # retried while IAM propagates
    assert _keys(iam) == [deployer] and store.stored_key_id() == deployer
    assert f"holds the previous key {deployer} again, which still works" in str(failed.value)
    assert attempts[0] in str(failed.value)


def test_a_key_that_works_after_propagating_is_kept(deployer, iam):
    answers = iter([ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": ""}}, "GetCallerIdentity")])

    def slowly(key):
        error = next(answers, None)
        if error:
            raise error
        return USER_ARN

    waits = []
    outcome = rotate_deployer_key(
        connect(region="us-east-1"), USER, shared_credentials_store(USER), prove=slowly, sleep=waits.append
    )
    assert _keys(iam) == [outcome.new_key] and waits == [0, 1]


def test_a_store_that_cannot_be_written_deletes_the_new_key(deployer, iam, monkeypatch):
    def broken(self, key):
        raise CredentialsStoreError("Cannot write the credentials file")

    monkeypatch.setattr(CredentialsFile, "save", broken)
    with pytest.raises(RotationFailed, match=f"still holds {deployer}, which still works"):
        rotate_deployer_key(connect(region="us-east-1"), USER, shared_credentials_store(USER))
    assert _keys(iam) == [deployer]


def test_failing_to_delete_the_old_key_says_where_each_key_is(deployer, iam, monkeypatch):
    aws = connect(region="us-east-1")
    client = aws.client("iam")
    real = client.delete_access_key

    def refuse_old(**params):
        if params["AccessKeyId"] == deployer:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DeleteAccessKey")
        return real(**params)

    monkeypatch.setattr(client, "delete_access_key", refuse_old)
    outcome = rotate_deployer_key(aws, USER, shared_credentials_store(USER), prove=lambda _key: USER_ARN)
    assert sorted(_keys(iam)) == sorted([deployer, outcome.new_key])
    (warning,) = outcome.warnings
    assert f"could not delete the previous key {deployer}" in warning and f"--access-key-id {deployer}" in warning
    assert shared_credentials_store(USER).stored_key_id() == outcome.new_key


def test_an_unknown_user_is_refused(iam, offline_env):
    with pytest.raises(RotationRefused, match="does not exist"):
        rotate_deployer_key(connect(region="us-east-1"), "nobody", shared_credentials_store("nobody"))
