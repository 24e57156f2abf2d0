"""ENGINE=tgi|vllm|sglang: images from the SDK's table, each engine's container environment, the host AMI its
image needs, and the exact CreateModel / CreateEndpointConfig requests (sent through botocore's Stubber)."""

from __future__ import annotations

import re

import boto3
import pytest
from plan_factories import ROLE, STAMPED, TAGS, TIMEOUTS, observed, settings
from pydantic import SecretStr
from test_apply import ENDPOINT_ARN, IC, Recorder, Stubs, calls

from llm_engineering.aws import connect
from llm_engineering.catalogue.amis import HostAmi, ami_versions, host_advice, host_ami, image_cuda
from llm_engineering.catalogue.engines import ENGINES, VLLM, engine_of_image
from llm_engineering.catalogue.images import engine_image, known_versions
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.observe import observe
from llm_engineering.hosting.plan import build_plan, render
from llm_engineering.redaction import reveal
from llm_engineering.resources.waiting import Poller

REGISTRY = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
VLLM_IMAGE = f"{REGISTRY}/huggingface-vllm:0.29.0-transformers5.15.0-gpu-py312-cu130-ubuntu24.04-v1.0"
SGLANG_IMAGE = f"{REGISTRY}/huggingface-sglang:0.5.8-transformers4.57.3-gpu-py312-cu129-ubuntu24.04"
TGI_IMAGE = f"{REGISTRY}/huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
CUDA_13_AMI = "al2023-ami-sagemaker-inference-gpu-4-1"
CUDA_12_AMI = "al2-ami-sagemaker-inference-gpu-3-1"
"""What AWS's Deep Learning Containers pin for their CUDA 12.x images (driver 550, CUDA 12.4)."""
MODEL = "Qwen/Qwen2.5-7B-Instruct"

# The container environment of the default settings, per engine (each from its SageMaker entrypoint).
ENVIRONMENTS = {
    "tgi": {"HF_MODEL_ID": MODEL, "SM_NUM_GPUS": "1", "MAX_INPUT_TOKENS": "2048", "MAX_TOTAL_TOKENS": "4096"},
    "vllm": {
        "SM_VLLM_MODEL": MODEL,
        "SM_VLLM_TENSOR_PARALLEL_SIZE": "1",
        "SM_VLLM_MAX_MODEL_LEN": "4096",
        "SM_VLLM_HOST": "0.0.0.0",
    },
    "sglang": {"SM_SGLANG_MODEL_PATH": MODEL, "SM_SGLANG_TP_SIZE": "1", "SM_SGLANG_CONTEXT_LENGTH": "4096"},
}
IMAGES = {
    "tgi": (TGI_IMAGE, "3.3.6", CUDA_12_AMI),
    "vllm": (VLLM_IMAGE, "0.29.0", CUDA_13_AMI),
    "sglang": (SGLANG_IMAGE, "0.5.8", CUDA_12_AMI),
}
"""Engine -> (its newest image, the version, the InferenceAmiVersion that image needs)."""


def resolved(name: str, endpoint_type: str = "model-based", **values: object):
    """The spec and what observing finds for ENGINE=`name`, with the image and AMI the real resolvers give."""
    spec = settings(engine=name, endpoint_type=endpoint_type, **values)
    image = engine_image(ENGINES[name], "us-east-1", "ml.g5.2xlarge", spec.engine.version)
    ami = host_ami(image.uri, spec.engine.inference_ami_version)
    return spec, observed(spec=spec, image_uri=image.uri, engine_version=image.version, ami=ami)


def engine_tags(name: str) -> list[dict[str, str]]:
    return [*TAGS[:-1], {"Key": "llm-engineering:engine", "Value": name}]


def test_the_images_are_the_newest_the_sdk_knows_each_with_the_ami_of_its_cuda_major_version():
    for name, (image, version, ami) in IMAGES.items():
        found = engine_image(ENGINES[name], "us-east-1", "ml.g5.2xlarge")
        assert (found.uri, found.version) == (image, version)
        assert host_ami(found.uri, None).version == ami
        assert engine_of_image(found.uri) is ENGINES[name]
    assert known_versions(VLLM.framework)[-1] == "0.29.0"


@pytest.mark.parametrize("name", ["tgi", "vllm", "sglang"])
def test_model_based_requests_per_engine_are_exact_and_valid(moto_aws, name):
    spec, found = resolved(name)
    plan = build_plan(spec, found)
    model, config, endpoint = calls(plan)
    image, _, ami = IMAGES[name]
    assert model.params == {
        "ModelName": STAMPED,
        "PrimaryContainer": {"Image": image, "Environment": ENVIRONMENTS[name]},
        "ExecutionRoleArn": ROLE,
        "Tags": engine_tags(name),
    }
    variant = {"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1}
    variant |= {"InferenceAmiVersion": ami} if ami else {}
    assert config.params == {
        "EndpointConfigName": STAMPED,
        "ProductionVariants": [{**variant, "ModelName": STAMPED, **TIMEOUTS}],
        "Tags": engine_tags(name),
    }
    aws = connect(region="us-east-1")
    with Stubs(aws) as stubs:  # every request checked against botocore's service model
        stubs.model_config_endpoint(model, config, endpoint)
        stubs.describe_endpoint("InService")
        Applier(aws, spec, Recorder(), Poller(first=0, sleep=lambda _s: None)).apply(plan)
        stubs.verify()


@pytest.mark.parametrize("name", ["tgi", "vllm", "sglang"])
def test_inference_component_requests_per_engine_are_exact_and_valid(moto_aws, name):
    spec, found = resolved(name, "inference-component")
    plan = build_plan(spec, found)
    config, endpoint, model, component, record = calls(plan)
    _, _, ami = IMAGES[name]
    variant = {"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1}
    variant |= {"InferenceAmiVersion": ami} if ami else {}
    assert config.params == {
        "EndpointConfigName": STAMPED,
        "ProductionVariants": [{**variant, "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}],
        "ExecutionRoleArn": ROLE,
        "Tags": engine_tags(name),
    }
    assert model.params["PrimaryContainer"]["Environment"] == ENVIRONMENTS[name]
    assert component.params["Tags"] == [*engine_tags(name), {"Key": "llm-engineering:runs", "Value": STAMPED}]
    aws = connect(region="us-east-1")
    with Stubs(aws) as stubs:
        stubs.call(config, {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c"})
        stubs.call(endpoint, {"EndpointArn": ENDPOINT_ARN})
        stubs.describe_endpoint("InService")
        stubs.call(model, {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"})
        arn = f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{IC}"
        stubs.call(component, {"InferenceComponentArn": arn})
        stubs.describe_component("InService")
        tags = [*component.params["Tags"], {"Key": "llm-engineering:startup-seconds", "Value": "0"}]  # a still clock
        stubs.sagemaker.add_response("add_tags", {}, {"ResourceArn": arn, "Tags": tags})
        Applier(aws, spec, Recorder(), Poller(first=0, sleep=lambda _s: None), clock=lambda: 0.0).apply(plan)
        stubs.verify()
    assert record.operation == "AddTags"


@pytest.mark.parametrize(
    ("name", "quantize", "expected"),
    [
        (
            "tgi",
            "bitsandbytes-nf4",
            {
                "HF_MODEL_ID": MODEL,
                "SM_NUM_GPUS": "1",
                "MAX_INPUT_TOKENS": "2048",
                "MAX_TOTAL_TOKENS": "4096",
                "HF_MODEL_REVISION": "main",
                "HF_MODEL_QUANTIZE": "bitsandbytes-nf4",
                "MAX_BATCH_PREFILL_TOKENS": "4096",
                "HF_MODEL_TRUST_REMOTE_CODE": "true",
                "CUDA_MEMORY_FRACTION": "0.85",
                "HF_TOKEN": "hf_secret",
            },
        ),
        (
            "vllm",
            "bitsandbytes",
            {
                "SM_VLLM_MODEL": MODEL,
                "SM_VLLM_TENSOR_PARALLEL_SIZE": "1",
                "SM_VLLM_MAX_MODEL_LEN": "4096",
                "SM_VLLM_REVISION": "main",
                "SM_VLLM_QUANTIZATION": "bitsandbytes",
                "SM_VLLM_MAX_NUM_BATCHED_TOKENS": "4096",
                "SM_VLLM_TRUST_REMOTE_CODE": "true",
                "HF_TOKEN": "hf_secret",
                "SM_VLLM_HOST": "0.0.0.0",
                "SM_VLLM_GPU_MEMORY_UTILIZATION": "0.85",
            },
        ),
        (
            "sglang",
            "fp8",
            {
                "SM_SGLANG_MODEL_PATH": MODEL,
                "SM_SGLANG_TP_SIZE": "1",
                "SM_SGLANG_CONTEXT_LENGTH": "4096",
                "SM_SGLANG_REVISION": "main",
                "SM_SGLANG_QUANTIZATION": "fp8",
                "SM_SGLANG_MAX_PREFILL_TOKENS": "4096",
                "SM_SGLANG_TRUST_REMOTE_CODE": "true",
                "HF_TOKEN": "hf_secret",
                "SM_SGLANG_MEM_FRACTION_STATIC": "0.85",
            },
        ),
    ],
)
def test_every_shared_setting_reaches_each_engine_under_its_own_name(name, quantize, expected):
    spec, found = resolved(
        name,
        hf_model_revision="main",
        hf_model_quantize=quantize,
        max_batch_prefill_tokens=4096,
        hf_model_trust_remote_code=True,
        gpu_memory_utilization=0.85,
    )
    plan = build_plan(spec, observed(spec=spec, image_uri=found.image_uri, token=SecretStr("hf_secret")))
    assert reveal(plan.environment) == expected
    assert "hf_secret" not in render(plan)


def test_sglang_takes_the_batch_token_capacity_and_vllm_refuses_it():
    spec, found = resolved("sglang", max_batch_total_tokens=8192)
    assert build_plan(spec, found).environment["SM_SGLANG_MAX_TOTAL_TOKENS"] == "8192"
    spec, found = resolved("vllm", max_batch_total_tokens=8192)
    with pytest.raises(ConfigurationError, match="MAX_BATCH_TOTAL_TOKENS is set, but ENGINE=vllm cannot use it"):
        build_plan(spec, found)


def test_the_plan_shows_the_engine_its_ami_and_what_it_does_not_use():
    tgi = render(build_plan(*resolved("tgi")))
    assert "  engine         TGI 3.3.6 (ENGINE=tgi)" in tgi
    assert "  note           TGI is in maintenance mode upstream" in tgi and "ENGINE=vllm is the maintained path" in tgi
    assert f"  host AMI       {CUDA_12_AMI} (the image is built on CUDA 12.4; this AMI has CUDA 12.4)" in tgi
    vllm = render(build_plan(*resolved("vllm")))
    assert "  engine         vLLM 0.29.0 (ENGINE=vllm)" in vllm
    assert f"  host AMI       {CUDA_13_AMI} (the image is built on CUDA 13.0; this AMI has CUDA 13.0)" in vllm
    assert "  note           MAX_INPUT_TOKENS=2048 is not used: vLLM bounds prompt plus answer" in vllm
    assert "maintenance mode" not in vllm


def test_an_older_vllm_on_cuda_12_gets_the_cuda_12_ami_and_an_explicit_ami_wins():
    """CUDA 12 images on the default AMI can fail before writing any log (AWS's DLC repository pins gpu-3-1)."""
    spec, found = resolved("vllm", engine_version="0.17")
    assert found.image_uri.endswith("huggingface-vllm:0.17.0-transformers4.57.5-gpu-py312-cu129-ubuntu22.04")
    variant = calls(build_plan(spec, found))[1].params["ProductionVariants"][0]
    assert variant["InferenceAmiVersion"] == CUDA_12_AMI
    spec, found = resolved("tgi", inference_ami_version="al2-ami-sagemaker-inference-gpu-2")
    variant = calls(build_plan(spec, found))[1].params["ProductionVariants"][0]
    assert variant["InferenceAmiVersion"] == "al2-ami-sagemaker-inference-gpu-2"


def test_the_amis_and_their_cuda_come_from_botocore():
    known = ami_versions()
    assert known[CUDA_13_AMI] == (13, 0) and known["al2-ami-sagemaker-inference-gpu-3-1"] == (12, 4)
    assert known["al2-ami-sagemaker-inference-neuron-2"] is None
    assert image_cuda(VLLM_IMAGE) == (13, 0) and image_cuda(TGI_IMAGE) == (12, 4) and image_cuda("r/x:latest") is None


@pytest.mark.parametrize(
    ("ami", "advice"),
    [
        (None, "host AMI (SageMaker's default) may predate CUDA 13 drivers: such a container fails before writing any"),
        ("al2-ami-sagemaker-inference-gpu-3-1", "host AMI (al2-ami-sagemaker-inference-gpu-3-1) has CUDA 12.4"),
        (CUDA_13_AMI, None),
    ],
)
def test_a_container_without_logs_on_a_host_too_old_for_its_cuda_gets_the_ami_to_use(ami, advice):
    found = host_advice(VLLM_IMAGE, ami)
    if advice is None:
        assert found is None
    else:
        assert advice in found and f"Set INFERENCE_AMI_VERSION={CUDA_13_AMI}" in found
    assert f"Set INFERENCE_AMI_VERSION={CUDA_12_AMI}" in host_advice(TGI_IMAGE, None)
    assert host_advice(TGI_IMAGE, CUDA_12_AMI) is None and host_advice(SGLANG_IMAGE, CUDA_12_AMI) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"engine": "vllm", "engine_version": "0.99.0"}, "ENGINE_VERSION='0.99.0' is not a vLLM version the installed"),
        ({"engine": "sglang", "engine_version": "0.4.0"}, "ENGINE_VERSION='0.4.0' is not a SGLang version"),
        ({"engine": "tgi", "tgi_image_version": "9.9.9"}, "TGI_IMAGE_VERSION='9.9.9' is not a TGI version"),
        (
            {"engine": "tgi", "image_uri": VLLM_IMAGE},
            "IMAGE_URI='763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-vllm:0.29.0",
        ),
    ],
)
def test_image_settings_the_table_does_not_know_are_refused(moto_aws, values, message):
    boto3.client("iam").create_role(RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}")
    with pytest.raises(ConfigurationError, match=re.escape(message)) as error:
        observe(settings(**values), connect(region="us-east-1"))
    assert "\n" not in str(error.value)


def test_an_unknown_version_lists_the_known_ones():
    with pytest.raises(ConfigurationError) as error:
        resolved("vllm", engine_version="0.99")
    assert "use one of 0.14.0, 0.17.0, 0.21.0, 0.22.1, 0.25.1, 0.26.0, 0.27.1, 0.28.0, 0.29.0" in str(error.value)
    with pytest.raises(ConfigurationError, match=r"use one of 0\.5\.8 "):
        resolved("sglang", engine_version="0.4.0")


def test_version_aliases_resolve_to_the_full_version():
    assert resolved("vllm", engine_version="0.27")[1].engine_version == "0.27.1"


def test_the_region_without_an_image_says_so():
    with pytest.raises(ConfigurationError, match="AWS_REGION='me-west-1' has no published Hugging Face vLLM image"):
        engine_image(VLLM, "me-west-1", "ml.g5.2xlarge")


def test_explicit_ami_values_are_checked_against_botocore():
    with pytest.raises(ConfigurationError, match="INFERENCE_AMI_VERSION='al2-ami-sagemaker-inference-gpu-9' is not"):
        host_ami(VLLM_IMAGE, "al2-ami-sagemaker-inference-gpu-9")
    with pytest.raises(ConfigurationError, match="is not an AMI for NVIDIA GPUs"):
        host_ami(VLLM_IMAGE, "al2-ami-sagemaker-inference-neuron-2")
    assert host_ami(VLLM_IMAGE, CUDA_13_AMI) == HostAmi(CUDA_13_AMI, "as INFERENCE_AMI_VERSION sets")


def test_every_variable_the_shared_environment_can_hold_is_mapped_or_refused_per_engine():
    from llm_engineering.hosting.container import container_environment
    from llm_engineering.hosting.spec import ModelSpec

    everything = ModelSpec(
        model_id=MODEL,
        revision="main",
        quantize="awq",
        trust_remote_code=True,
        max_batch_prefill_tokens=4096,
        max_batch_total_tokens=8192,
    )
    names = set(container_environment(everything, 1, SecretStr("hf_x"))) - {"HF_TOKEN"}
    for row in ENGINES.values():
        if row.name != "tgi":
            assert names <= set(row.environment) | set(row.refused), row.name
