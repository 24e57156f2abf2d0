"""Deploying from a stage, against moto: the exact CreateModel request for both endpoint types and updates, the
refusals before any SageMaker call, and delete leaving the staged weights in place."""

from __future__ import annotations

import boto3
import pytest
from botocore.validate import ParamValidator
from staging_world import BUCKET, TINY, stage

from llm_engineering.cli import run
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.observe import ExistingComponent, observe
from llm_engineering.hosting.plan import Call, build_plan, render
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.hosting.teardown import delete_deployment
from llm_engineering.iam import ExecutionRoleSpec, ensure_execution_role
from llm_engineering.model.deploy import deploy
from llm_engineering.resources.waiting import Poller, silent
from llm_engineering.settings import Settings
from llm_engineering.tags import tool_tags
from llm_engineering.weights.stages import StagedModelProblem, stage_objects

FAST = Poller(first=0, sleep=lambda _s: None)
ROLE = "SageMakerExecutionRoleLLM"


def spec(**values: object) -> DeploymentSpec:
    settings = {"model_s3_bucket": BUCKET, "model_source": "s3", "hf_model_id": TINY, **values}
    return DeploymentSpec.from_settings(Settings(**settings))


def role(aws, **values: object) -> str:
    """The execution role as make create-sagemaker-execution-role makes it with these settings."""
    settings = Settings(model_s3_bucket=BUCKET, hf_model_id=TINY, **values)
    return ensure_execution_role(aws, ExecutionRoleSpec(name=ROLE, s3_prefixes=settings.role_stage_prefixes)).arn


def create_model_call(plan) -> Call:
    return next(step for step in plan.steps if isinstance(step, Call) and step.operation == "CreateModel")


def test_create_model_loads_the_prefix_with_no_hub_token(aws, hub):
    staged = stage(aws, hub)
    role_arn = role(aws)
    deployment = spec(huggingface_access_token="hf_never_sent", hf_model_revision=None)
    plan = build_plan(deployment, observe(deployment, aws))
    call = create_model_call(plan)
    container = call.params["PrimaryContainer"]
    assert call.params == {
        "ModelName": plan.model_name,
        "PrimaryContainer": {
            "Image": plan.image_uri,
            "Environment": {
                "HF_MODEL_ID": "/opt/ml/model",
                "SM_NUM_GPUS": "1",
                "MAX_INPUT_TOKENS": "2048",
                "MAX_TOTAL_TOKENS": "4096",
            },
            "ModelDataSource": {
                "S3DataSource": {"S3Uri": staged.location.uri, "S3DataType": "S3Prefix", "CompressionType": "None"}
            },
        },
        "ExecutionRoleArn": role_arn,
        "Tags": tool_tags(endpoint="llm-engineering-endpoint", model_id=TINY, engine="tgi"),
    }
    assert staged.location.uri.endswith("/")
    model = boto3.client("sagemaker", region_name="us-east-1").meta.service_model.operation_model("CreateModel")
    report = ParamValidator().validate(call.params, model.input_shape)
    assert not report.has_errors(), report.generate_report()
    assert "hf_never_sent" not in render(plan)
    assert f"  weights        {staged.location.uri} (staged from commit" in render(plan)

    Applier(aws, deployment, silent, FAST).apply(plan)
    described = boto3.client("sagemaker", region_name="us-east-1").describe_model(ModelName=plan.model_name)
    assert described["PrimaryContainer"]["ModelDataSource"] == container["ModelDataSource"]


def test_an_exact_uri_and_a_revision_pin_the_stage(aws, hub):
    staged = stage(aws, hub)
    role(aws)
    commit = staged.manifest.commit
    deployment = spec(
        model_source=None, model_s3_bucket=None, model_s3_uri=staged.location.uri, hf_model_revision=commit
    )
    plan = build_plan(deployment, observe(deployment, aws))
    assert create_model_call(plan).params["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"] == (
        staged.location.uri
    )
    assert "HF_MODEL_REVISION" not in plan.environment


def test_components_and_updates_load_the_prefix_too(aws, hub):
    stage(aws, hub)
    role(aws)
    deployment = spec(endpoint_type="inference-component")
    observed = observe(spec(), aws)  # moto has no inference components: observed as for a model-based deploy
    created = build_plan(deployment, observed)
    assert [step.operation for step in created.steps if isinstance(step, Call)] == [
        "CreateEndpointConfig",
        "CreateEndpoint",
        "CreateModel",
        "CreateInferenceComponent",
        "AddTags",
    ]
    assert "ModelDataSource" in create_model_call(created).params["PrimaryContainer"]
    component = ExistingComponent(
        name="llm-engineering-endpoint-ic",
        arn="arn:aws:sagemaker:us-east-1:123456789012:inference-component/llm-engineering-endpoint-ic",
        status="InService",
        managed=True,
        model_name="old-model",
        endpoint_name="llm-engineering-endpoint",
    )
    from dataclasses import replace

    from llm_engineering.hosting.observe import ExistingEndpoint

    endpoint = ExistingEndpoint(
        "llm-engineering-endpoint", "arn:x", "InService", True, True, "cfg", (), "ml.g5.2xlarge", 1
    )
    update = build_plan(deployment, replace(observed, endpoint=endpoint, component=component))
    operations = [step.operation for step in update.steps if isinstance(step, Call)]
    assert operations == ["CreateModel", "UpdateInferenceComponent", "AddTags"]
    assert "ModelDataSource" in create_model_call(update).params["PrimaryContainer"]

    model_based = spec()
    single = ExistingEndpoint("llm-engineering-endpoint", "arn:x", "InService", True, False, "cfg", ("m",), None, None)
    blue_green = build_plan(model_based, replace(observe(model_based, aws), endpoint=single))
    assert [step.operation for step in blue_green.steps if isinstance(step, Call)][:3] == [
        "CreateModel",
        "CreateEndpointConfig",
        "UpdateEndpoint",
    ]
    assert "ModelDataSource" in create_model_call(blue_green).params["PrimaryContainer"]


@pytest.fixture
def deploy_settings(monkeypatch):
    for name, value in {"MODEL_S3_BUCKET": BUCKET, "MODEL_SOURCE": "s3", "HF_MODEL_ID": TINY}.items():
        monkeypatch.setenv(name, value)


def other_region_bucket(aws, hub) -> None:
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    role(aws)


def without_manifest(aws, hub) -> None:
    staged = stage(aws, hub)
    role(aws)
    boto3.client("s3", region_name="us-east-1").delete_object(Bucket=BUCKET, Key=staged.location.key("manifest.json"))


def a_missing_file(aws, hub) -> None:
    staged = stage(aws, hub)
    role(aws)
    boto3.client("s3", region_name="us-east-1").delete_object(Bucket=BUCKET, Key=staged.location.key("config.json"))


def a_role_without_s3(aws, hub) -> None:
    stage(aws, hub)
    ensure_execution_role(aws, ExecutionRoleSpec(name=ROLE))


@pytest.mark.parametrize(
    ("prepare", "kind", "message"),
    [
        (
            lambda aws, hub: role(aws),
            "bucket",
            f"error: MODEL_SOURCE=s3 (the stage of {TINY} in s3://{BUCKET}/models/tests--tiny-chat/): bucket {BUCKET} "
            "does not exist in this account: run make stage-model to stage tests/tiny-chat there, or fix "
            "MODEL_S3_BUCKET.",
        ),
        (
            other_region_bucket,
            "region",
            f"error: MODEL_S3_BUCKET: bucket {BUCKET} is in eu-west-1, the endpoint in us-east-1, and SageMaker loads "
            "model data only from its own region: stage the model into a bucket in us-east-1 (make stage-model with "
            "MODEL_S3_BUCKET=<a new name>).",
        ),
        (
            without_manifest,
            "manifest",
            f"error: MODEL_SOURCE=s3 (the stage of {TINY} in s3://{BUCKET}/models/tests--tiny-chat/): no complete "
            f"stage of {TINY} (no manifest.json): run make stage-model (it resumes an interrupted stage).",
        ),
        (a_missing_file, "files", "does not match its manifest (config.json is missing): run make stage-model"),
        (a_role_without_s3, "access", "may not read s3://"),
    ],
)
def test_a_stage_that_cannot_serve_is_one_line_exit_2_and_nothing_is_created(
    aws, hub, recorded, capsys, deploy_settings, prepare, kind, message
):
    prepare(aws, hub)
    with pytest.raises(StagedModelProblem) as problem:
        observe(spec(), aws)
    assert problem.value.kind == kind
    recorded.calls.clear()
    with pytest.raises(SystemExit) as stopped:
        run(lambda: deploy.main(["--yes"]))
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert len(err.splitlines()) == 1 and message in err, err
    assert not [
        op for service, op, _ in recorded.calls if service == "sagemaker" and op.startswith(("Create", "Update"))
    ]


def test_delete_never_deletes_the_staged_weights(aws, hub):
    staged = stage(aws, hub)
    role(aws)
    deployment = spec()
    plan = build_plan(deployment, observe(deployment, aws))
    Applier(aws, deployment, silent, FAST).apply(plan)
    before = stage_objects(boto3.client("s3", region_name="us-east-1"), staged.location)
    report = delete_deployment(aws, deployment.endpoint_name, poller=FAST, timeout=60)
    assert report.deleted and "model" in " ".join(report.deleted)
    assert stage_objects(boto3.client("s3", region_name="us-east-1"), staged.location) == before


def test_status_without_the_staging_bucket_warns_and_still_lists_the_endpoints(aws, monkeypatch, capsys):
    from llm_engineering.model.deploy import status

    monkeypatch.setenv("MODEL_S3_BUCKET", "no-such-staging-bucket")
    with pytest.raises(SystemExit) as stopped:
        run(lambda: status.main([]))
    captured = capsys.readouterr()
    assert stopped.value.code == 0
    assert "nothing is billing" in captured.out
    assert captured.err.startswith(
        "warning: staged models under s3://no-such-staging-bucket/models/ could not be listed"
    )
