"""The request log: one line per AWS request the emulator answers (service, operation, resource, status, time).

`python -m llm_engineering.local --log-requests` prints it, so a user sees exactly what the tool does to an
account; `benchmarks/aws_calls.py` counts it. The request is read once here (its body rewound for whoever
answers it): the operation comes from the JSON target, the query `Action`, or the REST path matched against
botocore's service model, and the resource from the request's own name members.
"""

from __future__ import annotations

import functools
import io
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from botocore.exceptions import UnknownServiceError
from werkzeug.wrappers import Request
from werkzeug.wsgi import ClosingIterator

from llm_engineering.local.protocol import service_model, signing_scope

RESOURCE_KEYS = (
    "InferenceComponentName",
    "EndpointName",
    "EndpointConfigName",
    "ModelName",
    "ResourceArn",
    "ResourceId",
    "RoleName",
    "UserName",
    "GroupName",
    "PolicySourceArn",
    "PolicyArn",
    "PolicyName",
    "logGroupName",
    "QuotaCode",
    "Name",
    "Bucket",
    "KeyId",
)
"""Request members that name what a request acts on, most specific first (CreateInferenceComponent also names
its endpoint; the component is what it creates)."""

MODEL_NAMES = {"servicequotas": "service-quotas", "monitoring": "cloudwatch", "execute-api": "apigateway"}
"""Signing names whose botocore service model is named differently."""


@dataclass(frozen=True)
class RequestRecord:
    """One answered request."""

    service: str
    operation: str
    resource: str
    status: int
    milliseconds: float

    def line(self) -> str:
        return (
            f"{self.service:<22} {self.operation:<40} {self.resource or '-':<56} {self.status} "
            f"{self.milliseconds:6.1f} ms"
        )


RequestLog = Callable[[RequestRecord], None]


def short_name(value: str) -> str:
    """An ARN as its resource part (`endpoint/name`); any other name as is."""
    parts = value.split(":", 5)
    return parts[5] if value.startswith("arn:") and len(parts) == 6 else value


def _resource(params: dict[str, Any]) -> str:
    for key in RESOURCE_KEYS:
        value = params.get(key)
        if isinstance(value, str) and value:
            return short_name(value)
    return ""


@functools.cache
def _routes(model_name: str) -> list[tuple[str, re.Pattern[str], int, str]]:
    """(method, path pattern, literal length, operation) of a REST service's operations."""
    try:
        model = service_model(model_name)
    except UnknownServiceError:
        return []
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http.get("requestUri", "/").split("?", 1)[0]
        pattern = re.sub(
            r"\\\{(\w+)(\\\+)?\\\}",
            lambda match: f"(?P<{match.group(1)}>.+)" if match.group(2) else f"(?P<{match.group(1)}>[^/]+)",
            re.escape(path),
        )
        literal = len(re.sub(r"\{[^}]+\}", "", path))
        routes.append((http.get("method", "POST"), re.compile(pattern + "/?"), literal, name))
    return sorted(routes, key=lambda route: -route[2])


def _rest_operation(model_name: str, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route_method, pattern, _, name in _routes(model_name):
        match = pattern.fullmatch(path)
        if route_method == method and match:
            return name, {key: unquote(value) for key, value in match.groupdict().items()}
    return None


def identify(request: Request) -> tuple[str, str, str] | None:
    """(service, operation, resource) of a signed AWS request, None for anything else; the body is rewound."""
    scope = signing_scope(request.headers.get("Authorization"))
    if scope is None:
        return None
    service = scope[2]
    data = request.get_data()
    request.environ["wsgi.input"] = io.BytesIO(data)
    request.environ["CONTENT_LENGTH"] = str(len(data))
    target = request.headers.get("X-Amz-Target", "")
    if target:
        try:
            params = json.loads(data or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            params = {}
        return service, target.rsplit(".", 1)[-1], _resource(params if isinstance(params, dict) else {})
    if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        form = {key: values[0] for key, values in parse_qs(data.decode("utf-8", "replace")).items()}
        return service, form.get("Action", "?"), _resource(form)
    model_name = "sagemaker-runtime" if service == "sagemaker" else MODEL_NAMES.get(service, service)
    found = _rest_operation(model_name, request.method, request.path)
    if found is None:
        return service, f"{request.method} {request.path}", ""
    operation, params = found
    return ("sagemaker-runtime" if service == "sagemaker" else service), operation, _resource(params)


def logged(
    app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]],
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    log: RequestLog,
) -> Iterable[bytes]:
    """Serve through `app`, then record the request once its answer has been sent (streams included)."""
    started = time.perf_counter()
    identity = identify(Request(environ))
    if identity is None:
        return app(environ, start_response)
    status: list[int] = []

    def recording(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(int(status_line.split(" ", 1)[0]))
        return start_response(status_line, headers, exc_info)

    def record() -> None:
        elapsed = (time.perf_counter() - started) * 1000
        log(RequestRecord(*identity, status[-1] if status else 0, elapsed))

    return ClosingIterator(app(environ, recording), [record])
