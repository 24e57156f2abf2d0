"""`make delete-inference-endpoint`: delete an endpoint and everything that belongs to it."""

from __future__ import annotations

from llm_engineering.aws import AWS_FAILURES, connect, describe_failure
from llm_engineering.cli import ArgumentParser, add_force, echo, fail, run
from llm_engineering.console import ConsoleReporter
from llm_engineering.hosting.teardown import DeleteStopped, delete_deployment
from llm_engineering.hosting.ttl import remove_time_limit
from llm_engineering.model.deploy.create_invoke_policy import offer_removal
from llm_engineering.names import check_sagemaker_name
from llm_engineering.resources.waiting import Poller
from llm_engineering.settings import load_settings


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="delete", description="Delete a SageMaker endpoint with its inference components, configs and models."
    )
    parser.add_argument("endpoint", nargs="?", help="endpoint name (default: SAGEMAKER_ENDPOINT_INFERENCE)")
    parser.add_argument("--endpoint-name", dest="endpoint_option", help="endpoint name (same as the argument)")
    add_force(parser, "also delete resources without this tool's tags")
    return parser


def _report_stopped(stopped: DeleteStopped, name: str) -> int:
    """What went, what is left, and that running delete again finishes the job."""
    fail(str(stopped))
    if stopped.report.deleted:
        fail("deleted: " + ", ".join(stopped.report.deleted))
    if stopped.report.left:
        fail("left: " + stopped.report.describe_left())
    fail(f"run it again to finish the job: make delete-inference-endpoint ENDPOINT_NAME={name}")
    return stopped.exit_code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()
    name = check_sagemaker_name(
        args.endpoint or args.endpoint_option or settings.sagemaker_endpoint_inference, "ENDPOINT_NAME"
    )
    aws = connect(settings.aws_region, settings.aws_profile)
    reporter = ConsoleReporter()
    try:
        report = delete_deployment(
            aws,
            name,
            force=args.force,
            poller=Poller(first=settings.wait_poll_interval),
            timeout=settings.deploy_timeout,
            reporter=reporter,
        )
    except DeleteStopped as stopped:
        reporter.finish()
        return _report_stopped(stopped, name)
    reporter.finish()
    try:  # time limits: the endpoint is gone, its schedules go with it
        report.deleted += remove_time_limit(aws, name)
    except AWS_FAILURES as error:
        fail(f"could not remove the time-limit schedules of {name}: {describe_failure(error)}; run it again")
        return 1
    if report.nothing_to_delete:
        echo(f"Nothing to delete: no endpoint {name} and nothing tagged as belonging to it.")
    else:
        echo(f"Deleted {len(report.deleted)} resource(s) of {name}:")
        for item in report.deleted:
            echo(f"  {item}")
    offer_removal(aws, name)  # the endpoint's invoke policy (make create-invoke-policy)
    if settings.deployer_stage_roots:  # staged weights are reused by the next deploy: never deleted here
        echo("Staged weights in S3 are kept (make status lists them; make delete-staged-model removes one).")
    return 0


if __name__ == "__main__":
    run(main)
