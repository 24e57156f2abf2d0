"""TGI image URIs per region and the GPU instance table, checked against the SDK and botocore."""

from __future__ import annotations

import pytest

from llm_engineering.catalogue.images import known_versions, tgi_image_uri
from llm_engineering.catalogue.instances import GPU_INSTANCES, gpu_instance, hosting_instance_types
from llm_engineering.errors import ConfigurationError

NEWEST = known_versions()[-1]


@pytest.mark.parametrize(
    ("region", "registry"),
    [
        ("us-east-1", "763104351884.dkr.ecr.us-east-1.amazonaws.com"),
        ("eu-central-1", "763104351884.dkr.ecr.eu-central-1.amazonaws.com"),
        ("ap-southeast-2", "763104351884.dkr.ecr.ap-southeast-2.amazonaws.com"),
        ("af-south-1", "626614931356.dkr.ecr.af-south-1.amazonaws.com"),
        ("cn-north-1", "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_image_uri_is_the_regional_tgi_dlc(region, registry):
    uri = tgi_image_uri(region, "ml.g5.2xlarge", "3.3.6")
    assert uri == f"{registry}/huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"


def test_default_version_is_the_newest_the_sdk_knows():
    assert f"-tgi{NEWEST}-" in tgi_image_uri("us-east-1", "ml.g5.2xlarge")


def test_override_is_used_as_given():
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-tgi:custom"
    assert tgi_image_uri("us-east-1", "ml.g5.2xlarge", "3.3.6", override=uri) == uri


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"version": "9.9.9"}, "TGI_IMAGE_VERSION='9.9.9' is not a TGI version the installed SageMaker SDK knows"),
        ({"version": "1.4.5"}, "TGI_IMAGE_VERSION='1.4.5' is older than 2.0"),
        ({"override": "not an image"}, "TGI_IMAGE_URI='not an image' is not a container image URI"),
    ],
)
def test_bad_image_settings_name_the_setting(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        tgi_image_uri("us-east-1", "ml.g5.2xlarge", **kwargs)


def test_region_without_an_image_says_so():
    with pytest.raises(ConfigurationError, match="AWS_REGION='xx-nowhere-1' has no published Hugging Face TGI image"):
        tgi_image_uri("xx-nowhere-1", "ml.g5.2xlarge")


def test_every_table_entry_is_a_hosting_instance_type():
    assert set(GPU_INSTANCES) <= hosting_instance_types()


def test_default_instance_uses_the_sdk_gpu_figures():
    row = gpu_instance("ml.g5.2xlarge", "us-east-1")
    assert (row.gpus, row.gpu_memory_mib, row.vcpus, row.memory_gib) == (1, 24576, 8, 32)
    assert row.usd_per_hour == pytest.approx(1.52)


def test_sdk_figures_win_where_the_sdk_knows_the_type():
    assert gpu_instance("ml.g5.48xlarge", "us-east-1").gpu_memory_mib == 183104  # the SDK's figure
    assert gpu_instance("ml.g6e.xlarge", "us-east-1").gpu_memory_mib == 49152  # not in the SDK: ours


@pytest.mark.parametrize(
    ("instance_type", "message"),
    [
        ("ml.m5.xlarge", "GPU_INSTANCE_TYPE='ml.m5.xlarge' has no GPU this tool knows"),
        ("ml.g5.3xlarge", "GPU_INSTANCE_TYPE='ml.g5.3xlarge' is not an instance type SageMaker hosting offers"),
    ],
)
def test_cpu_and_unknown_types_are_refused_with_the_known_gpu_types(instance_type, message):
    with pytest.raises(ConfigurationError, match=message) as error:
        gpu_instance(instance_type, "us-east-1")
    assert "ml.g5.2xlarge" in str(error.value) and "ml.g6e.xlarge" in str(error.value)
