"""The preflight tests' world: account, deployer, role and model names (the canned answers for what moto lacks
are `aws_recorder`'s). A module of its own, so tests import it by name (not through `conftest`, which pytest
resolves per directory)."""

from __future__ import annotations

from aws_recorder import G5_QUOTA_CODE  # noqa: F401  (the quota code the recorder answers with)

ACCOUNT = "123456789012"
DEPLOYER = "sagemaker-deployer"
DEPLOYER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{DEPLOYER}"
ROLE = "SageMakerExecutionRoleLLM"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
MODEL = "Qwen/Qwen2.5-7B-Instruct"
QWEN_7B_PARAMETERS = {"BF16": 7_615_616_512}
SAGEMAKER_CREATES = {"CreateModel", "CreateEndpointConfig", "CreateEndpoint", "CreateInferenceComponent"}
