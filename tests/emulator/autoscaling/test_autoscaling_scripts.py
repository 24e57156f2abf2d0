"""The scripts with autoscaling settings: bad input is one line and exit 2 with nothing created; preflight
warns about a maximum the quota cannot hold, naming the quota; --dry-run shows the scaling steps."""

from __future__ import annotations

import boto3
import pytest

from llm_engineering.cli import run
from llm_engineering.model.deploy import deploy, preflight


def _script(main, *argv: str) -> int:
    with pytest.raises(SystemExit) as stopped:
        run(lambda: main(list(argv)))
    return stopped.value.code or 0


@pytest.fixture
def settings_env(emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("WAIT_POLL_INTERVAL", "0.05")


def nothing_created() -> bool:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    return (
        sagemaker.list_models()["Models"] == []
        and sagemaker.list_endpoints()["Endpoints"] == []
        and scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    )


def test_a_maximum_above_the_instance_quota_is_bad_input(settings_env, monkeypatch, capsys):
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "1")
    monkeypatch.setenv("AUTOSCALING_MAX_CAPACITY", "5")  # the emulator's default quota is 2

    assert _script(deploy.main, "--yes") == 2

    err = capsys.readouterr().err.strip()
    assert "AUTOSCALING_MAX_CAPACITY=5" in err and "ml.g5.2xlarge for endpoint usage" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert nothing_created()


def test_preflight_warns_about_a_maximum_the_quota_cannot_hold_naming_the_quota(settings_env, monkeypatch, capsys):
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "1")
    monkeypatch.setenv("AUTOSCALING_MAX_CAPACITY", "3")

    _script(preflight.main)

    out = capsys.readouterr().out
    assert "Autoscaling quota" in out and "'ml.g5.2xlarge for endpoint usage'" in out


def test_scale_to_zero_on_a_model_based_endpoint_is_one_line_naming_the_endpoint_type(
    settings_env, monkeypatch, capsys
):
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "0")
    monkeypatch.setenv("AUTOSCALING_MAX_CAPACITY", "1")

    assert _script(deploy.main, "--yes") == 2

    err = capsys.readouterr().err.strip()
    assert "ENDPOINT_TYPE=inference-component" in err and len(err.splitlines()) == 1
    assert nothing_created()


def test_dry_run_shows_the_scaling_steps_and_creates_nothing(settings_env, monkeypatch, capsys):
    monkeypatch.setenv("ENDPOINT_TYPE", "inference-component")
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "0")
    monkeypatch.setenv("AUTOSCALING_MAX_CAPACITY", "2")

    assert _script(deploy.main, "--dry-run", "--skip-preflight") == 0

    out = capsys.readouterr().out
    assert "RegisterScalableTarget" in out and "PutMetricAlarm" in out and '"ManagedInstanceScaling"' in out
    assert "<ARN of policy llm-engineering-endpoint-ic-scale-out-from-zero>" in out
    assert nothing_created()


def _alarms() -> list[str]:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    return sorted(alarm["AlarmName"] for alarm in cloudwatch.describe_alarms()["MetricAlarms"])


def _deployed_component(monkeypatch: pytest.MonkeyPatch, low: int, high: int) -> list[dict]:
    """Deploy a component scaled low..high; the models it made."""
    monkeypatch.setenv("ENDPOINT_TYPE", "inference-component")
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", str(low))
    monkeypatch.setenv("AUTOSCALING_MAX_CAPACITY", str(high))
    assert _script(deploy.main, "--yes", "--skip-preflight") == 0
    return boto3.client("sagemaker", region_name="us-east-1").list_models()["Models"]


def test_a_redeploy_that_changes_only_the_scaling_updates_it_in_place(settings_env, monkeypatch, capsys):
    models = _deployed_component(monkeypatch, 1, 1)
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "0")
    monkeypatch.setenv("AUTOSCALING_MAX_CAPACITY", "2")
    capsys.readouterr()

    assert _script(deploy.main, "--yes", "--skip-preflight") == 0

    out = capsys.readouterr().out
    assert "CreateModel" not in out and "UpdateInferenceComponent" not in out and "in place" in out
    assert sagemaker.list_models()["Models"] == models
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    [target] = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 2)
    assert _alarms() == ["llm-engineering-endpoint-ic-no-capacity"]
    # the endpoint config (and its ManagedInstanceScaling, 1-1 instances) stays: the plan says what that costs
    assert "keeps 1-1 instances from its first deploy, not the 0-2" in out and "still bill" in out


def test_removing_the_scaling_settings_removes_the_scaling_in_place(settings_env, monkeypatch, capsys):
    models = _deployed_component(monkeypatch, 0, 1)
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    monkeypatch.delenv("AUTOSCALING_MIN_CAPACITY")
    monkeypatch.delenv("AUTOSCALING_MAX_CAPACITY")
    capsys.readouterr()

    assert _script(deploy.main, "--yes", "--skip-preflight") == 0

    out = capsys.readouterr().out
    assert "DeregisterScalableTarget" in out and "CreateModel" not in out
    assert sagemaker.list_models()["Models"] == models
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert _alarms() == []


def _scaled_then_redeployed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, **changed: str) -> str:
    """Deploy model-based with autoscaling 1-2, then again with `changed` settings; the second run's output."""
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "1")
    monkeypatch.setenv("AUTOSCALING_MAX_CAPACITY", "2")
    assert _script(deploy.main, "--yes", "--skip-preflight") == 0
    for name, value in changed.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert _script(deploy.main, "--yes", "--skip-preflight") == 0
    return capsys.readouterr().out


def test_a_redeploy_that_changes_what_runs_deploys_a_new_model_and_names_the_change(settings_env, monkeypatch, capsys):
    out = _scaled_then_redeployed(monkeypatch, capsys, MAX_TOTAL_TOKENS="3072")

    assert "changes        model.PrimaryContainer.Environment.MAX_TOTAL_TOKENS" in out
    assert "UpdateEndpoint" in out and "in place" not in out
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    assert len(sagemaker.list_models()["Models"]) == 1  # the old one retired


def test_the_same_settings_again_change_nothing_unless_replace_is_asked(settings_env, monkeypatch, capsys):
    assert _script(deploy.main, "--yes", "--skip-preflight") == 0
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    [model] = sagemaker.list_models()["Models"]
    capsys.readouterr()

    assert _script(deploy.main, "--yes", "--skip-preflight") == 0

    out = capsys.readouterr().out
    assert "Nothing to change: endpoint llm-engineering-endpoint already serves these settings." in out
    assert "Steps: none" in out and sagemaker.list_models()["Models"] == [model]

    assert _script(deploy.main, "--yes", "--skip-preflight", "--replace") == 0

    [replaced] = sagemaker.list_models()["Models"]
    assert replaced["ModelName"] != model["ModelName"]


def test_a_new_instance_type_under_autoscaling_deregisters_the_target_for_the_update(settings_env, monkeypatch, capsys):
    # SageMaker refuses the update while the variant is a scalable target: this one succeeds
    out = _scaled_then_redeployed(monkeypatch, capsys, GPU_INSTANCE_TYPE="ml.g6.2xlarge")

    assert out.index("DeregisterScalableTarget") < out.index("UpdateEndpoint") < out.index("RegisterScalableTarget {")
    assert "the variant's autoscaling is deregistered before the update" in out
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    [target] = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 2)
    [policy] = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tags = scaling.list_tags_for_resource(ResourceARN=target["ScalableTargetARN"])["Tags"]
    assert tags["llm-engineering:endpoint"] == "llm-engineering-endpoint"  # found again by delete and cleanup
