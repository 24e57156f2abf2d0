"""Delete everything of one endpoint, in the order SageMaker requires, so no GPU is left billing.

Order: the components' autoscaling (policies, scalable targets, alarms), inference components (an endpoint
cannot be deleted while it has any; wait until they are gone), the endpoint (after any transition settles;
deleting it deregisters its variants' autoscaling), then every config and model that belongs to it. Works on
half-created and failed deployments, and is idempotent: a resource already Deleting (an interrupted earlier
run) is waited for, then the rest goes. Stopped half-way (Ctrl-C, AWS lost), it says what is left and that
running it again finishes the job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llm_engineering.aws import AWS_FAILURES, Aws, delete_if_exists, describe_failure
from llm_engineering.errors import UserFacingError
from llm_engineering.hosting.autoscaling import ScaledResource
from llm_engineering.hosting.autoscaling_inventory import remove_scaling
from llm_engineering.hosting.inventory import Inventory, take_inventory
from llm_engineering.resources.endpoints import Remote
from llm_engineering.resources.waiting import Poller, Reporter, WaitTimeout, silent
from llm_engineering.statuses import Status


class ForeignResources(UserFacingError):
    """The endpoint (or something it runs) was not created by this tool."""


@dataclass
class DeleteReport:
    endpoint_name: str
    deleted: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    """What the inventory found and is not deleted yet."""
    deleting: set[str] = field(default_factory=set)
    """Of `left`, what SageMaker is deleting already (it goes by itself)."""

    @property
    def nothing_to_delete(self) -> bool:
        return not self.deleted

    def gone(self, item: str) -> None:
        self.deleted.append(item)
        if item in self.left:
            self.left.remove(item)

    def describe_left(self) -> str:
        return ", ".join(f"{item} (being deleted)" if item in self.deleting else item for item in self.left)


class DeleteStopped(UserFacingError):
    """Deleting stopped half-way (Ctrl-C, a timeout, AWS unreachable or refusing); `report` says what is left."""

    def __init__(self, reason: str, report: DeleteReport, interrupted: bool) -> None:
        super().__init__(reason)
        self.report = report
        self.exit_code = 130 if interrupted else 1


def _deregister_autoscaling(
    aws: Aws, endpoint_name: str, components: list[str], report: DeleteReport, reporter: Reporter
) -> None:
    """Remove the components' scaling before they go: policies, targets, then this tool's alarms.

    One DescribeScalableTargets finds every component's target; `autoscaling_inventory.remove_scaling` then
    deletes each one's policies and alarms and deregisters it (idempotent: what is gone already is skipped).
    """
    if not components:
        return
    scaling = aws.client("application-autoscaling")
    resource_ids = [f"inference-component/{name}" for name in components]
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=resource_ids).get(
        "ScalableTargets", []
    )
    registered = {target["ResourceId"] for target in targets}
    for name in components:
        scaled = ScaledResource(endpoint_name, name)
        if scaled.resource_id in registered:
            reporter.step(f"removing the autoscaling of inference component {name}")
        for item in remove_scaling(aws, scaled, registered=scaled.resource_id in registered):
            report.gone(item)


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

    report.left = _found(inventory)
    try:
        _delete_all(aws, inventory, report, poller, timeout, reporter)
    except KeyboardInterrupt:
        raise DeleteStopped(f"interrupted: stopped deleting {endpoint_name}", report, True) from None
    except WaitTimeout as error:
        raise DeleteStopped(f"gave up waiting after DEPLOY_TIMEOUT={timeout:g} s: {error}", report, False) from None
    except AWS_FAILURES as error:
        raise DeleteStopped(f"stopped deleting {endpoint_name}: {describe_failure(error)}", report, False) from None
    return report


def _found(inventory: Inventory) -> list[str]:
    """Everything the inventory found, as the report names it."""
    found = [f"inference component {component.name}" for component in inventory.components if component.exists]
    if inventory.endpoint is not None:
        found.append(f"endpoint {inventory.endpoint_name}")
    found += [f"endpoint config {name}" for name in inventory.configs]
    return found + [f"model {name}" for name in inventory.models]


def _delete_remote(
    resource: Remote, label: str, report: DeleteReport, poller: Poller, timeout: float, reporter: Reporter
) -> None:
    """Let a transition settle, start the deletion (or join one in progress), and note it as under way."""
    _settle(resource, poller, timeout, reporter)
    reporter.step(f"deleting {label}" + (" (already being deleted)" if resource.status == Status.DELETING else ""))
    resource.delete()
    report.deleting.add(label)


def _delete_all(
    aws: Aws, inventory: Inventory, report: DeleteReport, poller: Poller, timeout: float, reporter: Reporter
) -> None:
    client = aws.client("sagemaker")
    components = [component for component in inventory.components if component.exists]
    _deregister_autoscaling(
        aws, inventory.endpoint_name, [component.name for component in components], report, reporter
    )
    for component in components:
        _delete_remote(component, f"inference component {component.name}", report, poller, timeout, reporter)
    for component in components:
        component.wait_deleted(poller, timeout, reporter.progress)
        report.gone(f"inference component {component.name}")

    endpoint = inventory.endpoint
    if endpoint is not None:
        # No DeregisterScalableTarget for its variants: "If you delete an endpoint, Application Auto Scaling
        # [...] deregisters those models as scalable targets" (SageMaker Developer Guide, "Delete endpoints
        # configured for auto scaling"), given the permission, which the deployer policy grants.
        _delete_remote(endpoint, f"endpoint {inventory.endpoint_name}", report, poller, timeout, reporter)
        endpoint.wait_deleted(poller, timeout, reporter.progress)
        report.gone(f"endpoint {inventory.endpoint_name}")

    for name in inventory.configs:
        reporter.step(f"deleting endpoint config {name}")
        if delete_if_exists(client.delete_endpoint_config, EndpointConfigName=name):
            report.gone(f"endpoint config {name}")
        else:
            report.left.remove(f"endpoint config {name}")
    for name in inventory.models:
        reporter.step(f"deleting model {name}")
        if delete_if_exists(client.delete_model, ModelName=name):
            report.gone(f"model {name}")
        else:
            report.left.remove(f"model {name}")
