"""The emulator keeps a KmsKeyId on every instance type, local NVMe storage included, as CreateEndpointConfig now does;
a model's network isolation holds its container back from the Hub, and DescribeModel reports it."""

from __future__ import annotations

from emulator_clients import IMAGE, Aws

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _config(aws: Aws, name: str, instance_type: str) -> dict:
    aws.create_model(name=f"{name}-model")
    variant = {"VariantName": "AllTraffic", "InstanceType": instance_type, "InitialInstanceCount": 1}
    return aws.sagemaker.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[{**variant, "ModelName": f"{name}-model"}], KmsKeyId=KEY
    )


def test_a_kms_key_on_an_nvme_type_is_kept(aws):
    """The API reference (botocore 1.43.27 on): the key "does not encrypt instance local storage"; no refusal."""
    _config(aws, "nvme", "ml.g5.2xlarge")
    assert aws.sagemaker.describe_endpoint_config(EndpointConfigName="nvme")["KmsKeyId"] == KEY


def test_a_kms_key_on_an_ebs_type_is_kept(aws):
    _config(aws, "ebs", "ml.p3.2xlarge")
    assert aws.sagemaker.describe_endpoint_config(EndpointConfigName="ebs")["KmsKeyId"] == KEY


def test_an_isolated_model_that_needs_the_hub_fails_to_start(aws):
    from emulator_clients import ROLE_ARN, wait_until

    container = {"Image": IMAGE, "Environment": {"HF_MODEL_ID": "Qwen/Qwen2.5-7B-Instruct", "SM_NUM_GPUS": "1"}}
    aws.sagemaker.create_model(
        ModelName="isolated", ExecutionRoleArn=ROLE_ARN, PrimaryContainer=container, EnableNetworkIsolation=True
    )
    variant = {"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1}
    aws.sagemaker.create_endpoint_config(
        EndpointConfigName="isolated", ProductionVariants=[{**variant, "ModelName": "isolated"}]
    )
    aws.sagemaker.create_endpoint(EndpointName="isolated", EndpointConfigName="isolated")
    wait_until(aws, lambda: aws.endpoint_status("isolated") != "Creating")
    assert aws.endpoint_status("isolated") == "Failed"
    streams = aws.logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/isolated")["logStreams"]
    events = aws.logs.get_log_events(
        logGroupName="/aws/sagemaker/Endpoints/isolated", logStreamName=streams[0]["logStreamName"]
    )["events"]
    assert "Could not reach huggingface.co" in events[-1]["message"]


def test_describe_model_says_whether_the_model_is_isolated_as_sagemaker_does(aws):
    from emulator_clients import ROLE_ARN

    container = {"Image": IMAGE, "Environment": {"HF_MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"}}
    for name, isolated in (("isolated-model", True), ("open-model", False)):
        aws.sagemaker.create_model(
            ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer=container, EnableNetworkIsolation=isolated
        )

    assert aws.sagemaker.describe_model(ModelName="isolated-model")["EnableNetworkIsolation"] is True
    assert aws.sagemaker.describe_model(ModelName="open-model")["EnableNetworkIsolation"] is False


def test_an_isolated_model_with_weights_from_s3_is_not_held_back():
    from types import SimpleNamespace

    from llm_engineering.local.security import isolated_from_the_hub, note_isolation

    model = SimpleNamespace(model_name="m", primary_container={"Environment": {"HF_MODEL_ID": "a/b"}})
    note_isolation("1", "r", {"ModelName": "m", "EnableNetworkIsolation": True})
    assert isolated_from_the_hub("1", "r", model, has_model_data=True) is None
    assert isolated_from_the_hub("1", "r", model, has_model_data=False) is not None
    note_isolation("1", "r", {"ModelName": "m"})  # re-created without isolation
    assert isolated_from_the_hub("1", "r", model, has_model_data=False) is None
