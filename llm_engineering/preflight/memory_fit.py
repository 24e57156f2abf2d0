"""The memory-fit row of a preflight: the arithmetic of `hosting.memory` told as ok, thin or blocked, with the
settings that would make the model fit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from llm_engineering.catalogue.instances import GpuInstance
from llm_engineering.hosting.memory import (
    GIB,
    MIN_SEQUENCES,
    Alternative,
    Budget,
    Fit,
    ModelShape,
    Weights,
    copy_memory_bytes,
    fit,
    instance_that_fits,
    max_tokens_for,
    quantization_that_fits,
    weights,
)
from llm_engineering.preflight.report import CheckResult


def _gib(value: int) -> str:
    return f"{value / GIB:.1f} GiB"


CHECK = "Memory fit"


@dataclass(frozen=True)
class _Case:
    """One memory-fit question: the model, where it goes, and the engine's budget."""

    parameters: Mapping[str, int]
    quantize: str | None
    shape: ModelShape | None
    instance: GpuInstance
    gpus_per_copy: int
    max_total_tokens: int
    budget: Budget

    def fit(self, weights_bytes: int, gpus: int | None = None) -> Fit:
        gpus = gpus or self.gpus_per_copy
        return fit(weights_bytes, self.instance, gpus, self.shape, self.max_total_tokens, self.budget)


def _evidence(case: _Case, size: Weights, result: Fit, config_note: str | None) -> str:
    instance, shape = case.instance, case.shape
    gpus = f"{case.gpus_per_copy} x {instance.gpu}" if case.gpus_per_copy > 1 else f"one {instance.gpu}"
    share = ""
    if result.budget < 1:
        name = case.budget.rule.budget_name
        share = f"; {case.budget.label} budgets {name}={result.budget:g}: {_gib(result.budget_bytes)}"
    overhead = "" if result.overhead_in_budget else " (outside that budget)"
    parts = [
        f"{size.size_label} in {size.precision}: weights {_gib(size.bytes)} on {gpus} "
        f"({_gib(result.memory_bytes)}{share}); runtime overhead ~{_gib(result.overhead_bytes)}{overhead}; "
        f"free after both {_gib(result.free_bytes)}"
    ]
    if shape is None:
        why = config_note or "config.json lacks layers / KV heads / head size"
        parts.append(f"KV cache estimate skipped ({why})")
    else:
        kv = (
            f"KV cache {shape.kv_bytes_per_token // 1024} KiB/token, "
            f"{_gib(result.kv_bytes_per_sequence or 0)} per MAX_TOTAL_TOKENS={case.max_total_tokens} sequence"
        )
        parts.append(kv if result.verdict == "too-large" else f"{kv}: room for {result.sequences}")
    return "; ".join(parts)


def _alternatives(case: _Case, size: Weights, table: Iterable[GpuInstance]) -> list[Alternative]:
    """Changes that make the model at least load: all GPUs per copy, a quantization, a larger instance."""
    options: list[Alternative] = []
    instance = case.instance
    if case.gpus_per_copy < instance.gpus:
        all_gpus = case.fit(size.bytes, instance.gpus)
        text = f"GPUS_PER_COPY={instance.gpus} (shard each copy over all {instance.gpus} GPUs)"
        options.append(Alternative(f"GPUS_PER_COPY={instance.gpus}", all_gpus, text))
    quantized = quantization_that_fits(
        case.parameters, case.quantize, case.shape, instance, case.gpus_per_copy, case.max_total_tokens, case.budget
    )
    larger = instance_that_fits(size.bytes, case.shape, case.max_total_tokens, table, case.budget)
    options += [option for option in (quantized, larger) if option is not None]
    return [option for option in options if option.fit.verdict != "too-large"]


def _kv_suggestions(case: _Case, result: Fit, sequences: int) -> list[str]:
    """Lower MAX_TOTAL_TOKENS, or (where the engine budgets less than the whole GPU) a larger budget."""
    suggestions = []
    if case.shape is None:
        return suggestions
    tokens = max_tokens_for(result, case.shape.kv_bytes_per_token, sequences)
    if tokens > 0:
        suggestions.append(f"lower MAX_TOTAL_TOKENS to {tokens} or less (keep MAX_INPUT_TOKENS below it)")
    most = case.budget.rule.max_fraction
    if result.budget < most and (replace(result, budget=most).sequences or 0) >= sequences:
        suggestions.append(f"raise GPU_MEMORY_UTILIZATION to {most:g}")
    return suggestions


def _thin_row(
    case: _Case, evidence: str, result: Fit, options: list[Alternative], details: dict[str, Any]
) -> CheckResult:
    """A model that loads but leaves little room for the KV cache: a warning with the settings that help."""
    suggestions = _kv_suggestions(case, result, MIN_SEQUENCES)
    suggestions += [option.text for option in options if option.fit.verdict == "fits"]
    details["suggestions"] = suggestions
    if case.shape is None:
        thin = "little memory is left for the KV cache"
    elif result.sequences == 0:
        thin = f"not even one full-length request fits, {case.budget.label}'s warm-up would likely fail"
    else:
        thin = f"fewer than {MIN_SEQUENCES} full-length requests fit at once"
    fix = "; or ".join(suggestions) if suggestions else "choose a larger GPU_INSTANCE_TYPE or a smaller model"
    return CheckResult(CHECK, "warning", f"{evidence}: thin headroom, {thin}", fix, details)


def _refused_row(
    case: _Case, evidence: str, result: Fit, options: list[Alternative], details: dict[str, Any]
) -> CheckResult:
    """An engine that will not start unless one full-length sequence fits its KV cache (vLLM)."""
    suggestions = _kv_suggestions(case, result, 1) + [option.text for option in options if option.fit.sequences]
    details["suggestions"] = suggestions
    fix = "; or ".join(suggestions) if suggestions else "choose a larger GPU_INSTANCE_TYPE or a smaller model"
    label = case.budget.label
    return CheckResult(
        CHECK,
        "blocked",
        f"{evidence}: {label} would refuse to start, its KV cache cannot hold one MAX_TOTAL_TOKENS sequence",
        fix,
        details,
    )


def check_memory_fit(
    *,
    parameters: Mapping[str, int] | None,
    config: Mapping[str, Any] | None,
    config_note: str | None,
    quantize: str | None,
    instance: GpuInstance,
    gpus_per_copy: int,
    max_total_tokens: int,
    table: Iterable[GpuInstance],
    unknown_because: str = "the Hub has no safetensors metadata for it",
    budget: Budget | None = None,
) -> CheckResult:
    """The memory-fit row: blocked when the weights cannot load (or the engine would refuse to start), a warning
    when the KV headroom is thin. `budget` is the engine's memory rule (default TGI's); `unknown_because` says
    why `parameters` is None, when it is.
    """
    if parameters is None:
        return CheckResult(
            CHECK,
            "warning",
            f"skipped: the model's parameter count is unknown ({unknown_because})",
            "check by hand that the weights fit "
            f"{_gib(copy_memory_bytes(instance, gpus_per_copy))} of GPU memory per copy",
        )
    shape = ModelShape.from_config(config) if config else None
    case = _Case(parameters, quantize, shape, instance, gpus_per_copy, max_total_tokens, budget or Budget())
    size = weights(parameters, quantize, shape, case.budget.rule)
    result = case.fit(size.bytes)
    evidence = _evidence(case, size, result, config_note)
    details: dict[str, Any] = {
        "parameters": size.parameters,
        "precision": size.precision,
        "weights_bytes": size.bytes,
        "gpu_memory_bytes": result.memory_bytes,
        "budget": result.budget,
        "overhead_bytes": result.overhead_bytes,
        "free_bytes": result.free_bytes,
        "kv_bytes_per_token": shape.kv_bytes_per_token if shape else None,
        "sequences": result.sequences,
        "verdict": result.verdict,
    }
    if result.verdict == "fits":
        return CheckResult(CHECK, "ok", evidence, details=details)
    options = _alternatives(case, size, table)
    if result.verdict == "thin" and result.sequences == 0 and case.budget.rule.refuses_without_one_sequence:
        return _refused_row(case, evidence, result, options, details)
    if result.verdict == "thin":
        return _thin_row(case, evidence, result, options, details)
    details["suggestions"] = [option.setting for option in options]
    fix = (
        "set " + ", or ".join(option.text for option in options)
        if options
        else "no instance type this tool knows holds it: choose a smaller model (HF_MODEL_ID)"
    )
    evidence += f": the weights do not fit, {case.budget.label} would fail while loading"
    return CheckResult(CHECK, "blocked", evidence, fix, details)
