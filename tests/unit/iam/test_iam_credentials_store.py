"""The access key store: atomic, private (0600), boto3-readable, and harmless to the user's other profiles."""

from __future__ import annotations

import stat
from pathlib import Path

import boto3
import pytest
from pydantic import SecretStr

from llm_engineering.iam.credentials import (
    AccessKey,
    CredentialsStoreError,
    default_key_file_path,
    key_file_store,
    shared_credentials_path,
    shared_credentials_store,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY = AccessKey(key_id="AKIAEXAMPLE000000001", secret=SecretStr(SECRET))
OTHER_PROFILES = """# my own notes: keep me
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[work]
aws_access_key_id = AKIAWORK
aws_secret_access_key = work-secret
region = eu-west-1
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_shared_credentials_path_follows_the_environment_like_boto3(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "elsewhere"))
    assert shared_credentials_path() == tmp_path / "elsewhere"
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert shared_credentials_path() == tmp_path / "home" / ".aws" / "credentials"


def test_new_file_is_private_and_boto3_reads_the_profile(tmp_path, monkeypatch):
    path = tmp_path / "aws" / "credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    store = shared_credentials_store("sagemaker-deployer")
    store.save(KEY)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert path.read_text() == (
        f"[sagemaker-deployer]\naws_access_key_id = {KEY.key_id}\naws_secret_access_key = {SECRET}\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    credentials = boto3.Session(profile_name="sagemaker-deployer").get_credentials()
    assert (credentials.access_key, credentials.secret_key) == (KEY.key_id, SECRET)
    assert store.stored_key_id() == KEY.key_id
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_other_profiles_and_comments_are_kept_verbatim(tmp_path):
    path = tmp_path / "credentials"
    path.write_text(OTHER_PROFILES)
    path.chmod(0o644)
    store = key_file_store(path, "sagemaker-deployer")
    store.save(KEY)
    assert path.read_text() == OTHER_PROFILES + (
        f"\n[sagemaker-deployer]\naws_access_key_id = {KEY.key_id}\naws_secret_access_key = {SECRET}\n"
    )
    assert mode(path) == 0o600


def test_saving_again_replaces_only_that_profile_in_place(tmp_path):
    path = tmp_path / "credentials"
    path.write_text(
        "[deployer]\naws_access_key_id = AKIAOLD\naws_secret_access_key = old-secret\n\n# work account\n"
        + OTHER_PROFILES.split("\n", 1)[1]
    )
    store = key_file_store(path, "deployer")
    store.save(KEY)
    assert path.read_text() == (
        f"[deployer]\naws_access_key_id = {KEY.key_id}\naws_secret_access_key = {SECRET}\n\n# work account\n"
        + OTHER_PROFILES.split("\n", 1)[1]
    )
    assert "old-secret" not in path.read_text()


def test_remove_only_drops_a_profile_holding_one_of_the_given_keys(tmp_path, monkeypatch):
    path = tmp_path / "credentials"
    path.write_text(OTHER_PROFILES)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    store = shared_credentials_store("work")
    assert store.remove({"AKIASOMEONEELSE"}) is False
    assert path.read_text() == OTHER_PROFILES
    assert store.remove({"AKIAWORK"}) is True
    assert path.read_text() == "# my own notes: keep me\n[default]\naws_access_key_id = AKIADEFAULT\n" + (
        "aws_secret_access_key = default-secret\n"
    )
    assert shared_credentials_store("absent").remove({"AKIAWORK"}) is False


def test_dedicated_key_file_is_deleted_once_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = default_key_file_path("sagemaker-deployer")
    assert path == Path(".llm-engineering/sagemaker-deployer.credentials")
    store = key_file_store(path, "sagemaker-deployer")
    store.save(KEY)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert store.usage() == f"AWS_SHARED_CREDENTIALS_FILE={tmp_path / path} AWS_PROFILE=sagemaker-deployer"
    assert store.remove({KEY.key_id}) is True
    assert not path.exists()


def test_the_secret_never_shows_in_reprs_or_errors(tmp_path):
    assert SECRET not in repr(KEY) and SECRET not in str(KEY)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory should be")
    store = key_file_store(blocked / "credentials", "deployer")
    with pytest.raises(CredentialsStoreError) as error:
        store.save(KEY)
    assert str(error.value) == (
        f"Cannot read the credentials file {blocked / 'credentials'} (Not a directory): fix its permissions or "
        "choose another location with --key-file."
    )


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "aws" / "credentials"
    path.parent.mkdir()
    path.write_text(OTHER_PROFILES)

    def refuse(source, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("os.replace", refuse)
    with pytest.raises(CredentialsStoreError) as error:
        key_file_store(path, "deployer").save(KEY)
    assert str(error.value) == (
        f"Cannot write the credentials file {path} (Permission denied): fix its permissions or choose another "
        "location with --key-file."
    )
    assert SECRET not in str(error.value)
    assert path.read_text() == OTHER_PROFILES
    assert list(path.parent.iterdir()) == [path]


def test_symlinked_credentials_file_is_written_through_the_link(tmp_path):
    real = tmp_path / "real-credentials"
    real.write_text(OTHER_PROFILES)
    link = tmp_path / "credentials"
    link.symlink_to(real)
    key_file_store(link, "deployer").save(KEY)
    assert link.is_symlink()
    assert real.read_text().startswith(OTHER_PROFILES)
    assert key_file_store(link, "deployer").stored_key_id() == KEY.key_id
