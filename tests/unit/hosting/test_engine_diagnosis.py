"""Each engine's own failure lines become advice that names the setting to change."""

from __future__ import annotations

import pytest

from llm_engineering.hosting.diagnostics import Context, advice_for

HEALTH = "The primary container for production variant AllTraffic did not pass the ping health check."
VLLM_KV = (
    "(EngineCore pid=7579) ERROR 10-01 04:29:49 [core.py:1385] ValueError: To serve at least one request with the "
    "model's max seq len (32768), (5.84 GiB KV cache is needed, which is larger than the available KV cache memory "
    "(4.92 GiB). Based on the available memory, the estimated maximum model length is 27600. Try increasing "
    "`gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine."
)


def context(engine: str, **values: object) -> Context:
    fields: dict[str, object] = {
        "region": "us-east-1",
        "instance_type": "ml.g5.2xlarge",
        "instance_count": 1,
        "gpu_memory_gib": 24.0,
        "model_id": "Qwen/Qwen3-Next-80B-A3B-Instruct",
        "has_token": False,
        "startup_timeout": 900,
        "download_timeout": 1200,
        "engine": engine,
        "release": {"tgi": "TGI 3.3.6", "vllm": "vLLM 0.29.0", "sglang": "SGLang 0.5.8"}[engine],
        "budget": {"tgi": 1.0, "vllm": 0.9, "sglang": 0.88}[engine],
    }
    fields.update(values)
    return Context(**fields)  # type: ignore[arg-type]


def test_vllm_refusing_max_model_len_names_the_settings_and_its_estimate():
    advice = advice_for(f"{HEALTH}\n{VLLM_KV}", context("vllm"))
    assert advice == [
        "vLLM's KV cache cannot hold one MAX_TOTAL_TOKENS=32768 sequence in gpu_memory_utilization=0.9 of the GPU: "
        "lower MAX_TOTAL_TOKENS to 27392 or less (vLLM's estimate: 27600) (keep MAX_INPUT_TOKENS below it), raise "
        "GPU_MEMORY_UTILIZATION (at most 0.95), or choose a larger GPU_INSTANCE_TYPE."
    ]


def test_the_older_vllm_wording_without_an_estimate_is_recognised_too():
    line = (
        "ValueError: To serve at least one request with the models's max seq len (8192), (1.00 GiB KV cache is "
        "needed, which is larger than the available KV cache memory (0.50 GiB). Try increasing"
    )
    (advice,) = advice_for(line, context("vllm", budget=0.8))
    assert advice.startswith("vLLM's KV cache cannot hold one MAX_TOTAL_TOKENS=8192 sequence in gpu_memory_util")
    assert "lower MAX_TOTAL_TOKENS (keep MAX_INPUT_TOKENS below it)" in advice and "=0.8 of" in advice


@pytest.mark.parametrize(
    ("engine", "line", "expected"),
    [
        (
            "vllm",
            "ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization`",
            "leave no room for vLLM's KV cache in gpu_memory_utilization=0.9 of the GPU: raise GPU_MEMORY_UTILIZATION",
        ),
        (
            "vllm",
            "ValueError: Free memory on device cuda:0 (10.11/22.00 GiB) on startup is less than desired GPU memory "
            "utilization (0.9, 19.80 GiB).",
            "less free memory than GPU_MEMORY_UTILIZATION=0.9 asks vLLM to take: lower it",
        ),
        (
            "sglang",
            "RuntimeError: Not enough memory. Please try to increase --mem-fraction-static.",
            "SGLang's static memory (mem_fraction_static=0.88 of the GPU) cannot hold the weights",
        ),
        (
            "tgi",
            "ValueError: Unsupported model type qwen3_next",
            "TGI 3.3.6 (frozen upstream) does not know the architecture `qwen3_next` of "
            "HF_MODEL_ID=Qwen/Qwen3-Next-80B-A3B-Instruct: set ENGINE=vllm",
        ),
    ],
)
def test_each_engines_failure_line_gets_its_advice(engine, line, expected):
    advice = advice_for(f"{HEALTH}\n{line}", context(engine))
    assert len(advice) == 1 and expected in advice[0]


def test_another_engines_line_is_not_read_as_this_engines():
    assert advice_for(f"{HEALTH}\nRuntimeError: Not enough memory. Please try to increase --mem-fraction-static.",
                      context("vllm"))[0].startswith("The container did not answer /ping")  # fmt: skip


def test_out_of_memory_advice_spells_the_quantization_the_engine_knows():
    oom = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 768.00 MiB."
    assert "set HF_MODEL_QUANTIZE (bitsandbytes-nf4, or" in advice_for(oom, context("tgi"))[0]
    vllm = advice_for(oom, context("vllm"))[0]
    assert (
        "set HF_MODEL_QUANTIZE (bitsandbytes, or" in vllm and "lower MAX_TOTAL_TOKENS / GPU_MEMORY_UTILIZATION" in vllm
    )


@pytest.mark.parametrize(
    ("engine", "line"),
    [
        ("tgi", "INFO download: text_generation_launcher: Starting check and download process"),
        ("vllm", "(EngineCore_DP0 pid=211) INFO [default_loader.py] Loading safetensors checkpoint shards:  25%"),
        ("sglang", "[2026-09-01 10:00:00] Load weight begin. avail mem=21.80 GB"),
    ],
)
def test_a_health_check_that_gave_up_while_loading_says_so_per_engine(engine, line):
    (advice,) = advice_for(f"{HEALTH}\n{line}", context(engine))
    assert "(still downloading the model; large models need longer): raise it" in advice
