"""A small Hugging Face Hub on 127.0.0.1: the model-info, auth-check and file-resolve answers preflight reads.

Status codes and the X-Error-Code / X-Error-Message headers follow the real Hub, so huggingface_hub raises
its own errors (GatedRepoError, RepositoryNotFoundError, ...) exactly as it would against huggingface.co.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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


@dataclass
class FakeModel:
    model_id: str
    parameters: dict[str, int] | None = None
    config: dict[str, Any] | None = None
    gated: str | None = None
    private: bool = False
    pipeline_tag: str | None = "text-generation"
    readers: set[str] = field(default_factory=set)
    """Tokens allowed to read a gated or private model."""
    revisions: set[str] = field(default_factory=lambda: {"main"})


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


class FakeHub:
    """Start with `start()`; add models with `add()`; `requests` records what huggingface_hub asked."""

    def __init__(self) -> None:
        self.models: dict[str, FakeModel] = {}
        self.tokens: set[str] = set()
        """Tokens the Hub knows; any other bearer token is refused as invalid."""
        self.requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, model: FakeModel) -> FakeModel:
        self.models[model.model_id] = model
        self.tokens.update(model.readers)
        return model

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hub._handle(self)

            def do_HEAD(self) -> None:
                hub._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    # --- answers ------------------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = unquote(parts.path)
        authorization = handler.headers.get("Authorization")
        if not (path.startswith("/api/models/") or "/resolve/" in path):
            # huggingface_hub's own once-a-day registry fetch, say: not a request preflight makes.
            return self._send(handler, 404, {"error": "not found"})
        self.requests.append(Request(handler.command, path, parse_qs(parts.query), authorization))
        token = authorization.removeprefix("Bearer ") if authorization else None
        if token is not None and token not in self.tokens:
            return self._send(
                handler,
                401,
                {"error": "Invalid credentials in Authorization header"},
                {"X-Error-Message": "Invalid credentials in Authorization header"},
            )
        if path.startswith("/api/models/"):
            return self._api(handler, path.removeprefix("/api/models/"), parse_qs(parts.query), token)
        model_id, _, rest = path.strip("/").partition("/resolve/")
        revision, _, filename = rest.partition("/")
        return self._resolve(handler, model_id, revision, filename, token)

    def _api(self, handler: BaseHTTPRequestHandler, rest: str, query: dict[str, list[str]], token: str | None) -> None:
        auth_check = rest.endswith("/auth-check")
        rest = rest.removesuffix("/auth-check")
        model_id, _, revision = rest.partition("/revision/")
        model = self.models.get(model_id)
        if model is None or (model.private and token not in model.readers):
            return self._repo_not_found(handler)
        if revision and revision not in model.revisions:
            return self._send(
                handler,
                404,
                {"error": f"Invalid rev id: {revision}"},
                {"X-Error-Code": "RevisionNotFound", "X-Error-Message": f"Invalid rev id: {revision}"},
            )
        if auth_check:
            if model.gated and token not in model.readers:
                return self._gated(handler, model, token)
            return self._send(handler, 200, {})
        body: dict[str, Any] = {
            "_id": f"id-{model_id}",
            "id": model_id,
            "gated": model.gated or False,
            "private": model.private,
        }
        if model.pipeline_tag:
            body["pipeline_tag"] = model.pipeline_tag
        if model.parameters:
            body["safetensors"] = {"parameters": model.parameters, "total": sum(model.parameters.values())}
        return self._send(handler, 200, body)

    def _resolve(
        self, handler: BaseHTTPRequestHandler, model_id: str, revision: str, filename: str, token: str | None
    ) -> None:
        model = self.models.get(model_id)
        if model is None or (model.private and token not in model.readers):
            return self._repo_not_found(handler)
        if model.gated and token not in model.readers:
            return self._gated(handler, model, token)
        if revision not in model.revisions:
            return self._send(handler, 404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"})
        if filename != "config.json" or model.config is None:
            return self._send(
                handler,
                404,
                {"error": "Entry not found"},
                {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found"},
            )
        return self._send(handler, 200, model.config)

    def _repo_not_found(self, handler: BaseHTTPRequestHandler) -> None:
        message = "Repository not found"
        self._send(handler, 401, {"error": message}, {"X-Error-Code": "RepoNotFound", "X-Error-Message": message})

    def _gated(self, handler: BaseHTTPRequestHandler, model: FakeModel, token: str | None) -> None:
        if token is None:
            status = 401
            message = (
                f"Access to model {model.model_id} is restricted. You must have access to it and be "
                "authenticated to access it. Please log in."
            )
        else:
            status = 403
            message = (
                f"Access to model {model.model_id} is restricted and you are not in the authorized list. "
                f"Visit https://huggingface.co/{model.model_id} to ask for access."
            )
        self._send(handler, status, {"error": message}, {"X-Error-Code": "GatedRepo", "X-Error-Message": message})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)
