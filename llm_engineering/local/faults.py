"""What the emulator gets wrong on purpose, and how slowly: the failure-injection configuration.

One validated object, set at start (flags, a JSON file, or the `LLM_ENGINEERING_EMULATOR_CONFIG`
environment variable holding JSON) and changed at run time by merging JSON posted to
`/_emulator/config`. Faults are data, so a test or a demo can say "this model runs out of GPU memory" or
"this account has no g5 quota" without touching the code paths that real AWS would exercise.
"""

from __future__ import annotations

import fnmatch
import json
import random
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llm_engineering.errors import ConfigurationError

CONFIG_VARIABLE = "LLM_ENGINEERING_EMULATOR_CONFIG"
"""Environment variable with the start configuration as JSON."""

FailureKind = Literal["oom", "gated", "timeout", "kv-cache", "unsupported-model"]
"""How a container fails its health check: GPU out of memory, gated model without token, slow download, a KV
cache too small for one full-length sequence (vLLM's and SGLang's refusal), an architecture the engine lacks."""
StreamErrorKind = Literal["ModelStreamError", "InternalStreamFailure", "Truncated", "CutMidFrame", "NotEventStream"]
"""How a broken stream ends: with one of the error events SageMaker sends mid-stream, or the way a lost or
tampered connection looks to the client: `Truncated` (the body just ends, no final event), `CutMidFrame` (it
ends inside an event-stream message), `NotEventStream` (bytes without event-stream framing, as a proxy that
rewrites the body would send)."""
InjectedState = Literal["SystemUpdating", "RollingBack", "OutOfService", "UpdateRollbackFailed"]
"""Endpoint states SageMaker enters on its own, never as the answer to a request of the tool."""


class EmulatorConfigError(ConfigurationError):
    """The emulator's configuration (flags, file, environment or posted JSON) is invalid."""


class EmulatorConfig(BaseModel):
    """Every knob of the emulator. Unknown keys are refused, so a typo never silently disables a fault."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transition_seconds: Annotated[float, Field(ge=0, le=3600)] = 2.0
    """Seconds a resource stays Creating, Updating or Deleting (tests use about 0.2)."""
    token_delay_seconds: Annotated[float, Field(ge=0, le=10)] = 0.02
    """Pause before each streamed token, so streaming looks like streaming."""
    stream_chunk_sizes: Annotated[list[Annotated[int, Field(gt=0)]], Field(min_length=1)] = [64, 300, 16]
    """Byte sizes, used in turn, of the PayloadPart chunks of a response stream: never aligned with events."""
    health_check_failures: dict[str, FailureKind] = {}
    """Pattern (endpoint name, component name or model id; `*` and `?` wildcards) -> how its container fails.

    An inference-component endpoint runs no model container itself: there its components fail instead."""
    quotas: dict[str, Annotated[int, Field(ge=0)]] = {}
    """Instance type -> account quota `<type> for endpoint usage`, in instances."""
    default_quota: Annotated[int, Field(ge=0)] = 2
    """Quota of every instance type missing from `quotas`."""
    throttle_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Fraction of SageMaker control-plane and runtime calls answered with ThrottlingException."""
    throttle_seed: int = 0
    """Seed of the throttling draw, so a run is repeatable."""
    stream_error_after_tokens: Annotated[int, Field(ge=0)] | None = None
    """Break every response stream after this many token events with `stream_error` (unset: never)."""
    stream_error: StreamErrorKind = "ModelStreamError"
    """How a broken stream ends (see `StreamErrorKind`)."""
    endpoint_states: dict[str, InjectedState] = {}
    """Endpoint name pattern (`*` and `?` wildcards) -> a state SageMaker puts an InService endpoint in by itself,
    once per endpoint: `SystemUpdating` (maintenance) and `RollingBack` (a failed capacity change) last
    transition_seconds and return to InService; `OutOfService` and `UpdateRollbackFailed` stay until deleted."""
    timing_model: bool = False
    """Pace streamed answers by the deployed model and instance (`local.timing`: roofline decode, prefill,
    continuous batching, queueing) instead of `token_delay_seconds`."""
    time_scale: Annotated[float, Field(ge=1, le=10_000)] = 1.0
    """With the timing model, run this many times faster than modelled (tests and demos stay fast); the answers
    say the scale in a header so a benchmark reports modelled figures."""
    rollback_failure_reason: bool = True
    """Whether an endpoint back in InService after a rolled-back update keeps a FailureReason (SageMaker may
    leave it empty: then only its EndpointConfigName tells that the update did not happen)."""

    def failure_for(self, *names: str | None) -> FailureKind | None:
        """The failure configured for the first pattern matching any of `names`, else None."""
        candidates = [name for name in names if name]
        for pattern, kind in self.health_check_failures.items():
            if any(fnmatch.fnmatchcase(name, pattern) for name in candidates):
                return kind
        return None

    def injected_state(self, endpoint_name: str) -> tuple[str, InjectedState] | None:
        """(pattern, state) of the first `endpoint_states` pattern matching `endpoint_name`, else None."""
        for pattern, state in self.endpoint_states.items():
            if fnmatch.fnmatchcase(endpoint_name, pattern):
                return pattern, state
        return None

    def quota_for(self, instance_type: str) -> int:
        """The account's quota for `instance_type`, in instances."""
        return self.quotas.get(instance_type, self.default_quota)

    def merged(self, updates: Mapping[str, Any]) -> EmulatorConfig:
        """A copy with `updates` applied key by key (a given key replaces the old value whole)."""
        return parse_config({**self.model_dump(), **updates})


def parse_config(data: Mapping[str, Any] | None) -> EmulatorConfig:
    """Validate a configuration mapping, raising `EmulatorConfigError` with one readable line."""
    if data is not None and not isinstance(data, Mapping):
        raise EmulatorConfigError("The emulator configuration must be a JSON object: fix the JSON.")
    try:
        return EmulatorConfig.model_validate(dict(data or {}))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "configuration"
        message = first.get("msg", "is invalid").removeprefix("Value error, ")
        raise EmulatorConfigError(
            f"Emulator configuration {where}={first.get('input')!r} is invalid: {message}. "
            f"Allowed keys: {', '.join(EmulatorConfig.model_fields)}."
        ) from None


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> EmulatorConfig:
    """The start configuration: the environment variable's JSON, then the file's keys over it."""
    data: dict[str, Any] = {}
    raw = (environ or {}).get(CONFIG_VARIABLE, "").strip()
    if raw:
        data.update(_json_object(raw, f"{CONFIG_VARIABLE}"))
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise EmulatorConfigError(
                f"Cannot read the emulator configuration {path} ({error.strerror}): fix the --config path."
            ) from None
        data.update(_json_object(text, str(path)))
    return parse_config(data)


def _json_object(text: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise EmulatorConfigError(f"{source} is not valid JSON ({error.msg} at line {error.lineno}): fix it.") from None
    if not isinstance(value, dict):
        raise EmulatorConfigError(f"{source} must hold a JSON object of emulator options: fix it.")
    return value


class Throttle:
    """A seeded coin that decides which calls are throttled, repeatable for a given seed and rate."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        """True when this call is to be throttled."""
        if self.rate <= 0:
            return False
        with self._lock:
            return self._random.random() < self.rate


class FaultState:
    """The configuration in force in this process, and the one a reset returns to.

    moto keeps its backends per process, so the emulator's configuration is per process too.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.initial = config or EmulatorConfig()
        self.config = self.initial
        self.throttle = Throttle(self.config.throttle_rate, self.config.throttle_seed)

    def start(self, config: EmulatorConfig) -> None:
        """Make `config` both the current and the reset configuration."""
        with self._lock:
            self.initial = config
            self._apply(config)

    def configure(self, updates: Mapping[str, Any]) -> EmulatorConfig:
        """Merge `updates` into the current configuration (validated first: a bad update changes nothing)."""
        with self._lock:
            config = self.config.merged(updates)
            self._apply(config)
            return config

    def reset(self) -> None:
        """Back to the start configuration, with the throttling draw restarted from its seed."""
        with self._lock:
            self._apply(self.initial)

    def _apply(self, config: EmulatorConfig) -> None:
        self.config = config
        self.throttle = Throttle(config.throttle_rate, config.throttle_seed)


CURRENT = FaultState()
"""The configuration of the emulator running in this process."""
