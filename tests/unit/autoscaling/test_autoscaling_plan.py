"""The plan's autoscaling steps: exact requests for both endpoint types, scale to zero, update and removal in
place, and the applier sending them (botocore's Stubber checks each against the service model)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber
from scaling_factories import FAST, spec_of

from llm_engineering import __version__
from llm_engineering.aws import connect
from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.autoscaling import ExistingScaling, PolicyArn
from llm_engineering.hosting.observe import ExistingComponent, ExistingEndpoint, Observed
from llm_engineering.hosting.plan import Call, build_plan, render
from llm_engineering.hosting.spec import gpus_per_copy
from llm_engineering.hosting.steps import Wait
from llm_engineering.resources.endpoints import Resource
from llm_engineering.resources.waiting import silent

ENDPOINT = "llm-engineering-endpoint"
COMPONENT = f"{ENDPOINT}-ic"
TAGS = [
    {"Key": "llm-engineering:managed-by", "Value": "llm-engineering"},
    {"Key": "llm-engineering:version", "Value": __version__},
    {"Key": "llm-engineering:endpoint", "Value": ENDPOINT},
    {"Key": "llm-engineering:model-id", "Value": "Qwen/Qwen2.5-7B-Instruct"},
    {"Key": "llm-engineering:engine", "Value": "tgi"},
]
TAG_MAP = {tag["Key"]: tag["Value"] for tag in TAGS}
COMPONENT_KEY = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": f"inference-component/{COMPONENT}",
    "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
}
VARIANT_KEY = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": f"endpoint/{ENDPOINT}/variant/AllTraffic",
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}
IC = {"endpoint_type": "inference-component"}


def observed(spec, instance: str = "ml.g5.2xlarge", **values: object) -> Observed:
    row = GPU_INSTANCES[instance]
    return Observed(
        region="us-east-1",
        role_arn="arn:aws:iam::123456789012:role/SageMakerExecutionRoleLLM",
        image_uri="763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:1",
        token=None,
        instance=row,
        gpus_per_copy=gpus_per_copy(spec, row),
        now=datetime(2026, 11, 26, tzinfo=UTC),
        **values,  # type: ignore[arg-type]
    )


def scaling_calls(plan) -> list[Call]:
    return [step for step in plan.steps if isinstance(step, Call) and step.service != "sagemaker"]


def tracking(metric: str, target: float, key: dict, name: str) -> Call:
    configuration = {
        "TargetValue": target,
        "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
    }
    params = {
        "PolicyName": name,
        **key,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": configuration,
    }
    return Call("PutScalingPolicy", params, service="application-autoscaling")


def test_a_model_based_endpoint_registers_its_variant_then_tracks_invocations_per_instance():
    spec = spec_of(autoscaling_min_capacity=1, autoscaling_max_capacity=3)
    plan = build_plan(spec, observed(spec))

    register = {**VARIANT_KEY, "MinCapacity": 1, "MaxCapacity": 3, "Tags": TAG_MAP}
    assert scaling_calls(plan) == [
        Call(
            "RegisterScalableTarget",
            register,
            Resource("scalable-target", f"endpoint/{ENDPOINT}/variant/AllTraffic"),
            service="application-autoscaling",
        ),
        tracking("SageMakerVariantInvocationsPerInstance", 20.0, VARIANT_KEY, f"{ENDPOINT}-target-tracking"),
    ]
    assert isinstance(plan.steps[plan.steps.index(scaling_calls(plan)[0]) - 1], Wait)  # once InService
    assert "autoscaling    1-3 instances, SageMakerVariantInvocationsPerInstance target 20" in render(plan)


def test_a_component_tracks_concurrency_and_its_variant_scales_instances_with_the_copies():
    spec = spec_of(
        **IC,
        gpus_per_copy=1,
        autoscaling_min_capacity=1,
        autoscaling_max_capacity=10,
        autoscaling_metric="concurrency",
    )
    plan = build_plan(spec, observed(spec, "ml.g5.12xlarge"))  # 4 GPUs: 4 copies per instance

    config = next(step for step in plan.steps if isinstance(step, Call) and step.operation == "CreateEndpointConfig")
    variant = config.params["ProductionVariants"][0]
    assert variant["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 3}
    calls = scaling_calls(plan)
    assert [call.operation for call in calls] == ["RegisterScalableTarget", "PutScalingPolicy"]
    assert calls[0].params == {**COMPONENT_KEY, "MinCapacity": 1, "MaxCapacity": 10, "Tags": TAG_MAP}
    assert calls[1] == tracking(
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
        4.0,
        COMPONENT_KEY,
        f"{COMPONENT}-target-tracking",
    )


def test_scale_to_zero_adds_a_step_policy_woken_by_no_capacity_failures_and_leaves_scale_in_to_target_tracking():
    """AWS's recipe: MinCapacity 0 and target tracking take an idle component to zero; only the way back is a
    step policy (no idle step policy: it never matched a step on AWS)."""
    spec = spec_of(**IC, autoscaling_min_capacity=0, autoscaling_max_capacity=2)
    plan = build_plan(spec, observed(spec))

    config = next(step for step in plan.steps if isinstance(step, Call) and step.operation == "CreateEndpointConfig")
    assert config.params["ProductionVariants"][0]["ManagedInstanceScaling"]["MinInstanceCount"] == 0
    calls = scaling_calls(plan)
    assert [call.operation for call in calls] == [
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "PutScalingPolicy",
        "PutMetricAlarm",
    ]
    assert calls[0].params["MinCapacity"] == 0
    assert calls[1].params["PolicyType"] == "TargetTrackingScaling"
    assert "DisableScaleIn" not in calls[1].params["TargetTrackingScalingPolicyConfiguration"]
    wake = calls[2].params
    assert wake["PolicyType"] == "StepScaling"
    assert wake["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        "Cooldown": 60,
        "MetricAggregationType": "Maximum",
    }
    alarm = calls[3]
    assert alarm.creates == Resource("alarm", f"{COMPONENT}-no-capacity") and alarm.service == "cloudwatch"
    assert alarm.params == {
        "AlarmName": f"{COMPONENT}-no-capacity",
        "AlarmDescription": f"Fires {COMPONENT}-scale-out-from-zero of inference component {COMPONENT} "
        "(llm-engineering).",
        "AlarmActions": [PolicyArn(f"{COMPONENT}-scale-out-from-zero")],
        "Namespace": "AWS/SageMaker",
        "MetricName": "NoCapacityInvocationFailures",
        "Dimensions": [{"Name": "InferenceComponentName", "Value": COMPONENT}],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "Tags": TAGS,
    }
    assert "target tracking scales it to zero after about 15 min without requests" in render(plan)


def existing_component(spec, scaling: ExistingScaling) -> Observed:
    endpoint = ExistingEndpoint(
        name=ENDPOINT,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
        status="InService",
        managed=True,
        hosts_components=True,
        config_name="old",
        model_names=(),
        instance_type="ml.g5.2xlarge",
        instance_count=1,
    )
    component = ExistingComponent(
        name=COMPONENT,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{COMPONENT}",
        status="InService",
        managed=True,
        model_name="old",
        endpoint_name=ENDPOINT,
    )
    return observed(spec, endpoint=endpoint, component=component, scaling=scaling)


def test_a_redeploy_updates_scaling_in_place_and_leaves_the_copy_count_to_it():
    spec = spec_of(**IC, autoscaling_min_capacity=1, autoscaling_max_capacity=4)
    now = ExistingScaling(
        target=True,
        policies=(f"{COMPONENT}-target-tracking", f"{COMPONENT}-scale-out-from-zero"),
        alarms=(f"{COMPONENT}-no-capacity", f"{COMPONENT}-idle"),
    )
    plan = build_plan(spec, existing_component(spec, now))

    update = next(
        step for step in plan.steps if isinstance(step, Call) and step.operation == "UpdateInferenceComponent"
    )
    assert "RuntimeConfig" not in update.params  # no new copy count fights the scaler
    calls = scaling_calls(plan)
    assert calls[0] == Call(
        "RegisterScalableTarget",
        {**COMPONENT_KEY, "MinCapacity": 1, "MaxCapacity": 4},
        service="application-autoscaling",
    )  # an update: not tagged again, not rolled back
    assert calls[2:] == [
        Call(
            "DeleteScalingPolicy",
            {"PolicyName": f"{COMPONENT}-scale-out-from-zero", **COMPONENT_KEY},
            service="application-autoscaling",
        ),
        Call("DeleteAlarms", {"AlarmNames": [f"{COMPONENT}-no-capacity", f"{COMPONENT}-idle"]}, service="cloudwatch"),
    ]
    assert not any(step.creates for step in calls)


def test_removing_the_settings_deregisters_the_target_and_deletes_the_alarms():
    spec = spec_of(**IC)
    now = ExistingScaling(target=True, policies=("p",), alarms=(f"{COMPONENT}-no-capacity",))
    plan = build_plan(spec, existing_component(spec, now))

    update = next(
        step for step in plan.steps if isinstance(step, Call) and step.operation == "UpdateInferenceComponent"
    )
    assert update.params["RuntimeConfig"] == {"CopyCount": 1}  # back to COPY_COUNT, even from zero
    assert scaling_calls(plan) == [
        Call("DeregisterScalableTarget", COMPONENT_KEY, service="application-autoscaling"),
        Call("DeleteAlarms", {"AlarmNames": [f"{COMPONENT}-no-capacity"]}, service="cloudwatch"),
    ]


def test_without_autoscaling_settings_the_plan_has_no_scaling_step():
    spec = spec_of(**IC)
    plan = build_plan(spec, observed(spec))
    assert scaling_calls(plan) == []
    assert "autoscaling    off" in render(plan)


def test_the_applier_sends_the_alarm_with_the_arn_the_step_policy_got(offline_env):
    """Exact requests, each validated by botocore; the alarm's action is the ARN PutScalingPolicy returned."""
    spec = spec_of(**IC, autoscaling_min_capacity=0, autoscaling_max_capacity=1)
    plan = build_plan(spec, observed(spec))
    aws = connect(region="us-east-1")
    scaling, cloudwatch = aws.client("application-autoscaling"), aws.client("cloudwatch")
    arn = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/sagemaker/x:policyName/wake"
    with Stubber(scaling) as scaling_stub, Stubber(cloudwatch) as cloudwatch_stub:
        calls = scaling_calls(plan)
        for call in calls:
            stub = scaling_stub if call.service == "application-autoscaling" else cloudwatch_stub
            expected = dict(call.params)
            if call.operation == "PutMetricAlarm":
                expected["AlarmActions"] = [arn]
            answer = {"PolicyARN": arn, "Alarms": []} if call.operation == "PutScalingPolicy" else {}
            if call.operation == "RegisterScalableTarget":
                answer = {"ScalableTargetARN": "arn:aws:application-autoscaling:us-east-1:1:scalable-target/x"}
            stub.add_response(_snake(call.operation), answer, expected)
        applier = Applier(aws, spec, silent, FAST)
        for call in calls:
            applier._call(plan, call, keep_failed=False)
        scaling_stub.assert_no_pending_responses()
        cloudwatch_stub.assert_no_pending_responses()
    assert applier.created == [
        Resource("scalable-target", f"inference-component/{COMPONENT}"),
        Resource("alarm", f"{COMPONENT}-no-capacity"),
    ]


def _snake(operation: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"autoscaling_min_capacity": 3, "autoscaling_max_capacity": 2}, "AUTOSCALING_MIN_CAPACITY=3 must be at most"),
        ({"autoscaling_min_capacity": -1, "autoscaling_max_capacity": 2}, "AUTOSCALING_MIN_CAPACITY='-1' is invalid"),
        ({"autoscaling_min_capacity": 1}, "go together"),
        ({"autoscaling_min_capacity": 0, "autoscaling_max_capacity": 2}, "ENDPOINT_TYPE=inference-component"),
        (
            {"autoscaling_min_capacity": 1, "autoscaling_max_capacity": 2, "autoscaling_target": 0},
            "AUTOSCALING_TARGET='0' is invalid",
        ),
        ({"scale_in_cooldown": 3601}, "SCALE_IN_COOLDOWN='3601' is invalid"),
        ({"scale_out_cooldown": -5}, "SCALE_OUT_COOLDOWN='-5' is invalid"),
        (
            {"scale_to_zero_after": 15},
            "SCALE_TO_ZERO_AFTER is gone: AWS scales an idle component to zero through target tracking",
        ),
    ],
)
def test_bad_autoscaling_settings_are_one_line_naming_the_setting(values, needle, monkeypatch):
    from llm_engineering.errors import ConfigurationError
    from llm_engineering.settings import load_settings

    for name, value in values.items():
        monkeypatch.setenv(name.upper(), str(value))
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert needle in str(error.value) and "\n" not in str(error.value)


def test_a_starting_size_outside_the_range_is_refused_naming_it():
    from llm_engineering.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="GPU_INSTANCE_COUNT=1 is the size autoscaling starts from"):
        spec_of(gpu_instance_count=1, autoscaling_min_capacity=2, autoscaling_max_capacity=3)


def test_the_progress_line_of_a_registration_names_the_resource_id(offline_env):
    """An update of the range (nothing created) is about the target, not its ServiceNamespace."""
    spec = spec_of(**IC, autoscaling_min_capacity=1, autoscaling_max_capacity=4)
    call = Call(
        "RegisterScalableTarget",
        {**COMPONENT_KEY, "MinCapacity": 1, "MaxCapacity": 4},
        service="application-autoscaling",
    )
    lines: list[str] = []

    class Recorder:
        def step(self, line: str) -> None:
            lines.append(line)

    aws = connect(region="us-east-1")
    with Stubber(aws.client("application-autoscaling")) as stub:
        stub.add_response("register_scalable_target", {}, call.params)
        Applier(aws, spec, Recorder(), FAST)._call(build_plan(spec, observed(spec)), call, keep_failed=False)
    assert lines == [f"RegisterScalableTarget inference-component/{COMPONENT}"]


def test_the_same_scaling_as_described_plans_no_scaling_step():
    """What DescribeScalableTargets, DescribeScalingPolicies and DescribeAlarms give back equals what would be
    sent: no request; one member different (the range's maximum): only the registration."""
    spec = spec_of(**IC, autoscaling_min_capacity=0, autoscaling_max_capacity=2)
    sent = {
        call.params.get("PolicyName") or call.params.get("AlarmName"): call
        for call in scaling_calls(build_plan(spec, observed(spec)))
    }
    arn = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/sagemaker/x:policyName/wake"
    policies = {
        name: {**call.params, "PolicyARN": arn if "from-zero" in name else "arn:other"}
        for name, call in sent.items()
        if call.operation == "PutScalingPolicy"
    }
    alarm = sent[f"{COMPONENT}-no-capacity"].params
    described = {**{k: v for k, v in alarm.items() if k != "Tags"}, "AlarmActions": [arn], "StateValue": "OK"}
    now = ExistingScaling(
        target=True,
        policies=tuple(policies),
        alarms=(f"{COMPONENT}-no-capacity",),
        capacity=(0, 2),
        policy_details=policies,
        alarm_details={f"{COMPONENT}-no-capacity": described},
    )
    assert scaling_calls(build_plan(spec, existing_component(spec, now))) == []

    wider = spec_of(**IC, autoscaling_min_capacity=0, autoscaling_max_capacity=3)
    calls = scaling_calls(build_plan(wider, existing_component(wider, now)))
    assert [call.operation for call in calls] == ["RegisterScalableTarget"]
