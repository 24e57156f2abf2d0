"""What one deployment is, validated once at the edge: the only input the hosting library reads.

`DeploymentSpec.from_settings()` picks, out of every knob of the tool, what observing, planning and
applying a deployment use, so that the library never sees the whole `Settings` (as the IAM code receives
`ExecutionRoleSpec` and `DeployerSpec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from llm_engineering.catalogue.engines import EngineName, check_quantization, engine
from llm_engineering.catalogue.instances import GpuInstance
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.autoscaling import AutoscalingSpec
from llm_engineering.hosting.network_encryption import SecuritySpec
from llm_engineering.setting_sources import environment_name
from llm_engineering.settings import EndpointType, Settings
from llm_engineering.weights.spec import WeightsSource


@dataclass(frozen=True)
class ModelSpec:
    """What the container serves and with which launcher limits."""

    model_id: str
    revision: str | None = None
    quantize: str | None = None
    trust_remote_code: bool = False
    max_input_tokens: int = 2048
    max_total_tokens: int = 4096
    max_batch_prefill_tokens: int | None = None
    max_batch_total_tokens: int | None = None
    token: SecretStr | None = None
    """HUGGINGFACE_ACCESS_TOKEN as set (the login store is only consulted when observing)."""


@dataclass(frozen=True)
class EngineSpec:
    """Which serving engine runs the model, in which image, on which host AMI, with how much GPU memory."""

    name: EngineName = "tgi"
    version: str | None = None
    image_uri: str | None = None
    version_setting: str = "ENGINE_VERSION"
    """The setting `version` came from (TGI_IMAGE_VERSION when the alias was used), for error messages."""
    image_setting: str = "IMAGE_URI"
    inference_ami_version: str | None = None
    gpu_memory_utilization: float | None = None
    warnings: tuple[str, ...] = ()
    """Deprecated settings in use: the scripts print them, the deploy goes on."""

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineSpec:
        """ENGINE and its knobs; TGI_IMAGE_VERSION / TGI_IMAGE_URI still work for TGI, with a warning."""
        check_quantization(engine(settings.engine), settings.hf_model_quantize)
        version, version_setting, version_warning = _alias(
            settings.engine, "ENGINE_VERSION", settings.engine_version, "TGI_IMAGE_VERSION", settings.tgi_image_version
        )
        image, image_setting, image_warning = _alias(
            settings.engine, "IMAGE_URI", settings.image_uri, "TGI_IMAGE_URI", settings.tgi_image_uri
        )
        return cls(
            name=settings.engine,
            version=version,
            image_uri=image,
            version_setting=version_setting,
            image_setting=image_setting,
            inference_ami_version=settings.inference_ami_version,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            warnings=tuple(warning for warning in (version_warning, image_warning) if warning),
        )


def _alias(
    engine_name: str, name: str, value: str | None, alias: str, aliased: str | None
) -> tuple[str | None, str, str | None]:
    """(value, the setting it came from, a deprecation warning) for a setting with a TGI-only alias."""
    if aliased is None:
        return value, name, None
    if engine_name != "tgi":
        raise ConfigurationError(f"{alias} is TGI's, but ENGINE={engine_name}: set {name} instead (same meaning).")
    if value is not None and value != aliased:
        raise ConfigurationError(
            f"{name}={value!r} and its deprecated alias {alias}={aliased!r} disagree: keep {name} and unset {alias}."
        )
    if value is not None:
        return value, name, f"{alias} is deprecated and repeats {name}: unset it."
    return aliased, alias, f"{alias} is deprecated: rename it {name} (same meaning)."


@dataclass(frozen=True)
class DeploymentSpec:
    """One endpoint, how it is hosted, and how long to wait for it."""

    endpoint_name: str
    endpoint_type: EndpointType
    model: ModelSpec
    instance_type: str = "ml.g5.2xlarge"
    instance_count: int = 1
    component_name: str | None = None
    """The inference component (inference-component endpoints only)."""
    copy_count: int = 1
    gpus_per_copy: int | None = None
    """As asked for; None means every GPU of the instance (see `gpus_per_copy()`)."""
    startup_timeout: int = 900
    download_timeout: int = 1200
    deploy_timeout: int = 1800
    poll_interval: float = 2.0
    role_name: str = "SageMakerExecutionRoleLLM"
    role_arn: str | None = None
    """AWS_ARN_ROLE when set; else the role is resolved from `role_name`."""
    engine: EngineSpec = EngineSpec()
    weights: WeightsSource | None = None
    """Where the container loads the weights from: a stage in S3, or None for the Hub (HF_MODEL_ID)."""
    security: SecuritySpec = field(default_factory=SecuritySpec)
    """VPC, network isolation and the storage volume's KMS key (`hosting.security`)."""
    environment: str | None = None
    """ENV / LLM_ENGINEERING_ENV (None: `.env` alone), named by the plan's first line."""
    autoscaling: AutoscalingSpec | None = None
    """The scaling range and what it follows (`hosting.autoscaling`); None: a fixed size."""

    @property
    def components(self) -> bool:
        return self.endpoint_type == "inference-component"

    @classmethod
    def from_settings(cls, settings: Settings) -> DeploymentSpec:
        components = settings.endpoint_type == "inference-component"
        return cls(
            endpoint_name=settings.sagemaker_endpoint_inference,
            endpoint_type=settings.endpoint_type,
            model=ModelSpec(
                model_id=settings.hf_model_id,
                revision=settings.hf_model_revision,
                quantize=settings.hf_model_quantize,
                trust_remote_code=settings.hf_model_trust_remote_code,
                max_input_tokens=settings.max_input_tokens,
                max_total_tokens=settings.max_total_tokens,
                max_batch_prefill_tokens=settings.max_batch_prefill_tokens,
                max_batch_total_tokens=settings.max_batch_total_tokens,
                token=settings.huggingface_access_token,
            ),
            instance_type=settings.gpu_instance_type,
            instance_count=settings.gpu_instance_count,
            component_name=settings.inference_component_name if components else None,
            copy_count=settings.copy_count if components else 1,
            gpus_per_copy=settings.gpus_per_copy,
            startup_timeout=settings.container_startup_health_check_timeout,
            download_timeout=settings.model_data_download_timeout,
            deploy_timeout=settings.deploy_timeout,
            poll_interval=settings.wait_poll_interval,
            role_name=settings.sagemaker_execution_role_name,
            role_arn=settings.aws_arn_role,
            engine=EngineSpec.from_settings(settings),
            weights=WeightsSource.from_settings(settings),
            security=SecuritySpec.from_settings(settings),
            environment=environment_name(),
            autoscaling=AutoscalingSpec.from_settings(settings),
        )


def gpus_per_copy(spec: DeploymentSpec, instance: GpuInstance) -> int:
    """GPUs per model copy, checked against the instance (and, for components, the copies asked for)."""
    gpus = spec.gpus_per_copy or instance.gpus
    if gpus > instance.gpus or instance.gpus % gpus:
        raise ConfigurationError(
            f"GPUS_PER_COPY={gpus} does not divide the {instance.gpus} GPU(s) of {instance.name}: "
            f"use a divisor of {instance.gpus} or leave it unset."
        )
    if spec.components:
        capacity = spec.instance_count * (instance.gpus // gpus)
        if spec.copy_count > capacity:
            raise ConfigurationError(
                f"COPY_COUNT={spec.copy_count} does not fit: {spec.instance_count} x {instance.name} "
                f"hold {capacity} cop{'y' if capacity == 1 else 'ies'} of {gpus} GPU(s); lower COPY_COUNT "
                "or raise GPU_INSTANCE_COUNT."
            )
    return gpus
