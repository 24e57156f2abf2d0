"""What is benchmarked: the endpoint (InService, or the run stops before sending), its fleet and price, the model
it serves and that model's single-stream decoding roofline.

The roofline is preflight's (`preflight.memory.decoding_ceiling` of the weights as served, from the Hub's
parameter counts), the price `hosting.prices.Cost` of the fleet; neither is computed again here. A roofline
the Hub cannot give (offline, weights from S3 only) is reported unknown rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from llm_engineering import tags as tool_tags
from llm_engineering.aws import get_or_none
from llm_engineering.catalogue.engines import engine as engine_named
from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.catalogue.prices import Cost, fleet_cost
from llm_engineering.errors import AwsRequestError
from llm_engineering.hosting import memory
from llm_engineering.statuses import Status, advice

ENGINES = ("tgi", "vllm", "sglang")
_MODEL_VARIABLES = ("HF_MODEL_ID", "SM_VLLM_MODEL")
_GPU_VARIABLES = ("SM_NUM_GPUS", "SM_VLLM_TENSOR_PARALLEL_SIZE", "SM_SGLANG_TP_SIZE")


class BenchmarkTargetError(AwsRequestError):
    """The endpoint (or component) cannot be benchmarked: missing or not InService. Nothing was sent."""

    exit_code = 2


@dataclass(frozen=True)
class Target:
    """The endpoint as the results describe it."""

    endpoint_name: str
    component_name: str | None
    instance_type: str | None
    instances: int
    engine: str | None
    model_id: str | None
    quantize: str | None
    gpus_per_copy: int
    cost: Cost | None
    roofline_tokens_per_second: float | None = None
    roofline_note: str = "unknown"

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint_name,
            "component": self.component_name,
            "instance_type": self.instance_type,
            "instances": self.instances,
            "engine": self.engine,
            "model_id": self.model_id,
            "gpus_per_copy": self.gpus_per_copy,
            "usd_per_hour": round(self.cost.usd_per_hour, 4) if self.cost else None,
            "roofline_tokens_per_second": (
                round(self.roofline_tokens_per_second, 2) if self.roofline_tokens_per_second else None
            ),
            "roofline": self.roofline_note,
        }

    @property
    def label(self) -> str:
        """`ml.g5.2xlarge x 1, tgi` for tables that put several runs side by side."""
        engine = f", {self.engine}" if self.engine else ""
        return f"{self.instance_type or '?'} x {self.instances}{engine}"


def describe_target(sagemaker: Any, endpoint_name: str, component_name: str | None) -> Target:
    """The endpoint's fleet, engine and model, or BenchmarkTargetError when it is missing or not InService."""
    endpoint = get_or_none(sagemaker.describe_endpoint, EndpointName=endpoint_name)
    if endpoint is None:
        raise BenchmarkTargetError(
            f"Endpoint '{endpoint_name}' does not exist: deploy it with `make deploy-inference-endpoint`, or set "
            "ENDPOINT_NAME to an existing endpoint. Nothing was sent."
        )
    status = Status(endpoint.get("EndpointStatus"))
    if status != Status.IN_SERVICE:
        raise BenchmarkTargetError(
            f"Endpoint '{endpoint_name}' is {status}, not InService: a benchmark would measure nothing; "
            f"{advice(status).use}. Nothing was sent."
        )
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variants = config.get("ProductionVariants") or []
    variant = variants[0] if variants else {}
    live = {item.get("VariantName"): item for item in endpoint.get("ProductionVariants") or []}
    instances = int(
        (live.get(variant.get("VariantName")) or {}).get("CurrentInstanceCount")
        or variant.get("InitialInstanceCount")
        or 1
    )
    instance_type = variant.get("InstanceType")
    arn, model_name, gpus = endpoint["EndpointArn"], variant.get("ModelName"), None
    if component_name:
        component = get_or_none(sagemaker.describe_inference_component, InferenceComponentName=component_name)
        if component is None or component.get("EndpointName") != endpoint_name:
            raise BenchmarkTargetError(
                f"Inference component '{component_name}' does not exist on endpoint '{endpoint_name}': fix "
                "SAGEMAKER_INFERENCE_COMPONENT_NAME or --component. Nothing was sent."
            )
        if Status(component.get("InferenceComponentStatus")) != Status.IN_SERVICE:
            raise BenchmarkTargetError(
                f"Inference component '{component_name}' is {component.get('InferenceComponentStatus')}, not "
                "InService: wait for it (`make status`). Nothing was sent."
            )
        specification = component.get("Specification") or {}
        arn, model_name = component["InferenceComponentArn"], specification.get("ModelName")
        needs = specification.get("ComputeResourceRequirements") or {}
        gpus = int(float(needs.get("NumberOfAcceleratorDevicesRequired") or 0)) or None
    environment = _environment(sagemaker, model_name)
    engine = _engine(sagemaker, arn)
    gpus = gpus or _first_int(environment, _GPU_VARIABLES) or 1
    return Target(
        endpoint_name=endpoint_name,
        component_name=component_name,
        instance_type=instance_type,
        instances=instances,
        engine=engine,
        model_id=next((environment[name] for name in _MODEL_VARIABLES if environment.get(name)), None),
        quantize=environment.get("HF_MODEL_QUANTIZE") or None,
        gpus_per_copy=gpus,
        cost=fleet_cost([(instance_type, instances)]) if instance_type else None,
    )


def _environment(sagemaker: Any, model_name: str | None) -> Mapping[str, str]:
    if not model_name:
        return {}
    model = get_or_none(sagemaker.describe_model, ModelName=model_name) or {}
    return (model.get("PrimaryContainer") or {}).get("Environment") or {}


def _engine(sagemaker: Any, arn: str) -> str | None:
    """The engine tag the tool put on the endpoint (or component); None when untagged or unreadable."""
    try:
        engine = tool_tags.read(sagemaker, ResourceArn=arn).get(tool_tags.ENGINE)
    except ClientError:
        return None
    return engine if engine in ENGINES else None


def _first_int(environment: Mapping[str, str], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = environment.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def with_roofline(target: Target, parameters: Mapping[str, int] | None, config: Mapping[str, Any] | None) -> Target:
    """`target` with preflight's decoding ceiling for the model's weights as served on its GPUs."""
    instance = GPU_INSTANCES.get(target.instance_type or "")
    if instance is None or not parameters:
        why = "unknown: the Hub gave no parameter counts" if instance else "unknown: instance type not in the table"
        return replace(target, roofline_note=why)
    shape = memory.ModelShape.from_config(config) if config else None
    rule = engine_named(target.engine or "tgi").memory
    served = memory.weights(parameters, target.quantize, shape, rule)
    ceiling = memory.decoding_ceiling(served.bytes, instance.gpu_bandwidth_gbps, target.gpus_per_copy)
    note = (
        f"{served.size_label} in {served.precision} on {target.gpus_per_copy} x {instance.gpu} "
        f"({instance.gpu_bandwidth_gbps} GB/s each): preflight's decoding ceiling"
    )
    return replace(target, roofline_tokens_per_second=ceiling, roofline_note=note)
