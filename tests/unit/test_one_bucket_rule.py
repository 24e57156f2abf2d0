"""One bucket-name rule (`catalogue.s3.check_bucket`): every setting that names a bucket accepts and refuses the
same names, including those the settings' own pattern used to let through."""

from __future__ import annotations

import re

import pytest

from llm_engineering.catalogue.s3 import S3Location, bucket_problem, check_bucket
from llm_engineering.errors import ConfigurationError
from llm_engineering.settings import load_settings

FORMER_SETTINGS_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""What EXECUTION_ROLE_S3_BUCKETS checked on its own before."""

REFUSED = {
    "a..b": "no two '.' in a row",
    "192.168.10.20": "not shaped like an IP address",
    "-abc": "start and end with a letter or digit",
    "abc.": "start and end with a letter or digit",
    "Models": "3-63 lower-case letters",
    "ab": "3-63 lower-case letters",
    "a" * 64: "3-63 lower-case letters",
    "my_bucket": "3-63 lower-case letters",
}
ACCEPTED = ["abc", "my-models", "models.example.com", "1-2-3", "a" * 63, "192.168.10"]


def test_names_the_settings_used_to_accept_are_refused_now(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a..b", "192.168.10.20"):
        assert FORMER_SETTINGS_PATTERN.match(name)
        monkeypatch.setenv("EXECUTION_ROLE_S3_BUCKETS", name)
        with pytest.raises(ConfigurationError, match=re.escape(f"{name!r} is not an S3 bucket name")):
            load_settings()


@pytest.mark.parametrize("name", REFUSED)
def test_the_rule_says_which_part_a_name_breaks(name: str) -> None:
    with pytest.raises(ValueError, match=re.escape(REFUSED[name])):
        check_bucket(name)
    assert REFUSED[name] in (bucket_problem(name) or "")


@pytest.mark.parametrize("name", ACCEPTED)
def test_valid_names_pass_everywhere(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_bucket(name) == name and bucket_problem(name) is None
    assert S3Location.parse(f"s3://{name}/models/m/").bucket == name
    monkeypatch.setenv("EXECUTION_ROLE_S3_BUCKETS", f"{name}, {name}/models/m/")
    monkeypatch.setenv("MODEL_S3_BUCKET", name)
    monkeypatch.setenv("MODEL_S3_URI", f"s3://{name}/models/m/")
    settings = load_settings()
    assert settings.model_s3_bucket == name and settings.execution_role_s3_buckets[0] == name


SETTINGS = {
    "EXECUTION_ROLE_S3_BUCKETS": "{name}",
    "MODEL_S3_BUCKET": "{name}",
    "MODEL_S3_URI": "s3://{name}/models/m/",
}


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", REFUSED)
def test_every_setting_naming_a_bucket_refuses_the_same_names(
    setting: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(setting, SETTINGS[setting].format(name=name))
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert setting in str(refused.value) and REFUSED[name] in str(refused.value)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("xn--models", "starting xn--"),
        ("sthree-models", "starting sthree-"),
        ("amzn-s3-demo-models", "starting amzn-s3-demo-"),
        ("models-s3alias", "ending -s3alias"),
        ("models--ol-s3", "ending --ol-s3"),
        ("models.mrap", "ending .mrap"),
        ("models--x-s3", "ending --x-s3"),
    ],
)
def test_names_s3_reserves_are_refused_in_the_settings(monkeypatch: pytest.MonkeyPatch, name: str, why: str) -> None:
    """The S3 User Guide's general purpose bucket naming rules: reserved prefixes and suffixes."""
    from llm_engineering.errors import ConfigurationError
    from llm_engineering.settings import load_settings

    monkeypatch.setenv("MODEL_S3_BUCKET", name)
    with pytest.raises(ConfigurationError, match=f"S3 reserves names {why}"):
        load_settings()
