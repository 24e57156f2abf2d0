"""Why a deployment failed, in the container's own words, with what to do about it.

SageMaker's FailureReason alone ("did not pass the ping health check") rarely says why. The container's log
stream in CloudWatch Logs usually does (CUDA out of memory, a gated model, a download still running), so the
diagnosis joins the reason, the last log lines and advice for the causes that are known to recur.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from llm_engineering.aws import AWS_FAILURES, Aws, paginate
from llm_engineering.catalogue.engines import advice_from_logs, engine
from llm_engineering.redaction import scrub
from llm_engineering.refusals import error_code, error_message, is_not_found, shown_code

LOG_LINES = 20


@dataclass(frozen=True)
class Context:
    """What the advice needs to be concrete: the deployment being attempted."""

    region: str
    instance_type: str
    instance_count: int
    gpu_memory_gib: float
    model_id: str
    has_token: bool
    startup_timeout: int
    download_timeout: int
    secrets: tuple[str, ...] = ()
    # --- the serving engine, for its own failure lines (`hosting.engines`) ---
    engine: str = "tgi"
    release: str = "TGI"
    """The engine and version as people name them ("TGI 3.3.6")."""
    budget: float = 1.0
    """The share of GPU memory the engine budgets (GPU_MEMORY_UTILIZATION or the engine's default)."""
    max_total_tokens: int = 4096
    host_advice: str | None = None
    """What to do when the container wrote no log at all because the host AMI cannot run the image."""
    weights_uri: str | None = None
    """The stage in S3 the container loads, when it does not read the Hub."""


@dataclass(frozen=True)
class Diagnosis:
    headline: str
    reason: str | None = None
    log_group: str | None = None
    log_lines: list[str] = field(default_factory=list)
    log_note: str | None = None
    advice: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The diagnosis as text lines, for the script to print."""
        out = [self.headline]
        if self.reason and self.reason not in self.headline:
            out.append(f"Reason: {self.reason}")
        if self.log_lines:
            out.append(f"Last container log lines ({self.log_group}):")
            out += [f"  | {line}" for line in self.log_lines]
        elif self.log_note:
            out.append(self.log_note)
        out += [f"What to do: {advice}" for advice in self.advice]
        return out


def log_group_for(kind: str, name: str) -> str:
    if kind == "inference-component":
        return f"/aws/sagemaker/InferenceComponents/{name}"
    return f"/aws/sagemaker/Endpoints/{name}"


def log_tail(aws: Aws, group: str, secrets: Iterable[str] = (), limit: int = LOG_LINES) -> tuple[list[str], str | None]:
    """The last `limit` lines of the most recently written stream of `group`, or why there are none."""
    logs = aws.client("logs")
    try:
        streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True, limit=1).get(
            "logStreams", []
        )
        if not streams:
            return [], f"No container log lines in {group}: the container may never have started."
        events = logs.get_log_events(
            logGroupName=group, logStreamName=streams[0]["logStreamName"], limit=limit, startFromHead=False
        ).get("events", [])
    except AWS_FAILURES as error:  # refused, or the connection is gone: the diagnosis goes on without the lines
        if is_not_found(error):
            return [], f"No log group {group}: the container never started (nothing was written)."
        why = error_code(error) or type(error).__name__
        return [], f"Could not read {group} ({why}): check the logs in the CloudWatch console."
    secrets = tuple(secrets)
    return [scrub(event["message"].rstrip(), secrets) for event in events], None


_OOM = re.compile(r"CUDA out of memory|OutOfMemoryError|Not enough memory to handle|out of memory", re.IGNORECASE)
_GATED = re.compile(
    r"GatedRepoError|gated repo|Access to model .* is restricted|401 Client Error|Unauthorized for url",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(r"RepositoryNotFoundError|404 Client Error|Repository Not Found", re.IGNORECASE)
_ROLE = re.compile(r"assume role|sts:AssumeRole|not authorized to perform: ecr|ecr:", re.IGNORECASE)
_CAPACITY = re.compile(r"InsufficientInstanceCapacity|insufficient capacity", re.IGNORECASE)
_HEALTH = re.compile(r"ping health check", re.IGNORECASE)
# Weights staged in S3: SageMaker cannot read the prefix, or TGI finds the copied directory empty or incomplete.
_MODEL_DATA = re.compile(r"Could not access model data|Failed to download model data", re.IGNORECASE)
_LOCAL_WEIGHTS = re.compile(
    r"No local weights found in|does not appear to have a file named config\.json", re.IGNORECASE
)


def _staged_advice(text: str, context: Context) -> list[str]:
    """Advice for a deploy from S3 (empty when the text shows no such failure)."""
    where = context.weights_uri or "the staged model"
    if _MODEL_DATA.search(text):
        return [
            f"SageMaker could not read {where} with the execution role: run make create-sagemaker-execution-role with "
            f"MODEL_S3_URI (or MODEL_S3_BUCKET) set, which grants s3:ListBucket and s3:GetObject on exactly that "
            f"prefix, and keep the bucket in {context.region}."
        ]
    if _LOCAL_WEIGHTS.search(text):
        return [f"{where} is empty or incomplete: run make stage-model (ARGS=--verify shows what differs)."]
    return []


def advice_for(text: str, context: Context, quota_hint: str | None = None) -> list[str]:
    """Advice for the known causes found in the reason and log text, most specific first."""
    advice: list[str] = _staged_advice(text, context)
    if "ResourceLimitExceeded" in text or "service limit" in text:
        advice.append(
            quota_hint
            or f"Ask for more '{context.instance_type} for endpoint usage' in the Service Quotas console "
            f"(AWS services > Amazon SageMaker) in {context.region}; new accounts start at 0."
        )
    if _GATED.search(text):
        token = (
            "the token in use cannot read it: accept the license on the model page with the token's account"
            if context.has_token
            else "set HUGGINGFACE_ACCESS_TOKEN (or run `hf auth login`) with a token whose account accepted the license"
        )
        advice.append(f"HF_MODEL_ID={context.model_id} is gated on the Hugging Face Hub: {token}.")
    elif _NOT_FOUND.search(text):
        advice.append(
            f"HF_MODEL_ID={context.model_id} was not found on the Hugging Face Hub: check the spelling, "
            "or set HUGGINGFACE_ACCESS_TOKEN for a private model."
        )
    row = engine(context.engine)
    if _OOM.search(text):
        advice.append(
            f"The model does not fit the {context.gpu_memory_gib:.0f} GiB of GPU memory of {context.instance_type}: "
            f"choose a larger GPU_INSTANCE_TYPE, set HF_MODEL_QUANTIZE ({row.memory.suggested[-1]}, or awq/gptq for "
            f"pre-quantized models), or lower {row.memory.knobs}."
        )
    advice += advice_from_logs(row, text, _figures(context))
    if _ROLE.search(text) and not _MODEL_DATA.search(text):
        advice.append(
            "SageMaker could not use the execution role: run make create-sagemaker-execution-role to repair it."
        )
    if _CAPACITY.search(text):
        advice.append(
            f"AWS has no spare {context.instance_type} capacity right now: retry later, or try another "
            "region or instance type."
        )
    if _HEALTH.search(text) and not advice:
        slow = "still downloading the model; " if row.loading.search(text) else ""
        advice.append(
            f"The container did not answer /ping within CONTAINER_STARTUP_HEALTH_CHECK_TIMEOUT="
            f"{context.startup_timeout} s ({slow}large models need longer): raise it (at most 3600), and "
            f"MODEL_DATA_DOWNLOAD_TIMEOUT={context.download_timeout} if the download is slow."
        )
    return advice


def _figures(context: Context) -> dict[str, Any]:
    """What the engines' advice templates may name."""
    return {
        "model_id": context.model_id,
        "instance_type": context.instance_type,
        "release": context.release,
        "budget": context.budget,
        "max_total_tokens": context.max_total_tokens,
    }


def quota_request_hint(aws: Aws, instance_type: str, wanted: int) -> str | None:
    """The exact command to ask for a higher endpoint quota, when Service Quotas lets us find its code."""
    name = f"{instance_type} for endpoint usage"
    try:
        listed = paginate(aws.client("service-quotas"), "list_service_quotas", "Quotas", ServiceCode="sagemaker")
        quota: dict[str, Any] | None = next((item for item in listed if item.get("QuotaName") == name), None)
    except AWS_FAILURES:
        return None
    if quota is None:
        return None
    return (
        f"Ask for more '{name}' (quota {quota['QuotaCode']}, now {quota.get('Value', 0):g}): "
        f"aws service-quotas request-service-quota-increase --service-code sagemaker "
        f"--quota-code {quota['QuotaCode']} --desired-value {wanted} --region {aws.region}"
    )


def diagnose_refusal(aws: Aws, error: ClientError, context: Context) -> Diagnosis:
    """A create or update call that SageMaker refused outright."""
    code = shown_code(error)
    message = scrub(error_message(error), context.secrets)
    hint = None
    if code == "ResourceLimitExceeded":
        hint = quota_request_hint(aws, context.instance_type, context.instance_count)
    return Diagnosis(
        headline=f"SageMaker refused {error.operation_name}: {code}: {message}",
        advice=advice_for(f"{code} {message}", context, hint),
    )


def diagnose_failure(aws: Aws, kind: str, name: str, status: str, reason: str | None, context: Context) -> Diagnosis:
    """A resource that ended Failed (or rolled back): the reason, its container log tail, and advice."""
    group = log_group_for(kind, name)
    lines, note = log_tail(aws, group, context.secrets)
    reason_text = scrub(reason or "SageMaker gave no reason", context.secrets)
    label = "Inference component" if kind == "inference-component" else "Endpoint"
    return Diagnosis(
        headline=f"{label} {name} is {status}: {reason_text}",
        reason=reason_text,
        log_group=group,
        log_lines=lines,
        log_note=note,
        advice=([context.host_advice] if context.host_advice and not lines else [])
        + advice_for("\n".join([reason_text, *lines]), context),
    )
