"""Model data from S3 in the emulator, as SageMaker handles it: CreateModel refuses a prefix the role cannot
read (or a bucket elsewhere), the container reads config.json from the copied prefix at start-up, and an
empty prefix or a role that lost access fails the endpoint with the lines the diagnosis explains."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from emulator_clients import IMAGE, ROLE_ARN, Aws, wait_until

from llm_engineering.aws import connect
from llm_engineering.catalogue.s3 import S3Location
from llm_engineering.hosting.diagnostics import Context, diagnose_failure
from llm_engineering.iam import execution_role_permissions, execution_role_trust_policy
from llm_engineering.iam.names import EXECUTION_POLICY_NAME
from llm_engineering.local.hub_catalogue import QWEN25_7B_CONFIG, builtin_catalogue

BUCKET = "emulated-stages"
STAGE = S3Location(BUCKET, "models/qwen/abc/")


@pytest.fixture
def s3(aws: Aws):
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def put_stage(s3, location: S3Location = STAGE, *, config: bool = True, weights: bool = True) -> None:
    model = builtin_catalogue()["Qwen/Qwen2.5-7B-Instruct"]
    names = (["config.json"] if config else []) + (["model-00001-of-00004.safetensors"] if weights else [])
    for name in names:
        s3.put_object(Bucket=location.bucket, Key=location.key(name), Body=model.file(name).content)


def grant(aws: Aws, *prefixes: S3Location) -> None:
    """The execution role as make create-sagemaker-execution-role makes it for `prefixes`."""
    iam = aws.client("iam")
    iam.create_role(
        RoleName="SageMakerExecutionRoleLLM",
        AssumeRolePolicyDocument=json.dumps(
            execution_role_trust_policy("123456789012", partition="aws", region="us-east-1")
        ),
    )
    document = execution_role_permissions(
        partition="aws",
        account_id="123456789012",
        image_repositories=["arn:aws:ecr:us-east-1:763104351884:repository/*"],
        s3_prefixes=list(prefixes),
    )
    iam.put_role_policy(
        RoleName="SageMakerExecutionRoleLLM", PolicyName=EXECUTION_POLICY_NAME, PolicyDocument=json.dumps(document)
    )


def create_model(aws: Aws, uri: str = STAGE.uri, name: str = "model") -> None:
    container = {
        "Image": IMAGE,
        "Environment": {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
        "ModelDataSource": {"S3DataSource": {"S3Uri": uri, "S3DataType": "S3Prefix", "CompressionType": "None"}},
    }
    aws.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer=container)


def start_endpoint(aws: Aws, name: str = "endpoint") -> str:
    aws.create_config()
    aws.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status(name) != "Creating")
    return aws.endpoint_status(name)


def log_lines(aws: Aws, group: str) -> list[str]:
    stream = aws.logs.describe_log_streams(logGroupName=group)["logStreams"][0]["logStreamName"]
    return [event["message"] for event in aws.logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]]


def diagnosis(server_env, monkeypatch, name: str = "endpoint"):
    monkeypatch.setenv("AWS_ENDPOINT_URL", server_env["AWS_ENDPOINT_URL"])
    described = connect("us-east-1").client("sagemaker").describe_endpoint(EndpointName=name)
    context = Context(
        "us-east-1", "ml.g5.2xlarge", 1, 24, "Qwen/Qwen2.5-7B-Instruct", False, 900, 1200, weights_uri=STAGE.uri
    )
    return diagnose_failure(
        connect("us-east-1"), "endpoint", name, described["EndpointStatus"], described.get("FailureReason"), context
    )


def test_create_model_is_refused_when_the_role_may_not_read_the_prefix(aws, s3):
    put_stage(s3)
    grant(aws, S3Location(BUCKET, "models/other/"))
    with pytest.raises(ClientError) as refused:
        create_model(aws)
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f'Could not access model data at {STAGE.uri}. Please ensure that the role "{ROLE_ARN}" exists and that its '
        'trust relationship policy allows the action "sts:AssumeRole" for the service principal '
        '"sagemaker.amazonaws.com". Also ensure that the role has "s3:GetObject" permissions and that the object is '
        "located in us-east-1. If your Model uses multiple models or uncompressed models, please ensure that the "
        'role has "s3:ListBucket" permission.'
    )
    assert aws.sagemaker.list_models()["Models"] == []


def test_create_model_is_refused_for_a_bucket_elsewhere_or_a_prefix_without_slash(aws, s3):
    eu = aws.client("s3", region_name="eu-west-1")
    eu.create_bucket(Bucket="stages-in-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    grant(aws, STAGE, S3Location("stages-in-eu", "models/qwen/abc/"))
    with pytest.raises(ClientError, match="Could not access model data at s3://stages-in-eu/"):
        create_model(aws, "s3://stages-in-eu/models/qwen/abc/")
    with pytest.raises(ClientError, match="must end with a forward slash"):
        create_model(aws, STAGE.uri.rstrip("/"))


def test_the_container_reads_the_staged_config_and_serves(aws, s3):
    put_stage(s3)
    grant(aws, STAGE)
    create_model(aws)
    assert start_endpoint(aws) == "InService"
    lines = log_lines(aws, "/aws/sagemaker/Endpoints/endpoint")
    assert 'model_id: "/opt/ml/model"' in lines[0]
    assert any("Files are already present on the host. Skipping download." in line for line in lines)
    assert any(f"Using config Some({QWEN25_7B_CONFIG['model_type'].title()})" in line for line in lines)
    answer = aws.runtime.invoke_endpoint(
        EndpointName="endpoint", Body=json.dumps({"inputs": "hi"}), ContentType="application/json"
    )
    assert json.loads(answer["Body"].read())[0]["generated_text"].startswith("[emulated /opt/ml/model]")


def test_an_empty_prefix_fails_the_container_with_tgis_error(aws, s3, server_env, monkeypatch):
    grant(aws, STAGE)
    create_model(aws)  # SageMaker can list an empty prefix: CreateModel accepts it
    assert start_endpoint(aws) == "Failed"
    lines = log_lines(aws, "/aws/sagemaker/Endpoints/endpoint")
    assert any(
        "FileNotFoundError: No local weights found in /opt/ml/model with extension .safetensors" in line
        for line in lines
    )
    found = diagnosis(server_env, monkeypatch)
    assert "did not pass the ping health check" in found.headline
    assert (
        found.advice[0]
        == f"{STAGE.uri} is empty or incomplete: run make stage-model (ARGS=--verify shows what differs)."
    )


def test_weights_without_config_fail_at_shard_start(aws, s3):
    put_stage(s3, config=False)
    grant(aws, STAGE)
    create_model(aws)
    assert start_endpoint(aws) == "Failed"
    assert any(
        "does not appear to have a file named config.json" in line
        for line in log_lines(aws, "/aws/sagemaker/Endpoints/endpoint")
    )


def test_a_role_that_lost_access_fails_the_download_before_any_container(aws, s3, server_env, monkeypatch):
    put_stage(s3)
    grant(aws, STAGE)
    create_model(aws)
    aws.client("iam").delete_role_policy(RoleName="SageMakerExecutionRoleLLM", PolicyName=EXECUTION_POLICY_NAME)
    assert start_endpoint(aws) == "Failed"
    reason = aws.sagemaker.describe_endpoint(EndpointName="endpoint")["FailureReason"]
    assert reason == (
        f'Failed to download model data for container "container_1" from URL: "{STAGE.uri}". Please ensure that '
        "there is an object located at the URL and that the role passed to CreateModel has permissions to download "
        "the object."
    )
    found = diagnosis(server_env, monkeypatch)
    assert (
        found.log_note
        == "No log group /aws/sagemaker/Endpoints/endpoint: the container never started (nothing was written)."
    )
    assert found.advice[0].startswith(f"SageMaker could not read {STAGE.uri} with the execution role: run make ")


def test_inference_components_load_the_stage_too(aws, s3):
    put_stage(s3)
    grant(aws, STAGE)
    create_model(aws)
    aws.create_config(model=None)
    aws.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    wait_until(aws, lambda: aws.endpoint_status("endpoint") == "InService")
    aws.create_component("component")
    wait_until(aws, lambda: aws.component_status("component") != "Creating")
    assert aws.component_status("component") == "InService"
    lines = log_lines(aws, "/aws/sagemaker/InferenceComponents/component")
    assert any("Files are already present on the host" in line for line in lines)


def put_role_policy(aws: Aws, *statements: dict) -> None:
    aws.client("iam").put_role_policy(
        RoleName="SageMakerExecutionRoleLLM",
        PolicyName="extra",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )


def test_an_explicit_deny_on_one_object_refuses_the_model(aws, s3):
    put_stage(s3)
    grant(aws, STAGE)
    put_role_policy(
        aws, {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/{STAGE.prefix}*.json"}
    )
    with pytest.raises(ClientError, match="Could not access model data"):
        create_model(aws)


def test_a_permissions_boundary_without_s3_refuses_the_model(aws, s3):
    put_stage(s3)
    grant(aws, STAGE)
    iam = aws.client("iam")
    boundary = iam.create_policy(
        PolicyName="logs-only",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName="SageMakerExecutionRoleLLM", PermissionsBoundary=boundary)
    with pytest.raises(ClientError, match="Could not access model data"):
        create_model(aws)


def test_conditions_hold_on_the_keys_the_download_carries_and_fail_on_others(aws, s3):
    put_stage(s3)
    grant(aws)  # no stage of its own: the extra policy below decides
    objects = {"Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/{STAGE.prefix}*"}
    listing = {"Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}
    in_region = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "Bool": {"aws:SecureTransport": "true"}}
    put_role_policy(aws, {"Effect": "Allow", **listing}, {"Effect": "Allow", **objects, "Condition": in_region})
    create_model(aws, name="in-region")
    put_role_policy(
        aws,
        {"Effect": "Allow", **listing},
        {"Effect": "Allow", **objects, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}},
    )
    with pytest.raises(ClientError, match="Could not access model data"):
        create_model(aws, name="through-an-endpoint")  # the download does not come through that VPC endpoint
