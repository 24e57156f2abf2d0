"""Builders shared by the deploy tests: settings without any .env, and observations without AWS."""

from __future__ import annotations

from datetime import UTC, datetime

from llm_engineering import __version__
from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.hosting.observe import ExistingEndpoint, Observed
from llm_engineering.hosting.spec import DeploymentSpec, gpus_per_copy
from llm_engineering.resources.waiting import Poller
from llm_engineering.settings import Settings

NOW = datetime(2026, 11, 26, 10, 30, 15, 123456, tzinfo=UTC)
STAMPED = "llm-engineering-endpoint-20261126-103015123"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRoleLLM"
TAGS = [
    {"Key": "llm-engineering:managed-by", "Value": "llm-engineering"},
    {"Key": "llm-engineering:version", "Value": __version__},
    {"Key": "llm-engineering:endpoint", "Value": "llm-engineering-endpoint"},
    {"Key": "llm-engineering:model-id", "Value": "Qwen/Qwen2.5-7B-Instruct"},
    {"Key": "llm-engineering:engine", "Value": "tgi"},
]
RUNNING_STAMPED = [*TAGS, {"Key": "llm-engineering:runs", "Value": STAMPED}]
"""The tags of an endpoint or component this tool set to run the config or model named STAMPED."""
ENV = {
    "HF_MODEL_ID": "Qwen/Qwen2.5-7B-Instruct",
    "SM_NUM_GPUS": "1",
    "MAX_INPUT_TOKENS": "2048",
    "MAX_TOTAL_TOKENS": "4096",
}
TIMEOUTS = {"ModelDataDownloadTimeoutInSeconds": 1200, "ContainerStartupHealthCheckTimeoutInSeconds": 900}


def settings(**values: object) -> DeploymentSpec:
    """The deployment spec the settings `values` (over the defaults) describe."""
    return DeploymentSpec.from_settings(Settings(**values))


def observed(instance: str = "ml.g5.2xlarge", spec: DeploymentSpec | None = None, **values: object) -> Observed:
    """What observing would find for `spec` (default: the default settings) on `instance`."""
    row = GPU_INSTANCES[instance]
    return Observed(
        region="us-east-1",
        role_arn=ROLE,
        image_uri=values.pop("image_uri", IMAGE),  # type: ignore[arg-type]
        token=values.pop("token", None),  # type: ignore[arg-type]
        instance=row,
        gpus_per_copy=gpus_per_copy(spec or settings(), row),
        now=NOW,
        **values,  # type: ignore[arg-type]
    )


def existing_endpoint(components: bool = False, **values: object) -> ExistingEndpoint:
    fields: dict[str, object] = {
        "name": "llm-engineering-endpoint",
        "arn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/llm-engineering-endpoint",
        "status": "InService",
        "managed": True,
        "hosts_components": components,
        "config_name": "llm-engineering-endpoint-old",
        "model_names": () if components else ("llm-engineering-endpoint-old",),
        "instance_type": "ml.g5.2xlarge",
        "instance_count": 1,
    }
    fields.update(values)
    return ExistingEndpoint(**fields)  # type: ignore[arg-type]


FAST = Poller(first=0, sleep=lambda _s: None)
"""A poller that never sleeps: the tests' resources settle at once."""
