"""Create (or repair, or with --delete remove) the policy that lets an application invoke one endpoint only.

make create-invoke-policy [ENDPOINT_NAME=...] [ARGS=--delete]
"""

from __future__ import annotations

import sys

from llm_engineering.aws import AWS_FAILURES, Aws, connect
from llm_engineering.cli import ArgumentParser, add_force, echo, run, warn
from llm_engineering.iam.invoke_policy import (
    InvokePolicySpec,
    attachments,
    delete_invoke_policy,
    ensure_invoke_policy,
    invoke_policy_name,
)
from llm_engineering.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="create_invoke_policy",
        description="Create or repair a customer-managed policy allowing InvokeEndpoint (and its streaming form) "
        "on ENDPOINT_NAME only, to attach to an application's role.",
    )
    parser.add_argument("--delete", action="store_true", help="detach the policy from everything and delete it")
    add_force(parser, "act on a policy of that name even if this tool did not create it")
    args = parser.parse_args(argv)
    settings = load_settings()
    components = settings.endpoint_type == "inference-component"
    spec = InvokePolicySpec.of(
        settings.sagemaker_endpoint_inference, settings.inference_component_name if components else None
    )
    aws = connect(settings.aws_region, settings.aws_profile)
    if args.delete:
        for line in delete_invoke_policy(aws, spec.endpoint_name, detach=True, force=args.force) or [
            f"Policy {spec.name} does not exist: nothing to delete."
        ]:
            echo(line)
        return 0
    outcome = ensure_invoke_policy(aws, spec, force=args.force)
    for line in outcome.changes or [f"Policy {spec.name} is up to date: nothing changed."]:
        echo(line)
    echo(f"Policy ARN: {outcome.arn}")
    echo("Attach it to the application's role (it then may invoke this endpoint and nothing else):")
    echo(f"  aws iam attach-role-policy --role-name <application-role> --policy-arn {outcome.arn}")
    echo(f"Remove it with: make create-invoke-policy ENDPOINT_NAME={spec.endpoint_name} ARGS=--delete")
    return 0


def offer_removal(aws: Aws, endpoint_name: str) -> None:
    """After an endpoint is deleted: its invoke policy, if any, is deleted on a yes (interactive runs only);
    otherwise the command that removes it is printed. A policy that cannot be read is left unmentioned."""
    try:
        arn, attached = attachments(aws, endpoint_name)
    except AWS_FAILURES:
        return
    if arn is None:
        return
    name = invoke_policy_name(endpoint_name)
    where = f" (attached to {', '.join(attached)})" if attached else ""
    command = f"make create-invoke-policy ENDPOINT_NAME={endpoint_name} ARGS=--delete"
    if not sys.stdin.isatty():
        echo(f"The invoke policy {name}{where} still exists; remove it with: {command}")
        return
    answer = input(f"Also delete the invoke policy {name}{where}? [y/N] ")
    if answer.strip().lower() not in {"y", "yes"}:
        echo(f"Kept policy {name}; remove it later with: {command}")
        return
    try:
        for line in delete_invoke_policy(aws, endpoint_name, detach=True):
            echo(line)
    except AWS_FAILURES as error:
        warn(f"could not delete policy {name} ({error}): remove it with: {command}")


if __name__ == "__main__":
    run(main)
