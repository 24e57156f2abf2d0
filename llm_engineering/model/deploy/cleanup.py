"""`make cleanup`: list what this tool left in the region (with what it costs per hour); `--yes` removes it.

Endpoints go through the same ordered delete as make delete-inference-endpoint. Staged models are only listed
unless `--include-staged`. Nothing without the tool's tags is touched; untagged endpoints are counted.
"""

from __future__ import annotations

from llm_engineering.aws import AWS_FAILURES, connect, describe_failure
from llm_engineering.catalogue.prices import PRICE_SOURCE
from llm_engineering.cli import ArgumentParser, echo, fail, run
from llm_engineering.durations import check_duration, describe
from llm_engineering.hosting.cleanup import Orphan, find_orphans, remove
from llm_engineering.settings import load_settings


def _parser() -> ArgumentParser:
    parser = ArgumentParser(prog="cleanup", description="List (and with --yes delete) what this tool left unused.")
    parser.add_argument("--yes", action="store_true", help="delete what is listed")
    parser.add_argument("--older-than", help="only what is older than this, e.g. 7d, 12h")
    parser.add_argument("--include-staged", action="store_true", help="also delete staged models no endpoint loads")
    return parser


def _line(item: Orphan) -> str:
    cost = f", about USD {item.usd_per_hour:.2f}/hour" if item.usd_per_hour else ""
    return f"  {item}: {item.reason}{cost}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    older_than = check_duration(args.older_than, "--older-than") if args.older_than else None
    settings = load_settings()
    aws = connect(settings.aws_region, settings.aws_profile)
    found = find_orphans(aws, older_than=older_than, staged_roots=settings.deployer_stage_roots)
    age = f" older than {describe(older_than)}" if older_than else ""
    targets = found.found + (found.staged if args.include_staged else [])
    if not found.found and not found.staged:
        echo(f"Nothing of this tool to clean up{age} in {aws.region}.")
    else:
        echo(f"Unused resources of this tool{age} in {aws.region} ({PRICE_SOURCE}):")
        for item in found.found:
            echo(_line(item))
        for item in found.staged:
            kept = "" if args.include_staged else " (kept unless --include-staged)"
            echo(_line(item) + kept)
        if found.usd_per_hour:
            echo(f"Billing now: about USD {found.usd_per_hour:.2f}/hour.")
    if found.untagged_endpoints:
        echo(
            f"{found.untagged_endpoints} endpoint(s) in {aws.region} were not created by this tool: never touched here."
        )
    if not targets:
        return 0
    if not args.yes:
        echo("Nothing deleted: run make cleanup ARGS=--yes to delete the above.")
        return 0
    left: list[str] = []
    for item in targets:
        try:
            echo(f"deleted {item}" if remove(aws, item) else f"{item} was already gone")
        except AWS_FAILURES as error:
            left.append(f"{item} ({describe_failure(error)})")
    if left:
        fail("not deleted: " + "; ".join(left))
        fail("run make cleanup ARGS=--yes again to finish")
        return 1
    return 0


if __name__ == "__main__":
    run(main)
