"""Delete everything of one endpoint, in the order SageMaker requires, so no GPU is left billing.

Order: inference components (an endpoint cannot be deleted while it has any; wait until they are gone),
their autoscaling registrations, the endpoint (after any transition settles; deleting it deregisters its
variants' autoscaling), then every config and model that belongs to it. Works on half-created and failed
deployments, and is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llm_engineering.aws import Aws, delete_if_exists
from llm_engineering.errors import UserFacingError
from llm_engineering.hosting.inventory import Inventory, take_inventory
from llm_engineering.hosting.resources import Remote
from llm_engineering.hosting.waiting import Poller, Reporter, silent


class ForeignResources(UserFacingError):
    """The endpoint (or something it runs) was not created by this tool."""


@dataclass
class DeleteReport:
    endpoint_name: str
    deleted: list[str] = field(default_factory=list)

    @property
    def nothing_to_delete(self) -> bool:
        return not self.deleted


def _deregister_autoscaling(aws: Aws, resource_ids: list[str], report: DeleteReport) -> None:
    """Remove scaling targets (their policies go with them) for the resources about to be deleted."""
    if not resource_ids:
        return
    scaling = aws.client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=resource_ids).get(
        "ScalableTargets", []
    )
    for target in targets:
        scaling.deregister_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=target["ResourceId"],
            ScalableDimension=target["ScalableDimension"],
        )
        report.deleted.append(f"autoscaling target {target['ResourceId']}")


def _settle(resource: Remote, poller: Poller, timeout: float, reporter: Reporter) -> None:
    """Deleting mid-transition is refused by SageMaker: let a Creating/Updating resource settle first."""
    resource.settle(poller, timeout, reporter.progress)


def delete_deployment(
    aws: Aws,
    endpoint_name: str,
    *,
    force: bool = False,
    poller: Poller | None = None,
    timeout: float = 1800,
    reporter: Reporter = silent,
) -> DeleteReport:
    """Delete the endpoint `endpoint_name` and everything that belongs to it."""
    poller = poller or Poller()
    client = aws.client("sagemaker")
    inventory: Inventory = take_inventory(client, endpoint_name)
    report = DeleteReport(endpoint_name)
    if inventory.empty:
        return report
    foreign = inventory.foreign()
    if foreign and not force:
        raise ForeignResources(
            f"Not deleting {endpoint_name}: {', '.join(foreign)} lack{'s' if len(foreign) == 1 else ''} this tool's "
            "tags (created elsewhere?); pass --force to delete anyway."
        )

    components = [component for component in inventory.components if component.exists]
    _deregister_autoscaling(aws, [f"inference-component/{component.name}" for component in components], report)
    for component in components:
        _settle(component, poller, timeout, reporter)
        reporter.step(f"deleting inference component {component.name}")
        component.delete()
    for component in components:
        component.wait_deleted(poller, timeout, reporter.progress)
        report.deleted.append(f"inference component {component.name}")

    endpoint = inventory.endpoint
    if endpoint is not None:
        # No DeregisterScalableTarget for its variants: "If you delete an endpoint, Application Auto Scaling
        # [...] deregisters those models as scalable targets" (SageMaker Developer Guide, "Delete endpoints
        # configured for auto scaling"), given the permission, which the deployer policy grants.
        _settle(endpoint, poller, timeout, reporter)
        reporter.step(f"deleting endpoint {endpoint_name}")
        endpoint.delete()
        endpoint.wait_deleted(poller, timeout, reporter.progress)
        report.deleted.append(f"endpoint {endpoint_name}")

    for name in inventory.configs:
        reporter.step(f"deleting endpoint config {name}")
        if delete_if_exists(client.delete_endpoint_config, EndpointConfigName=name):
            report.deleted.append(f"endpoint config {name}")
    for name in inventory.models:
        reporter.step(f"deleting model {name}")
        if delete_if_exists(client.delete_model, ModelName=name):
            report.deleted.append(f"model {name}")
    return report
