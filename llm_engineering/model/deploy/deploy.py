"""`make deploy-inference-endpoint`: plan, show the plan, create, wait, and explain any failure."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from llm_engineering.aws import AWS_FAILURES, Aws, connect, describe_failure
from llm_engineering.cli import ArgumentParser, echo, fail, run, warn
from llm_engineering.console import ConsoleReporter
from llm_engineering.hosting.apply import Applier, DeploymentFailed, DeploymentStopped, Outcome
from llm_engineering.hosting.observe import Observed, observe
from llm_engineering.hosting.plan import Plan, build_plan, render
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.hosting.ttl import TimeLimit, apply_time_limit, check_ttl, plan_time_limit, resolve_scheduler_role
from llm_engineering.hub.tokens import ModelAccess
from llm_engineering.resources.endpoints import Resource
from llm_engineering.resources.waiting import Poller
from llm_engineering.settings import Settings, load_settings

if TYPE_CHECKING:
    from llm_engineering.hub.models import HubLookup


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="deploy", description="Deploy HF_MODEL_ID on a SageMaker endpoint in the Hugging Face container of ENGINE."
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the AWS calls; create nothing")
    parser.add_argument("--no-wait", action="store_true", help="return once the endpoint is being created")
    parser.add_argument("--keep-failed", action="store_true", help="keep failed resources for inspection")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--skip-preflight", action="store_true", help="skip the quota, role, model and memory checks")
    parser.add_argument(
        "--replace", action="store_true", help="deploy a new model even when only the autoscaling changed"
    )
    return parser


def _delete_hint(endpoint_name: str) -> str:
    return f"make delete-inference-endpoint ENDPOINT_NAME={endpoint_name}"


def _report_left(remaining: list[Resource], endpoint_name: str, uncertain: Resource | None = None) -> None:
    """What this run leaves behind and the command that removes it (it finds the leftovers by their tags)."""
    if remaining:
        fail("still exists (may be billing): " + ", ".join(str(item) for item in remaining))
    if uncertain is not None:
        fail(f"may exist (its create request was on its way when the run stopped): {uncertain}")
    if remaining or uncertain is not None:
        fail(f"remove it with: {_delete_hint(endpoint_name)}")


def _confirm(plan: Plan) -> bool:
    if not sys.stdin.isatty():
        return True
    question = (
        f"Update the autoscaling of {plan.endpoint_name}?"
        if plan.in_place
        else f"Create these resources, {plan.cost.hourly()} until deleted?"
    )
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in {"y", "yes"}


def _model_access(spec: DeploymentSpec, skip_preflight: bool) -> tuple[ModelAccess, HubLookup | None]:
    """What the Hub says about the model (whether it needs a token), asked once; nothing with --skip-preflight,
    and nothing for weights staged in S3 (no token goes to the container then)."""
    if skip_preflight:
        return ModelAccess.unknown("preflight was skipped (--skip-preflight)"), None
    from llm_engineering.preflight.checks import look_up_model, model_access  # deferred: the Hub client is heavy

    lookup = look_up_model(spec)
    if lookup is None:
        return ModelAccess.unknown("the weights come from S3"), None
    return model_access(lookup), lookup


def _preflight_blocks(
    spec: DeploymentSpec, aws: Aws, plan: Plan, deployer_profile: str, observed: Observed, lookup: HubLookup | None
) -> bool:
    from llm_engineering.preflight.checks import render_report, run_preflight

    report = run_preflight(spec, aws, plan, deployer_profile=deployer_profile, observed=observed, lookup=lookup)
    echo(render_report(report))
    if report.blocked:
        fail("Preflight found a blocking problem (above): fix it, or pass --skip-preflight. Nothing was created.")
    return report.blocked


def _apply(applier: Applier, plan: Plan, *, wait: bool, keep_failed: bool) -> Outcome | int:
    """The outcome, or the exit code after printing what went wrong and what is left."""
    try:
        return applier.apply(plan, wait=wait, keep_failed=keep_failed)
    except DeploymentFailed as failure:
        applier.reporter.finish()
        for line in failure.diagnosis.lines():
            fail(line)
        if failure.rolled_back:
            fail("rolled back: " + ", ".join(str(item) for item in failure.rolled_back))
        _report_left(failure.remaining, plan.endpoint_name)
        return 1
    except DeploymentStopped as stopped:
        applier.reporter.finish()
        fail(str(stopped))
        _report_left(stopped.remaining, plan.endpoint_name, stopped.uncertain)
        return stopped.exit_code


def _report_success(plan: Plan, outcome: Outcome) -> None:
    for problem in outcome.retire_errors:
        warn(f"could not remove a superseded resource: {problem}")
    target = f"inference component {plan.component_name} on " if plan.component_name else ""
    if not outcome.waited:
        echo(f"Creating {target}endpoint {plan.endpoint_name}; not waiting (--no-wait).")
    else:
        echo(f"Ready: {target}endpoint {plan.endpoint_name} serves {plan.model_id}.")
    echo(f"It costs {plan.cost.hourly()} until deleted.")
    echo("Try it:     python test.py   (or make test-inference)")
    echo(f"Delete it:  {_delete_hint(plan.endpoint_name)}")


# --- Time limit (ENDPOINT_TTL) ---
def _time_limit(settings: Settings, aws: Aws, plan: Plan, observed: Observed) -> TimeLimit | None:
    """The schedules that delete the endpoint when ENDPOINT_TTL is set (their role checked before anything)."""
    if not settings.endpoint_ttl:
        return None
    ttl = check_ttl(settings.endpoint_ttl, "ENDPOINT_TTL")
    role_arn = resolve_scheduler_role(aws, settings.sagemaker_execution_role_name)
    return plan_time_limit(plan.endpoint_name, plan.component_name, ttl, role_arn, observed.now, plan.cost)


def _set_time_limit(aws: Aws, limit: TimeLimit) -> int:
    """Create or move the schedules; the endpoint is up either way, so a failure says it bills until deleted."""
    try:
        for change in apply_time_limit(aws, limit):
            echo(f"Time limit: {change}.")
    except AWS_FAILURES as error:
        fail(f"the endpoint is up but its time limit could not be set: {describe_failure(error)}")
        fail(f"it bills until deleted: make extend-ttl TTL=... to retry, or {_delete_hint(limit.endpoint_name)}")
        return 1
    echo(f"It deletes itself at {limit.expires:%Y-%m-%d %H:%M} UTC (make status shows the time left).")
    return 0


def _warn_token_budget(settings: Settings) -> None:
    """The test client's MAX_NEW_TOKENS_INFERENCE against the limits this deploy gives the container."""
    budget = settings.max_total_tokens - settings.max_input_tokens
    if settings.max_new_tokens_inference > budget:
        warn(
            f"MAX_NEW_TOKENS_INFERENCE={settings.max_new_tokens_inference} is more than this deploy allows for "
            f"every prompt (MAX_TOTAL_TOKENS={settings.max_total_tokens} - MAX_INPUT_TOKENS="
            f"{settings.max_input_tokens} = {budget}): TGI will refuse longer prompts with it; lower it or raise "
            "MAX_TOTAL_TOKENS."
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()
    spec = DeploymentSpec.from_settings(settings)
    if settings.endpoint_ttl:  # a time limit shorter than a deploy is bad input: nothing is asked of AWS
        check_ttl(settings.endpoint_ttl, "ENDPOINT_TTL")
    _warn_token_budget(settings)
    aws = connect(settings.aws_region, settings.aws_profile)
    access, lookup = _model_access(spec, args.skip_preflight)
    observed = observe(spec, aws, access)
    if spec.autoscaling is not None:  # a maximum the instance quota cannot hold is bad input (exit 2)
        from llm_engineering.preflight.scaling_quota import refuse_above_quota

        refuse_above_quota(aws, spec.autoscaling, observed.instance, observed.gpus_per_copy, spec.components)
    plan = build_plan(spec, observed, replace=args.replace)
    time_limit = _time_limit(settings, aws, plan, observed)
    echo(render(plan))
    for line in time_limit.lines() if time_limit else []:
        echo(line)
    for warning in spec.engine.warnings:  # after the plan: a bad setting stays one line
        warn(warning)
    if not args.skip_preflight and _preflight_blocks(spec, aws, plan, settings.deployer_profile, observed, lookup):
        return 1
    if args.dry_run:
        echo("Dry run: nothing was created.")
        return 0
    if not plan.steps and not plan.retire:  # it already serves these settings, scaling included
        echo(f"Nothing to change: endpoint {plan.endpoint_name} already serves these settings.")
        return _set_time_limit(aws, time_limit) if time_limit else 0
    if not args.yes and not _confirm(plan):
        echo("Nothing was created.")
        return 1
    applier = Applier(aws, spec, ConsoleReporter(), Poller(first=spec.poll_interval))
    outcome = _apply(applier, plan, wait=not args.no_wait, keep_failed=args.keep_failed)
    if isinstance(outcome, int):
        return outcome
    _report_success(plan, outcome)
    return _set_time_limit(aws, time_limit) if time_limit else 0


if __name__ == "__main__":
    run(main)
