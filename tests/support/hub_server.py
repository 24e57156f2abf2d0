"""The one Hugging Face Hub of the tests: the emulator's (`llm_engineering.local.hub.EmulatedHub`) on 127.0.0.1,
with any catalogue, every request recorded, optionally a set of tokens it knows (any other is refused as invalid,
as huggingface.co refuses a revoked one) and a filter on its answers; `hub_model` builds a model from what
preflight reads (parameter counts, config, gating), `tiny_model` one with files `make stage-model` must keep,
skip, refuse and check.

Status codes and the X-Error-Code / X-Error-Message headers follow the real Hub, so huggingface_hub raises its own
errors (GatedRepoError, RepositoryNotFoundError, ...) exactly as it would against huggingface.co."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from llm_engineering.local.hub import INVALID_TOKEN, EmulatedHub
from llm_engineering.local.hub_catalogue import CatalogueModel, HubFile, builtin_catalogue, safetensors_file
from llm_engineering.local.safetensors_files import Tensor

MiB = 1024 * 1024
LLAMA_8B_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}
QWEN_7B_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 3584,
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "vocab_size": 152064,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}
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


def hub_model(
    model_id: str,
    parameters: dict[str, int] | None = None,
    config: dict[str, Any] | None = None,
    gated: str | None = None,
    private: bool = False,
    pipeline_tag: str | None = "text-generation",
    readers: Iterable[str] = (),
) -> CatalogueModel:
    """A model as preflight sees it: its safetensors parameter counts, its config.json (none: the Hub has no
    such file), its gating, and the tokens allowed to read it when gated or private."""
    files = (_json("config.json", config),) if config is not None else ()
    return CatalogueModel(
        model_id,
        files,
        gated=gated,
        private=private,
        pipeline_tag=pipeline_tag,
        readers=frozenset(readers),
        parameters=parameters,
    )


Filter = Callable[[Request, Response], Response]


@dataclass
class HubRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


class HubServer:
    """`start()`, then `add()` models; `requests` (`paths()`) records what huggingface_hub asked of the model API
    and files. With `tokens` (a set), only those tokens and the readers of added models are valid."""

    def __init__(
        self,
        models: dict[str, CatalogueModel] | None = None,
        tokens: set[str] | None = None,
        response_filter: Filter | None = None,
    ) -> None:
        self.hub = EmulatedHub(models or {})
        self.tokens = tokens
        self.response_filter = response_filter
        self.requests: list[HubRequest] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def add(self, model: CatalogueModel) -> CatalogueModel:
        self.hub.catalogue[model.model_id] = model
        if self.tokens is not None:
            self.tokens.update(model.readers)
        return model

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def start(self) -> HubServer:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = unquote(request.path)
        authorization = request.headers.get("Authorization")
        if path.startswith("/api/models/") or "/resolve/" in path:  # not huggingface_hub's own registry fetches
            self.requests.append(
                HubRequest(request.method, path, parse_qs(request.query_string.decode()), authorization)
            )
        token = authorization.removeprefix("Bearer ").strip() if authorization else None
        if self.tokens is not None and token is not None and token not in self.tokens:
            body = json.dumps({"error": INVALID_TOKEN}).encode()
            response = Response(body, 401, {"X-Error-Message": INVALID_TOKEN}, content_type="application/json")
        else:
            response = self.hub.answer(request, prefix="")
        if self.response_filter is not None:
            response = self.response_filter(request, response)
        return response(environ, start_response)


@contextmanager
def serve_hub(models: dict[str, CatalogueModel], response_filter: Filter | None = None) -> Iterator[str]:
    """Serve the Hub for `models` on a free port; yields its endpoint URL (HfApi(endpoint=...), HF_ENDPOINT)."""
    server = HubServer(models, response_filter=response_filter).start()
    try:
        yield server.url
    finally:
        server.stop()
