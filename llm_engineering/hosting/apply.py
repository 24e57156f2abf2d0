"""Carry out a plan's calls in order, waiting, diagnosing and rolling back.

The rule this module keeps: whatever happens (a refused call, a Failed endpoint, a timeout, Ctrl-C, a lost
connection, throttling that outlives the retries), the caller learns exactly which resources this run created
and which still exist. A failure rolls back what this run created (unless asked to keep it); a timeout,
Ctrl-C or losing AWS never deletes anything silently. A resource that vanished by itself is not reported as
still there.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

from botocore.exceptions import ClientError
from pydantic import SecretStr

from llm_engineering.aws import AWS_FAILURES, Aws, delete_if_exists, describe_failure
from llm_engineering.catalogue.amis import host_advice
from llm_engineering.catalogue.engines import engine
from llm_engineering.errors import UserFacingError
from llm_engineering.hosting.autoscaling import PolicyArn
from llm_engineering.hosting.autoscaling_inventory import remove_created_scaling
from llm_engineering.hosting.diagnostics import Context, Diagnosis, diagnose_failure, diagnose_refusal
from llm_engineering.hosting.plan import Call, Plan, Wait
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.hosting.steps import ArnOf, SecondsUntilReady
from llm_engineering.redaction import reveal
from llm_engineering.refusals import error_code, error_message
from llm_engineering.resources.endpoints import Endpoint, InferenceComponent, Remote, Resource, ResourceFailed
from llm_engineering.resources.waiting import Poller, Reporter, WaitTimeout
from llm_engineering.retrying import Retry
from llm_engineering.statuses import Status


class DeploymentFailed(UserFacingError):
    """A call was refused or a resource failed; `diagnosis` says why, the lists say what is left."""

    def __init__(self, diagnosis: Diagnosis, rolled_back: list[Resource], remaining: list[Resource]) -> None:
        super().__init__(diagnosis.headline)
        self.diagnosis = diagnosis
        self.rolled_back = rolled_back
        self.remaining = remaining


class DeploymentStopped(UserFacingError):
    """The run stopped (timeout, Ctrl-C, AWS unreachable or refusing) while resources exist; nothing was deleted.

    `uncertain` is the resource whose create request was on its way: it may or may not exist.
    """

    def __init__(
        self, reason: str, remaining: list[Resource], interrupted: bool, uncertain: Resource | None = None
    ) -> None:
        super().__init__(reason)
        self.remaining = remaining
        self.uncertain = uncertain
        self.exit_code = 130 if interrupted else 1


@dataclass
class Outcome:
    plan: Plan
    waited: bool
    retired: list[str] = field(default_factory=list)
    retire_errors: list[str] = field(default_factory=list)


def _role_not_yet_assumable(error: Exception) -> bool:
    return error_code(error) == "ValidationException" and "could not assume role" in error_message(error).lower()


ROLE_PROPAGATION = Retry(waits=(3.0, 6.0, 9.0, 12.0), retry_on=_role_not_yet_assumable)
"""IAM is eventually consistent: a role created seconds ago may not be assumable by SageMaker yet, so a request
SageMaker refuses for that is sent again, up to five times in half a minute."""


def _subject(params: dict[str, Any]) -> Any:
    """What a request is about, for its progress line: a policy's name, a scalable target's resource id (never
    its ServiceNamespace), else the first member (a name)."""
    if "PolicyName" in params:
        return params["PolicyName"]
    return params.get("ResourceId", next(iter(params.values())))


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def diagnosis_context(plan: Plan, spec: DeploymentSpec) -> Context:
    token = plan.environment.get("HF_TOKEN")
    return Context(
        region=plan.region,
        instance_type=plan.instance.name,
        instance_count=plan.instance_count,
        gpu_memory_gib=plan.instance.gpu_memory_mib / 1024,
        model_id=plan.model_id,
        has_token=token is not None,
        startup_timeout=spec.startup_timeout,
        download_timeout=spec.download_timeout,
        secrets=(token.get_secret_value(),) if isinstance(token, SecretStr) else (),
        engine=plan.engine,
        release=" ".join(filter(None, (engine(plan.engine).label, plan.engine_version))),
        budget=engine(plan.engine).budget(spec.engine.gpu_memory_utilization),
        max_total_tokens=spec.model.max_total_tokens,
        host_advice=host_advice(plan.image_uri, plan.ami),
        weights_uri=plan.weights.location.uri if plan.weights else None,
    )


@dataclass
class Applier:
    """Runs one plan. Holds the run's journal: the resources it created, in order."""

    aws: Aws
    spec: DeploymentSpec
    reporter: Reporter
    poller: Poller = field(default_factory=Poller)
    created: list[Resource] = field(default_factory=list)
    _handles: dict[Resource, Remote] = field(default_factory=dict, repr=False)
    _policy_arns: dict[str, str] = field(default_factory=dict, repr=False)
    """Scaling policy name -> the ARN PutScalingPolicy returned (an alarm's action names it)."""
    clock: Callable[[], float] = time.monotonic
    _sent: dict[str, float] = field(default_factory=dict, repr=False)
    """Name of what a request created or updated -> when it was sent."""
    _ready_after: dict[Resource, float] = field(default_factory=dict, repr=False)
    """Seconds from that request to InService, for each resource this run waited for."""
    _arns: dict[Resource, str] = field(default_factory=dict, repr=False)
    """The ARN each create request of this run returned (a later request names it: `steps.ArnOf`)."""

    @property
    def client(self) -> Any:
        return self.aws.client("sagemaker")

    def handle(self, resource: Resource) -> Remote:
        """The run's one handle on an endpoint or component, so what a wait observed is not read again."""
        if resource not in self._handles:
            kind = Endpoint if resource.kind == "endpoint" else InferenceComponent
            self._handles[resource] = kind(client=self.client, name=resource.name)
        return self._handles[resource]

    def apply(self, plan: Plan, *, wait: bool = True, keep_failed: bool = False) -> Outcome:
        """Execute the plan; raise `DeploymentFailed` / `DeploymentStopped` with what is left."""
        last_wait = max((i for i, step in enumerate(plan.steps) if isinstance(step, Wait)), default=-1)
        in_flight: Resource | None = None
        try:
            for index, step in enumerate(plan.steps):
                if isinstance(step, Call):
                    in_flight = step.creates
                    self._call(plan, step, keep_failed)
                    in_flight = None
                elif wait or index != last_wait:
                    self._wait(plan, step, keep_failed)
        except KeyboardInterrupt:
            remaining = self.created + ([in_flight] if in_flight else [])
            raise DeploymentStopped("interrupted: stopped waiting, nothing was deleted", remaining, True) from None
        except WaitTimeout as error:
            raise DeploymentStopped(
                f"gave up waiting after DEPLOY_TIMEOUT={self.spec.deploy_timeout} s: {error}", self.created, False
            ) from None
        except AWS_FAILURES as error:  # the connection is gone, or AWS kept refusing (throttling, access) a wait
            raise DeploymentStopped(
                f"stopped, AWS could not be reached or refused ({describe_failure(error)}); nothing was deleted",
                list(self.created),
                False,
                uncertain=in_flight,
            ) from None
        outcome = Outcome(plan=plan, waited=wait)
        if wait:
            self._retire(plan, outcome)
        return outcome

    def _call(self, plan: Plan, step: Call, keep_failed: bool) -> None:
        params = self._resolved(step)
        target = step.creates.name if step.creates else _subject(params)
        self.reporter.step(f"{step.operation} {target}")
        self._sent[str(target)] = self.clock()
        send = getattr(self.aws.client(step.service), _snake(step.operation))
        try:
            answer = replace(ROLE_PROPAGATION, sleep=self.poller.sleep).until(lambda: send(**params))
        except ClientError as error:
            diagnosis = diagnose_refusal(self.aws, error, diagnosis_context(plan, self.spec))
            self._fail(diagnosis, keep_failed)
        if "PolicyARN" in answer:  # PutScalingPolicy: an alarm later in the plan names it
            self._policy_arns[step.params["PolicyName"]] = answer["PolicyARN"]
        if step.creates is not None:  # e.g. CreateInferenceComponent's InferenceComponentArn
            arns = [value for key, value in answer.items() if key.endswith("Arn") and isinstance(value, str)]
            self._arns.update({step.creates: arns[0]} if arns else {})
        if step.creates:
            self.created.append(step.creates)

    def _resolved(self, step: Call) -> dict[str, Any]:
        """The request as sent: secrets revealed, and each stand-in replaced by what this run learnt (the ARN
        PutScalingPolicy returned, a resource's ARN, the seconds it took to be InService). A measure this run
        did not take (--no-wait) leaves its tag out."""
        params = reveal(step.params)
        if "AlarmActions" in params:
            params["AlarmActions"] = [
                self._policy_arns.get(action.policy, action) if isinstance(action, PolicyArn) else action
                for action in params["AlarmActions"]
            ]
        if isinstance(params.get("ResourceArn"), ArnOf):
            params["ResourceArn"] = self._arns[params["ResourceArn"].resource]
        if step.operation == "AddTags":
            params["Tags"] = [tag for tag in map(self._measured, params["Tags"]) if tag is not None]
        return params

    def _measured(self, tag: dict[str, Any]) -> dict[str, Any] | None:
        value = tag["Value"]
        if not isinstance(value, SecondsUntilReady):
            return tag
        if not all(resource in self._ready_after for resource in value.resources):
            return None
        seconds = sum(self._ready_after[resource] for resource in value.resources)
        return {**tag, "Value": str(math.ceil(seconds))}

    def _wait(self, plan: Plan, step: Wait, keep_failed: bool) -> None:
        try:
            self.handle(step.resource).wait(
                self.poller, self.spec.deploy_timeout, self.reporter.progress, expect=step.expect
            )
            if step.resource.name in self._sent:
                self._ready_after[step.resource] = self.clock() - self._sent[step.resource.name]
        except ResourceFailed as failed:
            diagnosis = diagnose_failure(
                self.aws,
                step.resource.kind,
                failed.name,
                failed.status,
                failed.reason,
                diagnosis_context(plan, self.spec),
            )
            self._fail(diagnosis, keep_failed)

    def _fail(self, diagnosis: Diagnosis, keep_failed: bool) -> NoReturn:
        if keep_failed:
            raise DeploymentFailed(diagnosis, [], list(self.created))
        rolled_back, remaining = self.rollback()
        raise DeploymentFailed(diagnosis, rolled_back, remaining)

    def rollback(self) -> tuple[list[Resource], list[Resource]]:
        """Delete what this run created, newest first; return (gone now, still there).

        The journal shrinks as each resource goes, so an interruption mid-rollback reports only what is left;
        a resource that had already vanished counts as gone, not as "still exists".
        """
        deleted: list[Resource] = []
        remaining: list[Resource] = []
        for resource in reversed(list(self.created)):
            self.reporter.step(f"rolling back {resource}")
            try:
                self._delete(resource)
            except (*AWS_FAILURES, WaitTimeout):
                remaining.insert(0, resource)
                continue
            deleted.append(resource)
            self.created.remove(resource)
        return deleted, remaining

    def _delete(self, resource: Resource) -> None:
        """Delete one resource and wait until it is gone; one that does not exist (any more) is fine."""
        if resource.kind in ("endpoint", "inference-component"):
            handle = self.handle(resource)
            if handle.status == Status.UNKNOWN:  # created, never waited on: SageMaker may still be creating it
                handle.fetch()
            handle.settle(self.poller, self.spec.deploy_timeout, self.reporter.progress)
            handle.delete()
            handle.wait_deleted(self.poller, self.spec.deploy_timeout, self.reporter.progress)
        elif resource.kind in ("scalable-target", "alarm"):  # its policies go with the target
            remove_created_scaling(self.aws, resource)
        elif resource.kind == "endpoint-config":
            delete_if_exists(self.client.delete_endpoint_config, EndpointConfigName=resource.name)
        else:
            delete_if_exists(self.client.delete_model, ModelName=resource.name)

    def _retire(self, plan: Plan, outcome: Outcome) -> None:
        """Remove what the new deployment superseded; failures here are reported, not fatal."""
        for step in plan.retire:
            name = next(iter(step.params.values()))
            self.reporter.step(f"{step.operation} {name} (superseded)")
            try:
                getattr(self.client, _snake(step.operation))(**step.params)
                outcome.retired.append(name)
            except AWS_FAILURES as error:  # the deployment is done: a lost connection here is only reported
                outcome.retire_errors.append(f"{step.operation} {name}: {describe_failure(error)}")
