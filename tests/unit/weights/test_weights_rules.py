"""The pure rules of staging: S3 locations, which files are staged, the checksums S3 reports, and IAM's
evaluation of the execution role's policies for the requests SageMaker's download makes."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from llm_engineering.catalogue.s3 import S3Location, default_location
from llm_engineering.errors import ConfigurationError
from llm_engineering.iam import execution_role_permissions
from llm_engineering.iam.s3_access import deployer_s3_statements
from llm_engineering.settings import Settings
from llm_engineering.weights.access import Request, evaluate, read_access
from llm_engineering.weights.checksums import Digester, same_checksum, single_part_checksum
from llm_engineering.weights.selection import HubEntry, NoSafetensorsError, select

COMMIT = "a" * 40
ACCOUNT = "123456789012"


IMAGES = ["arn:aws:ecr:us-east-1:763104351884:repository/*"]


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [
        ("s3://models-1/qwen", "models-1", "qwen/"),
        ("s3://models-1/a/b/", "models-1", "a/b/"),
        ("s3://my.bucket/models/Qwen--Qwen2.5-7B-Instruct/x/", "my.bucket", "models/Qwen--Qwen2.5-7B-Instruct/x/"),
    ],
)
def test_locations_keep_the_prefix_with_its_trailing_slash(uri, bucket, prefix):
    location = S3Location.parse(uri)
    assert (location.bucket, location.prefix) == (bucket, prefix)
    assert location.uri == f"s3://{bucket}/{prefix}"
    assert location.objects_arn() == f"arn:aws:s3:::{bucket}/{prefix}*"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://models-1/x/", "must start with s3://"),
        ("s3://Models/x/", "is not an S3 bucket name"),
        ("s3://models-1", "needs a key prefix after the bucket"),
        ("s3://models-1//", "needs a key prefix after the bucket"),
        ("s3://models-1/a//b/", "between single '/'"),
        ("s3://models-1/a/../b/", "no '.' or '..' parts"),
        ("s3://models-1/a b/", "may hold only"),
    ],
)
def test_malformed_model_s3_uri_is_one_line_naming_the_setting(uri, message):
    from llm_engineering.settings import load_settings

    with pytest.raises(ConfigurationError) as refused:
        load_settings(model_s3_uri=uri)
    assert str(refused.value).startswith(f"MODEL_S3_URI={uri!r} is invalid: ")
    assert message in str(refused.value)


def test_settings_that_contradict_each_other_are_refused():
    from llm_engineering.settings import load_settings

    with pytest.raises(ConfigurationError, match="MODEL_SOURCE=s3 needs MODEL_S3_URI, or MODEL_S3_BUCKET"):
        load_settings(model_source="s3")
    with pytest.raises(ConfigurationError, match="MODEL_S3_URI names bucket a-models but MODEL_S3_BUCKET=b-models"):
        load_settings(model_s3_uri="s3://a-models/x/", model_s3_bucket="b-models")


def test_the_default_prefix_names_model_and_commit():
    assert default_location("models-1", "Qwen/Qwen2.5-7B-Instruct", COMMIT).uri == (
        f"s3://models-1/models/Qwen--Qwen2.5-7B-Instruct/{COMMIT}/"
    )
    with pytest.raises(ValueError):
        default_location("models-1", "gpt2", "main")


def entry(name: str) -> HubEntry:
    return HubEntry(name, 1, "blob")


def test_selection_keeps_weights_configs_tokenizer_and_chat_template_only():
    names = [
        "model.safetensors",
        "config.json",
        "chat_template.jinja",
        "tokenizer.model",
        "special_tokens_map.json",
        "pytorch_model.bin",
        "model.gguf",
        "original/params.json",
        "onnx/model.onnx",
        ".gitattributes",
    ]
    selection = select([entry(name) for name in names], "x/y")
    assert [item.name for item in selection.files] == [
        "chat_template.jinja",
        "config.json",
        "model.safetensors",
        "special_tokens_map.json",
        "tokenizer.model",
    ]
    assert (
        dict(selection.skipped)["model.gguf"] == "the same weights in another format (the safetensors ones are staged)"
    )
    assert dict(selection.skipped)["onnx/model.onnx"] == "in a subfolder the container does not read"


def test_a_repository_without_top_level_safetensors_is_refused():
    with pytest.raises(NoSafetensorsError, match=r"\(it has \.bin, \.gguf weights\)"):
        select([entry("pytorch_model.bin"), entry("model.gguf"), entry("original/model.safetensors")], "x/y")


@pytest.mark.parametrize("part_size", [None, 5, 7, 64])
def test_checksums_fed_in_any_chunks_are_those_of_the_whole_and_its_parts(part_size):
    data = bytes(range(256)) * 3
    digester = Digester(part_size)
    for start in range(0, len(data), 11):
        digester.update(data[start : start + 11])
    digest = digester.result()
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    if part_size is None:
        assert digest.s3_checksum == single_part_checksum(digest.sha256)
    else:
        parts = [hashlib.sha256(data[i : i + part_size]).digest() for i in range(0, len(data), part_size)]
        composite = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
        assert digest.s3_checksum == f"{composite}-{len(parts)}"
        assert same_checksum(composite, digest.s3_checksum)  # HeadObject may leave out the suffix
    assert not same_checksum(None, digest.s3_checksum)


# --- IAM: the policies as documents, and evaluated ---------------------------------------------------------

STAGE = S3Location("models-1", f"models/Qwen--Qwen2.5-7B-Instruct/{COMMIT}/")
FILES = ["config.json", "model-00001-of-00004.safetensors", "manifest.json"]


def test_the_execution_role_reads_exactly_the_staged_prefix():
    document = execution_role_permissions(
        partition="aws", account_id=ACCOUNT, image_repositories=IMAGES, s3_prefixes=[STAGE]
    )
    s3 = [statement for statement in document["Statement"] if "s3" in str(statement["Action"])]
    assert s3 == [
        {
            "Sid": "ListStagedModel1",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::models-1",
            "Condition": {"StringLike": {"s3:prefix": [STAGE.prefix, STAGE.prefix + "*"]}},
        },
        {
            "Sid": "ReadStagedModel",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::models-1/{STAGE.prefix}*"],
        },
    ]
    assert read_access([document], STAGE, FILES).decision == "allowed"
    sibling = S3Location("models-1", f"models/Qwen--Qwen2.5-7B-Instruct/{'b' * 40}/")
    other_bucket = S3Location("models-2", STAGE.prefix)
    assert read_access([document], sibling, FILES).decision == "denied"
    assert read_access([document], other_bucket, FILES).decision == "denied"
    whole_bucket = Request("s3:ListBucket", "arn:aws:s3:::models-1", {"s3:prefix": ""})
    assert evaluate([document], whole_bucket) == "denied"


def test_execution_role_s3_buckets_keep_granting_whole_buckets_and_accept_prefixes():
    document = execution_role_permissions(
        partition="aws", account_id=ACCOUNT, image_repositories=IMAGES, s3_buckets=["legacy-models", "shared/teams/nlp"]
    )
    by_sid = {statement["Sid"]: statement for statement in document["Statement"]}
    assert by_sid["ListModelBuckets"]["Resource"] == ["arn:aws:s3:::legacy-models"]
    assert by_sid["ReadModelObjects"]["Resource"] == ["arn:aws:s3:::legacy-models/*"]
    assert by_sid["ReadStagedModel"]["Resource"] == ["arn:aws:s3:::shared/teams/nlp/*"]
    assert by_sid["ListStagedModel1"]["Condition"] == {"StringLike": {"s3:prefix": ["teams/nlp/", "teams/nlp/*"]}}
    assert read_access([document], S3Location("legacy-models", "any/where/"), FILES).decision == "allowed"


def test_the_settings_grant_the_uri_or_every_commit_of_the_model_in_the_bucket():
    assert Settings(model_s3_uri=STAGE.uri).role_stage_prefixes == (STAGE,)
    assert Settings(model_s3_bucket="models-1").role_stage_prefixes == (
        S3Location("models-1", "models/Qwen--Qwen2.5-7B-Instruct/"),
    )
    assert Settings().role_stage_prefixes == ()
    assert Settings(model_s3_bucket="models-1").deployer_stage_roots == (S3Location("models-1", "models/"),)


def test_the_deployer_stages_and_reads_under_the_staging_root_only():
    statements = deployer_s3_statements("aws", [S3Location("models-1", "models/")])
    assert statements[0]["Resource"] == ["arn:aws:s3:::models-1"]
    assert "s3:CreateBucket" in statements[0]["Action"] and "s3:GetObject" not in statements[0]["Action"]
    assert statements[1]["Resource"] == ["arn:aws:s3:::models-1/models/*"]
    assert set(statements[1]["Action"]) == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    }
    assert deployer_s3_statements("aws", []) == []


def test_evaluation_follows_iam_deny_wildcards_and_conditions():
    allow = {"Effect": "Allow", "Action": "S3:Get*", "Resource": "arn:aws:s3:::models-?/*"}
    deny = {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::models-1/public/*"}
    get = Request("s3:GetObject", "arn:aws:s3:::models-1/x/config.json")
    assert evaluate([{"Statement": [allow]}], get) == "allowed"
    assert evaluate([{"Statement": [allow, deny]}], get) == "denied"
    assert evaluate([{"Statement": allow}], Request("s3:GetObject", "arn:aws:s3:::models-10/x")) == "denied"
    unknown = {**allow, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    assert evaluate([{"Statement": [unknown]}], get) == "uncertain"
    listing = Request("s3:ListBucket", "arn:aws:s3:::models-1", {"s3:prefix": "models/a/"})
    scoped = {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::models-1",
        "Condition": {"StringLike": {"s3:prefix": "models/b/*"}},
    }
    assert evaluate([{"Statement": [scoped]}], listing) == "denied"
    negated = {**scoped, "Condition": {"StringNotLike": {"s3:prefix": "models/b/*"}}}
    assert evaluate([{"Statement": [negated]}], listing) == "allowed"


def test_the_deployer_policy_gains_the_staging_statements_only_when_a_bucket_is_set():
    from llm_engineering.iam import DeployerSpec, Identity, deployer_policy_for

    identity = Identity(account_id=ACCOUNT, partition="aws", arn=f"arn:aws:iam::{ACCOUNT}:user/admin")
    plain = deployer_policy_for(DeployerSpec.from_settings(Settings()), identity)
    staging = deployer_policy_for(DeployerSpec.from_settings(Settings(model_s3_bucket="models-1")), identity)
    assert not [statement for statement in plain["Statement"] if "s3" in json.dumps(statement["Action"])]
    assert staging["Statement"][len(plain["Statement"]) :] == deployer_s3_statements(
        "aws", [S3Location("models-1", "models/")]
    )


def test_the_console_draws_bars_on_a_terminal_and_lines_elsewhere():
    import io

    from llm_engineering.transfer_console import TransferConsole

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream in (Terminal(), io.StringIO()):
        console = TransferConsole(2000, stream)
        console.begin_file("model.safetensors", 2000, "download")
        console.advance(2000, upload=False)
        console.begin_file("model.safetensors", 2000, "upload")
        console.advance(2000, upload=True)
        console.end_file("model.safetensors", "uploaded")
        console.finish()
        text = stream.getvalue()
        assert "- uploaded model.safetensors (2.0 KB)" in text
        if stream.isatty():
            assert "upload model.safetensors" in text and "100%" in text and "\r" in text
        else:
            assert text == "- uploaded model.safetensors (2.0 KB)\n"
