"""Service Quotas for SageMaker hosting through boto3's service-quotas client."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError
from emulator_clients import Aws

from llm_engineering.local import configure
from llm_engineering.local.protocol import service_model
from llm_engineering.local.quotas import quota_code


def test_get_service_quota_answers_the_configured_value(aws: Aws) -> None:
    configure(aws.url, quotas={"ml.g5.2xlarge": 0}, default_quota=3)
    code = quota_code("ml.g5.2xlarge")

    quota = aws.quotas.get_service_quota(ServiceCode="sagemaker", QuotaCode=code)["Quota"]
    other = aws.quotas.get_service_quota(ServiceCode="sagemaker", QuotaCode=quota_code("ml.g6.xlarge"))["Quota"]

    assert re.fullmatch(r"L-[0-9A-F]{8}", code)
    assert quota == {
        "ServiceCode": "sagemaker",
        "ServiceName": "Amazon SageMaker",
        "QuotaArn": f"arn:aws:servicequotas:us-east-1:123456789012:sagemaker/{code}",
        "QuotaCode": code,
        "QuotaName": "ml.g5.2xlarge for endpoint usage",
        "Value": 0.0,
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
        "QuotaAppliedAtLevel": "ACCOUNT",
        "Description": "Maximum number of ml.g5.2xlarge instances that endpoints in this account can use.",
    }
    assert (other["QuotaName"], other["Value"]) == ("ml.g6.xlarge for endpoint usage", 3.0)


def test_list_service_quotas_has_one_quota_per_hosting_instance_type(aws: Aws) -> None:
    paginator = aws.quotas.get_paginator("list_service_quotas")

    quotas = [quota for page in paginator.paginate(ServiceCode="sagemaker") for quota in page["Quotas"]]

    enum = service_model("sagemaker").shape_for("ProductionVariantInstanceType").enum
    assert [quota["QuotaName"] for quota in quotas] == [f"{name} for endpoint usage" for name in enum]
    assert len({quota["QuotaCode"] for quota in quotas}) == len(enum)
    assert {quota["Value"] for quota in quotas} == {2.0}


def test_an_unknown_quota_code_is_no_such_resource(aws: Aws) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws.quotas.get_service_quota(ServiceCode="sagemaker", QuotaCode="L-00000000")

    assert excinfo.value.response["Error"] == {
        "Code": "NoSuchResourceException",
        "Message": "The request failed because the specified quota does not exist.",
    }


def test_other_services_are_left_to_moto(aws: Aws) -> None:
    quotas = aws.quotas.list_aws_default_service_quotas(ServiceCode="vpc")["Quotas"]

    assert quotas
    assert {quota["ServiceCode"] for quota in quotas} == {"vpc"}
