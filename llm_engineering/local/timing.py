"""How fast an emulated container answers: a load model from the deployed instance and model (opt-in).

Without it the emulated containers pause a fixed `token_delay_seconds` before each token, so a benchmark
would measure nothing. With `timing_model` on, each streamed answer is paced by the memory-bandwidth
roofline of the model on the instance it was deployed on:

- decode: one step per token reads every weight once, `weights bytes / (GPU bandwidth x GPUs)` (preflight's
  `decoding_ceiling`, inverted), plus the KV cache of every sequence in the batch; the step also grows once
  the batch exceeds the GPU's ridge point (`RIDGE_TOKENS`: beyond it a step is compute-bound);
- prefill: `max(1, input tokens / RIDGE_TOKENS)` weight passes, one prompt at a time per model copy;
- continuous batching: every copy decodes all its admitted sequences together, so aggregate throughput rises
  with concurrency while each step (inter-token latency) grows a little; admission stops at the container's
  batch limit (`MAX_BATCH_TOTAL_TOKENS` of prompt plus answer budget, or vLLM's / SGLang's sequence and token
  limits, else the KV cache memory left beside the weights), and requests beyond it queue, first come first
  served, which shows as time to first token.

`time_scale` runs it faster than life: real sleep = modelled time / scale; the runtime says the figures are
emulated and at which scale in its `X-Emulator-Timing` and `X-Emulator-Time-Scale` answer headers, so a
benchmark can scale them back and label them. Instance facts are the tool's table (`hosting.instances`), model
sizes the emulated Hub's catalogue; a model or instance outside them keeps the fixed delay.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.hosting.memory import GIB, RUNTIME_OVERHEAD_BYTES_PER_GPU, ModelShape, decoding_ceiling, weights

TIMING_HEADER = "X-Emulator-Timing"
"""`roofline` when the timing model paces the answer, `fixed-delay` otherwise."""
SCALE_HEADER = "X-Emulator-Time-Scale"
"""How many times faster than modelled the answer was produced (1: real time)."""
RIDGE_TOKENS = 256
"""Tokens per weight pass at which a GPU turns compute-bound: its 16-bit tensor FLOP/s over its memory bandwidth
is about 200-400 on T4, A10G, L4, L40S, A100 and H100 (NVIDIA's data sheets); one figure for all, an estimate."""
DEFAULT_MAX_NEW_TOKENS = 100


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


def model_for(
    parameters: Mapping[str, int],
    config: Mapping[str, Any] | None,
    instance_type: str,
    gpus: int,
    environment: Mapping[str, str],
) -> TimingModel | None:
    """The timing of a model (parameter counts per dtype, config.json) on `gpus` GPUs of `instance_type`."""
    instance = GPU_INSTANCES.get(instance_type)
    if instance is None or not parameters:
        return None
    gpus = max(1, min(gpus, instance.gpus))
    shape = ModelShape.from_config(config) if config else None
    served = weights(parameters, environment.get("HF_MODEL_QUANTIZE") or None, shape)
    bandwidth = instance.gpu_bandwidth_gbps * 1e9 * gpus
    kv_bytes = shape.kv_bytes_per_token if shape else 0
    tokens, size = _batch_limits(environment)
    if tokens is None and size is None and kv_bytes:
        # What TGI does without MAX_BATCH_TOTAL_TOKENS: the KV cache takes the memory the weights leave.
        free = instance.gpu_memory_mib / instance.gpus * gpus * 2**20 - served.bytes
        tokens = max(1, int((free - RUNTIME_OVERHEAD_BYTES_PER_GPU * gpus) // kv_bytes)) if free > GIB else 1
    return TimingModel(
        seconds_per_pass=1 / decoding_ceiling(served.bytes, instance.gpu_bandwidth_gbps, gpus),
        kv_seconds_per_token=kv_bytes / bandwidth,
        max_batch_tokens=tokens,
        max_batch_size=size,
    )


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
) -> Pacing | None:
    """The roofline pacing of `model_id` served as `key` (endpoint/variant or component), or None when the
    emulated Hub's catalogue does not know the model or the instance table the instance type."""
    from llm_engineering.local.hub_catalogue import builtin_catalogue

    known = builtin_catalogue().get(model_id)
    if known is None or known.parameters is None:
        return None
    model = model_for(known.parameters, known.config, instance_type, gpus, environment)
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
