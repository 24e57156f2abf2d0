"""ENDPOINT_TTL's requests as botocore validates them, and its rules (names, minimum, the scheduler role)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.stub import Stubber

from llm_engineering.aws import Aws
from llm_engineering.catalogue.prices import Cost
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.ttl import (
    apply_time_limit,
    check_ttl,
    parse_at,
    plan_time_limit,
    remove_time_limit,
    schedule_name,
)
from llm_engineering.iam.scheduler_role import scheduler_permissions, scheduler_trust_policy

NOW = datetime(2026, 12, 2, 10, 0, 0, 500000, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRoleLLM-ttl"


class _Aws(Aws):
    def __init__(self, scheduler: object) -> None:
        self.scheduler = scheduler

    def client(self, service: str, *, read_timeout: float | None = None) -> object:
        assert service == "scheduler"
        return self.scheduler


def _scheduler():
    return botocore.session.get_session().create_client(
        "scheduler", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _request(name: str, arn: str, payload: dict, at: str) -> dict:
    return {
        "Name": name,
        "GroupName": "llm-engineering",
        "ScheduleExpression": at,
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Description": "llm-engineering: time limit of endpoint ep",
        "Target": {
            "Arn": arn,
            "RoleArn": ROLE,
            "Input": json.dumps(payload),
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
        },
    }


NOT_FOUND = {"service_error_code": "ResourceNotFoundException", "http_status_code": 404}


def test_component_endpoint_gets_two_schedules_created_in_the_tools_group():
    scheduler = _scheduler()
    limit = plan_time_limit("ep", "ep-ic", timedelta(hours=4), ROLE, NOW, Cost(1.52))
    assert round(limit.usd_by_then or 0, 2) == 6.08
    stubber = Stubber(scheduler)
    stubber.add_client_error("get_schedule_group", expected_params={"Name": "llm-engineering"}, **NOT_FOUND)
    stubber.add_response(
        "create_schedule_group",
        {"ScheduleGroupArn": "arn:aws:scheduler:us-east-1:123456789012:schedule-group/llm-engineering"},
        {
            "Name": "llm-engineering",
            "Tags": [
                {"Key": "llm-engineering:managed-by", "Value": "llm-engineering"},
                {"Key": "llm-engineering:version", "Value": "0.1.0"},
            ],
        },
    )
    arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/llm-engineering/x"
    for name, target, payload, at in (
        ("ep-ttl-ic", "deleteInferenceComponent", {"InferenceComponentName": "ep-ic"}, "at(2026-12-02T14:00:00)"),
        ("ep-ttl", "deleteEndpoint", {"EndpointName": "ep"}, "at(2026-12-02T14:05:00)"),
    ):
        stubber.add_client_error(
            "get_schedule", expected_params={"Name": name, "GroupName": "llm-engineering"}, **NOT_FOUND
        )
        stubber.add_response(
            "create_schedule",
            {"ScheduleArn": arn},
            _request(name, f"arn:aws:scheduler:::aws-sdk:sagemaker:{target}", payload, at),
        )
    with stubber:
        changes = apply_time_limit(_Aws(scheduler), limit)
    stubber.assert_no_pending_responses()
    assert changes[0] == "created schedule llm-engineering/ep-ttl-ic (at(2026-12-02T14:00:00) UTC)"


def test_delete_removes_both_schedules_and_tolerates_missing_ones():
    scheduler = _scheduler()
    stubber = Stubber(scheduler)
    stubber.add_client_error(
        "delete_schedule", expected_params={"Name": "ep-ttl-ic", "GroupName": "llm-engineering"}, **NOT_FOUND
    )
    stubber.add_response("delete_schedule", {}, {"Name": "ep-ttl", "GroupName": "llm-engineering"})
    with stubber:
        assert remove_time_limit(_Aws(scheduler), "ep") == ["schedule llm-engineering/ep-ttl"]
    stubber.assert_no_pending_responses()


def test_names_stay_within_64_characters_and_unique():
    long = "e" * 63
    assert len(schedule_name(long, "ttl-ic")) == 64
    assert schedule_name(long, "ttl") != schedule_name("e" * 62 + "f", "ttl")
    assert parse_at("at(2026-12-02T14:05:00)") == datetime(2026, 12, 2, 14, 5, tzinfo=UTC)
    assert parse_at("rate(5 minutes)") is None


def test_a_ttl_shorter_than_a_deploy_is_refused():
    assert check_ttl("90m", "ENDPOINT_TTL") == timedelta(minutes=90)
    with pytest.raises(ConfigurationError, match=r"ENDPOINT_TTL='5m' is shorter than a deploy takes .* 15m or more"):
        check_ttl("5m", "ENDPOINT_TTL")


def test_scheduler_role_documents():
    assert scheduler_trust_policy("123456789012")["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ]
    [statement] = scheduler_permissions("aws", "123456789012")["Statement"]
    assert statement["Action"] == ["sagemaker:DeleteEndpoint", "sagemaker:DeleteInferenceComponent"]
    assert statement["Resource"] == [
        "arn:aws:sagemaker:*:123456789012:endpoint/*",
        "arn:aws:sagemaker:*:123456789012:inference-component/*",
    ]
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/llm-engineering:managed-by": "llm-engineering"}}
