"""Does the chosen engine implement the model's architecture? Read from config.json's `model_type`.

Only TGI publishes a closed list (it is frozen upstream at 3.3.6): a model released after it may load
through a slower generic fallback or not at all, which a deploy would discover after minutes of paid GPU
time. vLLM and SGLang implement the architectures of their release; that is not knowable offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_engineering.catalogue.engines import Engine
from llm_engineering.preflight.report import CheckResult

CHECK = "Engine support"


def _model_type(config: Mapping[str, Any]) -> str | None:
    value = config.get("model_type")
    return value if isinstance(value, str) and value else None


def check_engine_support(
    engine: Engine, model_id: str, config: Mapping[str, Any] | None, config_note: str | None
) -> CheckResult:
    """ok when the engine lists the model's type (or keeps no list); a warning when TGI does not know it."""
    model_type = _model_type(config) if config else None
    details: dict[str, Any] = {"engine": engine.name, "model_type": model_type}
    if engine.model_types is None:
        known = f"model_type {model_type}" if model_type else "the model's architecture"
        return CheckResult(
            CHECK, "ok", f"{engine.label} implements the architectures of its release ({known})", details=details
        )
    if model_type is None:
        why = config_note or "config.json has no model_type"
        return CheckResult(
            CHECK,
            "warning",
            f"skipped: the model's architecture is unknown ({why})",
            f"check that {engine.label} 3.3.6 supports {model_id}, or set ENGINE=vllm",
            details,
        )
    if model_type in engine.model_types:
        return CheckResult(CHECK, "ok", f"{engine.label} 3.3.6 implements model_type {model_type}", details=details)
    return CheckResult(
        CHECK,
        "warning",
        f"model_type {model_type} of {model_id} is not one of the {len(engine.model_types)} architectures "
        f"{engine.label} 3.3.6 implements (its last release: maintenance mode upstream): it would fall back to a "
        f"slower generic implementation, or fail to start with `Unsupported model type {model_type}`",
        "set ENGINE=vllm (the maintained path, same commands)",
        details,
    )
