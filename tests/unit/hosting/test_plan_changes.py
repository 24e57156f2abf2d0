"""A redeploy compares what it would send with what SageMaker describes: nothing served changes -> only the
autoscaling is updated in place (no new model, no UpdateEndpoint); any change -> blue/green, and the plan names
the changed fields (an environment variable by its name, never its value)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from plan_factories import ROLE, existing_endpoint, observed, settings
from pydantic import SecretStr

from llm_engineering.hosting.autoscaling import ExistingScaling
from llm_engineering.hosting.changes import NOT_READ, differences
from llm_engineering.hosting.observe import ExistingComponent, Observed
from llm_engineering.hosting.plan import Call, Plan, build_plan, render

SCALING = {"autoscaling_min_capacity": 1, "autoscaling_max_capacity": 3}
OLD = "llm-engineering-endpoint-old"


def _request(plan: Plan, operation: str) -> dict[str, Any]:
    return next(step.params for step in plan.steps if isinstance(step, Call) and step.operation == operation)


def _operations(plan: Plan) -> list[str]:
    return [step.operation for step in plan.steps if isinstance(step, Call)]


def _as_described(request: dict[str, Any], name: str, **aws_defaults: Any) -> dict[str, Any]:
    """A request as a Describe call answers it: renamed, untagged, with members AWS adds on its own."""
    described = {key: value for key, value in request.items() if key != "Tags"}
    return {**described, **aws_defaults, "ModelName": name}


def _model_based(spec, **values: Any) -> Observed:
    """An existing model-based endpoint that runs exactly what the default settings deploy."""
    first = build_plan(spec, observed(spec=spec))
    model = _as_described(_request(first, "CreateModel"), OLD, ModelArn="arn:model", CreationTime="t")
    model["PrimaryContainer"] = {**model["PrimaryContainer"], "Mode": "SingleModel"}
    config = _request(first, "CreateEndpointConfig")
    variants = [{**variant, "ModelName": OLD, "InitialVariantWeight": 1.0} for variant in config["ProductionVariants"]]
    config = {**config, "EndpointConfigName": OLD, "ProductionVariants": variants}
    endpoint = existing_endpoint(config=config, description={"ProductionVariants": [{"DesiredInstanceCount": 1}]})
    return observed(spec=spec, endpoint=endpoint, running_model=model, **values)


def test_only_the_scaling_changes_so_the_model_and_endpoint_stay():
    spec = settings(**SCALING)

    plan = build_plan(spec, _model_based(spec))

    assert plan.in_place and plan.changes == () and plan.model_name == OLD
    assert _operations(plan) == ["RegisterScalableTarget", "PutScalingPolicy"]
    assert plan.retire == []
    assert f"in place       {OLD} keeps serving and only its autoscaling is updated" in render(plan)


def test_nothing_changes_at_all_without_autoscaling():
    spec = settings()

    plan = build_plan(spec, _model_based(spec))

    assert plan.in_place and plan.steps == []
    assert "nothing at all changes" in render(plan) and "Steps: none" in render(plan)


def test_replace_deploys_a_new_model_although_nothing_changed():
    spec = settings(**SCALING)

    plan = build_plan(spec, _model_based(spec), replace=True)

    assert not plan.in_place
    assert _operations(plan)[:3] == ["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"]


def test_a_changed_variable_deploys_a_new_model_and_the_plan_names_it():
    spec = settings(**SCALING)
    seen = _model_based(spec)

    plan = build_plan(settings(**SCALING, max_total_tokens=3072), seen)

    assert not plan.in_place
    assert plan.changes == ("model.PrimaryContainer.Environment.MAX_TOTAL_TOKENS",)
    assert "changes        model.PrimaryContainer.Environment.MAX_TOTAL_TOKENS" in render(plan)
    assert "UpdateEndpoint" in _operations(plan)


def test_a_new_token_is_a_change_named_without_its_value():
    spec = settings()
    seen = _model_based(spec, token=SecretStr("hf_" + "a" * 34))
    running = seen.running_model
    assert running is not None
    running["PrimaryContainer"]["Environment"] = {
        **running["PrimaryContainer"]["Environment"],
        "HF_TOKEN": "hf_" + "b" * 34,
    }

    plan = build_plan(spec, seen)

    assert plan.changes == ("model.PrimaryContainer.Environment.HF_TOKEN",)
    assert "a" * 34 not in render(plan) and "b" * 34 not in render(plan)


def test_the_same_token_is_no_change():
    spec = settings()
    token = SecretStr("hf_" + "a" * 34)
    seen = _model_based(spec, token=token)
    running = seen.running_model
    assert running is not None
    running["PrimaryContainer"]["Environment"] = {
        **running["PrimaryContainer"]["Environment"],
        "HF_TOKEN": token.get_secret_value(),
    }

    assert build_plan(spec, seen).in_place


def test_the_instance_count_and_type_are_changes_of_the_endpoint_config():
    spec = settings()
    seen = _model_based(spec)

    plan = build_plan(settings(gpu_instance_count=2), seen)

    assert plan.changes == ("endpoint config.ProductionVariants[0].InitialInstanceCount",)


def test_a_member_the_new_request_no_longer_sends_is_a_change():
    spec = settings()
    seen = _model_based(spec)
    assert seen.running_model is not None
    seen.running_model["VpcConfig"] = {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}

    assert build_plan(spec, seen).changes == ("model.VpcConfig",)


def test_a_model_that_cannot_be_read_is_replaced():
    spec = settings()
    seen = replace(_model_based(spec), running_model=None)

    plan = build_plan(spec, seen)

    assert plan.changes == (NOT_READ,) and not plan.in_place


def test_removing_the_scaling_keeps_the_model_when_the_size_is_what_the_settings_ask():
    spec = settings()
    seen = _model_based(
        spec, scaling=ExistingScaling(target=True, policies=("llm-engineering-endpoint-target-tracking",))
    )

    plan = build_plan(spec, seen)

    assert plan.in_place and _operations(plan) == ["DeregisterScalableTarget"]


def test_removing_the_scaling_restores_the_size_the_scaler_moved():
    spec = settings()
    seen = _model_based(spec, scaling=ExistingScaling(target=True))
    assert seen.endpoint is not None
    seen.endpoint.description["ProductionVariants"] = [{"DesiredInstanceCount": 3}]

    plan = build_plan(spec, seen)

    assert plan.changes == ("instances (as the scaler left them)",)
    assert _operations(plan)[:3] == ["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"]


# --- inference components -----------------------------------------------------------------------------------


def _component(spec, copies: int, **values: Any) -> Observed:
    """An existing component that runs what `spec` deploys, with `copies` desired."""
    first = build_plan(spec, observed(spec=spec, endpoint=existing_endpoint(components=True)))
    model = _as_described(_request(first, "CreateModel"), OLD, ModelArn="arn:model")
    update = _request(first, "UpdateInferenceComponent") if "UpdateInferenceComponent" in _operations(first) else {}
    specification = {**_request(first, "CreateInferenceComponent")["Specification"], "ModelName": OLD} | update
    component = ExistingComponent(
        name="llm-engineering-endpoint-ic",
        arn="arn:aws:sagemaker:us-east-1:123456789012:inference-component/llm-engineering-endpoint-ic",
        status="InService",
        managed=True,
        model_name=OLD,
        endpoint_name="llm-engineering-endpoint",
        description={
            "Specification": specification,
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
        },
    )
    return observed(
        spec=spec, endpoint=existing_endpoint(components=True), component=component, running_model=model, **values
    )


IC = {"endpoint_type": "inference-component"}


def test_a_component_whose_scaling_changes_keeps_its_model():
    spec = settings(**IC, **SCALING)

    plan = build_plan(spec, _component(spec, 2, scaling=ExistingScaling(target=True)))

    assert plan.in_place
    assert "UpdateInferenceComponent" not in _operations(plan) and "CreateModel" not in _operations(plan)


def test_a_component_scaled_by_its_scaler_is_not_resized_by_a_scaling_change():
    spec = settings(**IC, **SCALING)

    assert build_plan(spec, _component(spec, 3, scaling=ExistingScaling(target=True))).in_place


def test_a_component_without_a_scaler_whose_copies_differ_is_updated():
    spec = settings(**IC)

    plan = build_plan(spec, _component(spec, 2))

    assert plan.changes == ("component copies",)
    assert "UpdateInferenceComponent" in _operations(plan)


def test_a_component_whose_compute_changes_is_updated():
    spec = settings(**IC)
    seen = _component(spec, 1)
    assert seen.component is not None
    seen.component.description["Specification"]["ComputeResourceRequirements"]["NumberOfCpuCoresRequired"] = 1

    assert build_plan(spec, seen).changes == (
        "component specification.ComputeResourceRequirements.NumberOfCpuCoresRequired",
    )


# --- the comparison --------------------------------------------------------------------------------------------


def test_members_aws_adds_are_not_changes_but_missing_or_different_ones_are():
    sent = {"Image": "i", "Environment": {"A": "1"}, "List": [1, 2]}

    assert differences(sent, {**sent, "Mode": "SingleModel"}, "m") == []
    assert differences(sent, {"Image": "j", "Environment": {"A": "1", "B": "2"}, "List": [1]}, "m") == [
        "m.Image",
        "m.Environment.B",
        "m.List",
    ]
    assert differences({"Role": ROLE}, {}, "m") == ["m.Role"]
