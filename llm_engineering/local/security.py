"""What SageMaker does with a model's security settings, as the emulator does it.

An isolated model (EnableNetworkIsolation) whose container should download HF_MODEL_ID from the Hub cannot
reach it: the container fails to start, as any container without network fails a download. The log line is
the emulator's (huggingface_hub's own wording for an unreachable host was not verified).

CreateEndpointConfig takes a KmsKeyId on every instance type: on those with local NVMe storage the key "does not
encrypt instance local storage" (SageMaker API reference, CreateEndpointConfig `KmsKeyId`, as botocore 1.43.27
and later word it; the older text, that the call fails for such types, is gone), so the emulator keeps the key
and refuses nothing.
"""

from __future__ import annotations

from typing import Any

ISOLATED: set[tuple[str, str, str]] = set()
"""(account, region, model name) of the models created with EnableNetworkIsolation: moto drops the flag."""


def note_isolation(account: str, region: str, params: dict[str, Any]) -> None:
    """CreateModel's EnableNetworkIsolation, kept for the model's containers (a re-created model replaces it)."""
    key = (account, region, str(params.get("ModelName")))
    if params.get("EnableNetworkIsolation"):
        ISOLATED.add(key)
    else:
        ISOLATED.discard(key)


def described_model(account: str, region: str, answer: dict[str, Any]) -> dict[str, Any]:
    """DescribeModel as SageMaker answers it: `EnableNetworkIsolation` as the model was created (moto says False)."""
    return {**answer, "EnableNetworkIsolation": (account, region, answer.get("ModelName", "")) in ISOLATED}


def isolated_from_the_hub(account: str, region: str, model: Any, has_model_data: bool) -> list[str] | None:
    """The container's last log lines when network isolation keeps it from the Hub; None when it can start."""
    if (account, region, model.model_name) not in ISOLATED or has_model_data:
        return None
    model_id = ((model.primary_container or {}).get("Environment") or {}).get("HF_MODEL_ID", "")
    if not model_id or model_id.startswith("/"):
        return None
    return [
        f"Downloading {model_id} from https://huggingface.co",
        "Error: Could not reach huggingface.co: the container runs with network isolation (no network at all); "
        "load the weights from S3 (ModelDataSource) instead.",
    ]
