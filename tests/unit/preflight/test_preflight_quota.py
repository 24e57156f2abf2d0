"""The endpoint quota: Service Quotas answers (Stubber, exact requests) against endpoints in moto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import boto3
import pytest
from botocore.stub import Stubber
from preflight_world import ACCOUNT, G5_QUOTA_CODE

from llm_engineering.aws import Aws, connect
from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.hosting.observe import ExistingEndpoint, Observed
from llm_engineering.hosting.plan import build_plan
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.preflight.checks import Target
from llm_engineering.preflight.quota import check_quota, instances_in_use
from llm_engineering.settings import Settings

NAME = "ml.g5.2xlarge for endpoint usage"
LIST = {"ServiceCode": "sagemaker"}
COMMAND = "aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-1234ABCD"
CONSOLE = (
    "Service Quotas console > AWS services > Amazon SageMaker > this quota > Request increase at account level "
    "(https://us-east-1.console.aws.amazon.com/servicequotas/home/services/sagemaker/quotas/L-1234ABCD)"
)
NEW = "a new endpoint starts 1 instance(s)"


def quota(value: float, name: str = NAME, code: str = G5_QUOTA_CODE) -> dict:
    return {"ServiceCode": "sagemaker", "QuotaCode": code, "QuotaName": name, "Value": value, "Unit": "None"}


@pytest.fixture
def aws(moto_aws) -> Aws:
    return connect("us-east-1")


@pytest.fixture
def quotas(aws) -> Iterator[Stubber]:
    """Stubber on the Service Quotas client the check will use (moto has no SageMaker quotas)."""
    with Stubber(aws.client("service-quotas")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def endpoint(name: str, instance_type: str = "ml.g5.2xlarge", count: int = 1) -> None:
    client = boto3.client("sagemaker", region_name="us-east-1")
    client.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "123.dkr.ecr.us-east-1.amazonaws.com/tgi:1"},
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRoleLLM",
    )
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": instance_type}
    client.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[{**variant, "InitialInstanceCount": count}]
    )
    client.create_endpoint(EndpointName=name, EndpointConfigName=name)


def test_quota_0_blocks_with_the_exact_increase_request(aws, quotas):
    quotas.add_response("list_service_quotas", {"Quotas": [quota(0.0)]}, LIST)
    row = check_quota(aws, "ml.g5.2xlarge", 1, NEW)
    assert row.status == "blocked"
    assert row.evidence == (
        f"'{NAME}' (L-1234ABCD) is 0; in use 0; {NEW}: needs 1, SageMaker would refuse with ResourceLimitExceeded"
    )
    assert row.fix == f"{COMMAND} --desired-value 1 --region us-east-1 (or {CONSOLE}); increases can take hours to days"
    assert row.details == {
        "quota_name": NAME,
        "quota_code": "L-1234ABCD",
        "quota_value": 0.0,
        "applied": True,
        "new_instances": 1,
        "in_use": {},
        "desired_value": 1,
    }


def test_existing_endpoints_exhaust_the_quota(aws, quotas):
    endpoint("other-app", count=2)
    endpoint("small", instance_type="ml.g4dn.xlarge")
    quotas.add_response(
        "list_service_quotas",
        {"Quotas": [quota(4.0, "ml.g4dn.xlarge for endpoint usage", "L-0000AAAA")], "NextToken": "p2"},
        LIST,
    )
    quotas.add_response("list_service_quotas", {"Quotas": [quota(2.0)]}, {**LIST, "NextToken": "p2"})
    row = check_quota(aws, "ml.g5.2xlarge", 1, NEW)
    assert row.status == "blocked"
    assert row.evidence == (
        f"'{NAME}' (L-1234ABCD) is 2; in use 2 (other-app 2); {NEW}: needs 3, SageMaker would refuse with "
        "ResourceLimitExceeded"
    )
    assert row.fix.startswith(f"{COMMAND} --desired-value 3 --region us-east-1 (or ")


def test_within_the_quota_is_ok(aws, quotas):
    endpoint("other-app")
    quotas.add_response("list_service_quotas", {"Quotas": [quota(2.0)]}, LIST)
    row = check_quota(aws, "ml.g5.2xlarge", 1, NEW)
    assert row.status == "ok" and row.fix == ""
    assert row.evidence == f"'{NAME}' (L-1234ABCD) is 2; in use 1 (other-app 1); {NEW}: 2 of 2"


def test_the_aws_default_is_used_when_the_account_list_lacks_the_quota(aws, quotas):
    quotas.add_response("list_service_quotas", {"Quotas": []}, LIST)
    quotas.add_response("list_aws_default_service_quotas", {"Quotas": [quota(0.0)]}, LIST)
    row = check_quota(aws, "ml.g5.2xlarge", 1, NEW)
    assert row.status == "blocked"
    assert row.evidence.startswith(f"'{NAME}' (L-1234ABCD) is 0 (AWS default; the account list lacks it); in use 0")
    assert row.details["applied"] is False


def test_a_quota_found_nowhere_is_a_warning(aws, quotas):
    quotas.add_response("list_service_quotas", {"Quotas": []}, LIST)
    quotas.add_response("list_aws_default_service_quotas", {"Quotas": []}, LIST)
    row = check_quota(aws, "ml.g5.2xlarge", 1, NEW)
    assert row.status == "warning"
    assert row.evidence == f"Service Quotas has no quota named '{NAME}' in us-east-1; {NEW}"


def test_quota_api_denied_is_a_warning_not_a_crash(aws, quotas):
    quotas.add_client_error(
        "list_service_quotas", "AccessDeniedException", "User is not authorized", 400, expected_params=LIST
    )
    row = check_quota(aws, "ml.g5.2xlarge", 1, NEW)
    assert row.status == "warning"
    assert row.evidence == (
        f"could not read quota '{NAME}' (ListServiceQuotas refused: AccessDeniedException: User is not authorized); "
        f"{NEW}"
    )
    assert row.fix.startswith("allow servicequotas:ListServiceQuotas")


def test_unknown_usage_warns_unless_the_quota_alone_is_too_small(aws, quotas, monkeypatch):
    sagemaker = aws.client("sagemaker")
    with Stubber(sagemaker) as endpoints:
        endpoints.add_client_error("list_endpoints", "AccessDeniedException", "no ListEndpoints", 400)
        quotas.add_response("list_service_quotas", {"Quotas": [quota(2.0)]}, LIST)
        row = check_quota(aws, "ml.g5.2xlarge", 1, NEW)
        assert row.status == "warning"
        assert "in use unknown (ListEndpoints refused: AccessDeniedException: no ListEndpoints)" in row.evidence
        endpoints.add_client_error("list_endpoints", "AccessDeniedException", "no ListEndpoints", 400)
        quotas.add_response("list_service_quotas", {"Quotas": [quota(0.0)]}, LIST)
        assert check_quota(aws, "ml.g5.2xlarge", 1, NEW).status == "blocked"


def test_an_update_in_progress_holds_both_fleets_and_failed_endpoints_hold_none(aws):
    client = aws.client("sagemaker")
    with Stubber(client) as stub:
        stub.add_response(
            "list_endpoints",
            {
                "Endpoints": [
                    {
                        "EndpointName": "busy",
                        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/busy",
                        "CreationTime": 0,
                        "LastModifiedTime": 0,
                        "EndpointStatus": "Updating",
                    },
                    {
                        "EndpointName": "broken",
                        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/broken",
                        "CreationTime": 0,
                        "LastModifiedTime": 0,
                        "EndpointStatus": "Failed",
                    },
                ]
            },
            {},
        )
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "busy",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/busy",
                "EndpointConfigName": "busy-old",
                "EndpointStatus": "Updating",
                "CreationTime": 0,
                "LastModifiedTime": 0,
                "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 2}],
                "PendingDeploymentSummary": {
                    "EndpointConfigName": "busy-new",
                    "ProductionVariants": [
                        {"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "DesiredInstanceCount": 2}
                    ],
                },
            },
            {"EndpointName": "busy"},
        )
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": "busy-old",
                "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/busy-old",
                "CreationTime": 0,
                "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge"}],
            },
            {"EndpointConfigName": "busy-old"},
        )
        usage = instances_in_use(client, "ml.g5.2xlarge")
        stub.assert_no_pending_responses()
    assert usage.by_endpoint == {"busy": 4}


def settings(**values: object) -> DeploymentSpec:
    return DeploymentSpec.from_settings(Settings(**values))


def observed(endpoint: ExistingEndpoint | None = None) -> Observed:
    return Observed(
        region="us-east-1",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRoleLLM",
        image_uri="123.dkr.ecr.us-east-1.amazonaws.com/tgi:1",
        token=None,
        instance=GPU_INSTANCES["ml.g5.2xlarge"],
        gpus_per_copy=1,
        endpoint=endpoint,
    )


def existing(components: bool) -> ExistingEndpoint:
    return ExistingEndpoint(
        name="llm-engineering-endpoint",
        arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/llm-engineering-endpoint",
        status="InService",
        managed=True,
        hosts_components=components,
        config_name="old",
        model_names=() if components else ("old",),
        instance_type="ml.g5.2xlarge",
        instance_count=2,
    )


def test_instances_a_deploy_starts_come_from_its_plan():
    create = Target.from_plan(build_plan(settings(gpu_instance_count=2), observed()), settings())
    assert (create.new_instances, create.why_new) == (
        2,
        "this deploy creates endpoint llm-engineering-endpoint on 2 instance(s)",
    )
    update = Target.from_plan(build_plan(settings(gpu_instance_count=2), observed(existing(False))), settings())
    assert (update.new_instances, update.why_new) == (
        2,
        "updating llm-engineering-endpoint is blue/green: 2 new instance(s) start while the current ones still run",
    )
    components = settings(endpoint_type="inference-component", gpu_instance_count=2)
    on_existing = Target.from_plan(build_plan(components, observed(existing(True))), components)
    assert on_existing.new_instances == 0
    assert on_existing.why_new == (
        "the inference component runs on endpoint llm-engineering-endpoint's existing instances: none start"
    )
    fresh_components = Target.from_plan(build_plan(components, observed()), components)
    assert fresh_components.new_instances == 2


def test_an_update_of_the_scaling_alone_starts_no_instance():
    spec = settings()
    plan = replace(build_plan(spec, observed(existing(False))), steps=[], in_place=True)

    target = Target.from_plan(plan, spec)

    assert (target.new_instances, target.why_new) == (
        0,
        "endpoint llm-engineering-endpoint keeps running as it is (only its autoscaling changes): none start",
    )
