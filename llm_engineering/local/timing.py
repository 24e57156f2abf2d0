"""How fast an emulated container answers: a load model from the deployed instance and model (opt-in).

Without it the emulated containers pause a fixed `token_delay_seconds` before each token, so a benchmark
would measure nothing. With `timing_model` on, each streamed answer is paced by the memory-bandwidth
roofline of the model on the instance it was deployed on:

- decode: one step per token reads every weight once, `weights bytes / (GPU bandwidth x GPUs)`, plus the KV
  cache of every sequence in the batch; the step also grows once the batch exceeds the GPU's ridge point
  (`RIDGE_TOKENS`: beyond it a step is compute-bound);
- prefill: `max(1, input tokens / RIDGE_TOKENS)` weight passes, one prompt at a time per model copy;
- continuous batching: every copy decodes all its admitted sequences together, so aggregate throughput rises
  with concurrency while each step (inter-token latency) grows a little; admission stops at the container's
  batch limit (`MAX_BATCH_TOTAL_TOKENS` of prompt plus answer budget, vLLM's / SGLang's sequence and token
  limits) or at the KV cache the engine's memory share leaves beside the weights, and requests beyond it queue,
  first come first served, which shows as time to first token.

The model is the emulator's own, written from first principles and the engines' documentation, not from the
tool's memory-fit rule (`preflight.memory`), so a benchmark that compares the two compares independent
computations:

- the roofline (Williams, Waterman and Patterson, "Roofline: an insightful visual performance model", 2009):
  generating one token for one sequence multiplies every weight matrix by one vector, two FLOPs per weight
  read, far below what any GPU computes per byte it loads, so the step takes as long as reading the weights;
- weights as served: floating-point checkpoints run in 16 bits (vLLM's engine arguments: `--dtype auto`
  serves FP16 for FP32 and FP16 models, BF16 for BF16 models; TGI's `--dtype` offers only float16 and
  bfloat16); other dtypes count at their safetensors size (`local.safetensors_files`);
- on-the-fly quantization quantizes the linear layers only, the embeddings and the output head stay in
  16 bits: TGI's `--quantize` (text-generation-launcher arguments: `bitsandbytes` 8-bit, `bitsandbytes-nf4` /
  `-fp4` 4-bit, `eetq` 8-bit, `fp8`), vLLM's `--quantization` (`fp8`; `bitsandbytes`, which vLLM's
  BitsAndBytes page says loads "as 4bit quantization"), SGLang's `fp8`; bitsandbytes' 4-bit keeps one
  float32 scale per block of 64 weights (its `quantize_4bit`, blocksize 64): 4.5 bits a weight;
- the KV cache: keys and values of every layer, `2 x layers x KV heads x head size` elements per token, in
  the model's 16-bit dtype (vLLM's `--kv-cache-dtype auto`: the model's dtype);
- the memory the KV cache gets: the engine's share of each GPU's memory as CUDA reports it
  (`local.instances`), less the weights and, for TGI and vLLM, a reserve for the CUDA context, graphs and
  activations. TGI's `--cuda-memory-fraction` defaults to 1.0, and MAX_BATCH_TOTAL_TOKENS "should be the
  largest possible amount that fits the remaining memory (after the model is loaded)" (launcher arguments;
  unset, TGI's warm-up sets it so, "Setting max batch total tokens to ..." in its log); vLLM's
  `--gpu-memory-utilization` defaults to 0.9 of the GPU for weights, activations and KV cache (engine
  arguments); SGLang's `--mem-fraction-static` covers weights and the KV pool, activations outside it (its
  default is computed from the GPU at start: the 0.88 here is not verifiable). The reserve, 1 GiB per GPU, is
  read off the emulated vLLM's start-up log, itself assembled from published vLLM logs (`engines/logs.py`: of
  0.9 x 22.09 GiB, 14.25 GiB of weights and 4.62 GiB of KV cache leave about 1 GiB), an estimate.

`time_scale` runs it faster than life: real sleep = modelled time / scale; the runtime says the figures are
emulated and at which scale in its `X-Emulator-Timing` and `X-Emulator-Time-Scale` answer headers, so a
benchmark can scale them back and label them. GPU counts and memory bandwidth are the instance facts of the
tool's table (`hosting.instances`), model sizes the emulated Hub's catalogue; a model or instance outside them
keeps the fixed delay.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.local.hub_catalogue import builtin_catalogue
from llm_engineering.local.instances import spec as instance_spec
from llm_engineering.local.safetensors_files import SafetensorsError, element_bytes

TIMING_HEADER = "X-Emulator-Timing"
"""`roofline` when the timing model paces the answer, `fixed-delay` otherwise."""
SCALE_HEADER = "X-Emulator-Time-Scale"
"""How many times faster than modelled the answer was produced (1: real time)."""
RIDGE_TOKENS = 256
"""Tokens per weight pass at which a GPU turns compute-bound: its 16-bit tensor FLOP/s over its memory bandwidth
is about 200-400 on T4, A10G, L4, L40S, A100 and H100 (NVIDIA's data sheets); one figure for all, an estimate."""
DEFAULT_MAX_NEW_TOKENS = 100
GB = 10**9
"""GPU memory bandwidth is quoted in decimal gigabytes per second (NVIDIA's data sheets)."""
GIB = 2**30
SERVED_FLOAT_BYTES = 2
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16"})
"""Checkpoint dtypes the engines serve in 16 bits (or quantize while loading)."""
KV_ELEMENT_BYTES = 2
RESERVE_BYTES_PER_GPU = GIB
"""CUDA context, graphs and activations beside weights and KV cache (TGI, vLLM): see the module's docstring."""
ON_THE_FLY_BITS: dict[str, dict[str, float]] = {
    "tgi": {"bitsandbytes": 8, "eetq": 8, "fp8": 8, "bitsandbytes-nf4": 4.5, "bitsandbytes-fp4": 4.5},
    "vllm": {"bitsandbytes": 4.5, "fp8": 8},
    "sglang": {"fp8": 8},
}
"""Per engine: the quantizations it applies to 16-bit weights while loading -> bits per weight afterwards."""
QUANTIZE_VARIABLE = {"tgi": "HF_MODEL_QUANTIZE", "vllm": "SM_VLLM_QUANTIZATION", "sglang": "SM_SGLANG_QUANTIZATION"}
"""Where each engine's container reads its quantization (the SageMaker entrypoints' variables)."""
MEMORY_SHARE = {
    "tgi": ("CUDA_MEMORY_FRACTION", 1.0),
    "vllm": ("SM_VLLM_GPU_MEMORY_UTILIZATION", 0.9),
    "sglang": ("SM_SGLANG_MEM_FRACTION_STATIC", 0.88),
}
"""Per engine: the variable of its memory share, and its default."""
RESERVE_INSIDE_SHARE = {"tgi": True, "vllm": True, "sglang": False}


class Pace(Protocol):
    """The pace of one streamed answer: call before each token; `close` when the stream ends (or is dropped)."""

    def __call__(self) -> None: ...

    def close(self) -> None: ...


Pacing = Callable[[int, int], Pace]
"""(input tokens, answer budget in tokens) -> the pace of that answer."""


@dataclass
class FixedDelay:
    """The emulator's default: the same pause before every token."""

    delay: float
    sleep: Callable[[float], None] = time.sleep

    def __call__(self) -> None:
        if self.delay > 0:
            self.sleep(self.delay)

    def close(self) -> None:
        return None


def closing(events: Iterator[bytes], pace: Pace) -> Iterator[bytes]:
    """`events`, closing `pace` when they end or the client drops the stream (its batch slot is free again)."""
    try:
        yield from events
    finally:
        pace.close()


def fixed_pacing(delay: float, sleep: Callable[[float], None] = time.sleep) -> Pacing:
    return lambda input_tokens, budget: FixedDelay(delay, sleep)


@dataclass(frozen=True)
class TimingModel:
    """The closed form: what one copy of a model takes, in modelled seconds."""

    seconds_per_pass: float
    """Reading every weight once: the inverse of the single-stream decoding roofline."""
    kv_seconds_per_token: float
    """Reading one token's keys and values, for every token of context in the batch, every step."""
    max_batch_tokens: int | None
    """Prompt plus answer budget of all admitted sequences of a copy (None: no token limit)."""
    max_batch_size: int | None
    """Sequences a copy decodes together (None: no sequence limit)."""

    @property
    def roofline_tokens_per_second(self) -> float:
        return 1 / self.seconds_per_pass

    def prefill_seconds(self, input_tokens: int) -> float:
        return self.seconds_per_pass * max(1.0, input_tokens / RIDGE_TOKENS)

    def step_seconds(self, sequences: int, context_tokens: int) -> float:
        """One decode step of a copy with `sequences` admitted holding `context_tokens` between them."""
        return self.seconds_per_pass * max(1.0, sequences / RIDGE_TOKENS) + self.kv_seconds_per_token * context_tokens

    def admits(self, sequences: int, reserved_tokens: int, more_tokens: int) -> bool:
        """Whether a copy running `sequences` that reserve `reserved_tokens` takes one more of `more_tokens`."""
        if sequences == 0:
            return True  # a request that fits the launcher's limits always runs alone
        if self.max_batch_size is not None and sequences >= self.max_batch_size:
            return False
        return self.max_batch_tokens is None or reserved_tokens + more_tokens <= self.max_batch_tokens


@dataclass(frozen=True)
class Architecture:
    """What the timing needs of a transformers config.json (its standard names; multimodal configs keep the
    language model's in `text_config`)."""

    layers: int
    kv_heads: int
    head_dim: int
    embedding_parameters: int
    """Input embeddings and output head (one matrix when tied): left in 16 bits by on-the-fly quantization."""
    pre_quantized: bool
    """The checkpoint says how it was quantized (`quantization_config`): it is served as stored."""

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Architecture | None:
        text = config.get("text_config")
        values = {**config, **text} if isinstance(text, dict) else dict(config)

        def number(name: str) -> int | None:
            value = values.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

        layers, heads, hidden = number("num_hidden_layers"), number("num_attention_heads"), number("hidden_size")
        if not (layers and heads):
            return None
        head_dim = number("head_dim") or (hidden // heads if hidden else None)
        if not head_dim:
            return None
        tied = bool(values.get("tie_word_embeddings", False))
        embeddings = (number("vocab_size") or 0) * (hidden or 0) * (1 if tied else 2)
        return cls(
            layers=layers,
            kv_heads=number("num_key_value_heads") or heads,  # absent: every head has its own keys and values
            head_dim=head_dim,
            embedding_parameters=embeddings,
            pre_quantized=bool(values.get("quantization_config")),
        )

    @property
    def kv_bytes_per_token(self) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * KV_ELEMENT_BYTES


def served_weight_bytes(
    parameters: Mapping[str, int], architecture: Architecture | None, engine: str, quantize: str | None
) -> int | None:
    """Bytes of the weights in GPU memory; None when a dtype's size is unknown."""
    floats = sum(count for dtype, count in parameters.items() if dtype in FLOAT_DTYPES)
    try:
        packed = sum(count * element_bytes(dtype) for dtype, count in parameters.items() if dtype not in FLOAT_DTYPES)
    except SafetensorsError:
        return None
    # GPTQ and AWQ pack several 4-bit weights into each I32: such a checkpoint was quantized before upload.
    stored = packed > floats * SERVED_FLOAT_BYTES or (architecture is not None and architecture.pre_quantized)
    bits = ON_THE_FLY_BITS.get(engine, ON_THE_FLY_BITS["tgi"]).get(quantize or "")
    if bits is None or stored:
        return math.ceil(floats * SERVED_FLOAT_BYTES + packed)
    kept = min(floats, architecture.embedding_parameters if architecture else 0)
    return math.ceil(kept * SERVED_FLOAT_BYTES + (floats - kept) * bits / 8 + packed)


def model_for(
    parameters: Mapping[str, int],
    config: Mapping[str, Any] | None,
    instance_type: str,
    gpus: int,
    environment: Mapping[str, str],
    engine: str = "tgi",
) -> TimingModel | None:
    """The timing of a model (parameter counts per dtype, config.json) served by `engine` (tgi, vllm, sglang)
    on `gpus` GPUs of `instance_type`; None when the instance or the model's size is unknown."""
    instance = GPU_INSTANCES.get(instance_type)
    if instance is None or not parameters:
        return None
    gpus = max(1, min(gpus, instance.gpus))
    architecture = Architecture.of(config) if config else None
    quantize = environment.get(QUANTIZE_VARIABLE.get(engine, "HF_MODEL_QUANTIZE")) or None
    weight_bytes = served_weight_bytes(parameters, architecture, engine, quantize)
    if not weight_bytes:
        return None
    bandwidth = instance.gpu_bandwidth_gbps * GB * gpus
    kv_bytes = architecture.kv_bytes_per_token if architecture else 0
    tokens, size = _batch_limits(environment)
    if tokens is None and kv_bytes:
        tokens = _kv_cache_tokens(instance_type, gpus, environment, engine, weight_bytes, kv_bytes)
    return TimingModel(
        seconds_per_pass=weight_bytes / bandwidth,
        kv_seconds_per_token=kv_bytes / bandwidth,
        max_batch_tokens=tokens,
        max_batch_size=size,
    )


def gpu_memory_bytes(instance_type: str) -> int:
    """One GPU's memory as CUDA reports it (what an engine can allocate), else the nominal size."""
    found = instance_spec(instance_type)
    if found is not None and found.accelerator_memory_gib:
        return int(found.accelerator_memory_gib * GIB)
    instance = GPU_INSTANCES[instance_type]
    return instance.gpu_memory_mib // instance.gpus * 2**20


def _kv_cache_tokens(
    instance_type: str, gpus: int, environment: Mapping[str, str], engine: str, weight_bytes: int, kv_bytes: int
) -> int:
    """Tokens the KV cache holds once the engine has its memory share, the weights and its reserve."""
    variable, default = MEMORY_SHARE.get(engine, MEMORY_SHARE["tgi"])
    try:
        share = float(environment.get(variable) or default)
    except ValueError:
        share = default
    reserve = RESERVE_BYTES_PER_GPU * gpus if RESERVE_INSIDE_SHARE.get(engine, True) else 0
    free = share * gpu_memory_bytes(instance_type) * gpus - weight_bytes - reserve
    return max(1, int(free // kv_bytes))  # no room at all: one sequence at a time, as a request alone runs


def _batch_limits(environment: Mapping[str, str]) -> tuple[int | None, int | None]:
    """(tokens, sequences) a copy batches, from the engines' launcher variables."""

    def number(*names: str) -> int | None:
        for name in names:
            value = environment.get(name, "")
            if value.isdigit() and int(value) > 0:
                return int(value)
        return None

    tokens = number("MAX_BATCH_TOTAL_TOKENS", "SM_SGLANG_MAX_TOTAL_TOKENS")
    size = number("MAX_BATCH_SIZE", "SM_VLLM_MAX_NUM_SEQS", "SM_SGLANG_MAX_RUNNING_REQUESTS")
    return tokens, size


@dataclass
class _Sequence:
    reserved: int
    context: int
    copy: int = -1
    due: float = 0.0
    """When its next token is due (real monotonic time): sleeping to a deadline keeps the emulator's own
    per-token work and the sleeps' overshoot from adding up into a slower rate than modelled."""


@dataclass
class Batch:
    """The copies of one deployed model (instances x component copies) decoding in continuous batches."""

    model: TimingModel
    copies: int
    scale: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _running: list[list[_Sequence]] = field(default_factory=list)
    _queue: deque[_Sequence] = field(default_factory=deque)
    _prefill: list[threading.Lock] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._running = [[] for _ in range(max(1, self.copies))]
        self._prefill = [threading.Lock() for _ in self._running]

    def pace(self, input_tokens: int, budget: int) -> RooflinePace:
        return RooflinePace(self, _Sequence(reserved=input_tokens + budget, context=input_tokens))

    def join(self, sequence: _Sequence) -> None:
        """Wait, first come first served, until a copy has room; then prefill the prompt there."""
        with self._lock:
            self._queue.append(sequence)
            while True:
                copy = self._room(sequence) if self._queue[0] is sequence else None
                if copy is not None:
                    break
                self._lock.wait()
            self._queue.popleft()
            sequence.copy = copy
            self._running[copy].append(sequence)
            self._lock.notify_all()
        with self._prefill[sequence.copy]:
            self.sleep(self.model.prefill_seconds(sequence.context) / self.scale)
        sequence.due = self.clock()

    def _room(self, sequence: _Sequence) -> int | None:
        loads = sorted(range(len(self._running)), key=lambda index: len(self._running[index]))
        for index in loads:
            running = self._running[index]
            if self.model.admits(len(running), sum(item.reserved for item in running), sequence.reserved):
                return index
        return None

    def step(self, sequence: _Sequence) -> None:
        """One token: a decode step of the copy at its current batch."""
        with self._lock:
            running = self._running[sequence.copy]
            seconds = self.model.step_seconds(len(running), sum(item.context for item in running))
            sequence.context += 1
        sequence.due = max(sequence.due + seconds / self.scale, self.clock() - seconds / self.scale)
        self.sleep(max(0.0, sequence.due - self.clock()))

    def leave(self, sequence: _Sequence) -> None:
        with self._lock:
            if sequence.copy >= 0 and sequence in self._running[sequence.copy]:
                self._running[sequence.copy].remove(sequence)
            elif sequence in self._queue:
                self._queue.remove(sequence)
            self._lock.notify_all()


@dataclass
class RooflinePace:
    """One answer in a `Batch`: joins on its first token, one decode step per later token."""

    batch: Batch
    sequence: _Sequence
    started: bool = False

    def __call__(self) -> None:
        if not self.started:
            self.started = True
            self.batch.join(self.sequence)
        else:
            self.batch.step(self.sequence)

    def close(self) -> None:
        self.batch.leave(self.sequence)


class Batches:
    """The batch of each deployed model, kept while its facts (model, instance, copies, scale) stay the same."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: dict[str, tuple[tuple[Any, ...], Batch]] = {}

    def get(self, key: str, facts: tuple[Any, ...], make: Callable[[], Batch]) -> Batch:
        with self._lock:
            known = self._batches.get(key)
            if known is None or known[0] != facts:
                known = (facts, make())
                self._batches[key] = known
            return known[1]


BATCHES = Batches()


def pacing_for(
    key: str,
    model_id: str,
    environment: Mapping[str, str],
    instance_type: str,
    gpus: int,
    copies: int,
    scale: float,
    engine: str = "tgi",
) -> Pacing | None:
    """The roofline pacing of `model_id` served by `engine` as `key` (endpoint/variant or component), or None
    when the emulated Hub's catalogue does not know the model or the instance table the instance type."""
    known = builtin_catalogue().get(model_id)
    if known is None or known.parameters is None:
        return None
    model = model_for(known.parameters, known.config, instance_type, gpus, environment, engine)
    if model is None:
        return None
    facts = (model, copies, scale)
    batch = BATCHES.get(key, facts, lambda: Batch(model, copies, scale))
    return batch.pace


def gpus_of(environment: Mapping[str, str], fallback: int) -> int:
    """GPUs one copy of the model shards over, from the engine's tensor-parallel variable."""
    for name in ("SM_NUM_GPUS", "SM_VLLM_TENSOR_PARALLEL_SIZE", "SM_SGLANG_TP_SIZE"):
        value = environment.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return max(1, fallback)
