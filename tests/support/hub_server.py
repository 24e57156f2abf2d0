"""The emulator's Hub (`llm_engineering.local.hub.EmulatedHub`) on 127.0.0.1 for in-process tests, with any
catalogue, and small test models: what `make stage-model` must keep, skip, refuse and check."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from llm_engineering.local.hub import EmulatedHub
from llm_engineering.local.hub_catalogue import CatalogueModel, HubFile, builtin_catalogue, safetensors_file
from llm_engineering.weights.safetensors import Tensor

MiB = 1024 * 1024
TINY_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 64,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 1000,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
}


def _json(name: str, body: Any) -> HubFile:
    return HubFile(name, json.dumps(body).encode())


def weights_file(name: str, elements: int, seed: int) -> HubFile:
    """A valid safetensors file with `elements` BF16 values of seeded random bytes."""
    block = random.Random(seed).randbytes(64 * 1024)  # randbytes cannot make hundreds of MiB at once
    data = (block * (elements * 2 // len(block) + 1))[: elements * 2]
    return HubFile(name, safetensors_file([Tensor("w", "BF16", (elements,))], data=data), lfs=True)


def tiny_model(model_id: str = "tests/tiny-chat", big_mib: float = 0.25, **options: Any) -> CatalogueModel:
    """Two shards (the first `big_mib` MiB), an index, config and tokenizer files, plus what is never staged:
    a pytorch duplicate, an `original/` folder, a README and custom code."""
    first = weights_file("model-00001-of-00002.safetensors", int(big_mib * MiB) // 2, 1)
    second = weights_file("model-00002-of-00002.safetensors", 1000, 2)
    index = {"metadata": {"total_size": 0}, "weight_map": {"w": first.name, "v": second.name}}
    files = [
        _json("config.json", TINY_CONFIG),
        _json("generation_config.json", {"do_sample": True}),
        first,
        second,
        _json("model.safetensors.index.json", index),
        _json("tokenizer.json", {"version": "1.0"}),
        _json("tokenizer_config.json", {"eos_token": "<|im_end|>"}),
        HubFile("pytorch_model.bin", b"pytorch duplicate", lfs=True),
        HubFile("original/consolidated.00.pth", b"meta checkpoint", lfs=True),
        HubFile("README.md", b"# tiny\n"),
        HubFile("modeling_tiny.py", b"# custom code\n"),
    ]
    return CatalogueModel(model_id, tuple(files), **options)


def pytorch_only_model(model_id: str = "tests/pytorch-only") -> CatalogueModel:
    files = (_json("config.json", TINY_CONFIG), HubFile("pytorch_model.bin", b"weights", lfs=True))
    return CatalogueModel(model_id, files)


def catalogue(*models: CatalogueModel, builtin: bool = True) -> dict[str, CatalogueModel]:
    found = dict(builtin_catalogue()) if builtin else {}
    found.update({model.model_id: model for model in models})
    return found


Filter = Callable[[Request, Response], Response]


@contextmanager
def serve_hub(models: dict[str, CatalogueModel], response_filter: Filter | None = None) -> Iterator[str]:
    """Serve the Hub for `models` on a free port; yields its endpoint URL (HfApi(endpoint=...), HF_ENDPOINT)."""
    hub = EmulatedHub(models)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = hub.answer(request, prefix="")
        if response_filter is not None:
            response = response_filter(request, response)
        return response(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
