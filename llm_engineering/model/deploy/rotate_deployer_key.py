"""`make rotate-deployer-key`: a new access key for the deployer user, proven, then the old one deleted.

make rotate-deployer-key [ARGS="--key-file [PATH]"]
"""

from __future__ import annotations

from llm_engineering.aws import connect
from llm_engineering.cli import ArgumentParser, echo, run, warn
from llm_engineering.iam.credentials import select_store
from llm_engineering.iam.rotation import rotate_deployer_key
from llm_engineering.iam.user import DeployerSpec, check_store_is_safe
from llm_engineering.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="rotate_deployer_key",
        description="Replace the deployer user's stored access key (SAGEMAKER_USER_NAME) by a new, proven one.",
    )
    parser.add_argument(
        "--key-file",
        nargs="?",
        const="",
        metavar="PATH",
        help="the key is in this file (as stored by make create-sagemaker-role ARGS=--key-file)",
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    spec = DeployerSpec.from_settings(settings)
    store = select_store(args.key_file, user_name=spec.user_name, profile=spec.profile)
    check_store_is_safe(store, settings.aws_profile)
    aws = connect(settings.aws_region, settings.aws_profile)
    outcome = rotate_deployer_key(aws, spec.user_name, store)
    for line in outcome.changes:
        echo(line)
    for line in outcome.warnings:
        warn(line)
    echo(f"Access key {outcome.new_key} is in {store.describe()}.")
    return 0


if __name__ == "__main__":
    run(main)
