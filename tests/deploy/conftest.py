"""In-process moto for the deploy tests, accepting the instance types SageMaker hosting really offers."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
from moto import mock_aws

from llm_engineering.model.deploy.instances import hosting_instance_types


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
