"""The four Make targets as a user runs them, against the emulator over real HTTP."""

from __future__ import annotations

import configparser
from pathlib import Path

import boto3
from helpers import run_make
from iam_snapshot import ACCOUNT, snapshot

from llm_engineering import __version__

USER = "sagemaker-deployer"
ROLE = "SageMakerExecutionRoleLLM"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/llm-engineering-deployer-{USER}"
TAGS = {"llm-engineering:managed-by": "llm-engineering", "llm-engineering:version": __version__}
# The project is installed already; keep make from re-running `poetry install` for its stamp file.
NO_REINSTALL = ("-o", ".venv/.installed")


def make(target: str, env: dict[str, str]) -> tuple[int, str, str]:
    done = run_make(target, env, *NO_REINSTALL)
    return done.returncode, done.stdout, done.stderr


def test_role_targets_create_and_delete_through_make(server_env: dict[str, str]):
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server_env["AWS_ENDPOINT_URL"])
    credentials = Path(server_env["AWS_SHARED_CREDENTIALS_FILE"])

    code, out, err = make("create-sagemaker-execution-role", server_env)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"Role ARN: arn:aws:iam::{ACCOUNT}:role/{ROLE}"

    code, out, err = make("create-sagemaker-role", server_env)
    assert (code, err) == (0, "")
    state = snapshot(iam)
    (key_id,) = state["users"][USER]["keys"]
    assert state["users"][USER] == {"tags": TAGS, "attached": [POLICY_ARN], "inline": [], "keys": [key_id]}
    assert state["roles"][ROLE]["tags"] == TAGS
    assert state["roles"][ROLE]["trust"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["sagemaker.amazonaws.com"]},
            "Action": ["sts:AssumeRole"],
            "Condition": {
                "StringEquals": {"aws:SourceAccount": [ACCOUNT]},
                "ArnLike": {"aws:SourceArn": [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*"]},
            },
        }
    ]
    stored = configparser.RawConfigParser()
    stored.read(credentials)
    secret = stored[USER]["aws_secret_access_key"]
    assert stored[USER]["aws_access_key_id"] == key_id
    assert secret and secret not in out + err
    assert f"AWS_PROFILE={USER}" in out

    code, out, err = make("delete-sagemaker-role", server_env)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"Deleted IAM user {USER}."
    code, out, err = make("delete-sagemaker-execution-role", server_env)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"Deleted IAM role {ROLE}."
    assert snapshot(iam) == {"users": {}, "roles": {}, "policies": {}, "instance_profiles": []}
    assert credentials.read_text() == ""


def test_make_target_with_a_bad_setting_fails_in_one_line(server_env: dict[str, str]):
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server_env["AWS_ENDPOINT_URL"])
    code, out, err = make("create-sagemaker-role", {**server_env, "SAGEMAKER_USER_NAME": "no spaces allowed"})
    assert code != 0
    assert out == ""
    assert err.splitlines()[0] == (
        "error: SAGEMAKER_USER_NAME='no spaces allowed' is invalid: IAM user names are 1-64 letters, digits or "
        "+ = , . @ _ - characters. Fix it in .env or the environment."
    )
    assert iam.list_users()["Users"] == []
