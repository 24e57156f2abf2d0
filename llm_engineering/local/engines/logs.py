"""What the emulated vLLM and SGLang containers write to CloudWatch Logs while starting (TGI's: `container_logs`).

The lines follow what the engines print, in their order: vLLM's API server and engine core (arguments,
model loading, the KV cache it could allocate, the routes), SGLang's entrypoint and scheduler (the command,
weights, KV cache, "The server is fired up and ready to roll!"), and on failure the error each dies with: a
KV cache that cannot hold one full-length sequence, CUDA out of memory, a gated repository, a health check
that gave up while the weights were still loading. They are assembled from published logs of those
engines; versions differ in details (prefixes, timings), the lines the diagnosis reads are kept verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping

from llm_engineering.local.container_logs import instance_id, model_type_of
from llm_engineering.local.faults import FailureKind
from llm_engineering.local.instances import spec

API = "(APIServer pid=1) INFO 09-01 10:00:{second:02d}"
CORE = "(EngineCore_DP0 pid=211) INFO 09-01 10:00:{second:02d}"
CORE_ERROR = "(EngineCore_DP0 pid=211) ERROR 09-01 10:01:05"


def _gpu_gib(instance_type: str) -> float:
    found = spec(instance_type)
    return (found.accelerator_memory_gib if found else 0) or 22.09


def _gated(model_id: str, prefix: str) -> list[str]:
    url = f"https://huggingface.co/{model_id}/resolve/main/config.json"
    return [
        f"{prefix} Traceback (most recent call last):",
        f"huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-{instance_id(model_id)[2:]})",
        f"Cannot access gated repo for url {url}.",
        f"Access to model {model_id} is restricted. You must have access to it and be authenticated to access it. "
        "Please log in.",
    ]


def _oom(instance_type: str) -> str:
    total = _gpu_gib(instance_type)
    return (
        f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 768.00 MiB. GPU 0 has a total capacity of "
        f"{total:.2f} GiB of which 312.00 MiB is free. Of the allocated memory {total - 1.3:.2f} GiB is allocated "
        "by PyTorch, and 40.12 MiB is reserved by PyTorch but unallocated."
    )


def vllm_lines(
    model_id: str, environment: Mapping[str, str], instance_type: str, failure: FailureKind | None
) -> list[str]:
    """vLLM's start-up, ending the way `failure` says."""
    max_len = environment.get("SM_VLLM_MAX_MODEL_LEN", "32768")
    utilization = environment.get("SM_VLLM_GPU_MEMORY_UTILIZATION", "0.9")
    lines = [
        f"{API.format(second=1)} [api_server.py:1885] vLLM API server version 0.29.0",
        f"{API.format(second=1)} [utils.py:233] non-default args: {{'model': '{model_id}', 'host': '0.0.0.0', "
        f"'port': 8080, 'max_model_len': {max_len}}}",
        f"{CORE.format(second=4)} [core.py:93] Initializing a V1 LLM engine (v0.29.0) with config: model='{model_id}'",
    ]
    if failure == "gated":
        return [*lines, *_gated(model_id, f"{CORE_ERROR} [core.py:708] EngineCore failed to start.")]
    if failure == "unsupported-model":
        architecture = "".join(part.capitalize() for part in model_type_of(model_id).split("_")) + "ForCausalLM"
        return [*lines, f"ValueError: Model architectures ['{architecture}'] are not supported for now."]
    lines += [
        f"{CORE.format(second=6)} [gpu_model_runner.py:2338] Starting to load model {model_id}...",
        f"{CORE.format(second=9)} [default_loader.py:267] Loading safetensors checkpoint shards:  50% 2/4",
    ]
    if failure == "timeout":
        return lines  # still loading when SageMaker's health check gives up
    if failure == "oom":
        return [*lines, f"{CORE_ERROR} [core.py:708] EngineCore failed to start.", _oom(instance_type)]
    lines += [
        f"{CORE.format(second=30)} [default_loader.py:267] Loading weights took 20.81 seconds",
        f"{CORE.format(second=31)} [gpu_model_runner.py:2392] Model loading took 14.25 GiB and 21.930 seconds",
        f"{CORE.format(second=40)} [gpu_worker.py:298] Available KV cache memory: 4.62 GiB",
    ]
    if failure == "kv-cache":
        return [
            *lines,
            f"{CORE_ERROR} [core.py:708] EngineCore failed to start.",
            f"{CORE_ERROR} [core.py:708] ValueError: To serve at least one request with the model's max seq len "
            f"({max_len}), (6.00 GiB KV cache is needed, which is larger than the available KV cache memory "
            "(4.62 GiB). Based on the available memory, the estimated maximum model length is 24224. Try "
            "increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.",
            "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
        ]
    return [
        *lines,
        f"{CORE.format(second=40)} [kv_cache_utils.py:1087] GPU KV cache size: 86,528 tokens",
        f"{CORE.format(second=40)} [kv_cache_utils.py:1091] Maximum concurrency for {int(max_len):,} tokens per "
        f"request: {86528 / int(max_len):.2f}x",
        f"{CORE.format(second=52)} [core.py:214] init engine (profile, create kv cache, warmup model) took 45.90 "
        f"seconds (gpu_memory_utilization {utilization})",
        f"{API.format(second=53)} [api_server.py:1966] Starting vLLM API server 0 on http://0.0.0.0:8080",
        f"{API.format(second=53)} [launcher.py:37] Available routes are:",
        f"{API.format(second=53)} [launcher.py:45] Route: /ping, Methods: GET",
        f"{API.format(second=53)} [launcher.py:45] Route: /invocations, Methods: POST",
        "(APIServer pid=1) INFO:     Started server process [1]",
        "(APIServer pid=1) INFO:     Waiting for application startup.",
        "(APIServer pid=1) INFO:     Application startup complete.",
    ]


def sglang_lines(
    model_id: str, environment: Mapping[str, str], instance_type: str, failure: FailureKind | None
) -> list[str]:
    """The SGLang entrypoint and server starting, ending the way `failure` says."""
    context = environment.get("SM_SGLANG_CONTEXT_LENGTH", "32768")
    total = _gpu_gib(instance_type)
    arguments = " ".join(
        f"--{name.removeprefix('SM_SGLANG_').lower().replace('_', '-')} {value}"
        for name, value in environment.items()
        if name.startswith("SM_SGLANG_")
    )
    lines = [
        "Starting server",
        f"Running command: exec python3 -m sglang.launch_server {arguments} --port 8080 --host 0.0.0.0",
        f"[2026-09-01 10:00:02] server_args=ServerArgs(model_path='{model_id}', context_length={context}, ...)",
        "[2026-09-01 10:00:05] Init torch distributed ends. elapsed=1.52 s, mem usage=0.09 GB",
    ]
    if failure == "gated":
        return [*lines, *_gated(model_id, "[2026-09-01 10:00:06] Scheduler hit an exception:")]
    if failure == "unsupported-model":
        return [*lines, f"ValueError: Unsupported architectures: {model_type_of(model_id)}"]
    lines.append(f"[2026-09-01 10:00:06] Load weight begin. avail mem={total - 0.3:.2f} GB")
    if failure == "timeout":
        return lines
    if failure == "oom":
        return [*lines, "[2026-09-01 10:00:20] Scheduler hit an exception:", _oom(instance_type)]
    lines.append(
        "[2026-09-01 10:00:28] Load weight end. elapsed=21.74 s, type=Qwen2ForCausalLM, dtype=torch.bfloat16, "
        f"avail mem={total - 14.7:.2f} GB, mem usage=14.39 GB."
    )
    if failure == "kv-cache":
        return [
            *lines,
            "[2026-09-01 10:00:28] Scheduler hit an exception:",
            "RuntimeError: Not enough memory. Please try to increase --mem-fraction-static.",
        ]
    return [
        *lines,
        "[2026-09-01 10:00:29] KV Cache is allocated. #tokens: 96000, K size: 2.57 GB, V size: 2.57 GB",
        "[2026-09-01 10:00:42] Capture cuda graph end. Time elapsed: 12.31 s. mem usage=0.64 GB. avail mem=1.43 GB.",
        f"[2026-09-01 10:00:43] max_total_num_tokens=96000, context_len={context}, available_gpu_mem=1.43 GB",
        "[2026-09-01 10:00:43] INFO:     Started server process [1]",
        "[2026-09-01 10:00:43] INFO:     Waiting for application startup.",
        "[2026-09-01 10:00:43] INFO:     Application startup complete.",
        "[2026-09-01 10:00:43] INFO:     Uvicorn running on http://0.0.0.0:8080 (Press CTRL+C to quit)",
        '[2026-09-01 10:00:44] INFO:     127.0.0.1:40000 - "POST /generate HTTP/1.1" 200 OK',
        "[2026-09-01 10:00:44] The server is fired up and ready to roll!",
    ]
