"""Create (or repair, or with --delete remove) the IAM user that deploys, with a least-privilege policy
and an access key stored as a profile in the AWS credentials file or in a key file.

    make create-sagemaker-role [ARGS="--managed-policies | --key-file [PATH] | --rotate-key | --force"]
    make delete-sagemaker-role
"""

from __future__ import annotations

from llm_engineering.aws import connect
from llm_engineering.cli import ArgumentParser, add_force, echo, run, warn
from llm_engineering.iam.credentials import select_store, stores_to_clean
from llm_engineering.iam.policies import HANDBOOK_MANAGED_POLICIES
from llm_engineering.iam.user import DeployerSpec, check_store_is_safe, delete_deployer, ensure_deployer
from llm_engineering.settings import load_settings


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="create_sagemaker_role",
        description="Create the IAM user that deploys models (SAGEMAKER_USER_NAME) and store its access key.",
    )
    parser.add_argument(
        "--managed-policies",
        action="store_true",
        help="attach the LLM Engineer's Handbook AWS managed *FullAccess policies instead of the least-privilege one",
    )
    parser.add_argument(
        "--key-file",
        nargs="?",
        const="",
        metavar="PATH",
        help="store the key in this file (mode 0600; default .llm-engineering/<user>.credentials) "
        "instead of the AWS shared credentials file",
    )
    parser.add_argument(
        "--rotate-key", action="store_true", help="create a new access key, store it, then delete the old one"
    )
    parser.add_argument("--delete", action="store_true", help="delete the user, its keys, policy and stored key")
    add_force(parser, "act on a user, role or policy of that name even if this tool did not create it")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.delete and (args.rotate_key or args.managed_policies):
        parser.error("--delete cannot be combined with --rotate-key or --managed-policies")
    settings = load_settings()
    spec = DeployerSpec.from_settings(settings)
    store = select_store(args.key_file, user_name=spec.user_name, profile=spec.profile)
    if not args.delete:
        check_store_is_safe(store, settings.aws_profile)
    aws = connect(settings.aws_region, settings.aws_profile)

    if args.delete:
        stores = stores_to_clean(store, user_name=spec.user_name)
        changes = delete_deployer(aws, spec, stores, force=args.force)
        for line in changes or [f"IAM user {spec.user_name} does not exist: nothing to delete."]:
            echo(line)
        return 0

    if args.managed_policies:
        warn(
            f"--managed-policies attaches {', '.join(HANDBOOK_MANAGED_POLICIES)}: full control of SageMaker, "
            "CloudFormation, IAM, ECR and S3. Prefer the default least-privilege policy."
        )
    outcome = ensure_deployer(
        aws, spec, store, managed_policies=args.managed_policies, rotate_key=args.rotate_key, force=args.force
    )
    for line in outcome.changes or [f"IAM user {spec.user_name} and its policy are up to date: nothing changed."]:
        echo(line)
    for line in outcome.warnings:
        warn(line)
    echo(f"User ARN: {outcome.user_arn}")
    if outcome.key_id is not None:
        echo(f"Access key {outcome.key_id} is in {store.describe()}.")
        echo(f"Deploy as this user with: {store.usage()} make deploy-inference-endpoint")
    return 0


if __name__ == "__main__":
    run(main)
