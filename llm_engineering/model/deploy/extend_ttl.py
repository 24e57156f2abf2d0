"""`make extend-ttl TTL=2h`: move an endpoint's time limit to TTL from now, without redeploying.

Sets one on an endpoint that has none. The schedules are the ones a deploy with ENDPOINT_TTL makes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from llm_engineering import tags
from llm_engineering.aws import connect
from llm_engineering.cli import ArgumentParser, echo, run
from llm_engineering.durations import check_duration
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.ttl import apply_time_limit, plan_time_limit, resolve_scheduler_role
from llm_engineering.names import check_sagemaker_name
from llm_engineering.resources.endpoints import Endpoint, components_on
from llm_engineering.settings import load_settings


def _parser() -> ArgumentParser:
    parser = ArgumentParser(prog="extend-ttl", description="Move the endpoint's time limit to TTL from now.")
    parser.add_argument("endpoint", nargs="?", help="endpoint name (default: SAGEMAKER_ENDPOINT_INFERENCE)")
    parser.add_argument("--ttl", default="", help="how long from now, e.g. 2h, 90m, 1d (make extend-ttl TTL=2h)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.ttl:
        raise ConfigurationError("TTL is required: make extend-ttl TTL=2h (how long from now the endpoint lives).")
    ttl = check_duration(args.ttl, "TTL")
    settings = load_settings()
    name = check_sagemaker_name(args.endpoint or settings.sagemaker_endpoint_inference, "ENDPOINT_NAME")
    aws = connect(settings.aws_region, settings.aws_profile)
    client = aws.client("sagemaker")
    endpoint = Endpoint.get(client, name)
    if endpoint is None:
        raise ConfigurationError(f"ENDPOINT_NAME={name!r}: no such endpoint in {aws.region} (make status lists them).")
    if not tags.is_managed(endpoint.tags()):
        raise ConfigurationError(f"Endpoint {name} was not created by this tool: its time limit is not ours to set.")
    components = components_on(client, name) if endpoint.hosts_components else []
    role_arn = resolve_scheduler_role(aws, settings.sagemaker_execution_role_name)
    component = components[0].name if components else None
    limit = plan_time_limit(name, component, ttl, role_arn, datetime.now(UTC))
    for change in apply_time_limit(aws, limit):
        echo(f"Time limit: {change}.")
    echo(f"{name} deletes itself at {limit.expires:%Y-%m-%d %H:%M} UTC.")
    return 0


if __name__ == "__main__":
    run(main)
