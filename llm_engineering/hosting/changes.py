"""What a redeploy would change in what the deployment serves, compared field by field with what SageMaker
describes: the model, the endpoint config (model-based) or the component's specification and copies.

Only what this tool sends is compared: AWS adds defaults of its own to its answers (`Mode`,
`InitialVariantWeight`), and a member this tool sends only sometimes (`OPTIONAL`) counts as changed when the
running resource has it and the new request has not. Names, tags and the sizes a scaler owns are left out.
No change means only the autoscaling differs: deploy then updates it in place (no new model, no downtime).
Environment variables are named, never shown: one of them may be the Hugging Face token.
"""

from __future__ import annotations

from typing import Any

from llm_engineering.redaction import reveal

NOT_COMPARED = frozenset({"ModelName", "EndpointConfigName", "Tags"})
"""Members a new deployment always renames or re-tags."""
OPTIONAL = ("ModelDataSource", "VpcConfig", "EnableNetworkIsolation", "InferenceAmiVersion", "KmsKeyId")
"""Members this tool sends only for some settings: their absence from a new request is a change."""
NOT_READ = "the running model could not be read"


def differences(sent: Any, described: Any, path: str) -> list[str]:
    """The paths under `path` where the request `sent` asks for something other than `described` holds."""
    if isinstance(sent, dict):
        if not isinstance(described, dict):
            return [path]
        if path.endswith("Environment"):  # a variable added or removed changes the container too
            names = sorted(key for key in set(sent) | set(described) if reveal(sent.get(key)) != described.get(key))
            return [f"{path}.{name}" for name in names]
        found = [
            change
            for key, value in sent.items()
            if key not in NOT_COMPARED
            for change in differences(value, described.get(key), f"{path}.{key}")
        ]
        return found + [f"{path}.{key}" for key in OPTIONAL if key not in sent and described.get(key)]
    if isinstance(sent, list):
        if not isinstance(described, list) or len(sent) != len(described):
            return [path]
        return [
            change
            for number, (a, b) in enumerate(zip(sent, described, strict=True))
            for change in differences(a, b, f"{path}[{number}]")
        ]
    return [] if reveal(sent) == described else [path]


def model_changes(create_model: dict[str, Any], running: dict[str, Any] | None) -> list[str]:
    """What CreateModel would change against DescribeModel of the model the deployment runs now."""
    if running is None:
        return [NOT_READ]
    return differences(create_model, running, "model")


def config_changes(create_config: dict[str, Any], running: dict[str, Any]) -> list[str]:
    """What CreateEndpointConfig would change against the endpoint config the endpoint runs."""
    return differences(create_config, running, "endpoint config") if running else ["the endpoint config is gone"]


def component_changes(body: dict[str, Any], running: dict[str, Any]) -> list[str]:
    """What UpdateInferenceComponent's specification and copy count would change on the running component."""
    found = differences(body["Specification"], running.get("Specification", {}), "component specification")
    if "RuntimeConfig" in body:  # only when no scaler owns the copies
        desired = running.get("RuntimeConfig", {}).get("DesiredCopyCount")
        if body["RuntimeConfig"]["CopyCount"] != desired:
            found.append("component copies")
    return found


def describe(changes: list[str]) -> str:
    """The plan's line on what changes (at most six paths; the rest counted)."""
    shown = ", ".join(changes[:6])
    return shown + (f" and {len(changes) - 6} more" if len(changes) > 6 else "")
