"""Tags that mark a resource as created by this tool, so cleanup can find it and refuse foreign ones, and the one
reader of any service's tags (`read`), whatever shape the service answers them in (`as_dict`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from llm_engineering import TOOL_NAME, __version__
from llm_engineering.aws import get_or_none
from llm_engineering.refusals import error_code
from llm_engineering.setting_sources import environment_name

MANAGED_BY = f"{TOOL_NAME}:managed-by"
VERSION = f"{TOOL_NAME}:version"
ENDPOINT = f"{TOOL_NAME}:endpoint"
MODEL_ID = f"{TOOL_NAME}:model-id"
RUNS = f"{TOOL_NAME}:runs"
"""On an endpoint, the endpoint config this tool pointed it at; on an inference component, the model this tool
gave it. While the resource still runs that, whatever it runs is this tool's without reading its tags: the
tool points its resources only at configs and models it created, and configs never change."""
ENVIRONMENT = f"{TOOL_NAME}:environment"
"""ENV / LLM_ENGINEERING_ENV (dev, prod, ...): which settings file set the resource up (`setting_sources`)."""
ENGINE = f"{TOOL_NAME}:engine"
"""The serving engine (tgi, vllm, sglang): how the test client learns which API the container speaks."""
STARTUP_SECONDS = f"{TOOL_NAME}:startup-seconds"
"""On an inference component: the seconds its last deploy took from the request to a copy in service (with
the endpoint's own start when that deploy created it). The client's estimate when the component is at zero."""

Tag = dict[str, str]


def tool_tags(
    *, endpoint: str | None = None, model_id: str | None = None, engine: str | None = None, runs: str | None = None
) -> list[Tag]:
    """The tags every resource gets: the tool and its version, plus what it belongs to, what serves it (and
    what it runs)."""
    pairs = {MANAGED_BY: TOOL_NAME, VERSION: __version__}
    environment = environment_name()  # read where the tags are made: every resource of the run gets it
    if environment:
        pairs[ENVIRONMENT] = environment
    if endpoint:
        pairs[ENDPOINT] = endpoint
    if model_id:
        pairs[MODEL_ID] = model_id
    if engine:
        pairs[ENGINE] = engine
    if runs:
        pairs[RUNS] = runs
    return [{"Key": key, "Value": value} for key, value in pairs.items()]


TagShape = Mapping[str, str] | Iterable[Mapping[str, str]]
"""Tags as any AWS service answers them: `[{"Key": ..., "Value": ...}]` (SageMaker, IAM, CloudWatch, the
Scheduler, S3's TagSet), `[{"TagKey": ..., "TagValue": ...}]` (KMS), or a mapping (Application Auto Scaling)."""


def as_dict(tags: TagShape) -> dict[str, str]:
    """Tags in any shape AWS answers them (`TagShape`) as one plain mapping."""
    if isinstance(tags, Mapping):
        return {str(key): str(value) for key, value in tags.items()}
    pairs: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key", tag.get("TagKey"))
        if key is not None:
            pairs[key] = tag.get("Value", tag.get("TagValue")) or ""
    return pairs


@dataclass(frozen=True)
class _Listing:
    """How one service lists a resource's tags: the call, where its answer holds them, the page size to ask."""

    operation: str
    key: str = "Tags"
    page_size: int | None = None


_LISTINGS: dict[tuple[str, str], _Listing] = {
    ("sagemaker", "ResourceArn"): _Listing("list_tags", page_size=100),  # this tool sets far fewer: one page
    ("application-autoscaling", "ResourceARN"): _Listing("list_tags_for_resource"),
    ("cloudwatch", "ResourceARN"): _Listing("list_tags_for_resource"),
    ("scheduler", "ResourceArn"): _Listing("list_tags_for_resource"),
    ("iam", "RoleName"): _Listing("list_role_tags"),
    ("iam", "UserName"): _Listing("list_user_tags"),
    ("iam", "PolicyArn"): _Listing("list_policy_tags"),
    ("s3", "Bucket"): _Listing("get_bucket_tagging", key="TagSet"),
    ("kms", "KeyId"): _Listing("list_resource_tags"),
}
"""(service, the parameter naming the resource) -> its tag listing. The parameter tells IAM's three apart."""

_NO_TAGS = frozenset({"NoSuchTagSet"})
"""S3's answer for a bucket without tags: not a failure, an empty set."""


def read(client: Any, **resource: str) -> dict[str, str]:
    """The tags of one resource of `client`'s service, as a mapping, every page read (botocore's paginator
    where the listing paginates). The resource is named as its listing names it: `ResourceArn=` (SageMaker,
    the Scheduler), `ResourceARN=` (CloudWatch, Application Auto Scaling), `RoleName=`, `UserName=` or
    `PolicyArn=` (IAM), `Bucket=` (S3), `KeyId=` (KMS). A refusal propagates as the ClientError it is."""
    service = client.meta.service_model.service_name
    if len(resource) != 1 or (service, *resource) not in _LISTINGS:
        known = " or ".join(f"{param}=" for name, param in _LISTINGS if name == service) or "nothing: no listing"
        raise TypeError(f"tags.read cannot read {service} tags by {', '.join(resource)}: it reads them by {known}")
    listing = _LISTINGS[(service, *resource)]
    if client.can_paginate(listing.operation):
        config = {"PageSize": listing.page_size} if listing.page_size else {}
        pages = client.get_paginator(listing.operation).paginate(**resource, PaginationConfig=config)
    else:
        try:
            pages = [getattr(client, listing.operation)(**resource)]
        except ClientError as error:
            if error_code(error) in _NO_TAGS:
                return {}
            raise
    found: dict[str, str] = {}
    for page in pages:
        found.update(as_dict(page.get(listing.key) or []))
    return found


def read_if_exists(client: Any, **resource: str) -> dict[str, str]:
    """`read`, with {} for a resource that is gone: a listing races deletions, and what is gone has no tags."""
    return get_or_none(lambda: read(client, **resource)) or {}


def is_managed(tags: TagShape) -> bool:
    """True when the resource carries this tool's managed-by tag."""
    return as_dict(tags).get(MANAGED_BY) == TOOL_NAME


def vouches_for(tags: TagShape, running: str | None) -> bool:
    """True when a resource carrying `tags` is this tool's and still runs what the tool set it to (`RUNS`)."""
    return bool(running) and is_managed(tags) and as_dict(tags).get(RUNS) == running
