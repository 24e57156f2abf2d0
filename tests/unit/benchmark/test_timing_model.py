"""The emulator's timing model in closed form, and the batch it paces streams with (no real sleeps).

The emulator computes its roofline on its own (`local.timing`); where these tests compare it with preflight's
(`preflight.memory`), they compare two computations written apart from the same first principles."""

from __future__ import annotations

import threading

import pytest

from llm_engineering.catalogue.engines import SGLANG, TGI, VLLM
from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.hosting.memory import ModelShape, decoding_ceiling, weights
from llm_engineering.local.container import EmulatedTgi
from llm_engineering.local.hub_catalogue import builtin_catalogue
from llm_engineering.local.timing import Batch, TimingModel, model_for, pacing_for

QWEN = "Qwen/Qwen2.5-7B-Instruct"


def qwen_model(instance: str = "ml.g5.2xlarge", gpus: int = 1, **environment: str) -> TimingModel:
    known = builtin_catalogue()[QWEN]
    model = model_for(known.parameters, known.config, instance, gpus, environment)
    assert model is not None
    return model


def test_decode_pass_agrees_with_preflights_roofline_of_the_catalogue_weights():
    known = builtin_catalogue()[QWEN]
    served = weights(known.parameters, None)
    model = qwen_model()
    assert model.roofline_tokens_per_second == pytest.approx(decoding_ceiling(served.bytes, 600, 1))
    assert 35 < model.roofline_tokens_per_second < 45  # 15.2 GB of bf16 over 600 GB/s
    h100 = qwen_model("ml.p5.48xlarge", gpus=8)
    assert h100.roofline_tokens_per_second == pytest.approx(model.roofline_tokens_per_second * 3350 * 8 / 600)


@pytest.mark.parametrize(
    ("engine", "rule", "variable", "quantize"),
    [
        ("tgi", TGI, "HF_MODEL_QUANTIZE", "bitsandbytes"),
        ("tgi", TGI, "HF_MODEL_QUANTIZE", "bitsandbytes-nf4"),
        ("tgi", TGI, "HF_MODEL_QUANTIZE", "eetq"),
        ("vllm", VLLM, "SM_VLLM_QUANTIZATION", "bitsandbytes"),
        ("vllm", VLLM, "SM_VLLM_QUANTIZATION", "fp8"),
        ("sglang", SGLANG, "SM_SGLANG_QUANTIZATION", "fp8"),
    ],
)
def test_quantized_weights_agree_with_preflights(engine, rule, variable, quantize):
    known = builtin_catalogue()[QWEN]
    model = model_for(known.parameters, known.config, "ml.g5.2xlarge", 1, {variable: quantize}, engine)
    served = weights(known.parameters, quantize, ModelShape.from_config(known.config), rule.memory)
    assert model.roofline_tokens_per_second == pytest.approx(decoding_ceiling(served.bytes, 600, 1), rel=1e-6)
    assert model.roofline_tokens_per_second > qwen_model().roofline_tokens_per_second * 1.5


def test_the_kv_cache_is_what_the_engines_memory_share_leaves():
    known = builtin_catalogue()[QWEN]

    def tokens(engine: str, **environment: str) -> int:
        found = model_for(known.parameters, known.config, "ml.g5.2xlarge", 1, environment, engine)
        assert found is not None and found.max_batch_tokens is not None
        return found.max_batch_tokens

    tgi, vllm, sglang = tokens("tgi"), tokens("vllm"), tokens("sglang")
    assert tgi > sglang > vllm > 0  # TGI takes the whole GPU, vLLM 0.9 of it with activations inside
    assert tokens("vllm", SM_VLLM_GPU_MEMORY_UTILIZATION="0.95") > vllm
    assert tokens("tgi", CUDA_MEMORY_FRACTION="0.5") == 1  # not even the weights fit: one sequence at a time
    assert tokens("vllm", SM_VLLM_MAX_NUM_SEQS="4") == vllm  # a sequence cap leaves the KV cache as it is


def test_steps_grow_with_the_batch_and_prefill_with_the_prompt():
    model = qwen_model()
    assert model.step_seconds(8, 8 * 300) > model.step_seconds(1, 300) > model.seconds_per_pass
    assert 8 / model.step_seconds(8, 8 * 300) > 4 / model.step_seconds(1, 300)  # throughput rises with batching
    assert model.prefill_seconds(2048) == pytest.approx(8 * model.prefill_seconds(256))
    assert model.prefill_seconds(10) == model.seconds_per_pass


def test_batch_limits_come_from_the_container_environment():
    assert qwen_model(MAX_BATCH_TOTAL_TOKENS="2048").max_batch_tokens == 2048
    assert qwen_model(SM_VLLM_MAX_NUM_SEQS="4").max_batch_size == 4
    default = qwen_model()
    served = weights(builtin_catalogue()[QWEN].parameters, None).bytes
    free = GPU_INSTANCES["ml.g5.2xlarge"].gpu_memory_mib * 2**20 - served
    assert 0 < default.max_batch_tokens < free // 1000  # the KV cache in what the weights leave
    limited = qwen_model(MAX_BATCH_TOTAL_TOKENS="1000")
    assert limited.admits(0, 0, 5000)  # a request alone always runs
    assert limited.admits(1, 400, 600) and not limited.admits(1, 400, 601)


def test_unknown_models_and_instances_keep_the_fixed_delay():
    assert pacing_for("k", "someone/unknown", {}, "ml.g5.2xlarge", 1, 1, 1.0) is None
    assert pacing_for("k", QWEN, {}, "ml.c5.xlarge", 1, 1, 1.0) is None


class FakeTime:
    """Sleeps that only move a clock, so the batch's schedule is read without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_one_stream_decodes_at_the_roofline_scaled():
    fake = FakeTime()
    model = qwen_model()
    batch = Batch(model, copies=1, scale=10, sleep=fake.sleep, clock=fake.clock)
    pace = batch.pace(256, 100)
    for _ in range(11):
        pace()
    pace.close()
    prefill, steps = fake.slept[0], fake.slept[1:]
    assert prefill == pytest.approx(model.prefill_seconds(256) / 10)
    assert len(steps) == 10
    assert sum(steps) == pytest.approx(sum(model.step_seconds(1, 256 + n) for n in range(10)) / 10)


def test_requests_beyond_the_batch_limit_queue_until_a_slot_frees():
    model = qwen_model(MAX_BATCH_SIZE="1")
    batch = Batch(model, copies=1, scale=1e6)
    first, second = batch.pace(10, 10), batch.pace(10, 10)
    first()
    admitted = threading.Event()

    def start_second() -> None:
        second()
        admitted.set()

    thread = threading.Thread(target=start_second, daemon=True)
    thread.start()
    assert not admitted.wait(0.2)  # queued behind the running request
    first.close()
    assert admitted.wait(5)
    second.close()
    thread.join(5)


def test_a_container_with_a_pacing_calls_it_once_per_token_and_closes_it():
    calls: list[str] = []

    class Recorder:
        def __call__(self) -> None:
            calls.append("token")

        def close(self) -> None:
            calls.append("close")

    asked: list[tuple[int, int]] = []

    def pacing(input_tokens: int, budget: int) -> Recorder:
        asked.append((input_tokens, budget))
        return Recorder()

    container = EmulatedTgi(QWEN, pacing=pacing)
    reply = container.invoke(b'{"inputs": "one two three", "parameters": {"max_new_tokens": 5}, "stream": true}')
    events = list(reply.chunks)
    assert asked == [(3, 5)]
    assert calls == ["token"] * len(events) + ["close"]
