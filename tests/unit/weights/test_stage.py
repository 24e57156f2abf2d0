"""Staging against moto S3 and the emulator's Hub: what is uploaded and skipped, resume, checksums, the
manifest last, the bucket as created, and every refusal before anything exists."""

from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest
from hub_server import catalogue, serve_hub, tiny_model
from huggingface_hub import HfApi
from staging_world import BUCKET, GATED, SMALL, TINY, TOKEN, Lines, stage, stage_spec
from werkzeug.wrappers import Response

from llm_engineering import __version__
from llm_engineering.catalogue.s3 import S3Location
from llm_engineering.errors import ConfigurationError
from llm_engineering.local.hub_catalogue import builtin_catalogue
from llm_engineering.weights.bucket import BucketError
from llm_engineering.weights.manifest import MANIFEST_NAME, Manifest
from llm_engineering.weights.selection import NoSafetensorsError
from llm_engineering.weights.stages import find_stage, read_manifest, stage_objects, verify
from llm_engineering.weights.transfer import StageStopped, TransferOptions, prepare, run

STAGED = [
    "config.json",
    "generation_config.json",
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
]


def s3():
    return boto3.client("s3", region_name="us-east-1")


def tiny_location() -> S3Location:
    model = tiny_model(TINY, big_mib=11)
    return S3Location(BUCKET, f"models/tests--tiny-chat/{model.commit}/")


def test_only_what_the_container_needs_is_staged_and_the_rest_is_named(aws, hub):
    spec = stage_spec()
    plan = prepare(aws, HfApi(endpoint=hub), spec, SMALL)
    assert [entry.name for entry in plan.selection.files] == STAGED
    assert plan.selection.summary() == [
        "not needed to serve the model: README.md",
        "custom code, used only with HF_MODEL_TRUST_REMOTE_CODE=true: modeling_tiny.py",
        "in a subfolder the container does not read: original/ (1 file)",
        "the same weights in another format (the safetensors ones are staged): pytorch_model.bin",
    ]
    reporter = Lines()
    result = run(aws, plan, spec, SMALL, reporter)

    assert result.location == tiny_location()
    assert result.uploaded == STAGED and result.kept == []
    assert sorted(stage_objects(s3(), result.location)) == sorted([*STAGED, MANIFEST_NAME])
    model = tiny_model(TINY, big_mib=11)
    manifest = read_manifest(s3(), result.location)
    assert manifest.model_id == TINY and manifest.commit == model.commit and manifest.revision is None
    assert {item.name: (item.size, item.sha256) for item in manifest.files} == {
        name: (model.file(name).size, hashlib.sha256(model.file(name).content).hexdigest()) for name in STAGED
    }
    assert set(manifest.skipped) == {
        "README.md",
        "modeling_tiny.py",
        "original/consolidated.00.pth",
        "pytorch_model.bin",
    }
    assert reporter.lines[:2] == ["download config.json", "upload config.json"]
    assert reporter.uploaded_bytes == result.uploaded_bytes == sum(model.file(name).size for name in STAGED)


def test_custom_code_is_staged_with_trust_remote_code(aws, hub):
    result = stage(aws, hub, stage_spec(HF_MODEL_TRUST_REMOTE_CODE="true"))
    assert "modeling_tiny.py" in result.uploaded


def test_the_bucket_is_created_private_encrypted_tagged_and_cleans_stale_uploads(aws, hub, recorded):
    stage(aws, hub)
    client = s3()
    assert client.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = client.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    tags = {tag["Key"]: tag["Value"] for tag in client.get_bucket_tagging(Bucket=BUCKET)["TagSet"]}
    assert tags == {"llm-engineering:managed-by": "llm-engineering", "llm-engineering:version": __version__}
    rule = client.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"][0]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert recorded.writes()[0] == ("CreateBucket", {"Bucket": BUCKET})  # us-east-1: no LocationConstraint


def test_in_another_region_the_bucket_is_created_there(recorded, hub):
    from llm_engineering.aws import connect

    stage(connect("eu-west-1"), hub)
    create = recorded.writes()[0]
    assert create == (
        "CreateBucket",
        {"Bucket": BUCKET, "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}},
    )
    assert boto3.client("s3", region_name="eu-west-1").head_bucket(Bucket=BUCKET)["BucketRegion"] == "eu-west-1"


def test_a_bucket_in_another_region_is_refused_and_nothing_is_created(aws, hub, recorded):
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    with pytest.raises(BucketError) as refused:
        prepare(aws, HfApi(endpoint=hub), stage_spec(), SMALL)
    assert str(refused.value) == (
        f"MODEL_S3_BUCKET: bucket {BUCKET} is in eu-west-1, but AWS_REGION=us-east-1: SageMaker loads model data only "
        "from its own region; use a bucket in us-east-1 (a new name creates one)."
    )
    assert refused.value.exit_code == 2
    assert recorded.writes() == []


def test_a_second_stage_uploads_nothing_and_leaves_the_manifest_alone(aws, hub, recorded):
    first = stage(aws, hub)
    writes = len(recorded.writes())
    second = stage(aws, hub)
    assert second.uploaded == [] and second.kept == STAGED
    assert second.manifest_written is False and second.manifest == first.manifest
    assert recorded.writes()[writes:] == []


def test_the_manifest_is_written_last(aws, hub, recorded):
    stage(aws, hub)
    writes = recorded.writes()
    keys = [
        params.get("Key", "") for operation, params in writes if operation in ("PutObject", "CreateMultipartUpload")
    ]
    assert keys[-1].endswith("/" + MANIFEST_NAME)
    assert writes[-1][0] == "PutObject" and writes[-1][1]["Key"].endswith(MANIFEST_NAME)
    assert sum(key.endswith(MANIFEST_NAME) for key in keys) == 1


def test_a_large_file_goes_up_in_parts_with_the_composite_checksum(aws, hub, recorded):
    result = stage(aws, hub)
    big = result.manifest.file("model-00001-of-00002.safetensors")
    assert big.size > 11 * 1024 * 1024 and big.s3_checksum.endswith("-3")
    assert recorded.operations().count("UploadPart") == 3
    head = s3().head_object(Bucket=BUCKET, Key=result.location.key(big.name), ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == big.s3_checksum.removesuffix("-3")  # moto leaves the suffix out
    assert head["Metadata"]["sha256"] == big.sha256
    small = result.manifest.file("config.json")
    assert small.s3_checksum == base64.b64encode(bytes.fromhex(small.sha256)).decode()


def test_an_object_with_the_same_size_but_other_bytes_is_uploaded_again(aws, hub):
    result = stage(aws, hub)
    name = "model-00002-of-00002.safetensors"
    key = result.location.key(name)
    head = s3().head_object(Bucket=BUCKET, Key=key)
    tampered = bytes(size % 251 for size in range(head["ContentLength"]))
    s3().put_object(Bucket=BUCKET, Key=key, Body=tampered, Metadata=head["Metadata"], ChecksumAlgorithm="SHA256")

    assert any("checksum" in problem for problem in verify(s3(), find_stage(s3(), BUCKET, TINY, None)))
    plan = prepare(aws, HfApi(endpoint=hub), stage_spec(), SMALL)
    assert plan.replaced == {name: "S3's checksum of the object does not match the one recorded at upload"}
    again = run(aws, plan, stage_spec(), SMALL, Lines())
    assert again.uploaded == [name]
    assert verify(s3(), find_stage(s3(), BUCKET, TINY, None)) == []


def test_a_wrong_checksum_supplied_to_s3_is_caught(aws, hub):
    """moto keeps a client-supplied ChecksumSHA256 without checking it (AWS would refuse the request): an object
    whose recorded checksum and S3's disagree is never taken as staged."""
    result = stage(aws, hub)
    key = result.location.key("config.json")
    head = s3().head_object(Bucket=BUCKET, Key=key)
    body = s3().get_object(Bucket=BUCKET, Key=key)["Body"].read()
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    s3().put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=head["Metadata"], ChecksumSHA256=wrong)
    plan = prepare(aws, HfApi(endpoint=hub), stage_spec(), SMALL)
    assert "config.json" in plan.replaced


def test_a_corrupt_download_never_reaches_s3(aws, monkeypatch, recorded):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    shard = "model-00002-of-00002.safetensors"

    def corrupt(request, response: Response) -> Response:
        if request.path.endswith(shard) and request.method == "GET":
            data = bytearray(response.get_data())
            data[-1] ^= 0xFF
            response.set_data(bytes(data))
        return response

    with serve_hub(catalogue(tiny_model(TINY)), corrupt) as url, pytest.raises(StageStopped) as stopped:
        stage(aws, url)
    assert "arrived with sha256" in str(stopped.value) and "a corrupt download" in str(stopped.value)
    assert "No manifest.json was written" in str(stopped.value)
    objects = stage_objects(s3(), S3Location(BUCKET, f"models/tests--tiny-chat/{tiny_model(TINY).commit}/"))
    assert shard not in objects and MANIFEST_NAME not in objects


def test_bytes_that_change_on_the_way_to_s3_stop_the_stage(aws, hub, monkeypatch):
    """What S3 stores is checked against the checksums of what was downloaded (here: the body is swapped for
    other bytes of the same length just before the upload request is built)."""
    from llm_engineering import aws as aws_module

    def swap(params, model, **_):
        if model.name == "PutObject" and params["Key"].endswith("tokenizer.json"):
            body = params["Body"].read()
            params["Body"] = b"x" * len(body)

    def attach(session):
        session.register("before-parameter-build.s3.PutObject", swap)

    monkeypatch.setattr(aws_module, "SESSION_OBSERVERS", [*aws_module.SESSION_OBSERVERS, attach])
    from llm_engineering.aws import connect

    with pytest.raises(StageStopped) as stopped:
        stage(connect("us-east-1"), hub)
    assert "tokenizer.json" in str(stopped.value) and "did not arrive intact" in str(stopped.value)
    assert stopped.value.exit_code == 1


def test_an_interrupted_stage_has_no_manifest_and_the_next_run_resumes(aws, hub):
    class StopAfterTwo(Lines):
        def end_file(self, name, outcome):
            super().end_file(name, outcome)
            if len([line for line in self.lines if line.startswith("uploaded")]) == 2:
                raise KeyboardInterrupt

    with pytest.raises(StageStopped) as stopped:
        stage(aws, hub, reporter=StopAfterTwo())
    location = tiny_location()
    assert stopped.value.exit_code == 130
    assert str(stopped.value) == (
        f"Interrupted. No manifest.json was written: {location.uri} holds 2 of 7 file(s) and is not a complete "
        "stage (no deploy will load it). Run make stage-model again to resume, or remove it with make "
        f"delete-staged-model ARGS=--uri={location.uri}"
    )
    assert sorted(stage_objects(s3(), location)) == STAGED[:2]
    assert find_stage(s3(), BUCKET, TINY, None) is None

    resumed = stage(aws, hub)
    assert resumed.kept == STAGED[:2] and resumed.uploaded == STAGED[2:]
    assert read_manifest(s3(), location) is not None


def test_unfinished_multipart_uploads_of_a_killed_run_are_aborted(aws, hub):
    location = tiny_location()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    s3().create_multipart_upload(Bucket=BUCKET, Key=location.key("model-00001-of-00002.safetensors"))
    result = stage(aws, hub)
    assert result.aborted_uploads == 1
    assert s3().list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_a_gated_model_is_staged_with_the_token_which_is_never_written_to_s3(aws, hub):
    with pytest.raises(ConfigurationError, match="is gated on the Hub"):
        prepare(aws, HfApi(endpoint=hub), stage_spec(HF_MODEL_ID=GATED), SMALL)
    result = stage(aws, hub, stage_spec(HF_MODEL_ID=GATED, HUGGINGFACE_ACCESS_TOKEN=TOKEN))
    assert len(result.uploaded) == 7
    client = s3()
    for name in stage_objects(client, result.location):
        key = result.location.key(name)
        assert TOKEN.encode() not in client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert TOKEN not in json.dumps(client.head_object(Bucket=BUCKET, Key=key)["Metadata"])
    assert TOKEN not in json.dumps(client.get_bucket_tagging(Bucket=BUCKET)["TagSet"])


def test_a_model_without_safetensors_is_refused_before_anything_exists(aws, hub, recorded):
    with pytest.raises(NoSafetensorsError) as refused:
        prepare(aws, HfApi(endpoint=hub), stage_spec(HF_MODEL_ID="tests/pytorch-only"), SMALL)
    assert str(refused.value).startswith(
        "HF_MODEL_ID=tests/pytorch-only has no .safetensors weights at the top of its repository (it has .bin weights)"
    )
    assert recorded.operations() == []


def test_a_prefix_holding_another_stage_or_strays_is_refused(aws, hub):
    stage(aws, hub)
    theirs = tiny_location().uri
    with pytest.raises(ConfigurationError, match="already holds a stage of tests/tiny-chat"):
        prepare(
            aws,
            HfApi(endpoint=hub),
            stage_spec(MODEL_S3_URI=theirs, HF_MODEL_ID=GATED, HUGGINGFACE_ACCESS_TOKEN=TOKEN),
            SMALL,
        )
    s3().put_object(Bucket=BUCKET, Key="custom/prefix/notes.txt", Body=b"mine")
    with pytest.raises(ConfigurationError, match=r"holds 1 object\(s\) that are not part of this stage \(notes.txt\)"):
        prepare(aws, HfApi(endpoint=hub), stage_spec(MODEL_S3_URI=f"s3://{BUCKET}/custom/prefix"), SMALL)


def test_too_little_local_disk_is_refused_naming_tmpdir(aws, hub, monkeypatch, tmp_path):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(100, 90, 10))
    options = TransferOptions(threshold=SMALL.threshold, part_size=SMALL.part_size, temp_dir=tmp_path)
    with pytest.raises(ConfigurationError) as refused:
        prepare(aws, HfApi(endpoint=hub), stage_spec(), options)
    assert str(refused.value).startswith(f"TMPDIR={tmp_path} has 0.0 GB free, but the largest file to stage takes")


def test_verify_reports_missing_and_stray_objects(aws, hub):
    result = stage(aws, hub)
    staged = find_stage(s3(), BUCKET, TINY, None)
    assert verify(s3(), staged) == []
    s3().delete_object(Bucket=BUCKET, Key=result.location.key("tokenizer.json"))
    s3().put_object(Bucket=BUCKET, Key=result.location.key("extra.bin"), Body=b"?")
    assert verify(s3(), staged) == [
        "tokenizer.json is missing",
        "extra.bin is not in the manifest (SageMaker would load it too)",
    ]


def test_the_default_model_stages_headers_only_in_a_few_kilobytes(aws, hub):
    result = stage(aws, hub, stage_spec(HF_MODEL_ID="Qwen/Qwen2.5-7B-Instruct"))
    model = builtin_catalogue()["Qwen/Qwen2.5-7B-Instruct"]
    assert result.location.prefix == f"models/Qwen--Qwen2.5-7B-Instruct/{model.commit}/"
    assert result.manifest.total_bytes < 100_000
    assert Manifest.from_json(result.manifest.to_json()) == result.manifest
