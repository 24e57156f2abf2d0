"""The emulated Hugging Face Hub, served by the emulator under `/_hub`: `HF_ENDPOINT=<emulator>/_hub`.

It answers what huggingface_hub 2.x asks a Hub mirror, for the catalogue of `hub_catalogue`:
- `GET /api/models/<id>` and `/api/models/<id>/revision/<rev>`: model info (`sha`, `gated`, `private`,
  `pipeline_tag`, `safetensors` counts, `siblings`; with `blobs=true` their sizes, blob ids and LFS sha256;
  `expand[]` narrows the answer as on the Hub);
- `GET /api/models/<id>/auth-check`: may the token in use read the files;
- `GET|HEAD /<id>/resolve/<rev>/<path>`: the file, with `X-Repo-Commit`, `ETag` (the git blob id; for
  LFS files their sha256, also as `X-Linked-Etag`, with `X-Linked-Size`) and `Content-Length`; `Range`
  requests are honoured. The real Hub redirects LFS downloads to its CDN on another host; here the bytes
  come from the same answer, which huggingface_hub accepts alike (a same-host redirect it would follow).
Refusals use the Hub's status codes and `X-Error-Code` / `X-Error-Message` headers (RepoNotFound,
GatedRepo, RevisionNotFound, EntryNotFound), so huggingface_hub raises its own error classes. Wordings
follow what huggingface_hub's tests and the Hub's answers show; they were not all verifiable verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from llm_engineering.local.hub_catalogue import CatalogueModel, HubFile, builtin_catalogue

PREFIX = "/_hub"
LAST_MODIFIED = "2024-09-25T14:32:00.000Z"
INVALID_TOKEN = "Invalid credentials in Authorization header"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class HubRefusal(Exception):
    """An error answer: status, the Hub's error code and message."""

    def __init__(self, status: int, code: str | None, message: str, commit: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.commit = status, code, message, commit


def _answer(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", headers=dict(headers or {}))


def _refusal(error: HubRefusal) -> Response:
    headers = {"X-Error-Message": error.message}
    if error.code:
        headers["X-Error-Code"] = error.code
    if error.commit:
        headers["X-Repo-Commit"] = error.commit
    return _answer(error.status, {"error": error.message}, headers)


class EmulatedHub:
    """The Hub's answers for a catalogue (default: the built-in one)."""

    def __init__(self, catalogue: Mapping[str, CatalogueModel] | None = None) -> None:
        self.catalogue = dict(catalogue) if catalogue is not None else builtin_catalogue()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Serve the Hub at the root of a WSGI server (tests); the emulator mounts it under PREFIX."""
        return self.answer(Request(environ), prefix="")(environ, start_response)

    def answer(self, request: Request, prefix: str = PREFIX) -> Response:
        path = unquote(request.path).removeprefix(prefix)
        try:
            token = _token(request.headers.get("Authorization"))
            if path.startswith("/api/models/") and request.method in ("GET", "HEAD"):
                return self._api(request, path.removeprefix("/api/models/"), token)
            if "/resolve/" in path and request.method in ("GET", "HEAD"):
                return self._resolve(request, path.strip("/"), token)
        except HubRefusal as error:
            return _refusal(error)
        return _answer(404, {"error": "Sorry, we can't find the page you are looking for."})

    # --- model info and auth-check ----------------------------------------------------------------------
    def _model(self, model_id: str, token: str | None) -> CatalogueModel:
        model = self.catalogue.get(model_id)
        if model is None or (model.private and token not in model.readers):
            raise HubRefusal(401, "RepoNotFound", "Repository not found")
        return model

    @staticmethod
    def _check_revision(model: CatalogueModel, revision: str) -> None:
        if revision not in ("main", model.commit):
            raise HubRefusal(404, "RevisionNotFound", f"Invalid rev id: {revision}")

    @staticmethod
    def _check_gate(model: CatalogueModel, token: str | None) -> None:
        if not model.gated or token in model.readers:
            return
        if token is None:
            raise HubRefusal(
                401,
                "GatedRepo",
                f"Access to model {model.model_id} is restricted. You must have access to it and be authenticated "
                "to access it. Please log in.",
            )
        raise HubRefusal(
            403,
            "GatedRepo",
            f"Access to model {model.model_id} is restricted and you are not in the authorized list. Visit "
            f"https://huggingface.co/{model.model_id} to ask for access.",
        )

    def _api(self, request: Request, rest: str, token: str | None) -> Response:
        auth_check = rest.endswith("/auth-check")
        model_id, _, revision = rest.removesuffix("/auth-check").partition("/revision/")
        model = self._model(model_id, token)
        if revision:
            self._check_revision(model, revision)
        if auth_check:
            self._check_gate(model, token)
            return _answer(200, {})
        blobs = request.args.get("blobs", "").lower() in ("1", "true")
        expand = request.args.getlist("expand") or request.args.getlist("expand[]")
        return _answer(200, model_info(model, blobs=blobs, expand=expand))

    # --- files ------------------------------------------------------------------------------------------
    def _resolve(self, request: Request, path: str, token: str | None) -> Response:
        model_id, _, rest = path.partition("/resolve/")
        revision, _, name = rest.partition("/")
        model = self._model(model_id, token)
        self._check_gate(model, token)
        self._check_revision(model, revision)
        found = model.file(name)
        if found is None:
            raise HubRefusal(404, "EntryNotFound", f'{name} does not exist on "{revision}"', commit=model.commit)
        headers = {"X-Repo-Commit": model.commit}
        if found.lfs:  # the Hub's headers for an LFS object: its sha256 and size beside the pointer's
            headers.update({"X-Linked-Etag": f'"{found.sha256}"', "X-Linked-Size": str(found.size)})
            return _content(request, found, f'"{found.sha256}"', headers)
        return _content(request, found, f'"{found.blob_id}"', headers)


def _token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    token = authorization.removeprefix("Bearer ").strip()
    if not token.startswith("hf_"):
        raise HubRefusal(401, None, INVALID_TOKEN)
    return token


def _content(request: Request, found: HubFile, etag: str, headers: dict[str, str]) -> Response:
    """The file's bytes (all, or the requested range), with the headers a download checks."""
    data = found.content
    status = 200
    headers = {**headers, "ETag": etag, "Accept-Ranges": "bytes"}
    match = _RANGE.match(request.headers.get("Range", ""))
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        start = int(first) if first else max(0, len(data) - int(last))
        end = min(int(last), len(data) - 1) if first and last else len(data) - 1
        if start >= len(data) or start > end:
            return Response(b"", status=416, headers={"Content-Range": f"bytes */{len(data)}"})
        data, status = data[start : end + 1], 206
        headers["Content-Range"] = f"bytes {start}-{end}/{found.size}"
    response = Response(data, status=status, content_type="application/octet-stream", headers=headers)
    response.headers["Content-Length"] = str(len(data))
    return response


def model_info(model: CatalogueModel, *, blobs: bool = False, expand: list[str] | None = None) -> dict[str, Any]:
    """The Hub's `/api/models/<id>` answer for `model`."""
    siblings = []
    for item in model.files:
        sibling: dict[str, Any] = {"rfilename": item.name}
        if blobs:
            sibling.update({"size": item.size, "blobId": item.blob_id})
            if item.lfs:
                sibling["lfs"] = {"size": item.size, "sha256": item.sha256, "pointerSize": len(item.lfs_pointer)}
        siblings.append(sibling)
    config = model.config or {}
    body: dict[str, Any] = {
        "_id": f"emulated-{model.commit[:24]}",
        "id": model.model_id,
        "modelId": model.model_id,
        "author": model.model_id.split("/")[0] if "/" in model.model_id else None,
        "sha": model.commit,
        "lastModified": LAST_MODIFIED,
        "private": model.private,
        "disabled": False,
        "gated": model.gated or False,
        "library_name": "transformers",
        "tags": ["transformers", "safetensors", *filter(None, [config.get("model_type"), model.pipeline_tag])],
        "config": {key: config[key] for key in ("architectures", "model_type") if key in config},
        "siblings": siblings,
        "usedStorage": sum(item.size for item in model.files),
    }
    if model.pipeline_tag:
        body["pipeline_tag"] = model.pipeline_tag
    if model.parameters:
        body["safetensors"] = {"parameters": dict(model.parameters), "total": sum(model.parameters.values())}
    if expand:
        return {key: value for key, value in body.items() if key in {"_id", "id", *expand}}
    return body
