"""Does the model fit the GPUs? Weights at the served precision, KV cache, runtime overhead: pure arithmetic.

Inputs are what the Hub tells without downloading weights: parameter counts per stored dtype (safetensors
metadata) and config.json (layers, KV heads, head size). The figures are estimates meant to catch the
failures that cost an hour of GPU time: a model that cannot load, or one that loads but leaves no room for
a single full-length request. Each engine budgets memory its own way (`hosting.engines.MemoryRule`): TGI
takes the whole GPU, vLLM `gpu_memory_utilization` of it for weights, activations and KV cache (and refuses
to start when one MAX_TOTAL_TOKENS sequence does not fit), SGLang `mem_fraction_static` for weights and KV.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from llm_engineering.catalogue.engines import TGI, Engine, MemoryRule
from llm_engineering.catalogue.instances import GpuInstance

GIB = 1024**3
GB = 1000**3

SERVED_FLOAT_BYTES = 2
"""TGI serves floating-point weights in float16/bfloat16, whatever the checkpoint stores (F32 included)."""
KV_CACHE_BYTES = 2
"""KV cache entries are 16-bit unless TGI is told otherwise (the tool does not set --kv-cache-dtype)."""
RUNTIME_OVERHEAD_BYTES_PER_GPU = int(1.5 * GIB)
"""CUDA context, kernel workspaces, CUDA graphs and prefill activations: an estimate per GPU."""
MIN_SEQUENCES = 4
"""Fewer full MAX_TOTAL_TOKENS sequences than this in the free memory counts as thin headroom."""
THIN_FRACTION = 0.10
"""Without config.json (no KV estimate): less free memory than this share of the GPUs counts as thin."""

# Bytes per element of each safetensors dtype as stored.
STORED_BYTES: dict[str, float] = {
    "F64": 8,
    "I64": 8,
    "U64": 8,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F4": 0.5,
}
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16"})
"""Dtypes TGI casts to 16 bits (or quantizes on the fly); everything else is counted as stored."""

# TGI's HF_MODEL_QUANTIZE values that quantize 16-bit weights while loading, with the bits each weight then
# takes; every other value reads a checkpoint already quantized, whose packed tensors count as stored. Other
# engines' values are in their `MemoryRule`.
ON_THE_FLY_BITS = TGI.memory.on_the_fly_bits
SUGGESTED_QUANTIZATIONS = TGI.memory.suggested
"""What to suggest, gentlest first, for a model stored in 16-bit floats."""

Verdict = Literal["fits", "thin", "too-large"]


def dtype_bytes(dtype: str) -> float:
    """Bytes per element of a safetensors dtype; unknown names are read from their bit count (e.g. "U16")."""
    if dtype in STORED_BYTES:
        return STORED_BYTES[dtype]
    bits = re.search(r"(\d+)", dtype)
    return int(bits.group(1)) / 8 if bits else SERVED_FLOAT_BYTES


@dataclass(frozen=True)
class ModelShape:
    """The parts of config.json that size the KV cache and the embeddings."""

    layers: int
    kv_heads: int
    head_dim: int
    hidden_size: int | None = None
    vocab_size: int | None = None
    tied_embeddings: bool = False
    quant_method: str | None = None
    """`quantization_config.quant_method` of a pre-quantized checkpoint (awq, gptq, fp8, ...)."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ModelShape | None:
        """Read a transformers config.json (multimodal ones keep the language model in `text_config`)."""
        text = {**config, **config.get("text_config", {})} if isinstance(config.get("text_config"), dict) else config
        layers = _first_int(text, "num_hidden_layers", "n_layer", "num_layers")
        heads = _first_int(text, "num_attention_heads", "n_head")
        hidden = _first_int(text, "hidden_size", "n_embd", "d_model")
        kv_heads = _first_int(text, "num_key_value_heads", "multi_query_group_num") or heads
        head_dim = _first_int(text, "head_dim") or (hidden // heads if hidden and heads else None)
        if not (layers and kv_heads and head_dim):
            return None
        quantization = config.get("quantization_config") or text.get("quantization_config") or {}
        return cls(
            layers=layers,
            kv_heads=kv_heads,
            head_dim=head_dim,
            hidden_size=hidden,
            vocab_size=_first_int(text, "vocab_size"),
            tied_embeddings=bool(config.get("tie_word_embeddings", text.get("tie_word_embeddings", False))),
            quant_method=quantization.get("quant_method") if isinstance(quantization, dict) else None,
        )

    @property
    def kv_bytes_per_token(self) -> int:
        """Keys and values of every layer for one token."""
        return 2 * self.layers * self.kv_heads * self.head_dim * KV_CACHE_BYTES

    @property
    def embedding_parameters(self) -> int:
        """Input embeddings plus the output head (one matrix when tied): left unquantized by TGI."""
        if not (self.vocab_size and self.hidden_size):
            return 0
        return self.vocab_size * self.hidden_size * (1 if self.tied_embeddings else 2)


def _first_int(config: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


@dataclass(frozen=True)
class Weights:
    """The weights as they will sit in GPU memory."""

    parameters: int
    """Elements stored in the checkpoint (packed quantized tensors count their packed elements)."""
    bytes: int
    precision: str
    """How they are served, for people: "bf16", "8-bit (bitsandbytes)", "awq as stored", ..."""
    pre_quantized: bool

    @property
    def size_label(self) -> str:
        """ "8.0B" for a model served from floats; the byte size for packed checkpoints, whose counts mislead."""
        if self.pre_quantized:
            return f"{self.bytes / GB:.1f} GB of weights"
        return parameters_label(self.parameters)


def parameters_label(count: int) -> str:
    if count >= 10**9:
        return f"{count / 1e9:.1f}B"
    return f"{count / 1e6:.0f}M"


def _float_label(parameters: Mapping[str, int]) -> str:
    floats = {dtype: count for dtype, count in parameters.items() if dtype in FLOAT_DTYPES}
    dominant = max(floats, key=lambda dtype: floats[dtype], default="BF16")
    return {"BF16": "bf16", "F16": "fp16"}.get(dominant, f"16-bit (stored as {dominant})")


def weights(
    parameters: Mapping[str, int], quantize: str | None, shape: ModelShape | None = None, rule: MemoryRule = TGI.memory
) -> Weights:
    """Bytes the weights take once loaded with HF_MODEL_QUANTIZE=`quantize` (None: the served 16-bit dtype)."""
    float_count = sum(count for dtype, count in parameters.items() if dtype in FLOAT_DTYPES)
    packed = {dtype: count for dtype, count in parameters.items() if dtype not in FLOAT_DTYPES}
    packed_bytes = sum(count * dtype_bytes(dtype) for dtype, count in packed.items())
    float_bytes = float_count * SERVED_FLOAT_BYTES
    stored = quantize is not None and quantize not in rule.on_the_fly_bits
    pre_quantized = packed_bytes > float_bytes or stored or bool(shape and shape.quant_method)
    bits = rule.on_the_fly_bits.get(quantize or "")
    if bits is not None and not pre_quantized:
        kept = min(float_count, shape.embedding_parameters if shape else 0)
        float_bytes = kept * SERVED_FLOAT_BYTES + (float_count - kept) * bits / 8
        precision = f"{math.floor(bits)}-bit ({quantize})"
    elif pre_quantized:
        method = quantize if stored else (shape.quant_method if shape else None)
        stored = ", ".join(sorted(packed)) or "floats"
        precision = f"{method} as stored" if method else f"as stored ({stored})"
    else:
        precision = _float_label(parameters)
    return Weights(
        parameters=sum(parameters.values()),
        bytes=math.ceil(float_bytes + packed_bytes),
        precision=precision,
        pre_quantized=pre_quantized,
    )


@dataclass(frozen=True)
class Fit:
    """Weights, runtime and KV cache against the GPU memory of one model copy."""

    weights_bytes: int
    memory_bytes: int
    gpus: int
    kv_bytes_per_sequence: int | None
    budget: float = 1.0
    """The share of `memory_bytes` the engine budgets for weights and KV cache (`MemoryRule`)."""
    overhead_in_budget: bool = True

    @property
    def overhead_bytes(self) -> int:
        return RUNTIME_OVERHEAD_BYTES_PER_GPU * self.gpus

    @property
    def budget_bytes(self) -> int:
        return int(self.memory_bytes * self.budget)

    @property
    def free_bytes(self) -> int:
        """What is left for the KV cache once weights and runtime are in place (negative: does not load)."""
        overhead = self.overhead_bytes if self.overhead_in_budget else 0
        return self.budget_bytes - overhead - self.weights_bytes

    @property
    def sequences(self) -> int | None:
        """Full-length (MAX_TOTAL_TOKENS) sequences the free memory holds at once; None without config.json."""
        if self.kv_bytes_per_sequence is None:
            return None
        return max(0, self.free_bytes) // self.kv_bytes_per_sequence

    @property
    def verdict(self) -> Verdict:
        if self.free_bytes < 0:
            return "too-large"
        if self.sequences is not None:
            return "thin" if self.sequences < MIN_SEQUENCES else "fits"
        return "thin" if self.free_bytes < THIN_FRACTION * self.memory_bytes else "fits"


def copy_memory_bytes(instance: GpuInstance, gpus: int) -> int:
    """GPU memory of `gpus` of the instance's GPUs (one model copy shards over them)."""
    return instance.gpu_memory_mib * 1024 * 1024 // instance.gpus * gpus


def fit(
    weights_bytes: int,
    instance: GpuInstance,
    gpus: int,
    shape: ModelShape | None,
    max_total_tokens: int,
    budget: Budget | None = None,
) -> Fit:
    """How `weights_bytes` of weights, sharded over `gpus` GPUs of `instance`, leave room for the KV cache."""
    share = budget or Budget()
    return Fit(
        weights_bytes=weights_bytes,
        memory_bytes=copy_memory_bytes(instance, gpus),
        gpus=gpus,
        kv_bytes_per_sequence=shape.kv_bytes_per_token * max_total_tokens if shape else None,
        budget=share.fraction,
        overhead_in_budget=share.rule.overhead_in_budget,
    )


@dataclass(frozen=True)
class Budget:
    """An engine's memory rule with the share in force (GPU_MEMORY_UTILIZATION, else the engine's default)."""

    rule: MemoryRule = TGI.memory
    fraction: float = 1.0
    label: str = "TGI"

    @classmethod
    def of(cls, engine: Engine, utilization: float | None) -> Budget:
        return cls(engine.memory, engine.budget(utilization), engine.label)


def max_tokens_for(fit_: Fit, kv_bytes_per_token: int, sequences: int = MIN_SEQUENCES) -> int:
    """The largest MAX_TOTAL_TOKENS (a multiple of 256) for which `sequences` full sequences fit."""
    tokens = max(0, fit_.free_bytes) // (kv_bytes_per_token * sequences)
    return int(tokens // 256 * 256)


def decoding_ceiling(weights_bytes: int, bandwidth_gbps: float, gpus: int) -> float:
    """Tokens/s one stream can reach at most: each token reads every weight once from GPU memory."""
    return bandwidth_gbps * GB * gpus / weights_bytes


@dataclass(frozen=True)
class Alternative:
    """A change of settings that makes the model fit, with the fit it gives."""

    setting: str
    fit: Fit
    text: str


def _best(candidates: Iterable[Alternative]) -> Alternative | None:
    """The first that fits with headroom, else the first that at least loads."""
    listed = [candidate for candidate in candidates if candidate.fit.verdict != "too-large"]
    return next((c for c in listed if c.fit.verdict == "fits"), listed[0] if listed else None)


def quantization_that_fits(
    parameters: Mapping[str, int],
    quantize: str | None,
    shape: ModelShape | None,
    instance: GpuInstance,
    gpus: int,
    max_total_tokens: int,
    budget: Budget | None = None,
) -> Alternative | None:
    """A gentler-first on-the-fly quantization (in the engine's spelling) that fits, for models stored in floats."""
    share = budget or Budget()
    rule = share.rule
    if weights(parameters, quantize, shape, rule).pre_quantized:
        return None
    current_bits = rule.on_the_fly_bits.get(quantize or "", 16)
    candidates = []
    for name in rule.suggested:
        if rule.on_the_fly_bits[name] >= current_bits:
            continue
        size = weights(parameters, name, shape, rule)
        candidates.append(
            Alternative(
                setting=f"HF_MODEL_QUANTIZE={name}",
                fit=fit(size.bytes, instance, gpus, shape, max_total_tokens, share),
                text=f"HF_MODEL_QUANTIZE={name} (weights {size.bytes / GIB:.1f} GiB)",
            )
        )
    return _best(candidates)


def instance_that_fits(
    weights_bytes: int,
    shape: ModelShape | None,
    max_total_tokens: int,
    table: Iterable[GpuInstance],
    budget: Budget | None = None,
) -> Alternative | None:
    """The cheapest instance type of `table` whose GPUs, all sharded over, hold the model."""
    candidates = [
        Alternative(
            setting=f"GPU_INSTANCE_TYPE={row.name}",
            fit=fit(weights_bytes, row, row.gpus, shape, max_total_tokens, budget),
            text=(
                f"GPU_INSTANCE_TYPE={row.name} ({row.gpus} x {row.gpu}, {row.gpu_memory_mib // 1024} GiB, "
                f"about USD {row.usd_per_hour:.2f}/hour)"
            ),
        )
        for row in sorted(table, key=lambda row: (row.usd_per_hour, row.name))
    ]
    return _best(candidates)


