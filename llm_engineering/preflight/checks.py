"""Preflight: the checks that catch, in seconds, what would otherwise fail after minutes of paid GPU time.

Identity and region, the execution role (exists, trusted, permissions, PassRole), the endpoint quota, model
access on the Hub, memory fit and price. Every check answers ok, warning or blocked with its evidence and
the fix; a check that cannot run (API denied, no network) is a warning, never a crash. Only `blocked` stops
a deploy. Both `make preflight` and the deploy script call `run_preflight`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huggingface_hub import HfApi

from llm_engineering.aws import Aws
from llm_engineering.catalogue.engines import engine
from llm_engineering.catalogue.instances import GPU_INSTANCES, GpuInstance, gpu_instance
from llm_engineering.hosting import memory as memory_fit
from llm_engineering.hosting.observe import NOT_ASKED, Observed, observe
from llm_engineering.hosting.plan import Call, Plan, build_plan
from llm_engineering.hosting.spec import DeploymentSpec, gpus_per_copy
from llm_engineering.hub.models import HubLookup, look_up, model_access
from llm_engineering.hub.tokens import hub_token
from llm_engineering.iam import ExecutionRoleMissingError, Identity, caller_identity
from llm_engineering.preflight.architecture import check_engine_support
from llm_engineering.preflight.memory_fit import check_memory_fit
from llm_engineering.preflight.model_access import check_model_access
from llm_engineering.preflight.price import check_price
from llm_engineering.preflight.quota import check_quota
from llm_engineering.preflight.report import (
    AWS_FAILURES,
    CheckResult,
    Report,
    describe_failure,
    render_report,
    report_json,
)
from llm_engineering.preflight.role import RoleRef, check_execution_role, check_pass_role
from llm_engineering.preflight.scaling_quota import check_scaling_quota
from llm_engineering.preflight.security_rows import security_rows
from llm_engineering.preflight.staged import check_staged
from llm_engineering.weights.stages import StagedModelProblem

__all__ = [
    "CheckResult",
    "Report",
    "Target",
    "check_identity",
    "look_up_model",
    "model_access",
    "plan_for_preflight",
    "render_report",
    "report_json",
    "run_preflight",
]

IDENTITY_CHECK = "Identity and region"


@dataclass(frozen=True)
class Target:
    """What a deploy would start: read from its plan, or from the spec when no plan can be made yet."""

    region: str
    endpoint_name: str
    model_id: str
    revision: str | None
    instance: GpuInstance
    instance_count: int
    gpus_per_copy: int
    new_instances: int
    """Instances this deploy starts (CreateEndpoint, or the new fleet of a blue/green UpdateEndpoint)."""
    why_new: str

    @classmethod
    def from_plan(cls, plan: Plan, spec: DeploymentSpec) -> Target:
        """Count the instances the plan's CreateEndpoint / UpdateEndpoint calls start, from its configs."""
        calls = [step for step in plan.steps if isinstance(step, Call)]
        configs = {
            call.params["EndpointConfigName"]: sum(
                int(variant.get("InitialInstanceCount", 1)) for variant in call.params["ProductionVariants"]
            )
            for call in calls
            if call.operation == "CreateEndpointConfig"
        }
        new = 0
        why = (
            f"endpoint {plan.endpoint_name} keeps running as it is (only its autoscaling changes): none start"
            if plan.in_place
            else f"the inference component runs on endpoint {plan.endpoint_name}'s existing instances: none start"
        )
        for call in calls:
            if call.operation in ("CreateEndpoint", "UpdateEndpoint"):
                new += configs.get(call.params["EndpointConfigName"], 0)
                why = (
                    f"this deploy creates endpoint {plan.endpoint_name} on {new} instance(s)"
                    if call.operation == "CreateEndpoint"
                    else f"updating {plan.endpoint_name} is blue/green: {new} new instance(s) start while the "
                    "current ones still run"
                )
        return cls(
            region=plan.region,
            endpoint_name=plan.endpoint_name,
            model_id=plan.model_id,
            revision=spec.model.revision,
            instance=plan.instance,
            instance_count=plan.instance_count,
            gpus_per_copy=plan.gpus_per_copy,
            new_instances=new,
            why_new=why,
        )

    @classmethod
    def from_spec(cls, spec: DeploymentSpec, region: str) -> Target:
        """Without a plan (no execution role yet), assume a new endpoint, the most a deploy can start."""
        instance = gpu_instance(spec.instance_type, region)
        count = spec.instance_count
        return cls(
            region=region,
            endpoint_name=spec.endpoint_name,
            model_id=spec.model.model_id,
            revision=spec.model.revision,
            instance=instance,
            instance_count=count,
            gpus_per_copy=gpus_per_copy(spec, instance),
            new_instances=count,
            why_new=f"a new endpoint {spec.endpoint_name} starts {count} instance(s)",
        )

    @property
    def subject(self) -> str:
        return (
            f"{self.model_id} on {self.instance_count} x {self.instance.name} in {self.region} "
            f"(endpoint {self.endpoint_name})"
        )


def look_up_model(spec: DeploymentSpec, hub: HfApi | None = None) -> HubLookup | None:
    """Ask the Hub about the model once, with the token in use: the token decision and the access check share it.
    None when the weights come from a stage in S3 (the Hub is not asked at all).

    `hub` is the Hub client to ask (default: huggingface_hub's, honouring HF_ENDPOINT and HF_HUB_OFFLINE).
    """
    if spec.weights is not None:
        return None
    return look_up(hub or HfApi(), spec.model.model_id, spec.model.revision, hub_token(spec.model.token))


def plan_for_preflight(spec: DeploymentSpec, aws: Aws, lookup: HubLookup | None) -> tuple[Plan | None, Observed | None]:
    """The deploy's plan and what it was built from, or None twice when the execution role is missing or the
    stage in S3 cannot serve (the role and staged-model rows then say why)."""
    try:
        observed = observe(spec, aws, model_access(lookup) if lookup is not None else NOT_ASKED)
    except (ExecutionRoleMissingError, StagedModelProblem):
        return None, None
    return build_plan(spec, observed), observed


def check_identity(aws: Aws) -> tuple[CheckResult, Identity | None]:
    """Who the credentials are (sts:GetCallerIdentity needs no permission), and the region in use."""
    try:
        identity = caller_identity(aws)
    except AWS_FAILURES as error:
        why = describe_failure(error)
        return (
            CheckResult(
                IDENTITY_CHECK,
                "blocked",
                f"sts:GetCallerIdentity failed in {aws.region} ({why}): the credentials do not work",
                "refresh the credentials (aws configure, or aws sso login) or set AWS_PROFILE to a working profile",
            ),
            None,
        )
    evidence = f"account {identity.account_id}, {identity.arn}, region {aws.region}"
    details = {"account": identity.account_id, "arn": identity.arn, "region": aws.region}
    if identity.arn.endswith(":root"):
        return (
            CheckResult(
                IDENTITY_CHECK,
                "warning",
                f"{evidence}: these are the account's root credentials",
                "deploy as the least-privilege deployer instead: make create-sagemaker-role",
                details,
            ),
            identity,
        )
    return CheckResult(IDENTITY_CHECK, "ok", evidence, details=details), identity


def _unknown_because(lookup: HubLookup) -> str:
    if lookup.model is None:
        return "the Hub was not consulted" if lookup.problem in ("offline", "unreachable") else "the model is unknown"
    return "the Hub has no safetensors metadata for it"


def run_preflight(
    spec: DeploymentSpec,
    aws: Aws,
    plan: Plan | None,
    *,
    deployer_profile: str,
    hub: HfApi | None = None,
    observed: Observed | None = None,
    lookup: HubLookup | None = None,
) -> Report:
    """Run every check for the deploy `plan` describes (None: the one the spec describes).

    `deployer_profile` is where make create-sagemaker-role stores the deployer's key (for advice); `observed`
    is what the plan was built from: the role and endpoint it read are not read again; `lookup` is what the
    Hub said (`look_up_model`), asked through `hub` when not given.
    """
    target = Target.from_plan(plan, spec) if plan is not None else Target.from_spec(spec, aws.region)
    identity_row, identity = check_identity(aws)
    role_ref = RoleRef.of(spec.role_name, spec.role_arn)
    known_role = observed.role if observed else None
    image_uri = plan.image_uri if plan is not None else None
    role_row, role_arn = check_execution_role(aws, role_ref, identity, known_role, image_uri)
    pass_row = check_pass_role(aws, identity, role_arn, deployer_profile)
    known = {}
    if observed is not None and observed.endpoint is not None:
        known[observed.endpoint.name] = (observed.endpoint.description, observed.endpoint.config)
    quota_row = check_quota(aws, target.instance.name, target.new_instances, target.why_new, known)

    if spec.weights is not None:  # weights from S3: the stage and the role's access, no Hub request
        staged = check_staged(aws, spec.weights, role_arn)
        model_rows: tuple[CheckResult, ...] = staged.rows
        inputs = FitInputs(staged.parameters, staged.config, staged.config_note, staged.unknown_because)
        token = None
    else:
        token = hub_token(spec.model.token)
        lookup = lookup or look_up(hub or HfApi(), target.model_id, target.revision, token)
        model_rows = (check_model_access(lookup, target.model_id, target.revision, token is not None),)
        inputs = FitInputs.of(lookup)
    memory_row, weights = _memory_and_weights(spec, target, inputs)
    price_row = check_price(
        instance=target.instance,
        instance_count=target.instance_count,
        gpus_per_copy=target.gpus_per_copy,
        region=target.region,
        weights=weights,
    )
    support_row = check_engine_support(
        engine(spec.engine.name), target.model_id, inputs.config, inputs.config_note or inputs.unknown_because
    )
    rows = (identity_row, role_row, pass_row, quota_row, *model_rows, memory_row, price_row, support_row)
    rows += security_rows(aws, spec, observed, identity)  # VPC reach, KMS key, MFA (preflight/security.py)
    if spec.autoscaling is not None:  # autoscaling: the range's most instances against the same quota
        scaling_row = check_scaling_quota(aws, spec.autoscaling, target.instance, target.gpus_per_copy, spec.components)
        rows = (*rows[:4], scaling_row, *rows[4:])
    report = Report(rows, target.subject)
    return report.redacted([token.get_secret_value()] if token is not None else [])


@dataclass(frozen=True)
class FitInputs:
    """What the memory fit reads: parameter counts and config.json, from the Hub or from a stage in S3."""

    parameters: dict[str, int] | None
    config: dict[str, Any] | None
    config_note: str | None
    unknown_because: str

    @classmethod
    def of(cls, lookup: HubLookup) -> FitInputs:
        model = lookup.model
        return cls(
            parameters=model.parameters if model else None,
            config=model.config if model else None,
            config_note=model.config_note if model else None,
            unknown_because=_unknown_because(lookup),
        )


def _memory_and_weights(
    spec: DeploymentSpec, target: Target, inputs: FitInputs
) -> tuple[CheckResult, memory_fit.Weights | None]:
    """The memory-fit row, and the weights as served (the price row's decoding ceiling needs their size)."""
    parameters = inputs.parameters
    budget = memory_fit.Budget.of(engine(spec.engine.name), spec.engine.gpu_memory_utilization)
    row = check_memory_fit(
        parameters=parameters,
        config=inputs.config,
        config_note=inputs.config_note,
        quantize=spec.model.quantize,
        instance=target.instance,
        gpus_per_copy=target.gpus_per_copy,
        max_total_tokens=spec.model.max_total_tokens,
        table=GPU_INSTANCES.values(),
        unknown_because=inputs.unknown_because,
        budget=budget,
    )
    shape = memory_fit.ModelShape.from_config(inputs.config) if inputs.config else None
    weights = memory_fit.weights(parameters, spec.model.quantize, shape, budget.rule) if parameters else None
    return row, weights
