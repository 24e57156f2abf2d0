"""Fixtures of the hosting tests: a deployment made through the real plan and applier, against moto."""

from __future__ import annotations

import boto3
import pytest
from plan_factories import FAST, settings

from llm_engineering.aws import Aws, connect
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.observe import observe
from llm_engineering.hosting.plan import Plan, build_plan
from llm_engineering.resources.waiting import silent


@pytest.fixture
def deployed(moto_aws: None) -> tuple[Aws, Plan]:
    """A model-based deployment created through the real plan and applier, against moto."""
    boto3.client("iam").create_role(RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}")
    aws = connect(region="us-east-1")
    plan = build_plan(settings(), observe(settings(), aws))
    Applier(aws, settings(), silent, FAST).apply(plan)
    return aws, plan
