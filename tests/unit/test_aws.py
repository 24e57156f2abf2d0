"""The client factory: region, profile, retries and user agent; clear lines when something is missing."""

from __future__ import annotations

import pytest

from llm_engineering import __version__
from llm_engineering.aws import MAX_ATTEMPTS, Aws, connect
from llm_engineering.errors import ConfigurationError
from llm_engineering.settings import Settings, load_settings


def from_settings(settings: Settings) -> Aws:
    """What every script does: connect with the settings' AWS_REGION and AWS_PROFILE."""
    return connect(settings.aws_region, settings.aws_profile)


def test_client_carries_region_retries_and_user_agent():
    client = from_settings(load_settings()).client("sagemaker")
    assert client.meta.region_name == "us-east-1"
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    assert f"llm-engineering/{__version__}" in client.meta.config.user_agent_extra


def test_clients_are_cached_per_service_and_timeout():
    aws = connect(region="eu-west-1")
    assert aws.client("sagemaker") is aws.client("sagemaker")
    runtime = aws.client("sagemaker-runtime", read_timeout=7)
    assert runtime.meta.config.read_timeout == 7
    assert runtime is not aws.client("sagemaker-runtime")


def test_missing_region_says_what_to_set(monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ConfigurationError, match="No AWS region is configured: set AWS_REGION"):
        from_settings(load_settings())


def test_missing_credentials_say_what_to_do(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigurationError, match="No AWS credentials found: run `aws configure`"):
        connect(region="us-east-1")


def test_unknown_profile_names_the_setting():
    with pytest.raises(ConfigurationError, match="AWS_PROFILE='nobody' is not a profile"):
        connect(profile="nobody")


def test_profile_from_the_shared_credentials_file(offline_env):
    (offline_env / "aws-credentials").write_text(
        "[deployer]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n"
    )
    aws = connect(region="us-east-1", profile="deployer")
    assert aws.session.get_credentials().access_key == "AKIAEXAMPLE"


@pytest.mark.parametrize("region", ["mars;1", "us-east", "US-EAST-1", "us_east_1", "eu-west-1 ", "", "aws-global"])
def test_a_malformed_region_is_one_line_naming_the_setting(monkeypatch, region):
    monkeypatch.setenv("AWS_REGION", region)
    if not region:
        monkeypatch.setenv("AWS_DEFAULT_REGION", "mars;2")
    with pytest.raises(ConfigurationError) as error:
        from_settings(load_settings())
    expected = f"AWS_REGION={region!r}" if region else "AWS_DEFAULT_REGION='mars;2'"
    assert str(error.value) == (
        f"{expected} is not an AWS region (such as us-east-1 or eu-west-1): fix it in .env, the environment or your "
        "AWS config."
    )


def test_the_region_rule_accepts_every_region_botocore_knows():
    import botocore.loaders

    from llm_engineering.aws import region_partition

    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    for partition in endpoints["partitions"]:
        for region in partition["regions"]:
            assert region_partition(region) == partition["partition"], region
    assert region_partition("cn-north-1") == "aws-cn" and region_partition("us-gov-west-1") == "aws-us-gov"


def test_a_profile_region_is_checked_too(offline_env, monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    (offline_env / "aws-config").write_text("[profile odd]\nregion = moon-1\n")
    (offline_env / "aws-credentials").write_text("[odd]\naws_access_key_id = a\naws_secret_access_key = s\n")
    with pytest.raises(ConfigurationError, match=r"^AWS profile odd: region='moon-1' is not an AWS region"):
        connect(profile="odd")
