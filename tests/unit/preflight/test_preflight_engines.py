"""Preflight per engine: each engine's memory budget, its quantization names, and TGI's list of architectures."""

from __future__ import annotations

from hub_server import LLAMA_8B_CONFIG, QWEN_7B_CONFIG

from llm_engineering.catalogue.engines import SGLANG, TGI, VLLM
from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.hosting.memory import GIB, Budget
from llm_engineering.preflight.architecture import check_engine_support
from llm_engineering.preflight.memory_fit import check_memory_fit

G5_2XL = GPU_INSTANCES["ml.g5.2xlarge"]
LLAMA_8B = {"BF16": 8_030_261_248}
KV_PER_TOKEN = 131_072  # Llama 3.1 8B: 2 x 32 layers x 8 KV heads x 128 x 2 bytes


def memory_row(engine=TGI, utilization=None, parameters=LLAMA_8B, tokens=4096, quantize=None):
    return check_memory_fit(
        parameters=parameters,
        config=LLAMA_8B_CONFIG,
        config_note=None,
        quantize=quantize,
        instance=G5_2XL,
        gpus_per_copy=1,
        max_total_tokens=tokens,
        table=list(GPU_INSTANCES.values()),
        budget=Budget.of(engine, utilization),
    )


def test_each_engine_budgets_its_share_of_the_gpu():
    weights, gpu, overhead = 16_060_522_496, 24 * GIB, int(1.5 * GIB)
    assert memory_row(TGI).details["free_bytes"] == gpu - overhead - weights
    vllm = memory_row(VLLM)
    assert vllm.details["free_bytes"] == int(gpu * 0.9) - overhead - weights  # activations share vLLM's budget
    assert "vLLM budgets gpu_memory_utilization=0.9: 21.6 GiB" in vllm.evidence
    sglang = memory_row(SGLANG)
    assert sglang.details["free_bytes"] == int(gpu * 0.88) - weights  # the static share: weights and KV pool only
    assert "runtime overhead ~1.5 GiB (outside that budget)" in sglang.evidence
    assert memory_row(VLLM, utilization=0.5).status == "blocked"  # 12 GiB cannot hold 15 GiB of weights
    assert "vLLM would fail while loading" in memory_row(VLLM, utilization=0.5).evidence


def test_vllm_refuses_to_start_when_one_max_model_len_sequence_does_not_fit_where_tgi_only_warns():
    assert memory_row(TGI, tokens=65_536).status == "warning"  # TGI would start and fail its warm-up later
    row = memory_row(VLLM, tokens=65_536)
    assert row.status == "blocked"
    assert row.evidence.endswith(": vLLM would refuse to start, its KV cache cannot hold one MAX_TOTAL_TOKENS sequence")
    free = row.details["free_bytes"]
    tokens = free // KV_PER_TOKEN // 256 * 256
    assert row.fix.startswith(f"lower MAX_TOTAL_TOKENS to {tokens} or less (keep MAX_INPUT_TOKENS below it); or ")
    assert "; or HF_MODEL_QUANTIZE=fp8 (weights 8.5 GiB); or GPU_INSTANCE_TYPE=" in row.fix


def test_a_larger_vllm_budget_is_suggested_when_it_would_be_enough():
    row = memory_row(VLLM, tokens=45_056)  # 5.5 GiB per sequence: 0.9 leaves 5.1 GiB, 0.95 leaves 6.3 GiB
    assert row.status == "blocked"
    assert "raise GPU_MEMORY_UTILIZATION to 0.95" in row.fix


def test_quantization_suggestions_use_the_engines_spelling():
    thirteen_b = {"BF16": 13_000_000_000}
    assert memory_row(TGI, parameters=thirteen_b).details["suggestions"][0] == "HF_MODEL_QUANTIZE=bitsandbytes"
    assert memory_row(VLLM, parameters=thirteen_b).details["suggestions"][0] == "HF_MODEL_QUANTIZE=fp8"
    # vLLM's bitsandbytes is 4-bit: 13B fits a 24 GB A10G with it, where TGI's 8-bit bitsandbytes is larger.
    vllm_bnb = memory_row(VLLM, parameters=thirteen_b, quantize="bitsandbytes")
    assert vllm_bnb.status == "ok" and vllm_bnb.details["precision"] == "4-bit (bitsandbytes)"
    assert (
        memory_row(TGI, parameters=thirteen_b, quantize="bitsandbytes").details["precision"] == "8-bit (bitsandbytes)"
    )


def test_tgi_warns_before_deploying_a_model_type_it_does_not_implement():
    newer = {**QWEN_7B_CONFIG, "model_type": "qwen3_next"}
    row = check_engine_support(TGI, "Qwen/Qwen3-Next-80B-A3B-Instruct", newer, None)
    assert row.status == "warning" and row.fix == "set ENGINE=vllm (the maintained path, same commands)"
    assert row.evidence.startswith(
        "model_type qwen3_next of Qwen/Qwen3-Next-80B-A3B-Instruct is not one of the 39 architectures TGI 3.3.6"
    )
    assert "fail to start with `Unsupported model type qwen3_next`" in row.evidence
    assert check_engine_support(TGI, "Qwen/Qwen2.5-7B-Instruct", QWEN_7B_CONFIG, None).status == "ok"
    assert check_engine_support(VLLM, "Qwen/Qwen3-Next-80B-A3B-Instruct", newer, None).status == "ok"
    unknown = check_engine_support(TGI, "x/y", None, "config.json is not readable with the token in use")
    assert unknown.status == "warning" and "(config.json is not readable with the token in use)" in unknown.evidence
