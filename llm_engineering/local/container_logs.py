"""The container's start-up log, written to CloudWatch Logs where SageMaker puts it.

Diagnostics read these lines to explain a failed deployment, so they follow what TGI really prints: the
launcher's arguments, the weight download, shard start, warm-up, and on failure the error TGI dies with
(CUDA out of memory during warm-up, a gated repository refused by the Hub, a download still running when
the health check gives up). Groups and streams are named as SageMaker names them:
`/aws/sagemaker/Endpoints/<endpoint>` or `/aws/sagemaker/InferenceComponents/<component>`, stream
`<variant>/i-<17 hex>`.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from llm_engineering.local.faults import FailureKind
from llm_engineering.local.instances import spec
from llm_engineering.local.model_data import ModelData

SHARDS = 4
"""Safetensors files the emulated download lists."""


def endpoint_log_group(endpoint_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def component_log_group(component_name: str) -> str:
    return f"/aws/sagemaker/InferenceComponents/{component_name}"


def instance_id(*parts: str) -> str:
    """A stable EC2-style instance id (`i-` and 17 hex digits) for the given names."""
    return "i-" + hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:17]


def stream_name(variant: str, resource: str, index: int) -> str:
    """`<variant>/i-<17 hex>`: one stream per instance (or copy), new for every start."""
    return f"{variant}/{instance_id(resource, str(time.time_ns()), str(index))}"


def _launcher_lines(model_id: str, environment: Mapping[str, str]) -> list[str]:
    """The launcher's arguments, as TGI prints them first."""
    gpus = environment.get("SM_NUM_GPUS", "1")
    revision = environment.get("HF_MODEL_REVISION")
    quantize = environment.get("HF_MODEL_QUANTIZE")
    max_input = environment.get("MAX_INPUT_TOKENS") or environment.get("MAX_INPUT_LENGTH")
    max_total = environment.get("MAX_TOTAL_TOKENS")
    return [
        "INFO text_generation_launcher: Args { "
        f'model_id: "{model_id}", revision: {_option(revision)}, sharded: None, num_shard: Some({gpus}), '
        f"quantize: {_option(quantize, quoted=False)}, max_input_tokens: {_option(max_input, quoted=False)}, "
        f'max_total_tokens: {_option(max_total, quoted=False)}, hostname: "container-0.local", port: 8080, '
        'huggingface_hub_cache: Some("/tmp"), json_output: false, .. }',
        "INFO text_generation_launcher: Using default cuda graphs [1, 2, 4, 8, 16, 32]",
        f"INFO download: text_generation_launcher: Starting check and download process for {model_id}",
    ]


def _gated_lines(model_id: str) -> list[str]:
    """The Hub refusing a gated model to a container without a token."""
    url = f"https://huggingface.co/{model_id}/resolve/main/config.json"
    return [
        "ERROR download: text_generation_launcher: Download encountered an error:",
        "Traceback (most recent call last):",
        '  File "/opt/conda/lib/python3.11/site-packages/huggingface_hub/utils/_http.py", line 409, '
        "in hf_raise_for_status",
        "    response.raise_for_status()",
        f"requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: {url}",
        "The above exception was the direct cause of the following exception:",
        "huggingface_hub.errors.GatedRepoError: 401 Client Error. "
        f"(Request ID: Root=1-{instance_id(model_id, 'request')[2:10]}-{instance_id(model_id)[2:]})",
        f"Cannot access gated repo for url {url}.",
        f"Access to model {model_id} is restricted. You must have access to it and be authenticated to "
        "access it. Please log in.",
        "ERROR text_generation_launcher: Download Error",
        "Error: DownloadError",
    ]


def _download_lines(model_id: str, stop_after: int | None) -> list[str]:
    """The weight download, shard by shard; `stop_after` shards when the health check gives up mid-download."""
    lines = []
    for shard in range(1, SHARDS + 1):
        lines.append(f"INFO text_generation_launcher: Download file: model-{shard:05d}-of-{SHARDS:05d}.safetensors")
        if shard == stop_after:
            return lines
        lines.append(
            "INFO text_generation_launcher: Downloaded "
            f"/tmp/models--{model_id.replace('/', '--')}/snapshots/main/model-{shard:05d}-of-{SHARDS:05d}.safetensors "
            f"in 0:00:{11 + shard:02d}."
        )
    return [
        *lines,
        f"INFO download: text_generation_launcher: Successfully downloaded weights for {model_id}",
        "INFO shard-manager: text_generation_launcher: Starting shard rank=0",
        "INFO text_generation_launcher: Using prefix caching = True",
        "INFO text_generation_launcher: Using Attention = flashinfer",
        "INFO shard-manager: text_generation_launcher: Shard ready in 41.7s rank=0",
        "INFO text_generation_launcher: Starting Webserver",
        "INFO text_generation_router_v3: backends/v3/src/lib.rs:125: Warming up model",
    ]


def _oom_lines(instance_type: str) -> list[str]:
    """CUDA running out of memory during TGI's warm-up, in the words of PyTorch and the router."""
    total = (spec(instance_type).accelerator_memory_gib if spec(instance_type) else 0) or 22.09
    oom = (
        f"CUDA out of memory. Tried to allocate 2.32 GiB. GPU 0 has a total capacity of {total:.2f} GiB of "
        f"which 1.05 GiB is free. Process 1 has {total - 1.05:.2f} GiB memory in use. Of the allocated memory "
        f"{total - 2.58:.2f} GiB is allocated by PyTorch, and 1.12 GiB is reserved by PyTorch but unallocated."
    )
    return [
        "ERROR text_generation_launcher: Method Warmup encountered an error.",
        "Traceback (most recent call last):",
        '  File "/usr/src/server/text_generation_server/models/flash_causal_lm.py", line 1654, in warmup',
        "    _, _batch, _ = self.generate_token(batch)",
        f"torch.OutOfMemoryError: {oom}",
        "ERROR warmup{max_input_length=None max_prefill_tokens=4096 max_total_tokens=None max_batch_size=None}:"
        f"warmup: text_generation_router_v3::client: backends/v3/src/client/mod.rs:45: Server error: {oom}",
        f'Error: Backend(Warmup(Generation("{oom}")))',
        "ERROR text_generation_launcher: Webserver Crashed",
        "INFO text_generation_launcher: Shutting down shards",
    ]


def model_type_of(model_id: str) -> str:
    """A plausible config.json `model_type` for a model id (`Qwen/Qwen3-Next-80B-A3B` -> `qwen3_next`)."""
    words = []
    for word in model_id.rsplit("/", 1)[-1].lower().split("-"):
        if re.fullmatch(r"\d+(\.\d+)?[bm]|a\d+b|instruct|chat|base|it|hf", word):
            break
        words.append(word)
    return "_".join(words) or "unknown"


def _unsupported_lines(model_id: str) -> list[str]:
    """A shard that does not know the architecture: TGI's `get_model` raising, then the launcher giving up."""
    return [
        "ERROR text_generation_launcher: Error when initializing model",
        "Traceback (most recent call last):",
        '  File "/usr/src/server/text_generation_server/models/__init__.py", line 1697, in get_model',
        '    raise ValueError(f"Unsupported model type {model_type}")',
        f"ValueError: Unsupported model type {model_type_of(model_id)}",
        "ERROR shard-manager: text_generation_launcher: Shard complete standard error output:",
        "ERROR text_generation_launcher: Shard 0 failed to start",
        "INFO text_generation_launcher: Shutting down shards",
        "Error: ShardCannotStart",
    ]


READY_LINES = [
    "INFO text_generation_router_v3: backends/v3/src/lib.rs:137: Setting max batch total tokens to 86784",
    "INFO text_generation_router::server: router/src/server.rs:1850: Using config Some(Qwen2)",
    "INFO text_generation_router::server: router/src/server.rs:2402: Connected",
]


# --- Weights staged in S3 (local/model_data.py): SageMaker copied them to /opt/ml/model before the start ---
# TGI's words for a local model directory: "Files are already present on the host. Skipping download." and
# "No local weights found in <dir> with extension .safetensors" (text_generation_server/utils/hub.py); the
# traceback frames around them are representative, not verbatim.


def _local_weights_missing(model_dir: str) -> list[str]:
    return [
        "ERROR download: text_generation_launcher: Download encountered an error:",
        "Traceback (most recent call last):",
        '  File "/opt/conda/lib/python3.11/site-packages/text_generation_server/cli.py", line 238, in download_weights',
        "    utils.weight_files(model_id, revision, extension)",
        '  File "/opt/conda/lib/python3.11/site-packages/text_generation_server/utils/hub.py", line 170, in '
        "weight_files",
        "    raise FileNotFoundError(",
        f"FileNotFoundError: No local weights found in {model_dir} with extension .safetensors",
        "ERROR text_generation_launcher: Download Error",
        "Error: DownloadError",
    ]


def _local_config_missing(model_dir: str) -> list[str]:
    return [
        "INFO shard-manager: text_generation_launcher: Starting shard rank=0",
        "ERROR text_generation_launcher: Error when initializing model",
        "Traceback (most recent call last):",
        '  File "/opt/conda/lib/python3.11/site-packages/transformers/configuration_utils.py", line 779, in '
        "_get_config_dict",
        f"OSError: {model_dir} does not appear to have a file named config.json.",
        "ERROR shard-manager: text_generation_launcher: Shard complete standard error output: shard 0 failed",
        "Error: ShardCannotStart",
    ]


def staged_startup_lines(
    model_dir: str, environment: Mapping[str, str], instance_type: str, failure: FailureKind | None, data: ModelData
) -> list[str]:
    """What TGI prints when its weights were copied from S3 into `model_dir`: no download, no Hub."""
    lines = _launcher_lines(model_dir, environment)
    if data.problem in ("empty", "no-weights"):
        return lines + _local_weights_missing(model_dir)
    lines.append("INFO download: text_generation_launcher: Files are already present on the host. Skipping download.")
    if data.problem == "no-config":
        return lines + _local_config_missing(model_dir)
    lines += [
        "INFO shard-manager: text_generation_launcher: Starting shard rank=0",
        "INFO shard-manager: text_generation_launcher: Shard ready in 38.2s rank=0",
        "INFO text_generation_launcher: Starting Webserver",
    ]
    if failure in ("oom", "timeout"):
        return lines + (_oom_lines(instance_type) if failure == "oom" else [])
    kind = str((data.config or {}).get("model_type", "")).title().replace("_", "") or "None"
    return lines + [line.replace("Some(Qwen2)", f"Some({kind})") for line in READY_LINES]


def startup_lines(
    model_id: str,
    environment: Mapping[str, str],
    instance_type: str,
    failure: FailureKind | None,
    data: ModelData | None = None,
) -> list[str]:
    """What TGI prints while starting (without timestamps), ending the way `failure` says; `data`: the
    weights SageMaker copied from S3 (then nothing is downloaded).

    A KV cache too small shows in TGI as running out of memory while warming up.
    """
    if data is not None:
        return staged_startup_lines(model_id, environment, instance_type, failure, data)
    lines = _launcher_lines(model_id, environment)
    if failure == "gated":
        return lines + _gated_lines(model_id)
    lines += _download_lines(model_id, stop_after=2 if failure == "timeout" else None)
    if failure == "timeout":
        return lines  # still downloading when SageMaker's health check gives up
    if failure == "unsupported-model":  # the shard starts, then cannot build the model
        started = next(i for i, line in enumerate(lines) if "Starting shard" in line)
        return lines[: started + 1] + _unsupported_lines(model_id)
    return lines + (_oom_lines(instance_type) if failure in ("oom", "kv-cache") else READY_LINES)


def _option(value: str | None, quoted: bool = True) -> str:
    if value is None:
        return "None"
    return f'Some("{value}")' if quoted else f"Some({value})"


def write(account_id: str, region: str, group: str, stream: str, lines: list[str]) -> None:
    """Append `lines` to the log stream (creating group and stream as SageMaker would), one event per line."""
    # deferred: moto's CloudWatch Logs is heavy, and the emulated containers' log lines are built without it
    from moto.logs.exceptions import ResourceAlreadyExistsException
    from moto.logs.models import logs_backends

    logs = logs_backends[account_id][region]
    if group not in logs.groups:
        logs.create_log_group(group, {})
    with contextlib.suppress(ResourceAlreadyExistsException):
        logs.create_log_stream(group, stream)
    start = int(time.time() * 1000)
    events = []
    for offset, line in enumerate(lines):
        stamp = datetime.fromtimestamp((start + offset) / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        level, _, rest = line.partition(" ")
        text = f"{stamp} {level:>5} {rest}" if level in {"INFO", "ERROR", "WARN"} else line
        events.append({"timestamp": start + offset, "message": text})
    logs.put_log_events(group, stream, events)
