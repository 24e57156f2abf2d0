"""`make delete-inference-endpoint`: delete an endpoint and everything that belongs to it."""

from __future__ import annotations

import argparse

from llm_engineering import aws as aws_factory
from llm_engineering.cli import echo, run
from llm_engineering.console import ConsoleReporter
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.cleanup import delete_deployment
from llm_engineering.hosting.waiting import Poller
from llm_engineering.settings import SAGEMAKER_NAME_PATTERN, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="delete", description="Delete a SageMaker endpoint with its inference components, configs and models."
    )
    parser.add_argument("endpoint", nargs="?", help="endpoint name (default: SAGEMAKER_ENDPOINT_INFERENCE)")
    parser.add_argument("--endpoint-name", dest="endpoint_option", help="endpoint name (same as the argument)")
    parser.add_argument("--force", action="store_true", help="also delete resources without this tool's tags")
    args = parser.parse_args(argv)

    settings = load_settings()
    name = args.endpoint or args.endpoint_option or settings.sagemaker_endpoint_inference
    if not SAGEMAKER_NAME_PATTERN.match(name):
        raise ConfigurationError(
            f"ENDPOINT_NAME={name!r} is not a SageMaker endpoint name: 1-63 letters, digits or hyphens."
        )
    aws = aws_factory.from_settings(settings)
    reporter = ConsoleReporter()
    report = delete_deployment(
        aws,
        name,
        force=args.force,
        poller=Poller(first=settings.wait_poll_interval),
        timeout=settings.deploy_timeout,
        on_step=reporter.step,
        on_progress=reporter.progress,
    )
    reporter.finish()
    if report.nothing_to_delete:
        echo(f"Nothing to delete: no endpoint {name} and nothing tagged as belonging to it.")
    else:
        echo(f"Deleted {len(report.deleted)} resource(s) of {name}:")
        for item in report.deleted:
            echo(f"  {item}")
    return 0


if __name__ == "__main__":
    run(main)
