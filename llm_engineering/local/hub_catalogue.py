"""The emulated Hub's models: a small built-in catalogue whose metadata is the real models', files tiny.

Three models cover what preflight and `make stage-model` must tell apart: the default model
(`Qwen/Qwen2.5-7B-Instruct`, public, fits one A10G), a gated one (`meta-llama/Llama-3.1-8B-Instruct`,
manual approval) and one too large for an A10G (`Qwen/Qwen2.5-72B-Instruct`, 145 GB in bf16).

What is real and what is not:
- config.json and generation_config.json carry the published values of each model.
- Weight files are **headers only**: each `.safetensors` shard is the 8-byte length and a header listing
  the model's real tensors (names, dtypes, shapes, data offsets), built from the real config, and no tensor
  data. Anything that reads headers (the Hub's parameter count, preflight's memory fit from staged shards)
  sees the real model: 7,615,616,512 parameters for Qwen2.5-7B. A loader would refuse the files as
  truncated; the emulated container never loads weights. The split of tensors over shards is the
  emulator's own (the real repositories split them differently), with the real shard count.
- `model.safetensors.index.json` maps every tensor to its shard, with the real `total_size`.
- Tokenizer files are small stand-ins (a few tokens), labelled as such; commits are stable made-up hashes.
- Sizes, sha256 and ETags are those of the bytes served, so every check a client makes holds.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_engineering.local.safetensors_files import SafetensorsError, Tensor, encode, parameters_per_dtype, read_header

APPROVED_TOKEN = "hf_emulated_approved_reader"
"""The one token the emulated Hub treats as approved for gated models. Any other `hf_...` token is a valid
account without approval; a token not starting with `hf_` is refused as invalid."""
HEADERS_ONLY = "headers only: the real tensor table of this shard, without tensor data (local emulator)"


@dataclass(frozen=True)
class HubFile:
    """One file of a repository, as the Hub stores it."""

    name: str
    content: bytes
    lfs: bool = False
    """Stored with Git LFS (weights): its ETag is the sha256 and downloads redirect to the CDN."""

    @property
    def size(self) -> int:
        return len(self.content)

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def lfs_pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n".encode()

    @functools.cached_property
    def blob_id(self) -> str:
        """Git's blob id: of the LFS pointer for LFS files, of the content otherwise."""
        stored = self.lfs_pointer if self.lfs else self.content
        return hashlib.sha1(b"blob %d\0" % len(stored) + stored).hexdigest()


@dataclass(frozen=True)
class CatalogueModel:
    """A repository: its files at one commit, and who may read it."""

    model_id: str
    files: tuple[HubFile, ...]
    gated: str | None = None
    """"auto" or "manual" for gated models."""
    private: bool = False
    pipeline_tag: str | None = "text-generation"
    readers: frozenset[str] = frozenset({APPROVED_TOKEN})
    """Tokens that may read a gated or private model."""
    commit: str = ""
    parameters: dict[str, int] | None = field(default=None)
    """Safetensors parameter counts per dtype; computed from the shards' headers when not given."""

    def __post_init__(self) -> None:
        if not self.commit:
            object.__setattr__(self, "commit", hashlib.sha1(f"{self.model_id}@emulated".encode()).hexdigest())
        if self.parameters is None:
            object.__setattr__(self, "parameters", _parameters(self.files))

    def file(self, name: str) -> HubFile | None:
        return next((item for item in self.files if item.name == name), None)

    @property
    def config(self) -> dict[str, Any] | None:
        found = self.file("config.json")
        return json.loads(found.content) if found else None


def _parameters(files: Iterable[HubFile]) -> dict[str, int] | None:
    headers = []
    for item in files:
        if not item.name.endswith(".safetensors") or "/" in item.name:
            continue
        try:
            headers.append(read_header(item.content))
        except SafetensorsError:
            continue  # not a file the Hub can read a header from: it counts no parameters
    return parameters_per_dtype(headers) or None


# --- Building files ---------------------------------------------------------------------------------------


def safetensors_file(
    table: Iterable[Tensor], *, data: bytes | None = None, metadata: Mapping[str, str] | None = None
) -> bytes:
    """A `.safetensors` file: header, then `data` (None: headers only, no tensor bytes)."""
    return encode(table, data=data, metadata=metadata)


def decoder_tensors(config: Mapping[str, Any], *, qkv_bias: bool, dtype: str = "BF16") -> Iterator[Tensor]:
    """The tensors of a Llama-style decoder (Llama, Qwen2) with `config`'s dimensions, as transformers names them."""
    hidden, inner, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    yield Tensor("model.embed_tokens.weight", dtype, (vocab, hidden))
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}."
        yield Tensor(prefix + "input_layernorm.weight", dtype, (hidden,))
        yield Tensor(prefix + "mlp.down_proj.weight", dtype, (hidden, inner))
        yield Tensor(prefix + "mlp.gate_proj.weight", dtype, (inner, hidden))
        yield Tensor(prefix + "mlp.up_proj.weight", dtype, (inner, hidden))
        yield Tensor(prefix + "post_attention_layernorm.weight", dtype, (hidden,))
        projections = (("q_proj", heads * head_dim), ("k_proj", kv_heads * head_dim), ("v_proj", kv_heads * head_dim))
        for name, rows in projections:
            yield Tensor(prefix + f"self_attn.{name}.weight", dtype, (rows, hidden))
            if qkv_bias:
                yield Tensor(prefix + f"self_attn.{name}.bias", dtype, (rows,))
        yield Tensor(prefix + "self_attn.o_proj.weight", dtype, (hidden, heads * head_dim))
    yield Tensor("model.norm.weight", dtype, (hidden,))
    if not config.get("tie_word_embeddings", False):
        yield Tensor("lm_head.weight", dtype, (vocab, hidden))


def sharded_weights(table: list[Tensor], shards: int) -> list[HubFile]:
    """Headers-only shards `model-0000i-of-0000N.safetensors` of about equal size, and their index."""
    total = sum(tensor.nbytes for tensor in table)
    groups: list[list[Tensor]] = [[] for _ in range(shards)]
    done = 0
    for tensor in table:
        groups[min(shards - 1, done * shards // total)].append(tensor)
        done += tensor.nbytes
    names = [f"model-{index:05d}-of-{shards:05d}.safetensors" for index in range(1, shards + 1)]
    files = [
        HubFile(name, safetensors_file(group, metadata={"format": "pt", "emulated": HEADERS_ONLY}), lfs=True)
        for name, group in zip(names, groups, strict=True)
    ]
    index = {
        "metadata": {"total_size": total},
        "weight_map": {tensor.name: name for name, group in zip(names, groups, strict=True) for tensor in group},
    }
    return [*files, _json_file("model.safetensors.index.json", index)]


def _json_file(name: str, body: Any) -> HubFile:
    return HubFile(name, (json.dumps(body, indent=2) + "\n").encode("utf-8"))


def _text_file(name: str, text: str) -> HubFile:
    return HubFile(name, text.encode("utf-8"))


STAND_IN = "tokenizer stand-in of the local emulator (a few tokens, not the model's vocabulary)"
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _qwen_tokenizer() -> list[HubFile]:
    vocab = {"!": 0, "Hello": 1, "world": 2, "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}
    return [
        _json_file("tokenizer.json", {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": []}}),
        _json_file(
            "tokenizer_config.json",
            {
                "tokenizer_class": "Qwen2Tokenizer",
                "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>",
                "model_max_length": 131072,
                "chat_template": CHATML,
                "_comment": STAND_IN,
            },
        ),
        _json_file("vocab.json", vocab),
        _text_file("merges.txt", f"#version: 0.2 ({STAND_IN})\nH e\n"),
    ]


def _repository_extras(license_name: str) -> list[HubFile]:
    """What every repository carries besides the model: never needed by the serving container."""
    return [
        _text_file(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
        _text_file("LICENSE", f"{license_name} (the emulator's copy names the license only)\n"),
        _text_file("README.md", "# Model card\n\nServed by the local emulator's Hub: metadata only.\n"),
    ]


QWEN25_7B_CONFIG: dict[str, Any] = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "hidden_act": "silu",
    "hidden_size": 3584,
    "initializer_range": 0.02,
    "intermediate_size": 18944,
    "max_position_embeddings": 32768,
    "max_window_layers": 28,
    "model_type": "qwen2",
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.43.1",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 152064,
}
QWEN25_72B_CONFIG: dict[str, Any] = {
    **QWEN25_7B_CONFIG,
    "hidden_size": 8192,
    "intermediate_size": 29568,
    "max_window_layers": 80,
    "num_attention_heads": 64,
    "num_hidden_layers": 80,
    "num_key_value_heads": 8,
}
QWEN25_GENERATION_CONFIG: dict[str, Any] = {
    "bos_token_id": 151643,
    "pad_token_id": 151643,
    "do_sample": True,
    "eos_token_id": [151645, 151643],
    "repetition_penalty": 1.05,
    "temperature": 0.7,
    "top_p": 0.8,
    "top_k": 20,
    "transformers_version": "4.37.0",
}
LLAMA31_8B_CONFIG: dict[str, Any] = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009],
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 131072,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.42.3",
    "use_cache": True,
    "vocab_size": 128256,
}
LLAMA31_GENERATION_CONFIG: dict[str, Any] = {
    "bos_token_id": 128000,
    "do_sample": True,
    "eos_token_id": [128001, 128008, 128009],
    "temperature": 0.6,
    "top_p": 0.9,
    "transformers_version": "4.42.3",
}


def _qwen(model_id: str, config: dict[str, Any], shards: int, license_name: str) -> CatalogueModel:
    files = [
        _json_file("config.json", config),
        _json_file("generation_config.json", QWEN25_GENERATION_CONFIG),
        *sharded_weights(list(decoder_tensors(config, qkv_bias=True)), shards),
        *_qwen_tokenizer(),
        *_repository_extras(license_name),
    ]
    return CatalogueModel(model_id, tuple(files))


def _llama() -> CatalogueModel:
    special = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    files = [
        _json_file("config.json", LLAMA31_8B_CONFIG),
        _json_file("generation_config.json", LLAMA31_GENERATION_CONFIG),
        *sharded_weights(list(decoder_tensors(LLAMA31_8B_CONFIG, qkv_bias=False)), 4),
        _json_file("special_tokens_map.json", special),
        _json_file("tokenizer.json", {"version": "1.0", "model": {"type": "BPE", "vocab": {"!": 0}, "merges": []}}),
        _json_file("tokenizer_config.json", {**special, "model_max_length": 131072, "_comment": STAND_IN}),
        # The original Meta checkpoint beside the transformers one: a duplicate the container never reads.
        HubFile("original/consolidated.00.pth", b"PK\x03\x04 (emulated stand-in of a PyTorch checkpoint)", lfs=True),
        _json_file("original/params.json", {"dim": 4096, "n_layers": 32, "n_heads": 32, "n_kv_heads": 8}),
        HubFile("original/tokenizer.model", b"(emulated stand-in of a tiktoken model)", lfs=True),
        _text_file("USE_POLICY.md", "Llama 3.1 Acceptable Use Policy (the emulator's copy names it only)\n"),
        *_repository_extras("Llama 3.1 Community License"),
    ]
    return CatalogueModel("meta-llama/Llama-3.1-8B-Instruct", tuple(files), gated="manual")


@functools.cache
def builtin_catalogue() -> dict[str, CatalogueModel]:
    """The built-in models by id (built once: the 72B headers take a moment)."""
    models = [
        _qwen("Qwen/Qwen2.5-7B-Instruct", QWEN25_7B_CONFIG, 4, "Apache License 2.0"),
        _llama(),
        _qwen("Qwen/Qwen2.5-72B-Instruct", QWEN25_72B_CONFIG, 37, "Qwen License"),
    ]
    return {model.model_id: model for model in models}
