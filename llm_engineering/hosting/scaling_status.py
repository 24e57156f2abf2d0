"""What `make status` says about an endpoint's scaling: current and desired instances and copies, the range,
the metric and target, and since when a component has been scaled to zero (then no instance bills for it)."""

from __future__ import annotations

from datetime import datetime

from llm_engineering.aws import Aws
from llm_engineering.hosting.autoscaling import ScaledResource
from llm_engineering.hosting.autoscaling_inventory import ScalingState, scaling_state, tool_alarms
from llm_engineering.resources.endpoints import Endpoint, InferenceComponent


def _range(state: ScalingState | None, unit: str) -> str:
    if state is None:
        return "autoscaling off"
    tracked = f", {state.metric} target {state.target_value:g}" if state.metric and state.target_value else ""
    return f"autoscaling {state.min_capacity}-{state.max_capacity} {unit}{tracked}"


def _since(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else "?"


def scaling_lines(aws: Aws, endpoint: Endpoint, components: tuple[InferenceComponent, ...]) -> list[str]:
    """The lines for one endpoint and its components, as `make status` has just read them (not read again)."""
    endpoint_name = endpoint.name
    lines = []
    for variant in endpoint.raw.get("ProductionVariants", []):
        current, desired = variant.get("CurrentInstanceCount"), variant.get("DesiredInstanceCount")
        line = f"instances {variant['VariantName']}: {current if current is not None else '?'} now, {desired} desired"
        managed = variant.get("ManagedInstanceScaling") or {}
        if managed.get("Status") == "ENABLED":
            line += f", following the copies ({managed.get('MinInstanceCount')}-{managed.get('MaxInstanceCount')})"
        elif not endpoint.hosts_components:
            line += f"; {_range(scaling_state(aws, ScaledResource(endpoint_name)), 'instances')}"
        lines.append(line)
    if not endpoint.hosts_components:
        return lines
    for component in components:
        runtime = component.raw.get("RuntimeConfig", {})
        current, desired = runtime.get("CurrentCopyCount", 0), runtime.get("DesiredCopyCount", 0)
        state = scaling_state(aws, ScaledResource(endpoint_name, component.name))
        line = f"copies {component.name}: {current} now, {desired} desired; {_range(state, 'copies')}"
        if current == 0 and desired == 0:
            since = _since(component.raw.get("LastModifiedTime"))
            line += f"; scaled to zero since {since} (no instance billed for it; the next request wakes it)"
        elif current == 0:
            line += "; warming up from zero (requests are refused until a copy is in service)"
        lines.append(line)
        if state is not None and state.min_capacity == 0:
            alarms = tool_alarms(aws, ScaledResource(endpoint_name, component.name))
            lines.append(f"alarms {', '.join(alarms) or 'none (nothing wakes it: deploy again to restore them)'}")
    return lines
