"""One set of billing states and one status-to-advice table (`statuses`): what bills, and what to tell a user
about an endpoint in each state, read by `make status`, the role-in-use check, the client, deploy and the
benchmark alike."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from llm_engineering.aws import connect
from llm_engineering.hosting.inventory import region_endpoints
from llm_engineering.loadtest.target import BenchmarkTargetError, describe_target
from llm_engineering.resources.endpoints import endpoints_using_role
from llm_engineering.statuses import BILLING, ENDPOINT_TRANSITIONAL, HOLDING_INSTANCES, Status, advice

ENDPOINT_STATES = [
    Status(value)
    for value in botocore.session.get_session().get_service_model("sagemaker").shape_for("EndpointStatus").enum
]
NOT_IN_SERVICE = [status for status in ENDPOINT_STATES if status != Status.IN_SERVICE]
ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint"
WHEN = "2026-01-01T00:00:00Z"


def test_what_bills_is_what_holds_instances_and_is_not_going_away() -> None:
    assert HOLDING_INSTANCES - {Status.DELETING} == BILLING
    assert Status.IN_SERVICE in BILLING and Status.UPDATE_ROLLBACK_FAILED in BILLING
    assert not BILLING & {Status.DELETING, Status.FAILED, Status.OUT_OF_SERVICE, Status.DELETED, Status.UNKNOWN}


@pytest.mark.parametrize("status", NOT_IN_SERVICE)
def test_every_state_sagemaker_has_comes_with_advice_to_use_and_to_deploy(status: Status) -> None:
    said = advice(status)
    assert said.use and said.deploy
    assert ("wait for it to settle" in said.deploy) == (status in ENDPOINT_TRANSITIONAL)
    if status != Status.UPDATE_ROLLBACK_FAILED:  # SageMaker's own mix of configurations: the console tells
        assert said.use != advice(Status.UNKNOWN).use


def _described(name: str, status: Status) -> dict[str, Any]:
    return {
        "EndpointName": name,
        "EndpointArn": f"{ARN}/{name}",
        "EndpointConfigName": f"{name}-config",
        "EndpointStatus": status.value,
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
    }


def _region(stub: Stubber, states: list[Status]) -> None:
    """A region whose endpoints, one per state, carry no tag of this tool."""
    listed = [
        {
            "EndpointName": s.value.lower(),
            "EndpointArn": f"{ARN}/{s.value.lower()}",
            "CreationTime": WHEN,
            "LastModifiedTime": WHEN,
            "EndpointStatus": s.value,
        }
        for s in states
    ]
    stub.add_response("list_endpoints", {"Endpoints": listed}, {})
    for status in states:
        name = status.value.lower()
        stub.add_response("describe_endpoint", _described(name, status), {"EndpointName": name})
        stub.add_response("list_tags", {"Tags": []}, {"ResourceArn": f"{ARN}/{name}", "MaxResults": 100})


def test_status_counts_other_people_s_endpoints_that_bill(offline_env: object) -> None:
    sagemaker = connect(region="us-east-1").client("sagemaker")
    with Stubber(sagemaker) as stub:
        _region(stub, ENDPOINT_STATES)
        found = region_endpoints(sagemaker)
        stub.assert_no_pending_responses()
    assert found.ours == []
    assert sorted(found.others) == sorted(status.value.lower() for status in ENDPOINT_STATES if status in BILLING)


def test_a_role_is_in_use_only_by_endpoints_that_bill(offline_env: object) -> None:
    sagemaker = connect(region="us-east-1").client("sagemaker")
    gone = [status for status in ENDPOINT_STATES if status not in BILLING]
    with Stubber(sagemaker) as stub:
        listed = [
            {
                "EndpointName": s.value.lower(),
                "EndpointArn": f"{ARN}/{s.value.lower()}",
                "CreationTime": WHEN,
                "LastModifiedTime": WHEN,
                "EndpointStatus": s.value,
            }
            for s in gone
        ]
        stub.add_response("list_endpoints", {"Endpoints": listed}, {})
        for status in gone:
            stub.add_response("describe_endpoint", _described(status.value.lower(), status), None)
        assert endpoints_using_role(sagemaker, "arn:aws:iam::123456789012:role/r") == []
        stub.assert_no_pending_responses()  # not one ListTags: none of them bills


@pytest.mark.parametrize("status", NOT_IN_SERVICE)
def test_the_benchmark_says_what_the_table_says(offline_env: object, status: Status) -> None:
    sagemaker = connect(region="us-east-1").client("sagemaker")
    with Stubber(sagemaker) as stub:
        stub.add_response("describe_endpoint", _described("e", status), {"EndpointName": "e"})
        with pytest.raises(BenchmarkTargetError) as refused:
            describe_target(sagemaker, "e", None)
    assert f"is {status}, not InService" in str(refused.value)
    assert advice(status).use in str(refused.value)
