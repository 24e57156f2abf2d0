"""The sizing arithmetic: weights at each precision, KV cache from config.json, verdicts and suggestions."""

from __future__ import annotations

import pytest
from hub_server import LLAMA_8B_CONFIG, QWEN_7B_CONFIG

from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.hosting import memory as memory_fit
from llm_engineering.hosting.memory import GIB, ModelShape, fit, weights
from llm_engineering.preflight.memory_fit import check_memory_fit

G5_2XL = GPU_INSTANCES["ml.g5.2xlarge"]
G5_12XL = GPU_INSTANCES["ml.g5.12xlarge"]
LLAMA_8B = {"BF16": 8_030_261_248}
LLAMA_SHAPE = ModelShape.from_config(LLAMA_8B_CONFIG)
TABLE = list(GPU_INSTANCES.values())


def memory_row(parameters, config=LLAMA_8B_CONFIG, quantize=None, instance=G5_2XL, gpus=1, tokens=4096):
    return check_memory_fit(
        parameters=parameters,
        config=config,
        config_note=None if config else "config.json is not readable with the token in use",
        quantize=quantize,
        instance=instance,
        gpus_per_copy=gpus,
        max_total_tokens=tokens,
        table=TABLE,
    )


def test_config_shapes_the_kv_cache_llama_qwen_and_nested_text_config():
    assert (
        ModelShape(layers=32, kv_heads=8, head_dim=128, hidden_size=4096, vocab_size=128256, tied_embeddings=False)
        == LLAMA_SHAPE
    )
    assert LLAMA_SHAPE.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2 == 131_072
    assert ModelShape.from_config(QWEN_7B_CONFIG).kv_bytes_per_token == 2 * 28 * 4 * 128 * 2
    gemma_like = {
        "text_config": {
            "num_hidden_layers": 34,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "hidden_size": 2560,
        },
        "tie_word_embeddings": True,
    }
    shape = ModelShape.from_config(gemma_like)
    assert (shape.layers, shape.kv_heads, shape.head_dim, shape.tied_embeddings) == (34, 4, 256, True)
    gpt2 = {"n_layer": 12, "n_head": 12, "n_embd": 768, "vocab_size": 50257}
    assert ModelShape.from_config(gpt2).kv_bytes_per_token == 2 * 12 * 12 * 64 * 2
    assert ModelShape.from_config({"architectures": ["X"]}) is None


def test_weights_at_each_precision():
    bf16 = weights(LLAMA_8B, None, LLAMA_SHAPE)
    assert (bf16.bytes, bf16.precision, bf16.size_label) == (16_060_522_496, "bf16", "8.0B")
    # F32 checkpoints are served in 16 bits.
    assert weights({"F32": 1_000_000_000}, None).bytes == 2_000_000_000
    assert weights({"F32": 1_000_000_000}, None).precision == "16-bit (stored as F32)"
    # 8-bit on the fly: embeddings and head (2 x 128256 x 4096) stay 16-bit, the rest one byte.
    embeddings = 2 * 128_256 * 4096
    eight = weights(LLAMA_8B, "bitsandbytes", LLAMA_SHAPE)
    assert eight.bytes == embeddings * 2 + (8_030_261_248 - embeddings)
    assert eight.precision == "8-bit (bitsandbytes)"
    four = weights(LLAMA_8B, "bitsandbytes-nf4", LLAMA_SHAPE)
    assert four.bytes == embeddings * 2 + (8_030_261_248 - embeddings) * 4.5 / 8
    assert four.precision == "4-bit (bitsandbytes-nf4)"
    # Without config.json nothing is known to stay 16-bit.
    assert weights(LLAMA_8B, "eetq").bytes == 8_030_261_248


def test_pre_quantized_checkpoints_count_their_packed_tensors_as_stored():
    awq = {"I32": 879_230_976, "F16": 1_105_465_344}  # a 7B AWQ checkpoint: packed int32 plus fp16 scales/embeddings
    stored = weights(awq, "awq")
    assert stored.bytes == 879_230_976 * 4 + 1_105_465_344 * 2
    assert stored.pre_quantized and stored.precision == "awq as stored"
    assert stored.size_label == f"{stored.bytes / 1e9:.1f} GB of weights"
    # TGI detects the method from config.json when HF_MODEL_QUANTIZE is unset.
    gptq_config = {**LLAMA_8B_CONFIG, "quantization_config": {"quant_method": "gptq", "bits": 4}}
    assert weights(awq, None, ModelShape.from_config(gptq_config)).precision == "gptq as stored"
    fp8 = weights({"F8_E4M3": 7_000_000_000, "BF16": 1_000_000_000}, None)
    assert fp8.bytes == 9_000_000_000 and fp8.precision == "as stored (F8_E4M3)"
    # Quantizing again on the fly does not apply to packed weights.
    assert weights(awq, "bitsandbytes-nf4").bytes == stored.bytes


def test_fit_verdicts():
    memory = 24_576 * 1024 * 1024
    overhead = int(1.5 * GIB)
    fits = fit(16_060_522_496, G5_2XL, 1, LLAMA_SHAPE, 4096)
    assert fits.memory_bytes == memory and fits.overhead_bytes == overhead
    assert fits.free_bytes == memory - overhead - 16_060_522_496
    assert fits.sequences == fits.free_bytes // (131_072 * 4096) == 15
    assert fits.verdict == "fits"
    assert fit(16_060_522_496, G5_2XL, 1, LLAMA_SHAPE, 65_536).verdict == "thin"
    assert fit(30_000_000_000, G5_2XL, 1, LLAMA_SHAPE, 4096).verdict == "too-large"
    # Without config.json: thin when less than a tenth of the memory is left.
    assert fit(memory - overhead - GIB, G5_2XL, 1, None, 4096).verdict == "thin"
    assert fit(memory - overhead - 4 * GIB, G5_2XL, 1, None, 4096).verdict == "fits"
    # Sharded over 4 GPUs: four times the memory and the overhead.
    assert fit(30_000_000_000, G5_12XL, 4, LLAMA_SHAPE, 4096).overhead_bytes == 4 * overhead


def test_decoding_ceiling_matches_the_roofline():
    assert memory_fit.decoding_ceiling(16_060_522_496, 600, 1) == pytest.approx(37.36, abs=0.01)
    assert memory_fit.decoding_ceiling(4_000_000_000, 600, 1) == pytest.approx(150)
    assert memory_fit.decoding_ceiling(16_000_000_000, 600, 4) == pytest.approx(150)


def test_an_8b_model_fits_one_a10g():
    row = memory_row(LLAMA_8B)
    assert row.status == "ok" and row.fix == ""
    assert row.evidence == (
        "8.0B in bf16: weights 15.0 GiB on one NVIDIA A10G (24.0 GiB); runtime overhead ~1.5 GiB; "
        "free after both 7.5 GiB; KV cache 128 KiB/token, 0.5 GiB per MAX_TOTAL_TOKENS=4096 sequence: room for 15"
    )
    assert row.details["weights_bytes"] == 16_060_522_496 and row.details["sequences"] == 15


def test_a_model_that_fits_only_quantized_is_blocked_with_the_quantization_to_use():
    thirteen_b = {"BF16": 13_000_000_000}
    row = memory_row(thirteen_b)
    assert row.status == "blocked"
    assert row.evidence.startswith("13.0B in bf16: weights 24.2 GiB on one NVIDIA A10G (24.0 GiB)")
    assert row.evidence.endswith(": the weights do not fit, TGI would fail while loading")
    assert row.details["suggestions"] == ["HF_MODEL_QUANTIZE=bitsandbytes", "GPU_INSTANCE_TYPE=ml.g6e.xlarge"]
    assert row.fix == (
        "set HF_MODEL_QUANTIZE=bitsandbytes (weights 13.1 GiB), or GPU_INSTANCE_TYPE=ml.g6e.xlarge "
        "(1 x NVIDIA L40S, 48 GiB, about USD 2.34/hour)"
    )
    assert memory_row(thirteen_b, quantize="bitsandbytes").status == "ok"


def test_only_4_bit_fits_then_the_gentler_8_bit_is_not_suggested():
    row = memory_row({"BF16": 24_000_000_000})
    assert row.status == "blocked"
    assert row.details["suggestions"][0] == "HF_MODEL_QUANTIZE=bitsandbytes-nf4"
    assert "HF_MODEL_QUANTIZE=bitsandbytes " not in row.fix


def test_a_model_too_large_for_any_quantization_gets_the_cheapest_instance_that_holds_it():
    row = memory_row({"BF16": 70_600_000_000})
    assert row.status == "blocked"
    assert row.details["suggestions"] == ["GPU_INSTANCE_TYPE=ml.g6e.12xlarge"]
    assert row.fix == "set GPU_INSTANCE_TYPE=ml.g6e.12xlarge (4 x NVIDIA L40S, 192 GiB, about USD 12.20/hour)"


def test_nothing_in_the_table_holds_it():
    row = memory_row({"BF16": 2_000_000_000_000}, quantize="bitsandbytes-nf4")
    assert row.status == "blocked"
    assert row.fix == "no instance type this tool knows holds it: choose a smaller model (HF_MODEL_ID)"


def test_several_gpus_per_instance_suggest_sharding_over_all_of_them():
    row = memory_row({"BF16": 20_000_000_000}, instance=G5_12XL, gpus=1)
    assert row.status == "blocked"
    assert row.details["suggestions"][0] == "GPUS_PER_COPY=4"
    assert memory_row({"BF16": 20_000_000_000}, instance=G5_12XL, gpus=4).status == "ok"


def test_thin_kv_headroom_warns_with_the_largest_max_total_tokens_that_leaves_room():
    row = memory_row(LLAMA_8B, tokens=32_768)
    assert row.status == "warning"
    assert row.evidence.endswith(
        "4.0 GiB per MAX_TOTAL_TOKENS=32768 sequence: room for 1: thin headroom, fewer than 4 full-length "
        "requests fit at once"
    )
    free = row.details["free_bytes"]
    expected = free // (131_072 * 4) // 256 * 256
    assert expected == 15_360
    assert row.fix.startswith(f"lower MAX_TOTAL_TOKENS to {expected} or less (keep MAX_INPUT_TOKENS below it)")
    assert "GPU_INSTANCE_TYPE=" in row.fix
    none_fit = memory_row(LLAMA_8B, tokens=131_072)
    assert "not even one full-length request fits" in none_fit.evidence and none_fit.status == "warning"


def test_without_config_the_kv_estimate_is_skipped_and_said_so():
    row = memory_row(LLAMA_8B, config=None)
    assert row.status == "ok"
    assert "KV cache estimate skipped (config.json is not readable with the token in use)" in row.evidence
    assert row.details["kv_bytes_per_token"] is None


def test_unknown_parameter_count_is_a_warning():
    row = check_memory_fit(
        parameters=None,
        config=None,
        config_note=None,
        quantize=None,
        instance=G5_2XL,
        gpus_per_copy=1,
        max_total_tokens=4096,
        table=TABLE,
        unknown_because="the Hub was not consulted",
    )
    assert row.status == "warning"
    assert row.evidence == "skipped: the model's parameter count is unknown (the Hub was not consulted)"
    assert row.fix == "check by hand that the weights fit 24.0 GiB of GPU memory per copy"


def test_unknown_dtypes_are_read_from_their_bit_count():
    assert memory_fit.dtype_bytes("U16") == 2
    assert memory_fit.dtype_bytes("F6_E3M2") == 0.75
    assert memory_fit.dtype_bytes("MYSTERY") == 2
