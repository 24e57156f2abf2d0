"""`make create-invoke-policy`: one endpoint's invoke permissions as a customer-managed policy, repaired when it
drifts, deleted (detached first) on request, and offered for removal when the endpoint is deleted."""

from __future__ import annotations

import json

import pytest
from iam_snapshot import ACCOUNT

from llm_engineering.aws import connect
from llm_engineering.iam.invoke_policy import InvokePolicySpec, invoke_policy_document
from llm_engineering.model.deploy import create_invoke_policy
from llm_engineering.model.deploy.create_invoke_policy import main, offer_removal

NAME = "llm-engineering-invoke-llm-engineering-endpoint"
ARN = f"arn:aws:iam::{ACCOUNT}:policy/{NAME}"
ENDPOINT_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/llm-engineering-endpoint"


def _document(iam) -> dict:
    version = iam.get_policy(PolicyArn=ARN)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=ARN, VersionId=version)["PolicyVersion"]["Document"]
    return json.loads(document) if isinstance(document, str) else document


def test_the_document_allows_invoking_this_endpoint_only():
    document = invoke_policy_document(
        InvokePolicySpec.of("My-Endpoint"), partition="aws", region="eu-west-1", account_id=ACCOUNT
    )
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeOneEndpoint",
                "Effect": "Allow",
                "Action": ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                "Resource": [f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/my-endpoint"],
            }
        ],
    }


def test_a_component_endpoint_adds_its_component():
    spec = InvokePolicySpec.of("ep", "ep-ic")
    document = invoke_policy_document(spec, partition="aws", region="us-east-1", account_id=ACCOUNT)
    assert document["Statement"][0]["Resource"] == [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/ep",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:inference-component/ep-ic",
    ]


def test_creates_the_policy_tagged_and_prints_how_to_attach_it(iam, run_main):
    code, out, err = run_main(main)
    assert (code, err) == (0, "")
    assert _document(iam)["Statement"][0]["Resource"] == [ENDPOINT_ARN]
    tags = {tag["Key"]: tag["Value"] for tag in iam.list_policy_tags(PolicyArn=ARN)["Tags"]}
    assert tags["llm-engineering:managed-by"] == "llm-engineering"
    assert f"Policy ARN: {ARN}" in out
    assert f"aws iam attach-role-policy --role-name <application-role> --policy-arn {ARN}" in out
    assert run_main(main)[1].startswith(f"Policy {NAME} is up to date: nothing changed.")


def test_a_drifted_policy_is_repaired(iam, run_main):
    run_main(main)
    wide = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=ARN, PolicyDocument=json.dumps(wide), SetAsDefault=True)
    code, out, _ = run_main(main)
    assert code == 0 and f"Repaired policy {NAME}" in out
    assert _document(iam)["Statement"][0]["Action"] == [
        "sagemaker:InvokeEndpoint",
        "sagemaker:InvokeEndpointWithResponseStream",
    ]


def test_a_foreign_policy_of_that_name_is_refused(iam, run_main):
    other = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    iam.create_policy(PolicyName=NAME, PolicyDocument=json.dumps(other))
    code, _out, err = run_main(main)
    assert code != 0 and err.count("\n") == 1 and "was not created by llm-engineering" in err


def test_a_bad_endpoint_name_is_one_line_exit_2_and_nothing_created(iam, run_main, monkeypatch):
    monkeypatch.setenv("ENDPOINT_NAME", "bad.name")
    code, out, err = run_main(main)
    assert code == 2 and out == "" and err.count("\n") == 1 and "ENDPOINT_NAME='bad.name'" in err
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_delete_detaches_then_deletes_and_is_idempotent(iam, run_main):
    run_main(main)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="app", PolicyArn=ARN)
    code, out, _ = run_main(main, "--delete")
    assert code == 0
    assert out == f"Detached policy {NAME} from role/app.\nDeleted policy {NAME}.\n"
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert run_main(main, "--delete")[1] == f"Policy {NAME} does not exist: nothing to delete.\n"


def test_deleting_the_endpoint_offers_the_policy_removal(iam, run_main, monkeypatch, capsys):
    run_main(main)
    aws = connect(region="us-east-1")
    monkeypatch.setattr(create_invoke_policy.sys.stdin, "isatty", lambda: False)
    offer_removal(aws, "llm-engineering-endpoint")
    assert "remove it with: make create-invoke-policy ENDPOINT_NAME=llm-engineering-endpoint ARGS=--delete" in (
        capsys.readouterr().out
    )
    monkeypatch.setattr(create_invoke_policy.sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda _prompt: "y")
    offer_removal(aws, "llm-engineering-endpoint")
    assert capsys.readouterr().out == f"Deleted policy {NAME}.\n"
    assert iam.list_policies(Scope="Local")["Policies"] == []
    offer_removal(aws, "llm-engineering-endpoint")  # nothing left: nothing said
    assert capsys.readouterr().out == ""


@pytest.fixture(autouse=True)
def _region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
