"""In-process moto for the deploy tests, accepting the instance types SageMaker hosting really offers."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from plan_factories import FAST, settings

from llm_engineering.aws import Aws, connect
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.instances import hosting_instance_types
from llm_engineering.hosting.observe import observe
from llm_engineering.hosting.plan import Plan, build_plan
from llm_engineering.hosting.waiting import silent


def _validate_against_botocore(_self: object, instance_type: str) -> None:
    if instance_type not in hosting_instance_types():
        raise ValueError(f"{instance_type} is not a ProductionVariantInstanceType")


@pytest.fixture
def moto_aws() -> Iterator[None]:
    """moto 5.2 rejects ml.g5.* in CreateEndpointConfig (its list is years old): check botocore's enum instead."""
    with (
        mock_aws(),
        mock.patch("moto.sagemaker.models.FakeEndpointConfig.validate_instance_type", _validate_against_botocore),
    ):
        yield


@pytest.fixture
def deployed(moto_aws: None) -> tuple[Aws, Plan]:
    """A model-based deployment created through the real plan and applier, against moto."""
    boto3.client("iam").create_role(RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}")
    aws = connect(region="us-east-1")
    plan = build_plan(settings(), observe(settings(), aws))
    Applier(aws, settings(), silent, FAST).apply(plan)
    return aws, plan
