"""REQUIRE_MFA: every changing action of the deployer policy needs MFA; reads and invokes do not."""

from __future__ import annotations

import json

from iam_snapshot import ACCOUNT

from llm_engineering.iam import deployer_policy_document
from llm_engineering.iam.mfa import is_changing, require_mfa
from llm_engineering.model.deploy.create_sagemaker_role import main

USER = "sagemaker-deployer"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/llm-engineering-deployer-{USER}"


def _base() -> dict:
    return deployer_policy_document(
        partition="aws",
        account_id=ACCOUNT,
        user_name=USER,
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRoleLLM",
        instance_types=["ml.g5.2xlarge"],
    )


def _pairs(document: dict) -> set[tuple[str, str, str]]:
    """(action, resource, condition without the MFA test) for every allowed action."""
    pairs = set()
    for statement in document["Statement"]:
        condition = json.loads(json.dumps(statement.get("Condition", {})))
        condition.get("Bool", {}).pop("aws:MultiFactorAuthPresent", None)
        condition = {key: value for key, value in condition.items() if value}
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        pairs |= {(a, r, json.dumps(condition, sort_keys=True)) for a in actions for r in resources}
    return pairs


def test_changing_actions_need_mfa_and_the_rest_does_not():
    document = require_mfa(_base())
    for statement in document["Statement"]:
        mfa = statement.get("Condition", {}).get("Bool", {}).get("aws:MultiFactorAuthPresent")
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(is_changing(action) for action in actions) == (mfa == "true"), statement["Sid"]
    guarded = {
        action
        for statement in document["Statement"]
        if statement.get("Condition", {}).get("Bool")
        for action in statement["Action"]
    }
    assert {"sagemaker:CreateModel", "sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpoint", "iam:PassRole"} <= guarded
    assert not {"sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint", "sagemaker:ListEndpoints"} & guarded


def test_the_same_permissions_otherwise():
    assert _pairs(require_mfa(_base())) == _pairs(_base())


def test_create_sagemaker_role_puts_the_mfa_policy_when_required(iam, run_main, monkeypatch):
    monkeypatch.setenv("REQUIRE_MFA", "true")
    assert run_main(main)[0] == 0
    version = iam.get_policy(PolicyArn=POLICY_ARN)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=POLICY_ARN, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    sids = {statement["Sid"] for statement in document["Statement"]}
    assert {"CreateTaggedSageMakerHostingWithMfa", "ManageTaggedSageMakerHostingWithMfa"} <= sids
    assert "UseTaggedSageMakerHosting" in sids  # invokes and DescribeModel, without MFA
