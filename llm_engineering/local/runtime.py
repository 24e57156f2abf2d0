"""SageMaker runtime: InvokeEndpoint and InvokeEndpointWithResponseStream in front of the emulated container.

It refuses what SageMaker refuses (unknown or not-InService endpoint, missing or unknown inference
component), finds the model behind the endpoint or component, runs the emulated container of its image (TGI,
vLLM or SGLang: `local.engines`) with that model's environment, and frames the answer as SageMaker does: the
body as is, a container error as `ModelError` (424), or a stream of `PayloadPart` events whose boundaries
ignore the server-sent events.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Response

from llm_engineering.local import autoscaling, container_logs, engines, eventstream, metrics, timing
from llm_engineering.local.container import ContainerReply
from llm_engineering.local.faults import CURRENT
from llm_engineering.local.protocol import AwsError
from llm_engineering.local.records import model_environment
from llm_engineering.local.sagemaker import SageMakerExtensionBackend

COMPONENT_HEADER_REQUIRED = (
    "Inference Component Name header is required for endpoints to which you plan to deploy inference components. "
    "Please include Inference Component Name header or consider using SageMaker models."
)
SERVING_STATES = {"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"}
"""Endpoint states that answer invocations. Updating keeps the old fleet serving (blue/green) and
UpdateRollbackFailed is "in service with a mix" (both documented); that SystemUpdating and RollingBack serve
is not documented (the old fleet is still there during both). OutOfService is "not available to take
incoming requests"."""
COMPONENT_SERVING_STATES = {"InService", "Updating"}


def validation_error(message: str) -> AwsError:
    """The runtime's ValidationError (its code differs from the control plane's ValidationException)."""
    return AwsError("ValidationError", message)


def invoke(
    backend: SageMakerExtensionBackend,
    endpoint_name: str,
    component_name: str | None,
    body: bytes,
    *,
    stream: bool,
) -> Response:
    """Answer one invocation (`stream` selects InvokeEndpointWithResponseStream)."""
    variant, model, log_group = _target(backend, endpoint_name, component_name)
    environment = model_environment(model)
    config = CURRENT.config
    image = (model.primary_container or {}).get("Image")
    pacing = _pacing(backend, endpoint_name, component_name, image, model, environment) if config.timing_model else None
    container = engines.container(
        image, environment, model.model_name, token_delay=config.token_delay_seconds, pacing=pacing
    )
    measured = metrics.Invocation(
        backend.account_id, backend.region_name, metrics.dimensions_of(endpoint_name, variant, component_name)
    )
    measured.start_model()
    reply = container.invoke(body)
    if reply.status != 200:
        error = _model_error(backend, reply, log_group)
        measured.finish(reply.status)
        raise error
    headers = {"x-Amzn-Invoked-Production-Variant": variant}
    # Not SageMaker's: says the answer came from the emulator, and how it was timed (see local.timing).
    headers[timing.TIMING_HEADER] = "roofline" if pacing is not None else "fixed-delay"
    headers[timing.SCALE_HEADER] = f"{config.time_scale:g}" if pacing is not None else "1"
    if not stream:
        answer = reply.read()
        measured.finish(200)
        return Response(answer, status=200, content_type=reply.content_type, headers=headers)
    headers["X-Amzn-SageMaker-Content-Type"] = reply.content_type
    parts = _payload_parts(
        measured.measured(reply.chunks, 200),
        config.stream_chunk_sizes,
        config.stream_error_after_tokens,
        config.stream_error,
        flush=pacing is not None,
    )
    return Response(parts, status=200, content_type=eventstream.CONTENT_TYPE, headers=headers, direct_passthrough=True)


STREAM_ERRORS = {
    "ModelStreamError": ("The TCP connection between the client and the model was reset or closed.", "StreamBroken"),
    "InternalStreamFailure": (
        "The stream processing failed because of an unknown error, exception or failure. Try your request again.",
        None,
    ),
}


def _payload_parts(
    chunks: Iterator[bytes], sizes: list[int], break_after: int | None, error: str, *, flush: bool = False
) -> Iterator[bytes]:
    """PayloadPart events of the container's bytes; with `break_after`, the stream breaks after that many events
    (an error event, or for the connection faults an early end, half a message, or bytes that are not framing).
    `flush` sends what a token left over at once instead of holding it for the next chunk, so timed tokens arrive
    when they are produced (SageMaker forwards bytes as they come)."""
    if break_after is not None:
        chunks = itertools.islice(chunks, break_after)
    if error == "NotEventStream" and break_after is not None:
        yield from chunks  # the server-sent events without their event-stream messages around them
        return
    for piece in eventstream.rechunk(chunks, sizes, flush=flush):
        yield eventstream.payload_part(piece)
    if break_after is None or error == "Truncated":
        return
    if error == "CutMidFrame":
        yield eventstream.payload_part(b"data: never finished")[:20]
        return
    message, code = STREAM_ERRORS[error]
    yield eventstream.stream_exception(error, message, code)


def _pacing(
    backend: SageMakerExtensionBackend,
    endpoint_name: str,
    component_name: str | None,
    image: str | None,
    model: Any,
    environment: dict[str, str],
) -> timing.Pacing | None:
    """The timing model of what this invocation reaches: its instance type, GPUs per copy and copies."""
    state = backend.endpoint_state(endpoint_name)
    config = backend.moto.endpoint_configs.get(state.config_name)
    if config is None:
        return None
    component = backend.components.get(component_name) if component_name else None
    variant_name = component.variant_name if component else None
    variant = next(
        (item for item in config.production_variants if variant_name in (None, item.get("VariantName"))), None
    )
    if variant is None:
        return None
    instance_type = variant.get("InstanceType", "")
    instances = int(variant.get("InitialInstanceCount") or 1)
    if component is not None:
        needs = (component.specification or {}).get("ComputeResourceRequirements") or {}
        gpus = int(float(needs.get("NumberOfAcceleratorDevicesRequired") or 1))
        copies, key = component.copy_count, f"component/{component.name}"
    else:
        gpus, copies, key = timing.gpus_of(environment, 1), instances, f"endpoint/{endpoint_name}"
    model_id = engines.model_id_of(image, environment, model.model_name)
    if model_id.startswith("/"):
        model_id = environment.get("HF_MODEL_ID", model_id)
    scale = CURRENT.config.time_scale
    return timing.pacing_for(key, model_id, environment, instance_type, gpus, copies, scale, engines.kind_of(image))


def _target(backend: SageMakerExtensionBackend, endpoint_name: str, component_name: str | None) -> tuple[str, Any, str]:
    """(variant name, model, log group) of what this invocation reaches, or SageMaker's refusal."""
    not_found = validation_error(f"Endpoint {endpoint_name} of account {backend.account_id} not found.")
    fake = backend.moto.endpoints.get(endpoint_name)
    if fake is None:
        raise not_found
    state = backend.endpoint_state(endpoint_name)
    if state.status not in SERVING_STATES:
        raise not_found
    config = backend.moto.endpoint_configs.get(state.config_name)
    if config is None:
        raise not_found
    if any("ModelName" not in variant for variant in config.production_variants):
        if not component_name:
            raise validation_error(COMPONENT_HEADER_REQUIRED)
        component = backend.components.get(component_name)
        if (
            component is None
            or component.endpoint_name != endpoint_name
            or component.status not in COMPONENT_SERVING_STATES
        ):
            raise validation_error(f"Inference Component {component_name} not found.")
        model = backend.moto._models.get(component.served_model or "")
        if model is None:
            raise validation_error(f"Inference Component {component_name} not found.")
        # autoscaling: a component scaled to zero refuses, and CloudWatch counts it (`local.autoscaling`)
        autoscaling.refuse_without_capacity(backend.account_id, backend.region_name, component)
        return component.variant_name, model, container_logs.component_log_group(component_name)
    if component_name:
        raise validation_error(f"Inference Component {component_name} not found.")
    variant = config.production_variants[0]
    model = backend.moto._models.get(variant["ModelName"])
    if model is None:
        raise not_found
    return variant["VariantName"], model, container_logs.endpoint_log_group(endpoint_name)


def _model_error(backend: SageMakerExtensionBackend, reply: ContainerReply, log_group: str) -> AwsError:
    """SageMaker's wrapping of a container error answer: ModelError, HTTP 424, with the container's body."""
    original = reply.read().decode("utf-8", errors="replace")
    region, account = backend.region_name, backend.account_id
    log_url = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group={log_group}"
    )
    kind = "client" if 400 <= reply.status < 500 else "server"
    message = (
        f'Received {kind} error ({reply.status}) from primary with message "{original}". '
        f"See {log_url} in account {account} for more information."
    )
    fields = {
        "OriginalStatusCode": reply.status,
        "OriginalMessage": original,
        "LogStreamArn": f"arn:aws:logs:{region}:{account}:log-group:{log_group}",
    }
    return AwsError("ModelError", message, status=424, fields=fields)
