"""What this tool left in the region that costs money or clutters the account, for `make cleanup`.

Found by tags and by what still uses it, never by name: endpoints of this tool that are Failed or past their
time limit; endpoint configs and models of this tool that no endpoint or component runs (what a scheduled
delete leaves); time-limit schedules, CloudWatch alarms and autoscaling targets whose endpoint or component is
gone; staged model prefixes no endpoint loads. Alarms and scalable targets are this tool's by its managed-by
tag, and belong to an endpoint or component by their dimensions or resource id, however they were made.
Resources without the tool's tags are never listed for deletion; untagged endpoints are counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from llm_engineering import tags as tool_tags
from llm_engineering.aws import Aws, delete_if_exists, get_or_none, paginate
from llm_engineering.catalogue.s3 import S3Location
from llm_engineering.hosting.inventory import region_endpoints
from llm_engineering.hosting.teardown import delete_deployment
from llm_engineering.hosting.ttl import GROUP, expiry, remove_time_limit
from llm_engineering.resources.endpoints import Endpoint, components_on
from llm_engineering.statuses import Status
from llm_engineering.weights.stages import delete_stage, find_stages
from llm_engineering.weights.usage import stage_users


@dataclass(frozen=True)
class Orphan:
    """One resource to remove: what it is, why, and what it costs per hour while it stays (None: nothing)."""

    kind: str
    name: str
    reason: str
    usd_per_hour: float | None = None
    key: dict[str, str] = field(default_factory=dict, compare=False)
    """What the delete call needs beside the name (a schedule's group, a target's dimension)."""

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass
class Orphans:
    """Everything found, in the order it is deleted (endpoints first: their own configs and models go with them)."""

    found: list[Orphan] = field(default_factory=list)
    staged: list[Orphan] = field(default_factory=list)
    """Staged model prefixes no endpoint loads: listed, deleted only when asked (`--include-staged`)."""
    untagged_endpoints: int = 0

    @property
    def usd_per_hour(self) -> float:
        return sum(item.usd_per_hour or 0.0 for item in self.found)


def _old(created: datetime | None, cutoff: datetime | None) -> bool:
    return cutoff is None or created is None or created <= cutoff


def _live(client: Any) -> tuple[set[str], set[str], set[str], set[str]]:
    """Names of endpoints, components, and the configs and models they run (whoever made them)."""
    endpoints: set[str] = set()
    components: set[str] = set()
    configs: set[str] = set()
    models: set[str] = set()
    for listed in paginate(client, "list_endpoints", "Endpoints"):
        endpoint = Endpoint.get(client, listed["EndpointName"])
        if endpoint is None:
            continue
        endpoints.add(endpoint.name)
        configs.update(filter(None, [endpoint.config_name]))
        models.update(endpoint.model_names)
        for component in components_on(client, endpoint.name) if endpoint.hosts_components else []:
            components.add(component.name)
            models.update(filter(None, [component.model_name]))
    return endpoints, components, configs, models


def _managed(client: Any, arn: str) -> bool:
    return tool_tags.is_managed(tool_tags.read_if_exists(client, ResourceArn=arn))


def _endpoints(aws: Aws, orphans: Orphans, now: datetime, cutoff: datetime | None) -> set[str]:
    """This tool's Failed endpoints and those past their time limit; returns the names going."""
    found = region_endpoints(aws.client("sagemaker"), now)
    orphans.untagged_endpoints = len(found.others)
    going: set[str] = set()
    for item in found.ours:
        created = now - timedelta(hours=item.hours)
        if not _old(created, cutoff):
            continue
        reason = ""
        if item.status == Status.FAILED:
            reason = "Failed"
        else:
            limit = expiry(aws, item.name)
            if limit is not None and limit < now:
                reason = f"past its time limit ({limit:%Y-%m-%d %H:%M} UTC)"
        if reason:
            cost = item.cost.usd_per_hour if item.cost is not None else None
            orphans.found.append(Orphan("endpoint", item.name, reason, cost))
            going.add(item.name)
    return going


def _configs_and_models(
    client: Any, orphans: Orphans, used: tuple[set[str], set[str]], cutoff: datetime | None
) -> None:
    configs, models = used
    for listed in paginate(client, "list_endpoint_configs", "EndpointConfigs"):
        name = listed["EndpointConfigName"]
        if (
            name not in configs
            and _old(listed.get("CreationTime"), cutoff)
            and _managed(client, listed["EndpointConfigArn"])
        ):
            orphans.found.append(Orphan("endpoint config", name, "no endpoint runs it"))
    for listed in paginate(client, "list_models", "Models"):
        name = listed["ModelName"]
        if name not in models and _old(listed.get("CreationTime"), cutoff) and _managed(client, listed["ModelArn"]):
            orphans.found.append(Orphan("model", name, "no endpoint or component runs it"))


def _schedules(aws: Aws, orphans: Orphans, endpoints: set[str], components: set[str]) -> None:
    """The tool's schedules whose endpoint or component is gone (they would only fail and retry)."""
    scheduler = aws.client("scheduler")
    if get_or_none(scheduler.get_schedule_group, Name=GROUP) is None:
        return
    for listed in paginate(scheduler, "list_schedules", "Schedules", GroupName=GROUP):
        schedule = get_or_none(scheduler.get_schedule, Name=listed["Name"], GroupName=GROUP) or {}
        target = json.loads((schedule.get("Target") or {}).get("Input") or "{}")
        endpoint, component = target.get("EndpointName"), target.get("InferenceComponentName")
        if (endpoint and endpoint not in endpoints) or (component and component not in components):
            what = f"endpoint {endpoint}" if endpoint else f"inference component {component}"
            orphans.found.append(
                Orphan("schedule", f"{GROUP}/{listed['Name']}", f"{what} is gone", key={"Name": listed["Name"]})
            )


def _belongs_to_gone(dimensions: Iterable[dict[str, str]], endpoints: set[str], components: set[str]) -> str | None:
    values = {item.get("Name"): item.get("Value") for item in dimensions}
    if values.get("InferenceComponentName") and values["InferenceComponentName"] not in components:
        return f"inference component {values['InferenceComponentName']} is gone"
    if values.get("EndpointName") and values["EndpointName"] not in endpoints:
        return f"endpoint {values['EndpointName']} is gone"
    return None


def _alarms(aws: Aws, orphans: Orphans, endpoints: set[str], components: set[str]) -> None:
    cloudwatch = aws.client("cloudwatch")
    for alarm in paginate(cloudwatch, "describe_alarms", "MetricAlarms"):
        dimensions = list(alarm.get("Dimensions", []))
        for query in alarm.get("Metrics", []):
            dimensions += query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
        reason = _belongs_to_gone(dimensions, endpoints, components)
        if reason is None:
            continue
        if tool_tags.is_managed(tool_tags.read_if_exists(cloudwatch, ResourceARN=alarm["AlarmArn"])):
            orphans.found.append(Orphan("alarm", alarm["AlarmName"], reason))


def _scalable_targets(aws: Aws, orphans: Orphans, endpoints: set[str], components: set[str]) -> None:
    scaling = aws.client("application-autoscaling")
    for target in paginate(scaling, "describe_scalable_targets", "ScalableTargets", ServiceNamespace="sagemaker"):
        parts = target["ResourceId"].split("/")
        gone = (parts[0] == "endpoint" and parts[1] not in endpoints) or (
            parts[0] == "inference-component" and parts[1] not in components
        )
        if not gone or "ScalableTargetARN" not in target:
            continue
        try:
            tags = tool_tags.read(scaling, ResourceARN=target["ScalableTargetARN"])
        except ClientError:
            continue  # tags unreadable: not provably this tool's
        if tool_tags.is_managed(tags):
            key = {"ScalableDimension": target["ScalableDimension"]}
            orphans.found.append(Orphan("scalable target", target["ResourceId"], f"its {parts[0]} is gone", key=key))


def _staged(aws: Aws, orphans: Orphans, roots: Iterable[S3Location]) -> None:
    s3 = aws.client("s3")
    users = stage_users(aws.client("sagemaker"))
    for root in roots:
        for stage in find_stages(s3, root.bucket, root.prefix):
            if not users.get(stage.location.uri):
                orphans.staged.append(Orphan("staged model", stage.location.uri, "no endpoint loads it"))


def find_orphans(
    aws: Aws,
    *,
    older_than: timedelta | None = None,
    staged_roots: Iterable[S3Location] = (),
    now: datetime | None = None,
) -> Orphans:
    """Everything of this tool in the region that `make cleanup` would remove (nothing is changed)."""
    now = now or datetime.now(UTC)
    cutoff = now - older_than if older_than else None
    client = aws.client("sagemaker")
    orphans = Orphans()
    going = _endpoints(aws, orphans, now, cutoff)
    endpoints, components, configs, models = _live(client)
    _configs_and_models(client, orphans, (configs, models), cutoff)
    kept = endpoints - going
    _schedules(aws, orphans, endpoints, components)
    _alarms(aws, orphans, kept, components)
    _scalable_targets(aws, orphans, kept, components)
    _staged(aws, orphans, staged_roots)
    return orphans


def remove(aws: Aws, orphan: Orphan) -> bool:
    """Delete one orphan (endpoints through the ordered delete); False when it was gone already."""
    if orphan.kind == "endpoint":
        gone = not delete_deployment(aws, orphan.name).nothing_to_delete
        remove_time_limit(aws, orphan.name)
        return gone
    if orphan.kind == "endpoint config":
        return delete_if_exists(aws.client("sagemaker").delete_endpoint_config, EndpointConfigName=orphan.name)
    if orphan.kind == "model":
        return delete_if_exists(aws.client("sagemaker").delete_model, ModelName=orphan.name)
    if orphan.kind == "schedule":
        return delete_if_exists(aws.client("scheduler").delete_schedule, Name=orphan.key["Name"], GroupName=GROUP)
    if orphan.kind == "alarm":
        aws.client("cloudwatch").delete_alarms(AlarmNames=[orphan.name])
        return True
    if orphan.kind == "scalable target":
        scaling = aws.client("application-autoscaling")
        return delete_if_exists(
            scaling.deregister_scalable_target,
            ServiceNamespace="sagemaker",
            ResourceId=orphan.name,
            ScalableDimension=orphan.key["ScalableDimension"],
        )
    if orphan.kind == "staged model":
        return bool(delete_stage(aws.client("s3"), S3Location.parse(orphan.name)))
    raise ValueError(f"unknown orphan kind {orphan.kind}")
