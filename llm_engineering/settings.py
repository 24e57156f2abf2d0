"""Every knob of the tool, typed, validated and documented in one place.

`Settings` is a pydantic-settings class: each field is read from the environment variable of its name
(any case), else from `.env` in the working directory (or the file LLM_ENGINEERING_ENV_FILE names), an
empty value meaning unset. `load_settings()` turns pydantic's validation report into one line that names
the setting, the value and what is allowed, so a typo never reaches AWS.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from llm_engineering.catalogue.engines import EngineName
from llm_engineering.catalogue.s3 import MODELS_ROOT, S3Location, check_bucket, model_root
from llm_engineering.durations import duration
from llm_engineering.errors import ConfigurationError
from llm_engineering.names import default_component_name, sagemaker_name
from llm_engineering.redaction import looks_like_secret, secret_kind
from llm_engineering.security_ids import check_ids, check_kms_key_id
from llm_engineering.setting_sources import check_sources, environment_file, environment_name

EndpointType = Literal["model-based", "inference-component"]

INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9-]+$")
# Hub repo ids: "name" or "owner/name", letters, digits, "-", "_", "." (no "--" or ".." in the Hub's rules).
HF_MODEL_ID_PATTERN = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
# A quantization method's shape; which names an engine knows is checked against the chosen ENGINE when the
# deployment spec is made (`hosting.engines`), so the error can give that engine's spelling.
QUANTIZATION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

INT_MAX = 2**31 - 1
"""AWS's integer members are Smithy `integer`s, 32-bit signed (botocore's model gives only their minimum), and
the engines' token limits and counts are 32-bit too: no count setting may exceed it."""
FLOAT_MAX = 3.4028234663852886e38
"""Generation parameters reach TGI, vLLM and SGLang as 32-bit floats: a larger one is infinity there."""
TARGET_VALUE_MAX = 2.0**360
"""Application Auto Scaling's TargetTrackingScalingPolicyConfiguration.TargetValue: "Values must be in the range
of -2^360 to 2^360" (botocore's documentation of the member; about 2.3e108)."""

PositiveInt = Annotated[int, Field(gt=0, le=INT_MAX)]

SCALE_TO_ZERO_AFTER_GONE = (
    "SCALE_TO_ZERO_AFTER is gone: AWS scales an idle component to zero through target tracking, after about 10-15 "
    "minutes without requests (AUTOSCALING_MIN_CAPACITY=0 is enough)"
)
"""It set an idle step policy that never acted on AWS (`hosting.autoscaling`): a setting that governs nothing
is refused rather than ignored."""


class Settings(BaseSettings):
    """The tool's configuration. Field names are the environment variable names, lower-cased.

    The docstring under each field is its documentation, repeated as its comment in `.env.example` (a test
    keeps the two equal). They are not parsed at run time: that would cost every command ~30 ms.
    """

    model_config = SettingsConfigDict(
        extra="ignore",  # .env and the environment hold variables of other tools too
        validate_default=True,
        case_sensitive=False,
        env_ignore_empty=True,  # `.env.example` lists optional settings as `NAME=`
        env_file_encoding="utf-8",
        allow_inf_nan=False,  # `inf` and `nan` would pass every range check and reach AWS or TGI as non-JSON
        populate_by_name=True,  # aliases (ENDPOINT_NAME) beside the field names
    )

    # --- AWS -------------------------------------------------------------------------------------------
    aws_region: str | None = None
    """Region for every call; unset falls back to AWS_DEFAULT_REGION or the profile's region."""
    aws_profile: str | None = None
    """Named profile from the AWS config files; unset uses the default credential chain."""

    # --- IAM -------------------------------------------------------------------------------------------
    sagemaker_user_name: str = "sagemaker-deployer"
    """IAM user that `make create-sagemaker-role` creates for deploying."""
    sagemaker_user_profile: str | None = None
    """Profile name under which the deployer's access key is stored; defaults to the user name."""
    sagemaker_execution_role_name: str = "SageMakerExecutionRoleLLM"
    """IAM role SageMaker assumes to pull the image and write logs."""
    aws_arn_role: str | None = None
    """Execution role ARN; unset resolves it from SAGEMAKER_EXECUTION_ROLE_NAME (iam:GetRole)."""
    execution_role_s3_buckets: Annotated[tuple[str, ...], NoDecode] = ()
    """Comma-separated S3 buckets or bucket/prefix the execution role may also read; a staged model needs none."""
    deployer_instance_types: Annotated[tuple[str, ...], NoDecode] = ()
    """Comma-separated instance types the deployer user may host endpoints on; empty: all GPU types the tool knows."""

    # --- Model and container ---------------------------------------------------------------------------
    hf_model_id: str = "Qwen/Qwen2.5-7B-Instruct"
    """Hugging Face Hub model to serve; the default is ungated and fits one A10G (24 GB) in bf16."""
    hf_model_revision: str | None = None
    """Branch, tag or commit of the model; unset serves the default branch."""
    huggingface_access_token: SecretStr | None = None
    """Token for gated or private models (sent only to those); unset falls back to the token `hf auth login` saved."""
    hf_model_quantize: str | None = None
    """Quantization in ENGINE's spelling (tgi: bitsandbytes-nf4, awq; vllm: bitsandbytes, fp8); unset: as stored."""
    hf_model_trust_remote_code: bool = False
    """Let the engine run custom modelling code from the model repository."""
    tgi_image_version: str | None = None
    """Deprecated alias of ENGINE_VERSION for ENGINE=tgi (still honoured, with a warning)."""
    tgi_image_uri: str | None = None
    """Deprecated alias of IMAGE_URI for ENGINE=tgi (still honoured, with a warning)."""
    max_input_tokens: PositiveInt = 2048
    """Longest prompt TGI accepts, in tokens (vLLM and SGLang bound prompts by MAX_TOTAL_TOKENS alone)."""
    max_total_tokens: PositiveInt = 4096
    """Prompt plus generated tokens per request (vLLM's max_model_len); must exceed MAX_INPUT_TOKENS."""
    max_batch_prefill_tokens: PositiveInt | None = None
    """Tokens prefilled per batch; must be at least MAX_INPUT_TOKENS. Unset lets TGI decide."""
    max_batch_total_tokens: PositiveInt | None = None
    """Tokens across a running batch (TGI; SGLang's max_total_tokens); unset sizes it from free GPU memory."""

    # --- Serving engine --------------------------------------------------------------------------------
    engine: EngineName = "tgi"
    """Serving engine: tgi (default; in maintenance mode upstream), vllm (the maintained path) or sglang."""
    engine_version: str | None = None
    """Version of ENGINE's Hugging Face container (e.g. 0.29.0 for vllm); unset: the newest the SDK knows."""
    image_uri: str | None = None
    """Full container image URI; overrides ENGINE_VERSION (its repository must match ENGINE when recognisable)."""
    inference_ami_version: str | None = None
    """Host AMI of the instances (botocore's InferenceAmiVersion); unset derives it from the image's CUDA."""
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] | None = None
    """Share of GPU memory the engine may use (0-1; vLLM gpu_memory_utilization); unset: the engine's default."""

    # --- Staged weights (S3) ----------------------------------------------------------------------------
    model_s3_bucket: str | None = None
    """Bucket `make stage-model` copies HF_MODEL_ID into (created if missing), at models/<owner>--<name>/<commit>/."""
    model_s3_uri: str | None = None
    """s3://bucket/prefix/ of a staged model; when set, deploys load the weights from there instead of the Hub."""
    model_source: Literal["hub", "s3"] | None = None
    """`hub`, or `s3`: HF_MODEL_ID's stage in MODEL_S3_BUCKET, found by manifest; unset: s3 if MODEL_S3_URI is set."""

    # --- Endpoint --------------------------------------------------------------------------------------
    sagemaker_endpoint_inference: str = Field(
        "llm-engineering-endpoint", validation_alias=AliasChoices("endpoint_name", "sagemaker_endpoint_inference")
    )
    """Name of the SageMaker endpoint to create, test and delete; ENDPOINT_NAME, when set, wins (every target)."""
    endpoint_type: EndpointType = "model-based"
    """`model-based` (one model per endpoint) or `inference-component` (models as components)."""
    gpu_instance_type: str = "ml.g5.2xlarge"
    """SageMaker hosting instance type, with the `ml.` prefix."""
    gpu_instance_count: PositiveInt = 1
    """Instances behind the endpoint."""
    sagemaker_inference_component_name: str | None = None
    """Inference component name; unset derives `<endpoint>-ic`."""
    copy_count: PositiveInt = 1
    """Copies of the model an inference component runs."""
    gpus_per_copy: PositiveInt | None = None
    """GPUs each model copy shards over (tensor parallelism); unset uses every GPU of the instance."""
    container_startup_health_check_timeout: Annotated[int, Field(ge=60, le=3600)] = 900
    """Seconds SageMaker waits for the container's /ping after start (60-3600)."""
    model_data_download_timeout: Annotated[int, Field(ge=60, le=3600)] = 1200
    """Seconds SageMaker allows for downloading model data (60-3600)."""
    deploy_timeout: Annotated[int, Field(gt=0, le=86400)] = 1800
    """Seconds `make deploy-inference-endpoint` waits for InService before giving up waiting (at most a day)."""
    wait_poll_interval: Annotated[float, Field(ge=0.05, le=60)] = 2.0
    """First polling interval in seconds while waiting; it grows 1.5x per unchanged poll, up to 15 s."""

    # --- Generation defaults (test client) -------------------------------------------------------------
    max_new_tokens_inference: PositiveInt = 256
    """Tokens to generate per answer."""
    temperature_inference: Annotated[float, Field(gt=0, le=FLOAT_MAX)] = 0.7
    """Sampling temperature (> 0; 0.5-1.0 is usual)."""
    top_p_inference: Annotated[float, Field(gt=0, lt=1)] = 0.9
    """Nucleus sampling mass (0 < p < 1; 0.7-0.95 is usual)."""
    top_k_inference: PositiveInt | None = None
    """Sample among the k most likely tokens; unset disables top-k."""
    repetition_penalty_inference: Annotated[float, Field(gt=0, le=FLOAT_MAX)] | None = None
    """Penalty for repeated tokens (> 0; 1.0-2.0 is usual); unset disables it."""
    inference_request_timeout: Annotated[int, Field(gt=0, le=3600)] = 120
    """Seconds one request to the endpoint may take before the client gives up (at most an hour)."""

    # --- Secret-shaped values outside HUGGINGFACE_ACCESS_TOKEN ----------------------------------------------
    @field_validator("*", mode="before")
    @classmethod
    def _no_secret_in_plain_settings(cls, value: object, info: ValidationInfo) -> object:
        """A secret pasted into a plain setting would be echoed in plans, tags and errors: refuse it unseen."""
        items = [value] if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else []
        kind = next((found for item in items if isinstance(item, str) and (found := secret_kind(item))), None)
        if kind is None or (info.field_name == "huggingface_access_token" and kind == "a Hugging Face access token"):
            return value
        where = {
            "a Hugging Face access token": "tokens belong in HUGGINGFACE_ACCESS_TOKEN only",
            "a SageMaker bearer token": "bearer tokens are made by make openai-env and belong in OPENAI_API_KEY only",
        }.get(kind, "AWS keys belong in an AWS profile (AWS_PROFILE) or the AWS_* credential variables only")
        raise ValueError(f"looks like {kind}; {where}")

    @field_validator("gpu_instance_type")
    @classmethod
    def _instance_type_shape(cls, value: str) -> str:
        if not INSTANCE_TYPE_PATTERN.match(value):
            raise ValueError("must look like ml.<family>.<size>, for example ml.g5.2xlarge")
        return value

    @field_validator("deployer_instance_types")
    @classmethod
    def _instance_type_list(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not INSTANCE_TYPE_PATTERN.match(item):
                raise ValueError(f"{item!r} does not look like ml.<family>.<size>, for example ml.g5.2xlarge")
        return value

    @field_validator("sagemaker_endpoint_inference", "sagemaker_inference_component_name")
    @classmethod
    def _sagemaker_name(cls, value: str | None) -> str | None:
        return None if value is None else sagemaker_name(value)

    @field_validator("execution_role_s3_buckets", "deployer_instance_types", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [bucket.strip() for bucket in value.split(",") if bucket.strip()]
        return value

    @field_validator("execution_role_s3_buckets")
    @classmethod
    def _bucket_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            bucket, _, prefix = entry.partition("/")
            check_bucket(bucket)
            if prefix:
                S3Location.parse(f"s3://{entry}")
        return value

    @field_validator("hf_model_quantize")
    @classmethod
    def _quantization_shape(cls, value: str | None) -> str | None:
        if value is not None and not QUANTIZATION_PATTERN.match(value):
            raise ValueError("must be a quantization method name such as awq, gptq or bitsandbytes")
        return value

    # --- Staged weights (S3) ----------------------------------------------------------------------------
    @field_validator("model_s3_bucket")
    @classmethod
    def _stage_bucket(cls, value: str | None) -> str | None:
        return None if value is None else check_bucket(value)

    @field_validator("model_s3_uri")
    @classmethod
    def _stage_uri(cls, value: str | None) -> str | None:
        return None if value is None else S3Location.parse(value).uri

    @model_validator(mode="after")
    def _stage_source(self) -> Settings:
        if self.model_source == "s3" and not (self.model_s3_uri or self.model_s3_bucket):
            raise ValueError("MODEL_SOURCE=s3 needs MODEL_S3_URI, or MODEL_S3_BUCKET to find the staged HF_MODEL_ID in")
        if self.model_s3_uri and self.model_s3_bucket:
            bucket = S3Location.parse(self.model_s3_uri).bucket
            if bucket != self.model_s3_bucket:
                raise ValueError(
                    f"MODEL_S3_URI names bucket {bucket} but MODEL_S3_BUCKET={self.model_s3_bucket}: unset one of them"
                )
        return self

    @property
    def staged_location(self) -> S3Location | None:
        """MODEL_S3_URI, parsed."""
        return S3Location.parse(self.model_s3_uri) if self.model_s3_uri else None

    @property
    def role_stage_prefixes(self) -> tuple[S3Location, ...]:
        """What the execution role may read: MODEL_S3_URI, else every staged commit of HF_MODEL_ID in
        MODEL_S3_BUCKET (none without either)."""
        if self.staged_location:
            return (self.staged_location,)
        if self.model_s3_bucket:
            return (S3Location(self.model_s3_bucket, model_root(self.hf_model_id)),)
        return ()

    @property
    def deployer_stage_roots(self) -> tuple[S3Location, ...]:
        """Where the deployer stages, reads and deletes: MODEL_S3_URI's prefix, else `models/` of MODEL_S3_BUCKET."""
        if self.staged_location:
            return (self.staged_location,)
        if self.model_s3_bucket:
            return (S3Location(self.model_s3_bucket, MODELS_ROOT),)
        return ()

    @property
    def weights_from_s3(self) -> bool:
        """Whether deploys load the weights from a stage (MODEL_SOURCE, else whether MODEL_S3_URI is set)."""
        return self.model_source == "s3" if self.model_source else self.model_s3_uri is not None

    @field_validator("hf_model_id")
    @classmethod
    def _model_id(cls, value: str) -> str:
        if not HF_MODEL_ID_PATTERN.match(value) or "--" in value or ".." in value:
            raise ValueError("must be a Hugging Face model id such as Qwen/Qwen2.5-7B-Instruct")
        return value

    @field_validator("aws_arn_role")
    @classmethod
    def _role_arn(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", value):
            raise ValueError("must be an IAM role ARN such as arn:aws:iam::123456789012:role/Name")
        return value

    @model_validator(mode="after")
    def _token_limits(self) -> Settings:
        if self.max_input_tokens >= self.max_total_tokens:
            raise ValueError(
                f"MAX_INPUT_TOKENS={self.max_input_tokens} must be less than MAX_TOTAL_TOKENS={self.max_total_tokens}"
            )
        if self.max_batch_prefill_tokens is not None and self.max_batch_prefill_tokens < self.max_input_tokens:
            raise ValueError(
                f"MAX_BATCH_PREFILL_TOKENS={self.max_batch_prefill_tokens} must be at least "
                f"MAX_INPUT_TOKENS={self.max_input_tokens}"
            )
        if self.max_batch_total_tokens is not None and self.max_batch_total_tokens < self.max_total_tokens:
            raise ValueError(
                f"MAX_BATCH_TOTAL_TOKENS={self.max_batch_total_tokens} must be at least "
                f"MAX_TOTAL_TOKENS={self.max_total_tokens}"
            )
        return self

    @property
    def inference_component_name(self) -> str:
        """The component name in use: the configured one, else derived from the endpoint name."""
        return self.sagemaker_inference_component_name or default_component_name(self.sagemaker_endpoint_inference)

    @property
    def deployer_profile(self) -> str:
        """Profile under which the deployer user's key is stored."""
        return self.sagemaker_user_profile or self.sagemaker_user_name

    # --- Time limit (EventBridge Scheduler deletes the endpoint) -----------------------------------------
    endpoint_ttl: str | None = None
    """How long a deployed endpoint lives before it deletes itself (4h, 90m, 2d); unset: until deleted."""

    @field_validator("endpoint_ttl")
    @classmethod
    def _ttl_duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration(value)  # the one rule for durations people type
        return value

    # --- Security: VPC, network isolation, KMS (`hosting.security`) -------------------------------------
    vpc_subnet_ids: Annotated[tuple[str, ...], NoDecode] = ()
    """Comma-separated subnet ids (1-16, one VPC) the model runs in; empty: SageMaker's own network."""
    vpc_security_group_ids: Annotated[tuple[str, ...], NoDecode] = ()
    """Comma-separated security group ids (1-5) of the model's network interfaces; needed with VPC_SUBNET_IDS."""
    enable_network_isolation: bool = False
    """The container makes no network call at all, so the weights must come from S3 (MODEL_S3_URI)."""
    kms_key_id: str | None = None
    """KMS key (id, ARN or alias/name) for the endpoint's storage volume and staged weights (NVMe: its hardware)."""
    require_mfa: bool = False
    """The deployer policy allows creates, updates and deletes only with MFA session credentials (see README)."""

    @field_validator("vpc_subnet_ids", "vpc_security_group_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("vpc_subnet_ids")
    @classmethod
    def _subnet_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_ids(value, "subnet", 16)

    @field_validator("vpc_security_group_ids")
    @classmethod
    def _security_group_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_ids(value, "sg", 5)

    @field_validator("kms_key_id")
    @classmethod
    def _kms_key(cls, value: str | None) -> str | None:
        return None if value is None else check_kms_key_id(value)

    @model_validator(mode="after")
    def _vpc_pair(self) -> Settings:
        if bool(self.vpc_subnet_ids) != bool(self.vpc_security_group_ids):
            raise ValueError(
                "VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS go together (SageMaker's VpcConfig needs both): "
                "set both, or neither"
            )
        return self

    # --- Autoscaling and scale to zero (`hosting.autoscaling`) ----------------------------------------------
    autoscaling_min_capacity: Annotated[int, Field(ge=0, le=INT_MAX)] | None = None
    """Fewest instances (model-based) or copies (inference component) autoscaling keeps; 0: scale to zero."""
    autoscaling_max_capacity: PositiveInt | None = None
    """Most instances or copies autoscaling may start; unset (with the minimum) means no autoscaling."""
    autoscaling_metric: Literal["invocations", "concurrency"] = "invocations"
    """What autoscaling tracks: `invocations` per instance/copy a minute, or `concurrency` (requests in flight)."""
    autoscaling_target: Annotated[float, Field(gt=0, le=TARGET_VALUE_MAX)] | None = None
    """Target value of AUTOSCALING_METRIC per instance or copy; unset: 20 invocations a minute, or 4 concurrent."""
    scale_in_cooldown: Annotated[int, Field(ge=0, le=3600)] = 300
    """Seconds after a scale-in before autoscaling removes capacity again (0-3600)."""
    scale_out_cooldown: Annotated[int, Field(ge=0, le=3600)] = 60
    """Seconds after a scale-out before autoscaling adds capacity again (0-3600)."""
    scale_to_zero_after: str | None = None
    """Gone, refused when set: target tracking takes an idle component to zero, after ~10-15 min without requests."""

    @field_validator("scale_to_zero_after", mode="before")
    @classmethod
    def _scale_to_zero_after_is_gone(cls, value: object) -> None:
        if value is not None:
            raise ValueError(SCALE_TO_ZERO_AFTER_GONE)

    @model_validator(mode="after")
    def _autoscaling_range(self) -> Settings:
        low, high = self.autoscaling_min_capacity, self.autoscaling_max_capacity
        if (low is None) != (high is None):
            raise ValueError(
                "AUTOSCALING_MIN_CAPACITY and AUTOSCALING_MAX_CAPACITY go together: set both, or neither for a "
                "fixed size"
            )
        if low is not None and high is not None and low > high:
            raise ValueError(
                f"AUTOSCALING_MIN_CAPACITY={low} must be at most AUTOSCALING_MAX_CAPACITY={high}: lower the minimum "
                "or raise the maximum"
            )
        if low == 0 and self.endpoint_type == "model-based":
            raise ValueError(
                "AUTOSCALING_MIN_CAPACITY=0 (scale to zero) needs ENDPOINT_TYPE=inference-component: a model-based "
                "endpoint keeps at least one instance; set ENDPOINT_TYPE=inference-component or a minimum of 1"
            )
        return self


def describe_validation_error(error: ValidationError) -> str:
    """One line for the first problem: the setting, the offending value and what is allowed."""
    first = error.errors()[0]
    names = [str(part).upper() for part in first.get("loc", ()) if isinstance(part, str)]
    message = first.get("msg", "is invalid")
    message = message.removeprefix("Value error, ")
    # pydantic writes a bound such as 2^360 out in 109 digits (which even looks like a secret): say it as 2.34854e+108
    message = re.sub(r"\d{13,}(?:\.\d+)?", lambda digits: f"{float(digits.group()):g}", message)
    if not names:  # a model-level check: its message already names the settings
        return f"Invalid settings: {message}. Fix them in .env or the environment."
    name = names[0]
    if message == SCALE_TO_ZERO_AFTER_GONE:  # a removed setting: what replaces it, not "invalid"
        return f"{message}; remove it from .env or the environment."
    value = first.get("input")
    hidden = name.endswith("TOKEN") or isinstance(value, SecretStr) or looks_like_secret(str(value))
    shown = "<hidden>" if hidden else repr(value)
    return f"{name}={shown} is invalid: {message}. Fix it in .env or the environment."


ENV_FILE_VARIABLE = "LLM_ENGINEERING_ENV_FILE"
"""Points at another settings file than `./.env` (tests use it to ignore the developer's own)."""


def setting_names() -> list[str]:
    """Every name a setting is read under (field names and their aliases), upper-case."""
    names: list[str] = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias or name]
        names += [str(choice).upper() for choice in choices]
    return names


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings, raising `ConfigurationError` with one readable line.

    `.env` is checked first: a line python-dotenv cannot parse stops here (it would otherwise be dropped
    with a logged warning), and names close to a setting's produce a `SettingsWarning`.
    """
    base = os.environ.get(ENV_FILE_VARIABLE, ".env")
    env_file = check_sources(setting_names(), base)
    # ENV=prod: .env.prod is read after .env, its values winning (setting_sources.environment_file)
    extra = environment_file(setting_names(), base, environment_name())
    files = tuple(path for path in (env_file, extra) if path)
    try:
        return Settings(_env_file=files or None, **overrides)
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None
