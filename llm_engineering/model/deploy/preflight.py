"""`make preflight`: check identity, role, quota, model access, memory fit and price before deploying.

Exit code 0 when everything is ok or only warns, 1 when a check is blocked, 2 for bad settings.
"""

from __future__ import annotations

from llm_engineering.aws import connect
from llm_engineering.cli import ArgumentParser, echo, fail, run, warn
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.preflight.checks import (
    look_up_model,
    plan_for_preflight,
    render_report,
    report_json,
    run_preflight,
)
from llm_engineering.settings import load_settings


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="preflight",
        description="Check, in seconds and without creating anything, what would make a deploy fail or cost "
        "money for nothing.",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()
    spec = DeploymentSpec.from_settings(settings)
    aws = connect(settings.aws_region, settings.aws_profile)
    lookup = look_up_model(spec)
    plan, observed = plan_for_preflight(spec, aws, lookup)
    for warning in spec.engine.warnings:  # after the plan: a bad setting stays one line
        warn(warning)
    report = run_preflight(
        spec, aws, plan, deployer_profile=settings.deployer_profile, observed=observed, lookup=lookup
    )
    echo(report_json(report) if args.json else render_report(report))
    if report.blocked:
        fail("Preflight found a blocking problem: apply the fix shown for it, then run make preflight again.")
        return 1
    return 0


if __name__ == "__main__":
    run(main)
