"""One partition rule: every ARN built from another takes its partition from there (China, GovCloud)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llm_engineering.aws import arn_partition, region_partition
from llm_engineering.hosting.ttl import plan_time_limit

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("region", "partition"), [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_the_time_limits_targets_are_in_the_roles_partition(region, partition):
    assert region_partition(region) == partition
    role = f"arn:{partition}:iam::123456789012:role/llm-engineering-sagemaker-ttl"
    limit = plan_time_limit("e", "e-ic", timedelta(hours=1), role, NOW)
    assert [schedule.target for schedule in limit.schedules] == [
        f"arn:{partition}:scheduler:::aws-sdk:sagemaker:deleteInferenceComponent",
        f"arn:{partition}:scheduler:::aws-sdk:sagemaker:deleteEndpoint",
    ]


def test_an_arn_names_its_partition_and_anything_else_is_refused():
    assert arn_partition("arn:aws-us-gov:iam::123456789012:role/x") == "aws-us-gov"
    with pytest.raises(ValueError, match="is not an ARN"):
        arn_partition("role/x")
