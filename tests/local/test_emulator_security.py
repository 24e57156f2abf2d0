"""The emulator refuses a KmsKeyId on local NVMe storage as CreateEndpointConfig does, and keeps it elsewhere."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from emulator_clients import Aws

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _config(aws: Aws, name: str, instance_type: str) -> dict:
    aws.create_model(name=f"{name}-model")
    variant = {"VariantName": "AllTraffic", "InstanceType": instance_type, "InitialInstanceCount": 1}
    return aws.sagemaker.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[{**variant, "ModelName": f"{name}-model"}], KmsKeyId=KEY
    )


def test_a_kms_key_on_an_nvme_type_is_refused_and_nothing_exists(aws):
    with pytest.raises(ClientError) as refused:
        _config(aws, "nvme", "ml.g5.2xlarge")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "ml.g5.2xlarge" in refused.value.response["Error"]["Message"]
    names = [item["EndpointConfigName"] for item in aws.sagemaker.list_endpoint_configs()["EndpointConfigs"]]
    assert "nvme" not in names


def test_a_kms_key_on_an_ebs_type_is_kept(aws):
    _config(aws, "ebs", "ml.p3.2xlarge")
    assert aws.sagemaker.describe_endpoint_config(EndpointConfigName="ebs")["KmsKeyId"] == KEY
