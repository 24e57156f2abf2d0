"""Bad input and missing configuration: one line on stderr, exit code 2, and no IAM resource created."""

from __future__ import annotations

import pytest
from iam_snapshot import is_empty, snapshot

from llm_engineering.model.deploy import create_sagemaker_execution_role, create_sagemaker_role

USER_SCRIPT = create_sagemaker_role.main
ROLE_SCRIPT = create_sagemaker_execution_role.main
FIX = "Fix it in .env or the environment."
NO_REGION = "No AWS region is configured: set AWS_REGION in .env or the environment (e.g. AWS_REGION=us-east-1)."
NO_CREDENTIALS = (
    "No AWS credentials found: run `aws configure` (or `aws sso login`), set AWS_PROFILE, "
    "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
)

CASES = [
    (
        USER_SCRIPT,
        {"SAGEMAKER_USER_NAME": "bad name!"},
        (),
        "SAGEMAKER_USER_NAME='bad name!' is invalid: IAM user names are 1-64 letters, digits or + = , . @ _ - "
        f"characters. {FIX}",
    ),
    (
        USER_SCRIPT,
        {"SAGEMAKER_USER_NAME": "x" * 65},
        ("--delete",),
        f"SAGEMAKER_USER_NAME='{'x' * 65}' is invalid: IAM user names are 1-64 letters, digits or + = , . @ _ - "
        f"characters. {FIX}",
    ),
    (
        USER_SCRIPT,
        {"SAGEMAKER_USER_PROFILE": "my profile"},
        (),
        "SAGEMAKER_USER_PROFILE='my profile' is invalid: profile names are 1-64 letters, digits or + = , . @ _ - "
        f"characters. {FIX}",
    ),
    (
        ROLE_SCRIPT,
        {"SAGEMAKER_EXECUTION_ROLE_NAME": "role/with/slashes"},
        (),
        "SAGEMAKER_EXECUTION_ROLE_NAME='role/with/slashes' is invalid: IAM role names are 1-64 letters, digits or "
        f"+ = , . @ _ - characters. {FIX}",
    ),
    (
        ROLE_SCRIPT,
        {"EXECUTION_ROLE_S3_BUCKETS": "Not_A_Bucket"},
        (),
        "EXECUTION_ROLE_S3_BUCKETS='Not_A_Bucket' is invalid: 'Not_A_Bucket' is not an S3 bucket name "
        f"(3-63 lower-case letters, digits, '.', '-'). {FIX}",
    ),
    (
        USER_SCRIPT,
        {"AWS_ARN_ROLE": "not-an-arn"},
        (),
        f"AWS_ARN_ROLE='not-an-arn' is invalid: must be an IAM role ARN such as "
        f"arn:aws:iam::123456789012:role/Name. {FIX}",
    ),
    (
        USER_SCRIPT,
        {"SAGEMAKER_USER_PROFILE": "default"},
        (),
        "The deployer's key would overwrite profile 'default', whose credentials you are using now: set "
        "SAGEMAKER_USER_PROFILE to another profile name, or use --key-file.",
    ),
    (
        USER_SCRIPT,
        {"AWS_PROFILE": "absent"},
        (),
        "AWS_PROFILE='absent' is not a profile in your AWS config files: set AWS_PROFILE to an existing profile "
        "(see `aws configure list-profiles`) or unset it.",
    ),
    (USER_SCRIPT, {}, ("--bogus",), "create_sagemaker_role: unrecognized arguments: --bogus (see --help)."),
    (
        USER_SCRIPT,
        {},
        ("--delete", "--rotate-key"),
        "create_sagemaker_role: --delete cannot be combined with --rotate-key or --managed-policies (see --help).",
    ),
    (
        ROLE_SCRIPT,
        {},
        ("--rotate-key",),
        "create_sagemaker_execution_role: unrecognized arguments: --rotate-key (see --help).",
    ),
]


@pytest.mark.parametrize(("main", "environment", "argv", "message"), CASES)
def test_bad_setting_or_argument_is_one_line_and_creates_nothing(
    iam, run_main, monkeypatch, main, environment, argv, message
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert run_main(main, *argv) == (2, "", f"error: {message}\n")
    assert is_empty(snapshot(iam))


@pytest.mark.parametrize("main", [USER_SCRIPT, ROLE_SCRIPT])
@pytest.mark.parametrize("argv", [(), ("--delete",)])
def test_missing_region_is_one_line_and_creates_nothing(iam, run_main, monkeypatch, main, argv):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert run_main(main, *argv) == (2, "", f"error: {NO_REGION}\n")
    assert is_empty(snapshot(iam))


@pytest.mark.parametrize("main", [USER_SCRIPT, ROLE_SCRIPT])
def test_missing_credentials_is_one_line_and_creates_nothing(iam, run_main, monkeypatch, main):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata to find on a test machine
    assert run_main(main) == (2, "", f"error: {NO_CREDENTIALS}\n")
    state = snapshot(iam)  # the test's own client kept its credentials
    assert is_empty(state)
