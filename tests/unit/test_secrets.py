"""Every kind of secret the tool can meet is recognised in one place, refused in plain settings without being
echoed, and scrubbed from what comes back in any escaped form."""

from __future__ import annotations

import json
import random
import string
from urllib.parse import quote, quote_plus

import pytest

from llm_engineering.cli import warn
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting import diagnostics
from llm_engineering.redaction import REDACTED, mask_secrets, scrub, secret_kind
from llm_engineering.settings import load_settings

HF_TOKEN = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEHAaCXVzLWVhc3QtMSJHMEUCIQD" + "Zm9vYmFyYmF6cXV4" * 8 + "=="
BEARER = "sagemaker-api-key-" + "aHR0cHM6Ly9zYWdlbWFrZXIudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20v" * 2
SECRETS = {
    HF_TOKEN: "a Hugging Face access token",
    AWS_SECRET: "an AWS secret access key",
    SESSION_TOKEN: "an AWS session token",
    BEARER: "a SageMaker bearer token",
}


@pytest.mark.parametrize(("secret", "kind"), SECRETS.items())
def test_each_kind_is_recognised_and_masked_inside_text(secret: str, kind: str) -> None:
    assert secret_kind(f"value={secret};") == kind
    assert mask_secrets(f"value={secret};") == f"value={REDACTED};"


def test_random_secret_keys_are_recognised() -> None:
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "/+"
    keys = ["".join(rng.choice(alphabet) for _ in range(40)) for _ in range(500)]
    assert sum(secret_kind(key) == "an AWS secret access key" for key in keys) >= 495


@pytest.mark.parametrize(
    "plain",
    [
        "0123456789abcdef0123456789abcdef01234567",  # a commit hash (HF_MODEL_REVISION)
        "MySageMakerExecutionRoleForProduction123",  # a 40-character name people chose
        "ml.g5.2xlarge",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "sha256:" + "0" * 64,
        "AKIAIOSFODNN7EXAMPLE",  # an access key id is not secret (AWS), and key rotation names it
        "s3://models-1/models/Qwen--Qwen2.5-7B-Instruct/a09a35458c702b33eeacc393d103063234e8bc28/",
    ],
)
def test_ordinary_values_are_not_secrets(plain: str) -> None:
    assert secret_kind(plain) is None


@pytest.mark.parametrize("setting", ["GPU_INSTANCE_TYPE", "MODEL_S3_BUCKET", "AUTOSCALING_METRIC", "VPC_SUBNET_IDS"])
@pytest.mark.parametrize("secret", [AWS_SECRET, SESSION_TOKEN, HF_TOKEN, BEARER])
def test_a_secret_in_a_plain_setting_is_refused_unseen(monkeypatch, setting: str, secret: str) -> None:
    monkeypatch.setenv(setting, secret)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith(f"{setting}=<hidden> is invalid: looks like {SECRETS[secret]}")
    assert secret not in message and secret[:12] not in message


def test_an_aws_key_in_an_argument_is_masked_in_the_warning(capsys) -> None:
    warn(f"ignored --endpoint-name {AWS_SECRET}")
    assert capsys.readouterr().err == f"warning: ignored --endpoint-name {REDACTED}\n"


def escaped_forms(secret: str) -> list[str]:
    every_byte = "".join(f"%{ord(char):02x}" for char in secret)
    return [
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        every_byte,
        every_byte.upper(),
        "".join(f"\\u{ord(char):04x}" for char in secret),
        "".join(f"\\x{ord(char):02x}" for char in secret),
        "".join(f"&#{ord(char)};" for char in secret),
        "".join(f"&#x{ord(char):x};" for char in secret),
        "".join(f"%{ord(char):02x}" for char in secret[:9]) + secret[9:],  # partly encoded
        json.dumps(secret)[1:-1],
    ]


@pytest.mark.parametrize("index", range(11))
def test_a_known_secret_is_scrubbed_in_every_escaped_form(index: int) -> None:
    for secret in (HF_TOKEN, AWS_SECRET):
        form = escaped_forms(secret)[index]
        assert scrub(f"GET /resolve?token={form} 401", [secret]) == f"GET /resolve?token={REDACTED} 401"


def test_the_failure_diagnosis_scrubs_the_encoded_token_from_log_lines(monkeypatch) -> None:
    encoded = "".join(f"%{ord(char):02x}" for char in HF_TOKEN)

    class Logs:
        def describe_log_streams(self, **_):
            return {"logStreams": [{"logStreamName": "AllTraffic/i-0"}]}

        def get_log_events(self, **_):
            return {"events": [{"message": f"GET https://huggingface.co/api?token={encoded} -> 401\n"}]}

    class Aws:
        def client(self, service: str):
            assert service == "logs"
            return Logs()

    lines, note = diagnostics.log_tail(Aws(), "/aws/sagemaker/Endpoints/e", secrets=[HF_TOKEN])
    assert (lines, note) == ([f"GET https://huggingface.co/api?token={REDACTED} -> 401"], None)
