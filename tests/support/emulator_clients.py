"""boto3 clients on the emulator and small builders of SageMaker resources, shared by the emulator tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from llm_engineering.local.server import advance_clock, get_config

ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerExecutionRoleLLM"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
)
MODEL_ID = "Qwen/Qwen2.5-7B-Instruct"


@dataclass
class Aws:
    """Clients on the emulator, retries off so every refusal is seen as sent."""

    url: str
    sagemaker: Any
    runtime: Any
    logs: Any
    quotas: Any

    def client(self, service: str, **config: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(**{"retries": {"mode": "standard", "total_max_attempts": 1}, **config}),
        )

    @classmethod
    def on(cls, url: str) -> Aws:
        """Clients on the emulator at `url`."""
        partial = cls(url, None, None, None, None)
        return cls(
            url,
            partial.client("sagemaker"),
            partial.client("sagemaker-runtime"),
            partial.client("logs"),
            partial.client("service-quotas"),
        )

    def create_model(self, name: str = "model", model_id: str = MODEL_ID, **environment: str) -> str:
        container = {"Image": IMAGE, "Environment": {"HF_MODEL_ID": model_id, "SM_NUM_GPUS": "1", **environment}}
        return self.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer=container)[
            "ModelArn"
        ]

    def create_config(
        self, name: str = "config", model: str | None = "model", instance_type: str = "ml.g5.2xlarge", count: int = 1
    ) -> str:
        variant: dict[str, Any] = {"VariantName": "AllTraffic", "InstanceType": instance_type}
        variant["InitialInstanceCount"] = count
        extra: dict[str, Any] = {}
        if model is None:
            extra["ExecutionRoleArn"] = ROLE_ARN
        else:
            variant["ModelName"] = model
        return self.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant], **extra)[
            "EndpointConfigArn"
        ]

    def endpoint_status(self, name: str) -> str:
        return self.sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"]

    def component_status(self, name: str) -> str:
        return self.sagemaker.describe_inference_component(InferenceComponentName=name)["InferenceComponentStatus"]

    def deploy(self, endpoint: str = "endpoint", model_id: str = MODEL_ID) -> None:
        """A model-based endpoint, InService."""
        self.create_model(model_id=model_id)
        self.create_config()
        self.sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName="config")
        wait_until(self, lambda: self.endpoint_status(endpoint) != "Creating")

    def deploy_components(self, endpoint: str = "endpoint", component: str = "component", copies: int = 1) -> None:
        """An inference-component endpoint with one InService component."""
        self.create_model()
        self.create_config(model=None)
        self.sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName="config")
        wait_until(self, lambda: self.endpoint_status(endpoint) == "InService")
        self.create_component(component, endpoint, copies=copies)
        wait_until(self, lambda: self.component_status(component) != "Creating")

    def create_component(self, name: str, endpoint: str = "endpoint", copies: int = 1, **requirements: int) -> str:
        needs = requirements or {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 16384}
        return self.sagemaker.create_inference_component(
            InferenceComponentName=name,
            EndpointName=endpoint,
            VariantName="AllTraffic",
            Specification={"ModelName": "model", "ComputeResourceRequirements": needs},
            RuntimeConfig={"CopyCount": copies},
        )["InferenceComponentArn"]


def wait_until(aws: Aws, condition: Callable[[], bool], steps: int = 100) -> None:
    """Check `condition`, moving the emulator's clock a quarter of a transition between checks, until it holds:
    every state lasting a transition is seen, and nothing waits in real time. Bounded in steps, never in time."""
    transition = float(get_config(aws.url)["transition_seconds"])
    for _ in range(steps):
        if condition():
            return
        advance_clock(aws.url, transition / 4)
    raise AssertionError(f"condition not reached after {steps} steps of {transition / 4} emulated seconds")
