"""The serving engines, one row each: every rule that differs between TGI, vLLM and SGLang is read from here.

A row says where the engine's images are in the SageMaker SDK's table, how the tool's shared settings are
named in its container's environment, which quantization names it accepts, how it budgets GPU memory, and
which of its log lines explain a failed start. Nothing else branches on the engine: the container
environment, the plan, preflight and the diagnosis all read the row. The module is plain data (no SDK
import), so the deploy path pays nothing for it.

The shared settings reach the container under TGI's names first (`hosting.container`, the tool's first
engine and still its default); `Engine.environment` then renames each of them for the other engines. The
token (HF_TOKEN, which every engine's Hub client reads) keeps its name; a test keeps every other variable
`hosting.container` can produce mapped or refused here, so none reaches an engine that does not read it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import SecretStr

from llm_engineering.errors import ConfigurationError

EngineName = Literal["tgi", "vllm", "sglang"]
"""The serving engines the tool deploys (their table is this module)."""

GIB = 1024**3


@dataclass(frozen=True)
class MemoryRule:
    """How an engine spends a GPU: the share it budgets, and what must fit inside that share."""

    default_fraction: float
    """The share of each GPU's memory the engine budgets when GPU_MEMORY_UTILIZATION is unset."""
    overhead_in_budget: bool
    """Whether activations, CUDA graphs and buffers come out of that share (else only weights + KV cache)."""
    refuses_without_one_sequence: bool
    """The engine refuses to start when the KV cache cannot hold one MAX_TOTAL_TOKENS sequence."""
    budget_name: str
    """The engine's own name for the share, for people (`gpu_memory_utilization`)."""
    on_the_fly_bits: Mapping[str, float]
    """HF_MODEL_QUANTIZE values that quantize 16-bit weights while loading -> bits per weight afterwards."""
    suggested: tuple[str, ...]
    """On-the-fly quantizations to suggest for a model that does not fit, gentlest first."""
    knobs: str
    """The settings that shrink what the engine holds besides the weights, for advice."""
    max_fraction: float = 1.0
    """The largest share worth suggesting: what is left must still hold the engine's CUDA context."""


@dataclass(frozen=True)
class LogAdvice:
    """A failure line of the engine's log and the advice it calls for.

    `advice` is formatted with the context of the deployment (model_id, max_total_tokens, budget, ...) and
    the pattern's named groups.
    """

    pattern: re.Pattern[str]
    advice: str


@dataclass(frozen=True)
class Engine:
    """One serving engine in its Hugging Face Deep Learning Container for SageMaker."""

    name: EngineName
    label: str
    framework: str
    """The image table's name in `sagemaker.core.image_uris`."""
    repositories: tuple[str, ...]
    """ECR repositories of its images (the Hugging Face DLC's first), to recognise an IMAGE_URI."""
    environment: Mapping[str, str | None]
    """A shared setting's variable as TGI names it -> this engine's variable (None: the engine has no such
    setting; the plan says so). Variables missing here (HF_TOKEN, HF_HUB_*) keep their name."""
    refused: Mapping[str, str]
    """Variables this engine cannot honour when they are set: why, and what to do instead."""
    fixed: Mapping[str, str]
    """Variables the container needs whatever the settings say."""
    memory_variable: str
    """Where GPU_MEMORY_UTILIZATION goes."""
    quantizations: tuple[str, ...]
    quantization_hints: Mapping[str, str]
    """Other engines' spellings -> this engine's, for the error that refuses them."""
    memory: MemoryRule
    loading: re.Pattern[str]
    """Start-up lines that say the model is still being fetched or loaded (a health check gave up early)."""
    failures: tuple[LogAdvice, ...]
    minimum_version: tuple[int, ...] = ()
    minimum_reason: str = ""
    model_types: frozenset[str] | None = None
    """config.json `model_type`s the engine implements natively, where its own list is knowable."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Lines the plan shows whenever this engine is chosen."""

    def budget(self, utilization: float | None) -> float:
        """The share of GPU memory the engine will budget with GPU_MEMORY_UTILIZATION=`utilization`."""
        return utilization if utilization is not None else self.memory.default_fraction


# --- TGI -----------------------------------------------------------------------------------------------

TGI_MODEL_TYPES = frozenset(
    {
        "deepseek_v2", "deepseek_v3", "idefics2", "idefics3", "llava_next", "llama", "llama4", "phi3", "granite",
        "gemma", "paligemma", "gemma2", "gemma3", "gemma3_text", "cohere", "dbrx", "mamba", "mistral", "mixtral",
        "gpt_bigcode", "phi", "phimoe", "baichuan", "falcon", "starcoder2", "qwen2", "qwen2_vl", "qwen2_5_vl",
        "opt", "t5", "galactica", "santacoder", "bloom", "mpt", "gpt2", "gpt_neox", "gptj", "idefics", "mllama",
    }
)  # fmt: skip
"""`ModelType` of text-generation-inference v3.3.6 (server/text_generation_server/models/__init__.py), the
last release: TGI is in maintenance mode upstream. Other types fall back to a slower transformers
implementation when transformers 4.51.3 knows them, else fail with `Unsupported model type <type>`."""

TGI_QUANTIZATIONS = (
    "awq", "compressed-tensors", "eetq", "exl2", "gptq", "marlin", "bitsandbytes", "bitsandbytes-nf4",
    "bitsandbytes-fp4", "fp8",
)  # fmt: skip
"""TGI 3.3.6's `--quantize` values (the launcher's `enum Quantization`)."""

TGI = Engine(
    name="tgi",
    label="TGI",
    framework="huggingface-llm",
    repositories=("huggingface-pytorch-tgi-inference", "text-generation-inference"),
    # The image's sagemaker-entrypoint.sh maps HF_MODEL_ID, HF_MODEL_REVISION, SM_NUM_GPUS, HF_MODEL_QUANTIZE
    # and HF_MODEL_TRUST_REMOTE_CODE to launcher flags; the launcher reads every other option from the
    # environment variable of its own name (MAX_INPUT_TOKENS, CUDA_MEMORY_FRACTION, ...). It listens on
    # 0.0.0.0 by default (`--hostname`), port 8080 (the entrypoint's `--port 8080`).
    environment={},
    refused={},
    fixed={},
    memory_variable="CUDA_MEMORY_FRACTION",
    quantizations=TGI_QUANTIZATIONS,
    quantization_hints={"bitsandbytes-8bit": "bitsandbytes", "nf4": "bitsandbytes-nf4"},
    memory=MemoryRule(
        default_fraction=1.0,  # `--cuda-memory-fraction` defaults to 1.0
        overhead_in_budget=True,
        refuses_without_one_sequence=False,
        budget_name="cuda_memory_fraction",
        # bitsandbytes is LLM.int8 in TGI; 4-bit bitsandbytes keeps one float32 scale per 64 weights.
        on_the_fly_bits={"bitsandbytes": 8, "eetq": 8, "fp8": 8, "bitsandbytes-nf4": 4.5, "bitsandbytes-fp4": 4.5},
        suggested=("bitsandbytes", "bitsandbytes-nf4"),
        knobs="MAX_TOTAL_TOKENS / MAX_BATCH_TOTAL_TOKENS",
    ),
    loading=re.compile(r"Download|Fetching|Starting download", re.IGNORECASE),
    failures=(
        LogAdvice(
            re.compile(r"Unsupported model type (?P<model_type>[\w.-]+)"),
            "{release} (frozen upstream) does not know the architecture `{model_type}` of "
            "HF_MODEL_ID={model_id}: set ENGINE=vllm, which serves newer architectures.",
        ),
    ),
    minimum_version=(2, 0),
    minimum_reason="MAX_INPUT_TOKENS and the chat API",
    model_types=TGI_MODEL_TYPES,
    notes=(
        "TGI is in maintenance mode upstream (its last SageMaker image is 3.3.6): ENGINE=vllm is the maintained "
        "path, with the same commands.",
    ),
)

# --- vLLM ----------------------------------------------------------------------------------------------

VLLM_QUANTIZATIONS = (
    "aqlm", "awq", "awq_marlin", "bitblas", "bitsandbytes", "compressed-tensors", "deepspeedfp", "experts_int8",
    "fbgemm_fp8", "fp8", "gguf", "gptq", "gptq_bitblas", "gptq_marlin", "gptq_marlin_24", "hqq", "marlin",
    "modelopt", "modelopt_fp4", "moe_wna16", "ptpc_fp8", "quark", "torchao",
)  # fmt: skip
"""vLLM's `--quantization` choices (QuantizationMethods). The list moves between releases: a value the
image's vLLM lacks fails its start with "Invalid quantization method"."""

VLLM = Engine(
    name="vllm",
    label="vLLM",
    framework="huggingface-vllm",
    repositories=("huggingface-vllm", "vllm"),
    # The image's sagemaker_entrypoint.sh turns every SM_VLLM_<NAME>=<value> into `--<name> <value>` of
    # `vllm.entrypoints.openai.api_server` (`true` -> a bare flag, `false` -> left out) and adds `--port 8080`.
    # SM_VLLM_MODEL wins over its fallbacks (a non-empty /opt/ml/model, then HF_MODEL_ID), so it is always
    # set: whatever model path the settings give (a Hub id, or /opt/ml/model for S3 model data).
    environment={
        "HF_MODEL_ID": "SM_VLLM_MODEL",
        "HF_MODEL_REVISION": "SM_VLLM_REVISION",
        "SM_NUM_GPUS": "SM_VLLM_TENSOR_PARALLEL_SIZE",
        "HF_MODEL_QUANTIZE": "SM_VLLM_QUANTIZATION",
        "HF_MODEL_TRUST_REMOTE_CODE": "SM_VLLM_TRUST_REMOTE_CODE",
        "MAX_TOTAL_TOKENS": "SM_VLLM_MAX_MODEL_LEN",
        "MAX_BATCH_PREFILL_TOKENS": "SM_VLLM_MAX_NUM_BATCHED_TOKENS",
        "MAX_INPUT_TOKENS": None,  # vLLM has no separate prompt limit: max_model_len bounds prompt + answer
    },
    refused={
        "MAX_BATCH_TOTAL_TOKENS": "vLLM sizes its KV cache from GPU_MEMORY_UTILIZATION: unset MAX_BATCH_TOTAL_TOKENS "
        "and set GPU_MEMORY_UTILIZATION instead",
    },
    # The entrypoint sets no host, and SageMaker's health check reaches the container from outside: bind
    # every interface explicitly rather than rely on vLLM's default.
    fixed={"SM_VLLM_HOST": "0.0.0.0"},
    memory_variable="SM_VLLM_GPU_MEMORY_UTILIZATION",
    quantizations=VLLM_QUANTIZATIONS,
    quantization_hints={
        "bitsandbytes-nf4": "bitsandbytes (vLLM's in-flight bitsandbytes is 4-bit NF4)",
        "bitsandbytes-fp4": "bitsandbytes (vLLM's in-flight bitsandbytes is 4-bit)",
        "eetq": "fp8 (8-bit weights)",
        "exl2": "a GPTQ or AWQ checkpoint with gptq or awq",
    },
    memory=MemoryRule(
        default_fraction=0.9,  # the DLC documents SM_VLLM_GPU_MEMORY_UTILIZATION's default as 0.9
        overhead_in_budget=True,  # weights, activation peak, CUDA graphs and KV cache share the budget
        refuses_without_one_sequence=True,
        budget_name="gpu_memory_utilization",
        on_the_fly_bits={"bitsandbytes": 4.5, "fp8": 8},
        suggested=("fp8", "bitsandbytes"),
        knobs="MAX_TOTAL_TOKENS / GPU_MEMORY_UTILIZATION",
        max_fraction=0.95,
    ),
    loading=re.compile(r"Starting to load model|Loading safetensors checkpoint shards|Loading weights", re.I),
    failures=(
        LogAdvice(
            re.compile(
                r"max seq len \((?P<max_len>\d+)\).*?KV cache is needed, which is larger than the available KV "
                r"cache memory(?:.*?estimated maximum model length is (?P<estimate>\d+))?",
                re.IGNORECASE,
            ),
            "vLLM's KV cache cannot hold one MAX_TOTAL_TOKENS={max_len} sequence in {budget_name}={budget:g} of "
            "the GPU: lower MAX_TOTAL_TOKENS{estimate_hint} (keep MAX_INPUT_TOKENS below it), raise "
            "GPU_MEMORY_UTILIZATION (at most 0.95), or choose a larger GPU_INSTANCE_TYPE.",
        ),
        LogAdvice(
            re.compile(r"No available memory for the cache blocks", re.IGNORECASE),
            "The weights of HF_MODEL_ID={model_id} leave no room for vLLM's KV cache in {budget_name}={budget:g} "
            "of the GPU: raise GPU_MEMORY_UTILIZATION (at most 0.95), quantize (HF_MODEL_QUANTIZE=fp8 or "
            "bitsandbytes), or choose a larger GPU_INSTANCE_TYPE.",
        ),
        LogAdvice(
            re.compile(r"less than desired GPU memory utilization", re.IGNORECASE),
            "The GPU had less free memory than GPU_MEMORY_UTILIZATION={budget:g} asks vLLM to take: lower it "
            "(e.g. 0.85).",
        ),
    ),
)

# --- SGLang --------------------------------------------------------------------------------------------

SGLANG_QUANTIZATIONS = (
    "awq", "awq_marlin", "bitsandbytes", "fp8", "gguf", "gptq", "gptq_marlin", "marlin", "modelopt", "modelopt_fp4",
    "modelopt_fp8", "moe_wna16", "petit_nvfp4", "w8a8_fp8", "w8a8_int8",
)  # fmt: skip
"""SGLang's `--quantization` choices (server_args.QUANTIZATION_CHOICES), the part stable across releases."""

SGLANG = Engine(
    name="sglang",
    label="SGLang",
    framework="huggingface-sglang",
    repositories=("huggingface-sglang", "sglang"),
    # The SGLang SageMaker entrypoint turns every SM_SGLANG_<NAME>=<value> into `--<name> <value>` of
    # `sglang.launch_server` (`true` -> a bare flag) and adds `--port 8080 --host 0.0.0.0` when they are not
    # set, and `--model-path /opt/ml/model` when SM_SGLANG_MODEL_PATH is not: it has no HF_MODEL_ID fallback,
    # so the model path is always set.
    environment={
        "HF_MODEL_ID": "SM_SGLANG_MODEL_PATH",
        "HF_MODEL_REVISION": "SM_SGLANG_REVISION",
        "SM_NUM_GPUS": "SM_SGLANG_TP_SIZE",
        "HF_MODEL_QUANTIZE": "SM_SGLANG_QUANTIZATION",
        "HF_MODEL_TRUST_REMOTE_CODE": "SM_SGLANG_TRUST_REMOTE_CODE",
        "MAX_TOTAL_TOKENS": "SM_SGLANG_CONTEXT_LENGTH",
        "MAX_BATCH_PREFILL_TOKENS": "SM_SGLANG_MAX_PREFILL_TOKENS",
        "MAX_BATCH_TOTAL_TOKENS": "SM_SGLANG_MAX_TOTAL_TOKENS",  # the token capacity of its KV pool
        "MAX_INPUT_TOKENS": None,  # no separate prompt limit: the context length bounds prompt + answer
    },
    refused={},
    fixed={},
    memory_variable="SM_SGLANG_MEM_FRACTION_STATIC",
    quantizations=SGLANG_QUANTIZATIONS,
    quantization_hints={
        "bitsandbytes-nf4": "bitsandbytes (with a bitsandbytes 4-bit checkpoint)",
        "bitsandbytes-fp4": "bitsandbytes (with a bitsandbytes 4-bit checkpoint)",
        "compressed-tensors": "w8a8_int8 or w8a8_fp8 (compressed-tensors checkpoints)",
        "eetq": "fp8 (8-bit weights)",
    },
    memory=MemoryRule(
        # `--mem-fraction-static` is computed at start from the GPU; 0.88 is what SGLang falls back to.
        default_fraction=0.88,
        overhead_in_budget=False,  # the static share holds weights and the KV pool; activations live outside
        refuses_without_one_sequence=False,
        budget_name="mem_fraction_static",
        on_the_fly_bits={"fp8": 8},
        suggested=("fp8",),
        knobs="MAX_TOTAL_TOKENS / GPU_MEMORY_UTILIZATION",
        max_fraction=0.92,  # activations and CUDA graphs live outside the static share
    ),
    loading=re.compile(r"Load weight begin|Loading safetensors checkpoint shards", re.IGNORECASE),
    failures=(
        LogAdvice(
            re.compile(r"Not enough memory\. Please try to increase --mem-fraction-static", re.IGNORECASE),
            "SGLang's static memory ({budget_name}={budget:g} of the GPU) cannot hold the weights of "
            "HF_MODEL_ID={model_id} and a KV pool: raise GPU_MEMORY_UTILIZATION (at most 0.92), quantize "
            "(HF_MODEL_QUANTIZE=fp8), or choose a larger GPU_INSTANCE_TYPE.",
        ),
    ),
)

ENGINES: dict[str, Engine] = {engine.name: engine for engine in (TGI, VLLM, SGLANG)}


def engine(name: str) -> Engine:
    """The row of engine `name` (settings validate the name, so an unknown one is a bug)."""
    return ENGINES[name]


def engine_of_image(image_uri: str) -> Engine | None:
    """The engine whose repository the image is in, None when the repository is not one of theirs."""
    repository = image_uri.split("@", 1)[0].rsplit(":", 1)[0].rsplit("/", 1)[-1]
    return next((row for row in ENGINES.values() if repository in row.repositories), None)


def check_quantization(row: Engine, quantize: str | None) -> None:
    """HF_MODEL_QUANTIZE must be a name this engine knows; another engine's spelling says which to use."""
    if quantize is None or quantize in row.quantizations:
        return
    hint = row.quantization_hints.get(quantize)
    instead = f"use {hint}" if hint else f"use one of {', '.join(row.quantizations)}"
    raise ConfigurationError(
        f"HF_MODEL_QUANTIZE={quantize!r} is not a quantization {row.label} knows (ENGINE={row.name}): {instead}, "
        "or leave it unset."
    )


def check_settings(row: Engine, environment: Mapping[str, object]) -> None:
    """Refuse the settings this engine cannot honour (given as their TGI-named variables)."""
    for variable, why in row.refused.items():
        if environment.get(variable) is not None:
            raise ConfigurationError(f"{variable} is set, but ENGINE={row.name} cannot use it: {why}.")


@dataclass(frozen=True)
class EngineEnvironment:
    """The container environment for one engine, and what the plan should say about it."""

    variables: dict[str, str | SecretStr]
    notes: tuple[str, ...] = ()


def engine_environment(
    row: Engine, shared: Mapping[str, str | SecretStr], gpu_memory_utilization: float | None
) -> EngineEnvironment:
    """`shared` (the TGI-named container environment `hosting.container` builds) in `row`'s own names.

    The token and any variable the table does not name pass through unchanged, whatever `shared` decided.
    """
    check_settings(row, shared)
    variables: dict[str, str | SecretStr] = {}
    notes = []
    for name, value in shared.items():
        renamed = row.environment.get(name, name)
        if renamed is None:
            notes.append(f"{name}={value} is not used: {row.label} bounds prompt plus answer by MAX_TOTAL_TOKENS")
            continue
        variables[renamed] = value
    variables.update(row.fixed)
    if gpu_memory_utilization is not None:
        variables[row.memory_variable] = f"{gpu_memory_utilization:g}"
    return EngineEnvironment(variables, tuple(notes))


def advice_from_logs(row: Engine, text: str, context: Mapping[str, Any]) -> list[str]:
    """The engine-specific advice for the failure lines found in `text`.

    `context` gives the deployment's figures: model_id, budget (the memory share in force), release ("TGI
    3.3.6"), ...; the pattern's named groups are added to it.
    """
    found = []
    for item in row.failures:
        match = item.pattern.search(text)
        if match is None:
            continue
        groups = {key: value for key, value in match.groupdict().items() if value is not None}
        estimate = groups.get("estimate")
        values = {
            "budget_name": row.memory.budget_name,
            "estimate_hint": f" to {int(estimate) // 256 * 256} or less (vLLM's estimate: {estimate})"
            if estimate
            else "",
            **context,
            **groups,
        }
        found.append(item.advice.format(**values))
    return found
