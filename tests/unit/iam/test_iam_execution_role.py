"""`create_sagemaker_execution_role` and `resolve_execution_role_arn`: exact state, drift repair, deletion."""

from __future__ import annotations

import json

import pytest
from iam_snapshot import ACCOUNT, snapshot

from llm_engineering import __version__
from llm_engineering.aws import connect
from llm_engineering.errors import ConfigurationError
from llm_engineering.iam import (
    ExecutionRoleMissingError,
    canonical,
    execution_role_permissions,
    execution_role_trust_policy,
    resolve_execution_role_arn,
)
from llm_engineering.iam.scheduler_role import scheduler_permissions, scheduler_trust_policy
from llm_engineering.model.deploy.create_sagemaker_execution_role import main
from llm_engineering.settings import load_settings

ROLE = "SageMakerExecutionRoleLLM"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
INLINE = "llm-engineering-execution"
TAGS = {"llm-engineering:managed-by": "llm-engineering", "llm-engineering:version": __version__}
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def expected_role(buckets: tuple[str, ...] = ()) -> dict:
    return {
        "arn": ROLE_ARN,
        "trust": canonical(execution_role_trust_policy(ACCOUNT, partition="aws", region="us-east-1")),
        "tags": TAGS,
        "inline": {
            INLINE: canonical(
                execution_role_permissions(
                    partition="aws",
                    account_id=ACCOUNT,
                    image_repositories=["arn:aws:ecr:us-east-1:763104351884:repository/*"],
                    s3_buckets=buckets,
                )
            )
        },
        "attached": [],
    }


def expected_scheduler_role() -> dict:
    return {
        "arn": f"{ROLE_ARN}-ttl",
        "trust": canonical(scheduler_trust_policy(ACCOUNT)),
        "tags": TAGS,
        "inline": {"DeleteExpiredEndpoints": canonical(scheduler_permissions("aws", ACCOUNT))},
        "attached": [],
    }


def test_creates_the_role_with_its_trust_scoped_permissions_and_tags(iam, run_main):
    code, out, err = run_main(main)
    assert (code, err) == (0, "")
    roles = {ROLE: expected_role(), f"{ROLE}-ttl": expected_scheduler_role()}  # time limits: the scheduler's role
    assert snapshot(iam) == {"users": {}, "roles": roles, "policies": {}, "instance_profiles": []}
    statements = snapshot(iam)["roles"][ROLE]["inline"][INLINE]["Statement"]
    assert not [s for s in statements if any(a.startswith("s3:") for a in s["Action"])]
    assert out == (
        f"Created IAM role {ROLE}, assumable only by sagemaker.amazonaws.com for account {ACCOUNT} in us-east-1.\n"
        f"Put inline policy {INLINE} on role {ROLE}: ECR image pull, CloudWatch Logs and metrics under "
        "/aws/sagemaker/*, no S3 access.\n"
        f"Created IAM role {ROLE}-ttl for time limits (ENDPOINT_TTL): scheduler.amazonaws.com may only delete this "
        "tool's endpoints and inference components.\n"
        f"Role ARN: {ROLE_ARN}\n"
    )


def test_s3_read_covers_the_configured_buckets_only(iam, run_main, monkeypatch):
    monkeypatch.setenv("EXECUTION_ROLE_S3_BUCKETS", "models-a, models-b")
    code, out, _ = run_main(main)
    assert code == 0
    assert snapshot(iam)["roles"][ROLE] == expected_role(("models-a", "models-b"))
    assert "read of S3 bucket(s) models-a, models-b" in out


def test_second_run_changes_nothing_and_says_so(iam, run_main):
    run_main(main)
    before = snapshot(iam)
    assert run_main(main) == (0, f"IAM role {ROLE} is up to date: nothing changed.\nRole ARN: {ROLE_ARN}\n", "")
    assert snapshot(iam) == before


def test_drifted_trust_and_permissions_are_repaired_one_line_each(iam, run_main):
    run_main(main)
    iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(EC2_TRUST))
    iam.put_role_policy(RoleName=ROLE, PolicyName=INLINE, PolicyDocument=json.dumps(EVERYTHING))
    iam.put_role_policy(RoleName=ROLE, PolicyName="extra", PolicyDocument=json.dumps(EVERYTHING))
    wide = iam.create_policy(PolicyName="wide-open", PolicyDocument=json.dumps(EVERYTHING))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=wide)
    code, out, err = run_main(main)
    assert (code, err) == (0, "")
    assert out == (
        f"Repaired the trust policy of role {ROLE}: only sagemaker.amazonaws.com for account {ACCOUNT} in "
        "us-east-1 may assume it again.\n"
        f"Repaired inline policy {INLINE} on role {ROLE}: its permissions had drifted and are again ECR image pull, "
        "CloudWatch Logs and metrics under /aws/sagemaker/*, no S3 access.\n"
        f"Removed inline policy extra from role {ROLE}: not part of its scoped set.\n"
        f"Detached policy {wide} from role {ROLE}: not part of its scoped set.\n"
        f"Role ARN: {ROLE_ARN}\n"
    )
    assert snapshot(iam)["roles"][ROLE] == expected_role()


def test_missing_permissions_policy_is_restored(iam, run_main):
    run_main(main)
    iam.delete_role_policy(RoleName=ROLE, PolicyName=INLINE)
    code, out, _ = run_main(main)
    assert code == 0
    assert out.splitlines()[0] == f"Restored the missing inline policy {INLINE} on role {ROLE}."
    assert snapshot(iam)["roles"][ROLE] == expected_role()


def test_delete_removes_policies_instance_profiles_and_role_and_is_idempotent(iam, run_main):
    run_main(main)
    extra = iam.create_policy(PolicyName="extra", PolicyDocument=json.dumps(EVERYTHING))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=extra)
    iam.create_instance_profile(InstanceProfileName="profile-of-role")
    iam.add_role_to_instance_profile(InstanceProfileName="profile-of-role", RoleName=ROLE)
    code, out, err = run_main(main, "--delete")
    assert (code, err) == (0, "")
    assert out == (
        f"Deleted IAM role {ROLE}-ttl (time limits).\n"
        f"Deleted inline policy {INLINE} of role {ROLE}.\n"
        f"Detached policy {extra} from role {ROLE}.\n"
        f"Deleted instance profile profile-of-role (it only held role {ROLE}).\n"
        f"Deleted IAM role {ROLE}.\n"
    )
    iam.delete_policy(PolicyArn=extra)
    assert snapshot(iam) == {"users": {}, "roles": {}, "policies": {}, "instance_profiles": []}
    assert run_main(main, "--delete") == (0, f"IAM role {ROLE} does not exist: nothing to delete.\n", "")


def test_foreign_role_is_refused_without_force(iam, run_main):
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    before = snapshot(iam)
    refusal = (
        f"error: IAM role '{ROLE}' was not created by llm-engineering (it lacks the llm-engineering:managed-by tag): "
        "refusing to {0}; pass --force to {0} anyway, or choose another name.\n"
    )
    assert run_main(main) == (1, "", refusal.format("change it"))
    assert run_main(main, "--delete") == (1, "", refusal.format("delete it"))
    assert snapshot(iam) == before

    code, out, _ = run_main(main, "--force")
    assert code == 0
    assert out.splitlines()[0] == f"Tagged existing role {ROLE} as managed by llm-engineering (--force)."
    assert snapshot(iam)["roles"][ROLE] == expected_role()
    iam.untag_role(RoleName=ROLE, TagKeys=list(TAGS))
    assert run_main(main, "--delete", "--force")[0] == 0
    assert snapshot(iam)["roles"] == {}


def test_resolve_prefers_aws_arn_role_without_asking_iam(iam, monkeypatch):
    configured = f"arn:aws:iam::{ACCOUNT}:role/service-role/Elsewhere"
    monkeypatch.setenv("AWS_ARN_ROLE", configured)
    aws = connect("us-east-1")
    settings = load_settings()
    assert resolve_execution_role_arn(aws, settings.sagemaker_execution_role_name, settings.aws_arn_role) == configured
    assert iam.list_roles()["Roles"] == []


def test_resolve_looks_the_role_up_by_name(iam, run_main):
    run_main(main)
    assert resolve_execution_role_arn(connect("us-east-1"), load_settings().sagemaker_execution_role_name) == ROLE_ARN


def test_resolve_explains_a_missing_role(iam):
    with pytest.raises(ExecutionRoleMissingError) as error:
        resolve_execution_role_arn(connect("us-east-1"), load_settings().sagemaker_execution_role_name)
    assert isinstance(error.value, ConfigurationError)
    assert str(error.value) == (
        f"The SageMaker execution role '{ROLE}' does not exist: run make create-sagemaker-execution-role, "
        "or set AWS_ARN_ROLE."
    )


def _endpoint(name: str, role_arn: str, tagged: bool, instance_type: str = "ml.m5.xlarge") -> None:
    import boto3

    from llm_engineering.tags import tool_tags

    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    tags = tool_tags(endpoint=name, model_id="Qwen/Qwen2.5-7B-Instruct") if tagged else []
    container = {"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:1"}
    sagemaker.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=role_arn, Tags=tags)
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": instance_type, "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant], Tags=tags)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)


def test_delete_refuses_while_live_endpoints_of_the_tool_run_as_the_role(iam, run_main):
    run_main(main)
    _endpoint("ours-b", ROLE_ARN, tagged=True)
    _endpoint("ours-a", ROLE_ARN, tagged=True)
    _endpoint("theirs", ROLE_ARN, tagged=False)  # not this tool's: not named
    _endpoint("other-role", f"arn:aws:iam::{ACCOUNT}:role/Other", tagged=True)
    before = snapshot(iam)
    code, out, err = run_main(main, "--delete")
    assert (code, out) == (1, "")
    assert err == (
        f"error: Not deleting IAM role {ROLE}: live endpoint(s) of this tool in us-east-1 run as it (ours-a, ours-b), "
        "and would lose their image pulls, logs and metrics: delete them first (make delete-inference-endpoint "
        "ENDPOINT_NAME=ours-a), or pass --force (make delete-sagemaker-execution-role ARGS=--force).\n"
    )
    assert snapshot(iam) == before
    code, out, err = run_main(main, "--delete", "--force")
    assert (code, err) == (0, "")
    assert out.endswith(f"Deleted IAM role {ROLE}.\n")
