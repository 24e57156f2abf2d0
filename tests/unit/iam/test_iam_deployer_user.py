"""`create_sagemaker_role`: the deployer user, its policy, its stored key, idempotency, rotation, deletion."""

from __future__ import annotations

import configparser
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from iam_snapshot import ACCOUNT, snapshot

from llm_engineering import __version__
from llm_engineering import aws as aws_module
from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.iam import HANDBOOK_MANAGED_POLICIES, canonical, deployer_policy_document
from llm_engineering.model.deploy.create_sagemaker_role import main

USER = "sagemaker-deployer"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
POLICY = f"llm-engineering-deployer-{USER}"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{POLICY}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRoleLLM"
TAGS = {"llm-engineering:managed-by": "llm-engineering", "llm-engineering:version": __version__}
MANAGED_ARNS = sorted(f"arn:aws:iam::aws:policy/{name}" for name in HANDBOOK_MANAGED_POLICIES)
OTHER_PROFILES = "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = keep-me\n"
DRIFTED = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}


@pytest.fixture(autouse=True)
def issued_secrets(monkeypatch) -> list[str]:
    """Every SecretAccessKey IAM hands out during the test, read straight from IAM's answers."""
    secrets: list[str] = []

    def record(session: Any) -> None:
        session.register(
            "after-call.iam.CreateAccessKey", lambda parsed, **_: secrets.append(parsed["AccessKey"]["SecretAccessKey"])
        )

    monkeypatch.setattr(aws_module, "SESSION_OBSERVERS", [record])
    return secrets


@pytest.fixture
def credentials(offline_env: Path) -> Path:
    """The shared credentials file the offline environment points AWS_SHARED_CREDENTIALS_FILE at."""
    return offline_env / "aws-credentials"


def profile(path: Path, name: str = USER) -> dict[str, str]:
    parser = configparser.RawConfigParser()
    parser.read(path)
    return dict(parser[name]) if parser.has_section(name) else {}


def desired_document() -> dict:
    return canonical(
        deployer_policy_document(
            partition="aws",
            account_id=ACCOUNT,
            user_name=USER,
            execution_role_arn=ROLE_ARN,
            instance_types=tuple(GPU_INSTANCES),
        )
    )


def assert_secret_hidden(secrets: list[str], *outputs: str) -> None:
    assert secrets, "the run should have created a key"
    for secret in secrets:
        for output in outputs:
            assert secret not in output


def usage_lines(key_id: str, path: Path) -> str:
    return (
        f"User ARN: {USER_ARN}\n"
        f"Access key {key_id} is in profile '{USER}' of {path}.\n"
        f"Deploy as this user with: AWS_PROFILE={USER} make deploy-inference-endpoint\n"
    )


def test_creates_user_least_privilege_policy_and_stored_key(iam, run_main, credentials, issued_secrets):
    credentials.write_text(OTHER_PROFILES)
    code, out, err = run_main(main)
    state = snapshot(iam)
    (key_id,) = state["users"][USER]["keys"]
    assert (code, err) == (0, "")
    assert state == {
        "users": {USER: {"tags": TAGS, "attached": [POLICY_ARN], "inline": [], "keys": [key_id]}},
        "roles": {},
        "policies": {POLICY: {"tags": TAGS, "default": "v1", "versions": ["v1"], "document": desired_document()}},
        "instance_profiles": [],
    }
    assert "FullAccess" not in json.dumps(state)
    assert out == (
        f"Created IAM user {USER}.\n"
        f"Created policy {POLICY}.\n"
        f"Attached policy {POLICY} to user {USER}.\n"
        f"Created access key {key_id} and stored it in profile '{USER}' of {credentials} (mode 0600).\n"
    ) + usage_lines(key_id, credentials)
    assert profile(credentials) == {"aws_access_key_id": key_id, "aws_secret_access_key": issued_secrets[0]}
    assert credentials.read_text().startswith(OTHER_PROFILES)
    assert profile(credentials, "default") == {"aws_access_key_id": "AKIADEFAULT", "aws_secret_access_key": "keep-me"}
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert_secret_hidden(issued_secrets, out, err)


def test_second_run_changes_nothing(iam, run_main, credentials):
    assert run_main(main)[0] == 0
    before, stored = snapshot(iam), credentials.read_text()
    code, out, err = run_main(main)
    assert snapshot(iam) == before
    assert credentials.read_text() == stored
    (key_id,) = before["users"][USER]["keys"]
    assert (code, err) == (0, "")
    up_to_date = f"IAM user {USER} and its policy are up to date: nothing changed.\n"
    assert out == up_to_date + usage_lines(key_id, credentials)


def test_drifted_policy_gets_a_new_default_version(iam, run_main):
    run_main(main)
    iam.create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=json.dumps(DRIFTED), SetAsDefault=True)
    code, out, _ = run_main(main)
    policy = snapshot(iam)["policies"][POLICY]
    assert code == 0
    assert out.splitlines()[0] == f"Repaired policy {POLICY}: its document had drifted; v3 is now the default version."
    assert (policy["default"], policy["versions"], policy["document"]) == ("v3", ["v1", "v2", "v3"], desired_document())


def test_a_full_version_history_loses_its_oldest_non_default_version(iam, run_main):
    run_main(main)
    for number in range(2, 6):
        drifted = {**DRIFTED, "Statement": [{**DRIFTED["Statement"][0], "Sid": f"Drift{number}"}]}
        iam.create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=json.dumps(drifted), SetAsDefault=True)
    code, out, _ = run_main(main)
    policy = snapshot(iam)["policies"][POLICY]
    assert code == 0
    assert out.splitlines()[:2] == [
        f"Deleted the oldest version v1 of policy {POLICY} (IAM keeps five).",
        f"Repaired policy {POLICY}: its document had drifted; v6 is now the default version.",
    ]
    assert (policy["default"], policy["versions"]) == ("v6", ["v2", "v3", "v4", "v5", "v6"])
    assert policy["document"] == desired_document()


def test_aws_arn_role_is_the_role_the_deployer_may_pass(iam, run_main, monkeypatch):
    other = f"arn:aws:iam::{ACCOUNT}:role/service-role/Custom"
    monkeypatch.setenv("AWS_ARN_ROLE", other)
    run_main(main)
    statements = snapshot(iam)["policies"][POLICY]["document"]["Statement"]
    pass_role = [s for s in statements if s["Action"] == ["iam:PassRole"]]
    assert [s["Resource"] for s in pass_role] == [[other, f"{other}-ttl"]]  # and its time-limit role beside it


def test_managed_policies_opt_in_and_back(run_main, monkeypatch, offline_env):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    import boto3
    from moto import mock_aws

    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        code, out, err = run_main(main, "--managed-policies")
        state = snapshot(iam)
        assert code == 0
        assert err == (
            "warning: --managed-policies attaches AmazonSageMakerFullAccess, AWSCloudFormationFullAccess, "
            "IAMFullAccess, AmazonEC2ContainerRegistryFullAccess, AmazonS3FullAccess: full control of SageMaker, "
            "CloudFormation, IAM, ECR and S3. Prefer the default least-privilege policy.\n"
        )
        assert state["users"][USER]["attached"] == MANAGED_ARNS
        assert state["policies"] == {}
        assert [line for line in out.splitlines() if "AWS managed" in line] == [
            f"Attached AWS managed policy {name} to user {USER}." for name in HANDBOOK_MANAGED_POLICIES
        ]

        code, out, err = run_main(main)
        assert (code, err) == (0, "")
        assert snapshot(iam)["users"][USER]["attached"] == [POLICY_ARN]
        assert [line for line in out.splitlines() if line.startswith("Detached")] == [
            f"Detached AWS managed policy {name} from user {USER} (least privilege)."
            for name in HANDBOOK_MANAGED_POLICIES
        ]


def test_key_file_default_location_is_private(iam, run_main, tmp_path, credentials, issued_secrets):
    code, out, err = run_main(main, "--key-file")
    path = tmp_path / ".llm-engineering" / f"{USER}.credentials"
    (key_id,) = snapshot(iam)["users"][USER]["keys"]
    assert (code, err) == (0, "")
    assert profile(path) == {"aws_access_key_id": key_id, "aws_secret_access_key": issued_secrets[0]}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not credentials.exists()
    assert out.splitlines()[-1] == (
        f"Deploy as this user with: AWS_SHARED_CREDENTIALS_FILE={path} AWS_PROFILE={USER} "
        "make deploy-inference-endpoint"
    )
    assert_secret_hidden(issued_secrets, out, err)


def test_key_file_at_a_chosen_path(iam, run_main, tmp_path):
    path = tmp_path / "keys" / "deployer.ini"
    assert run_main(main, "--key-file", str(path))[0] == 0
    (key_id,) = snapshot(iam)["users"][USER]["keys"]
    assert profile(path)["aws_access_key_id"] == key_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_existing_key_missing_from_the_store_is_reported_not_duplicated(iam, run_main, credentials):
    run_main(main)
    before = snapshot(iam)
    credentials.unlink()
    code, out, err = run_main(main)
    (key_id,) = before["users"][USER]["keys"]
    assert code == 0
    assert snapshot(iam) == before
    assert err == (
        f"warning: IAM user {USER} already has access key {key_id}, but profile '{USER}' of {credentials} does not "
        "hold it: run again with --rotate-key to create and store a new key (the old one is then deleted), or "
        "pass the --key-file that holds it.\n"
    )
    assert out == f"IAM user {USER} and its policy are up to date: nothing changed.\nUser ARN: {USER_ARN}\n"
    assert not credentials.exists()


def test_rotate_key_stores_the_new_key_then_deletes_the_old(iam, run_main, credentials, issued_secrets):
    run_main(main)
    (old,) = snapshot(iam)["users"][USER]["keys"]
    code, out, err = run_main(main, "--rotate-key")
    (new,) = snapshot(iam)["users"][USER]["keys"]
    assert (code, err) == (0, "")
    assert new != old
    assert profile(credentials) == {"aws_access_key_id": new, "aws_secret_access_key": issued_secrets[1]}
    assert out == (
        f"Created access key {new} and stored it in profile '{USER}' of {credentials} (mode 0600).\n"
        f"Deleted the previous access key {old}.\n"
    ) + usage_lines(new, credentials)
    assert_secret_hidden(issued_secrets, out, err)


def test_rotate_key_at_the_two_key_limit_is_refused_with_a_clear_line(iam, run_main, credentials):
    run_main(main)
    iam.create_access_key(UserName=USER)
    before, stored = snapshot(iam), credentials.read_text()
    first, second = sorted(before["users"][USER]["keys"])
    code, out, err = run_main(main, "--rotate-key")
    assert (code, out) == (1, "")
    keys = ", ".join(k["AccessKeyId"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"])
    assert sorted(keys.split(", ")) == [first, second]
    assert err == (
        f"error: IAM user '{USER}' already holds 2 access keys ({keys}), the most IAM allows, so no new key can be "
        f"created: delete the one you no longer use (aws iam delete-access-key --user-name {USER} --access-key-id "
        "<id>) and run again with --rotate-key.\n"
    )
    assert snapshot(iam) == before
    assert credentials.read_text() == stored


def test_delete_leaves_nothing_but_the_other_profiles_and_is_idempotent(iam, run_main, credentials):
    credentials.write_text(OTHER_PROFILES)
    run_main(main)
    (key_id,) = snapshot(iam)["users"][USER]["keys"]
    code, out, err = run_main(main, "--delete")
    assert (code, err) == (0, "")
    assert out == (
        f"Removed the stored access key from profile '{USER}' of {credentials}.\n"
        f"Deleted access key {key_id}.\n"
        f"Detached policy {POLICY} from user {USER}.\n"
        f"Deleted policy {POLICY}.\n"
        f"Deleted IAM user {USER}.\n"
    )
    assert snapshot(iam) == {"users": {}, "roles": {}, "policies": {}, "instance_profiles": []}
    assert credentials.read_text() == OTHER_PROFILES

    assert run_main(main, "--delete") == (0, f"IAM user {USER} does not exist: nothing to delete.\n", "")


def test_delete_removes_the_default_key_file(iam, run_main, tmp_path):
    run_main(main, "--key-file")
    path = tmp_path / ".llm-engineering" / f"{USER}.credentials"
    assert path.exists()
    code, out, _ = run_main(main, "--delete")
    assert code == 0
    assert out.splitlines()[0] == f"Removed the stored access key from key file {path.relative_to(tmp_path)}."
    assert not path.exists()


def test_delete_removes_a_chosen_key_file_and_keeps_its_other_profiles(iam, run_main, tmp_path):
    path = tmp_path / "keys.ini"
    path.write_text(OTHER_PROFILES)
    run_main(main, "--key-file", str(path))
    code, out, _ = run_main(main, "--delete", "--key-file", str(path))
    assert code == 0
    assert out.splitlines()[0] == f"Removed the stored access key from key file {path}."
    assert path.read_text() == OTHER_PROFILES


def test_running_as_the_deployer_profile_never_overwrites_it(iam, run_main, credentials, monkeypatch):
    credentials.write_text(f"[{USER}]\naws_access_key_id = AKIAADMIN\naws_secret_access_key = admin-secret\n")
    monkeypatch.setenv("AWS_PROFILE", USER)
    assert run_main(main, "--rotate-key") == (
        2,
        "",
        f"error: The deployer's key would overwrite profile '{USER}', whose credentials you are using now: set "
        "SAGEMAKER_USER_PROFILE to another profile name, or use --key-file.\n",
    )
    assert snapshot(iam)["users"] == {}
    assert profile(credentials)["aws_secret_access_key"] == "admin-secret"


def test_delete_finishes_a_policy_left_behind(iam, run_main):
    run_main(main)
    for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"])
    iam.detach_user_policy(UserName=USER, PolicyArn=POLICY_ARN)
    iam.delete_user(UserName=USER)
    assert run_main(main, "--delete") == (0, f"Deleted policy {POLICY}.\n", "")
    assert snapshot(iam)["policies"] == {}


def test_foreign_user_is_neither_changed_nor_deleted_without_force(iam, run_main):
    iam.create_user(UserName=USER)
    before = snapshot(iam)
    refusal = (
        f"error: IAM user '{USER}' was not created by llm-engineering (it lacks the llm-engineering:managed-by tag): "
        "refusing to {0}; pass --force to {0} anyway, or choose another name.\n"
    )
    assert run_main(main, "--delete") == (1, "", refusal.format("delete it"))
    assert run_main(main) == (1, "", refusal.format("change it"))
    assert snapshot(iam) == before

    code, out, _ = run_main(main, "--force")
    assert code == 0
    assert out.splitlines()[0] == f"Tagged existing user {USER} as managed by llm-engineering (--force)."
    assert snapshot(iam)["users"][USER]["tags"] == TAGS


def test_forced_delete_of_a_foreign_user_clears_what_blocks_deletion(iam, run_main):
    iam.create_user(UserName=USER)
    iam.create_group(GroupName="team")
    iam.add_user_to_group(GroupName="team", UserName=USER)
    iam.put_user_policy(UserName=USER, PolicyName="inline", PolicyDocument=json.dumps(DRIFTED))
    iam.create_login_profile(UserName=USER, Password="Pa55word!Pa55word!")
    iam.create_access_key(UserName=USER)
    code, _, err = run_main(main, "--delete", "--force")
    assert (code, err) == (0, "")
    assert snapshot(iam)["users"] == {}
    assert iam.get_group(GroupName="team")["Users"] == []


def test_an_unreadable_store_fails_before_anything_is_created(iam, run_main, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    target = blocked / "keys.ini"
    assert run_main(main, "--key-file", str(target)) == (
        1,
        "",
        f"error: Cannot read the credentials file {target} (Not a directory): fix its permissions or choose "
        "another location with --key-file.\n",
    )
    assert snapshot(iam)["users"] == {}


def test_a_key_that_cannot_be_stored_is_deleted_again(iam, run_main, credentials, monkeypatch, issued_secrets):
    run_main(main)
    before, stored = snapshot(iam), credentials.read_text()

    def refuse(source: str, target: str) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr("os.replace", refuse)
        code, out, err = run_main(main, "--rotate-key")
    assert len(issued_secrets) == 2  # the rotation did create a key ...
    assert snapshot(iam) == before  # ... and deleted it again
    assert credentials.read_text() == stored
    assert (code, out) == (1, "")
    assert err.startswith(f"error: Cannot write the credentials file {credentials} (Permission denied): ")
    assert err.endswith(" was deleted again)\n") and err.count("\n") == 1
    assert_secret_hidden(issued_secrets, out, err)
