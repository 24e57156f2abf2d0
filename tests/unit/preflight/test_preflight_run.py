"""Preflight end to end, in process: `make preflight`'s script and the deploy script, against moto, answers for
what moto lacks, and the fake Hub. Every blocked case stops a deploy before any SageMaker resource exists."""

from __future__ import annotations

import json
from collections.abc import Callable

import boto3
import pytest
from aws_recorder import AwsRecorder
from hub_server import LLAMA_8B_CONFIG, hub_model
from preflight_world import (
    ACCOUNT,
    DEPLOYER_ARN,
    G5_QUOTA_CODE,
    MODEL,
    ROLE,
    ROLE_ARN,
    SAGEMAKER_CREATES,
)

from llm_engineering.aws import connect
from llm_engineering.cli import run
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.iam import execution_role_trust_policy
from llm_engineering.model.deploy import deploy, preflight
from llm_engineering.preflight.checks import run_preflight
from llm_engineering.settings import load_settings
from llm_engineering.tags import tool_tags

CHECKS = [
    "Identity and region",
    "Execution role",
    "Pass role",
    "Endpoint quota",
    "Model access",
    "Memory fit",
    "Price",
    "Engine support",
]
STOPPED = "error: Preflight found a blocking problem (above): fix it, or pass --skip-preflight. Nothing was created.\n"
GATED = "meta-llama/Llama-3.1-8B-Instruct"
TOKEN = "hf_fake_approved_token"


def invoke(main: Callable[[list[str]], int], *argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run a script's main through `llm_engineering.cli.run`, as `python -m` does: (exit code, out, err)."""
    with pytest.raises(SystemExit) as stopped:
        run(lambda: main(list(argv)))
    captured = capsys.readouterr()
    return int(stopped.value.code or 0), captured.out, captured.err


def table_rows(out: str) -> dict[str, str]:
    """Check name -> result, from the rendered table."""
    rows = {}
    for line in out.splitlines():
        for check in CHECKS:
            if line.startswith(f"  {check}  "):
                rows[check] = line[len(check) + 2 :].split()[0]
    return rows


def flat(text: str) -> str:
    """The text with its line wrapping undone."""
    return " ".join(text.split())


def sagemaker_state() -> tuple[list[str], list[str], list[str]]:
    """Names of the endpoints, endpoint configs and models moto holds."""
    client = boto3.client("sagemaker", region_name="us-east-1")
    return (
        [item["EndpointName"] for item in client.list_endpoints()["Endpoints"]],
        [item["EndpointConfigName"] for item in client.list_endpoint_configs()["EndpointConfigs"]],
        [item["ModelName"] for item in client.list_models()["Models"]],
    )


def created_nothing(answers: AwsRecorder, before: tuple[list[str], list[str], list[str]]) -> bool:
    """No Create* call reached SageMaker, and moto holds exactly what it held before."""
    return not (set(answers.operations("sagemaker")) & SAGEMAKER_CREATES) and sagemaker_state() == before


def sagemaker_endpoint(name: str, count: int, tags: list[dict[str, str]] | None = None) -> None:
    client = boto3.client("sagemaker", region_name="us-east-1")
    extra = {"Tags": tags} if tags else {}
    client.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:1"},
        ExecutionRoleArn=ROLE_ARN,
        **extra,
    )
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.g5.2xlarge"}
    client.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[{**variant, "InitialInstanceCount": count}], **extra
    )
    endpoint = name if not tags else "llm-engineering-endpoint"
    client.create_endpoint(EndpointName=endpoint, EndpointConfigName=name, **extra)


def test_everything_fine_is_ok_in_the_table_and_exit_0(scenario, capsys):
    code, out, err = invoke(preflight.main, capsys=capsys)
    assert code == 0, out + err
    assert err == ""
    assert out.splitlines()[0] == (
        f"Preflight: {MODEL} on 1 x ml.g5.2xlarge in us-east-1 (endpoint llm-engineering-endpoint)"
    )
    assert table_rows(out) == dict.fromkeys(CHECKS, "ok")
    assert out.rstrip().endswith("Preflight result: ok (0 blocked, 0 warning(s), 8 ok).")
    assert "7.6B in bf16 on one NVIDIA A10G (600 GB/s): at most ~39 tokens/s per stream" in flat(out)
    assert scenario.made("service-quotas", "ListServiceQuotas") == [{"ServiceCode": "sagemaker"}]
    assert scenario.made("iam", "SimulatePrincipalPolicy")[0]["PolicySourceArn"] == DEPLOYER_ARN
    assert not (set(scenario.operations("sagemaker")) & SAGEMAKER_CREATES)


def test_json_prints_the_same_results(scenario, capsys):
    code, out, _ = invoke(preflight.main, "--json", capsys=capsys)
    assert code == 0
    report = json.loads(out)
    assert report["status"] == "ok" and report["blocked"] is False
    assert [(check["check"], check["status"]) for check in report["checks"]] == [(name, "ok") for name in CHECKS]
    quota = report["checks"][3]
    assert quota["details"]["quota_code"] == G5_QUOTA_CODE and quota["details"]["quota_value"] == 2.0
    memory = report["checks"][5]["details"]
    assert memory["weights_bytes"] == 2 * 7_615_616_512 and memory["kv_bytes_per_token"] == 57_344


def _quota_0(scenario, fake_hub, monkeypatch):
    scenario.quota(0)


def _quota_used_by_other_endpoints(scenario, fake_hub, monkeypatch):
    sagemaker_endpoint("other-app", 2)


def _blue_green_update_over_quota(scenario, fake_hub, monkeypatch):
    scenario.quota(1)
    sagemaker_endpoint(
        "llm-engineering-endpoint-old", 1, tool_tags(endpoint="llm-engineering-endpoint", model_id=MODEL)
    )


def _too_large(scenario, fake_hub, monkeypatch):
    fake_hub.add(hub_model("big/model-70b", parameters={"BF16": 70_553_706_496}, config=dict(LLAMA_8B_CONFIG)))
    monkeypatch.setenv("HF_MODEL_ID", "big/model-70b")


def _fits_only_quantized(scenario, fake_hub, monkeypatch):
    fake_hub.add(hub_model("mid/model-13b", parameters={"BF16": 13_015_864_320}, config=dict(LLAMA_8B_CONFIG)))
    monkeypatch.setenv("HF_MODEL_ID", "mid/model-13b")


def _gated_without_token(scenario, fake_hub, monkeypatch):
    fake_hub.add(hub_model(GATED, parameters={"BF16": 8_030_261_248}, gated="manual", readers={TOKEN}))
    monkeypatch.setenv("HF_MODEL_ID", GATED)


def _missing_model(scenario, fake_hub, monkeypatch):
    monkeypatch.setenv("HF_MODEL_ID", "nobody/no-such-model")


def _role_untrusted(scenario, fake_hub, monkeypatch):
    trust = execution_role_trust_policy(ACCOUNT, partition="aws", region="us-east-1")
    trust["Statement"][0]["Principal"] = {"Service": "ec2.amazonaws.com"}
    boto3.client("iam").update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(trust))


def _role_without_permissions(scenario, fake_hub, monkeypatch):
    boto3.client("iam").delete_role_policy(RoleName=ROLE, PolicyName="llm-engineering-execution")


def _pass_role_denied(scenario, fake_hub, monkeypatch):
    scenario.pass_role("implicitDeny")


BLOCKED = {
    "quota 0": (_quota_0, "Endpoint quota", f"--quota-code {G5_QUOTA_CODE} --desired-value 1 --region us-east-1"),
    "quota used by existing endpoints": (
        _quota_used_by_other_endpoints,
        "Endpoint quota",
        f"--quota-code {G5_QUOTA_CODE} --desired-value 3 --region us-east-1",
    ),
    "blue/green update over quota": (
        _blue_green_update_over_quota,
        "Endpoint quota",
        f"--quota-code {G5_QUOTA_CODE} --desired-value 2 --region us-east-1",
    ),
    "model too large": (_too_large, "Memory fit", "set GPU_INSTANCE_TYPE=ml.g6e.12xlarge"),
    "fits only quantized": (_fits_only_quantized, "Memory fit", "set HF_MODEL_QUANTIZE=bitsandbytes (weights"),
    "gated without token": (_gated_without_token, "Model access", "set HUGGINGFACE_ACCESS_TOKEN"),
    "missing model": (_missing_model, "Model access", "fix: check HF_MODEL_ID (owner/name"),
    "role untrusted": (_role_untrusted, "Execution role", "fix: make create-sagemaker-execution-role\n"),
    "role without permissions": (
        _role_without_permissions,
        "Execution role",
        "fix: make create-sagemaker-execution-role\n",
    ),
    "PassRole denied": (_pass_role_denied, "Pass role", "make create-sagemaker-role, then AWS_PROFILE="),
}


@pytest.mark.parametrize("case", list(BLOCKED))
def test_a_blocked_check_stops_the_deploy_before_anything_is_created(scenario, fake_hub, monkeypatch, capsys, case):
    arrange, check, fix = BLOCKED[case]
    arrange(scenario, fake_hub, monkeypatch)
    before = sagemaker_state()
    code, out, err = invoke(deploy.main, "--yes", capsys=capsys)
    assert code == 1, out + err
    assert err == STOPPED
    assert table_rows(out)[check] == "blocked"
    assert [name for name, result in table_rows(out).items() if result == "blocked"] == [check]
    assert fix in out or fix in flat(out)
    assert "Traceback" not in out + err
    assert created_nothing(scenario, before)


def test_the_quantization_preflight_suggests_then_passes(scenario, fake_hub, monkeypatch, capsys):
    _fits_only_quantized(scenario, fake_hub, monkeypatch)
    monkeypatch.setenv("HF_MODEL_QUANTIZE", "bitsandbytes")
    code, out, err = invoke(deploy.main, "--dry-run", capsys=capsys)
    assert code == 0, out + err
    assert table_rows(out)["Memory fit"] == "ok"
    assert "13.0B in 8-bit (bitsandbytes): weights 13.1 GiB on one NVIDIA A10G" in flat(out)
    assert out.rstrip().endswith("Dry run: nothing was created.")


def test_a_missing_role_stops_the_deploy_and_preflight_still_runs_every_other_check(scenario, capsys):
    boto3.client("iam").delete_role_policy(RoleName=ROLE, PolicyName="llm-engineering-execution")
    boto3.client("iam").delete_role(RoleName=ROLE)
    # The deploy cannot even plan without the role: it stops with one line naming the fix.
    code, out, err = invoke(deploy.main, "--yes", capsys=capsys)
    assert code == 2
    assert err == (
        f"error: The SageMaker execution role '{ROLE}' does not exist: run make create-sagemaker-execution-role, "
        "or set AWS_ARN_ROLE.\n"
    )
    assert created_nothing(scenario, ([], [], []))
    # make preflight reports it among all the other checks.
    code, out, err = invoke(preflight.main, capsys=capsys)
    assert code == 1
    assert table_rows(out) == {
        **dict.fromkeys(CHECKS, "ok"),
        "Execution role": "blocked",
        "Pass role": "warning",
    }
    assert (
        "fix: make create-sagemaker-execution-role, or set SAGEMAKER_EXECUTION_ROLE_NAME / AWS_ARN_ROLE to an "
        "existing role" in out
    )
    assert err == (
        "error: Preflight found a blocking problem: apply the fix shown for it, then run make preflight again.\n"
    )


def test_warnings_do_not_stop_a_deploy(answers, deployer, execution_role, capsys):
    """No quota permission and no Hub (HF_HUB_OFFLINE=1, as in the test environment): warnings, exit 0."""
    answers.refuse("service-quotas", "ListServiceQuotas", "AccessDeniedException", "not authorized")
    answers.pass_role("allowed")
    code, out, err = invoke(deploy.main, "--dry-run", capsys=capsys)
    assert code == 0, out + err
    assert table_rows(out) == {
        **dict.fromkeys(CHECKS, "ok"),
        "Endpoint quota": "warning",
        "Model access": "warning",
        "Memory fit": "warning",
        "Engine support": "warning",
    }
    assert "skipped: offline mode is on (HF_HUB_OFFLINE); model access and memory fit were not checked" in flat(out)
    assert "skipped: the model's parameter count is unknown (the Hub was not consulted)" in flat(out)
    assert out.rstrip().endswith("Dry run: nothing was created.")


def test_the_token_is_used_but_never_shown(scenario, fake_hub, monkeypatch, capsys):
    fake_hub.add(hub_model(GATED, parameters={"BF16": 8_030_261_248}, gated="manual", readers={TOKEN}))
    monkeypatch.setenv("HF_MODEL_ID", GATED)
    monkeypatch.setenv("HUGGINGFACE_ACCESS_TOKEN", TOKEN)
    code, out, err = invoke(preflight.main, "--json", capsys=capsys)
    assert code == 0, out + err
    assert json.loads(out)["checks"][4]["evidence"].startswith(f"{GATED} exists, gated (manual approval), a token")
    assert TOKEN not in out + err
    assert {request.authorization for request in fake_hub.requests} == {f"Bearer {TOKEN}"}


def test_credentials_that_do_not_work_are_blocked(scenario):
    scenario.refuse("sts", "GetCallerIdentity", "InvalidClientTokenId", "The security token is invalid.", 403)
    settings = load_settings()
    spec = DeploymentSpec.from_settings(settings)
    report = run_preflight(spec, connect("us-east-1"), None, deployer_profile=settings.deployer_profile)
    identity = report.result("Identity and region")
    assert identity.status == "blocked"
    assert identity.evidence == (
        "sts:GetCallerIdentity failed in us-east-1 (GetCallerIdentity refused: InvalidClientTokenId: The security "
        "token is invalid.): the credentials do not work"
    )
    assert report.result("Pass role").evidence == "not checked: the caller's identity is unknown"


def test_bad_settings_are_one_line_and_exit_2(moto_aws, monkeypatch, capsys):
    monkeypatch.setenv("GPU_INSTANCE_TYPE", "ml.m5.xlarge")
    code, out, err = invoke(preflight.main, capsys=capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: GPU_INSTANCE_TYPE='ml.m5.xlarge' has no GPU this tool")
