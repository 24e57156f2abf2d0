"""The plan is pure: exact requests for every path, from settings and what was observed."""

from __future__ import annotations

import re

import pytest
from plan_factories import (
    ENV,
    IMAGE,
    ROLE,
    RUNNING_STAMPED,
    STAMPED,
    TAGS,
    TIMEOUTS,
    existing_endpoint,
    observed,
    settings,
)
from pydantic import SecretStr

from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.observe import ExistingComponent
from llm_engineering.hosting.plan import Call, Wait, build_plan, compute_requirements, render
from llm_engineering.resources.endpoints import Resource


def test_model_based_create_is_model_config_endpoint_then_wait():
    plan = build_plan(settings(), observed())
    model = {"ModelName": STAMPED, "PrimaryContainer": {"Image": IMAGE, "Environment": ENV}, "ExecutionRoleArn": ROLE}
    assert plan.steps == [
        Call("CreateModel", {**model, "Tags": TAGS}, creates=Resource("model", STAMPED)),
        Call(
            "CreateEndpointConfig",
            {
                "EndpointConfigName": STAMPED,
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "InstanceType": "ml.g5.2xlarge",
                        "InitialInstanceCount": 1,
                        "ModelName": STAMPED,
                        **TIMEOUTS,
                    }
                ],
                "Tags": TAGS,
            },
            creates=Resource("endpoint-config", STAMPED),
        ),
        Call(
            "CreateEndpoint",
            {"EndpointName": "llm-engineering-endpoint", "EndpointConfigName": STAMPED, "Tags": RUNNING_STAMPED},
            creates=Resource("endpoint", "llm-engineering-endpoint"),
        ),
        Wait(Resource("endpoint", "llm-engineering-endpoint")),
    ]
    assert plan.action == "create"
    assert plan.retire == []
    assert plan.usd_per_hour == pytest.approx(1.52)


def test_inference_component_create_waits_for_endpoint_before_the_component():
    plan = build_plan(settings(endpoint_type="inference-component", copy_count=1), observed())
    operations = [step.operation if isinstance(step, Call) else f"wait {step.resource}" for step in plan.steps]
    assert operations == [
        "CreateEndpointConfig",
        "CreateEndpoint",
        "wait endpoint llm-engineering-endpoint",
        "CreateModel",
        "CreateInferenceComponent",
        "wait inference-component llm-engineering-endpoint-ic",
        "AddTags",
    ]
    config = plan.steps[0]
    assert isinstance(config, Call)
    assert config.params == {
        "EndpointConfigName": STAMPED,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
        "ExecutionRoleArn": ROLE,
        "Tags": TAGS,
    }
    component = plan.steps[4]
    assert isinstance(component, Call)
    assert component.params == {
        "InferenceComponentName": "llm-engineering-endpoint-ic",
        "EndpointName": "llm-engineering-endpoint",
        "VariantName": "AllTraffic",
        "Specification": {
            "ModelName": STAMPED,
            "StartupParameters": TIMEOUTS,
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "NumberOfCpuCoresRequired": 4,
                "MinMemoryRequiredInMb": 24576,
            },
        },
        "RuntimeConfig": {"CopyCount": 1},
        "Tags": RUNNING_STAMPED,
    }
    assert component.creates == Resource("inference-component", "llm-engineering-endpoint-ic")
    # once InService, the time it took (the endpoint's start, then the component's) is recorded on it
    record = plan.steps[6]
    assert isinstance(record, Call)
    [*tags, measured] = record.params["Tags"]
    assert (
        tags == RUNNING_STAMPED
        and record.params["ResourceArn"] == "<ARN of inference-component llm-engineering-endpoint-ic>"
    )
    assert measured == {
        "Key": "llm-engineering:startup-seconds",
        "Value": "<seconds until endpoint llm-engineering-endpoint then inference-component "
        "llm-engineering-endpoint-ic InService>",
    }


def test_compute_requirements_share_a_multi_gpu_instance_between_copies():
    four_gpus = GPU_INSTANCES["ml.g5.12xlarge"]  # 4 GPUs, 48 vCPU, 192 GiB
    assert compute_requirements(four_gpus, 1) == {
        "NumberOfAcceleratorDevicesRequired": 1,
        "NumberOfCpuCoresRequired": 6,
        "MinMemoryRequiredInMb": 36864,
    }
    assert compute_requirements(four_gpus, 2)["NumberOfAcceleratorDevicesRequired"] == 2


def test_model_based_redeploy_updates_the_endpoint_and_retires_the_old_config_and_model():
    endpoint = existing_endpoint()
    unused = (Resource("model", "llm-engineering-endpoint-leftover"),)
    plan = build_plan(settings(), observed(endpoint=endpoint, unused=unused))
    assert plan.action == "update"
    assert [step.operation for step in plan.steps if isinstance(step, Call)] == [
        "CreateModel",
        "CreateEndpointConfig",
        "UpdateEndpoint",
        "AddTags",
    ]
    update = plan.steps[2]
    assert isinstance(update, Call)
    assert update.params == {"EndpointName": "llm-engineering-endpoint", "EndpointConfigName": STAMPED}
    assert update.creates is None
    assert plan.steps[3] == Wait(Resource("endpoint", "llm-engineering-endpoint"), expect=STAMPED)
    assert plan.steps[4] == Call("AddTags", {"ResourceArn": endpoint.arn, "Tags": RUNNING_STAMPED})
    assert plan.retire == [
        Call("DeleteEndpointConfig", {"EndpointConfigName": "llm-engineering-endpoint-old"}),
        Call("DeleteModel", {"ModelName": "llm-engineering-endpoint-old"}),
        Call("DeleteModel", {"ModelName": "llm-engineering-endpoint-leftover"}),
    ]


def test_component_redeploy_updates_the_component_and_retires_its_old_model():
    endpoint = existing_endpoint(components=True)
    component = ExistingComponent(
        name="llm-engineering-endpoint-ic",
        arn="arn:aws:sagemaker:us-east-1:123456789012:inference-component/llm-engineering-endpoint-ic",
        status="InService",
        managed=True,
        model_name="old-model",
        endpoint_name="llm-engineering-endpoint",
    )
    plan = build_plan(
        settings(endpoint_type="inference-component", copy_count=1),
        observed(endpoint=endpoint, component=component),
    )
    calls = [step for step in plan.steps if isinstance(step, Call)]
    assert [call.operation for call in calls] == ["CreateModel", "UpdateInferenceComponent", "AddTags"]
    assert calls[1].params["InferenceComponentName"] == "llm-engineering-endpoint-ic"
    assert calls[1].params["Specification"]["ModelName"] == STAMPED
    assert calls[1].params["RuntimeConfig"] == {"CopyCount": 1}
    assert Wait(Resource("inference-component", "llm-engineering-endpoint-ic"), expect=STAMPED) in plan.steps
    startup = {
        "Key": "llm-engineering:startup-seconds",
        "Value": "<seconds until inference-component llm-engineering-endpoint-ic InService>",
    }
    assert calls[2].params == {"ResourceArn": component.arn, "Tags": [*RUNNING_STAMPED, startup]}
    assert plan.retire == [Call("DeleteModel", {"ModelName": "old-model"})]


def test_component_added_to_an_existing_component_endpoint_without_creating_the_endpoint():
    plan = build_plan(
        settings(endpoint_type="inference-component"), observed(endpoint=existing_endpoint(components=True))
    )
    assert [step.operation for step in plan.steps if isinstance(step, Call)] == [
        "CreateModel",
        "CreateInferenceComponent",
        "AddTags",
    ]
    record = plan.steps[-1]
    assert isinstance(record, Call)
    assert (
        record.params["Tags"][-1]["Value"]
        == "<seconds until inference-component llm-engineering-endpoint-ic InService>"
    )


def test_token_travels_as_a_secret_and_is_redacted_in_the_rendered_plan():
    plan = build_plan(settings(), observed(token=SecretStr("hf_supersecret")))
    create_model = plan.steps[0]
    assert isinstance(create_model, Call)
    token = create_model.params["PrimaryContainer"]["Environment"]["HF_TOKEN"]
    assert isinstance(token, SecretStr) and token.get_secret_value() == "hf_supersecret"
    text = render(plan)
    assert "hf_supersecret" not in text and "hf_supersecret" not in repr(plan)
    assert "HF_TOKEN=<redacted>" in text
    assert "CreateModel" in text and "about USD 1.52/hour, 36.48/day" in text


def test_optional_container_settings_reach_the_environment():
    plan = build_plan(
        settings(
            hf_model_revision="main",
            hf_model_quantize="bitsandbytes-nf4",
            max_batch_prefill_tokens=4096,
            max_batch_total_tokens=8192,
            hf_model_trust_remote_code=True,
        ),
        observed(),
    )
    assert plan.environment == {
        **ENV,
        "HF_MODEL_REVISION": "main",
        "HF_MODEL_QUANTIZE": "bitsandbytes-nf4",
        "MAX_BATCH_PREFILL_TOKENS": "4096",
        "MAX_BATCH_TOTAL_TOKENS": "8192",
        "HF_MODEL_TRUST_REMOTE_CODE": "true",
    }


def test_names_fit_sagemaker_rules_for_the_longest_endpoint_name():
    name = "a" * 63
    plan = build_plan(settings(sagemaker_endpoint_inference=name), observed())
    assert len(plan.model_name) <= 63
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", plan.model_name)
    assert len(settings(sagemaker_endpoint_inference=name, endpoint_type="inference-component").component_name) <= 63


@pytest.mark.parametrize(
    ("values", "instance", "endpoint", "message"),
    [
        ({"endpoint_type": "inference-component", "copy_count": 2}, "ml.g5.2xlarge", None, "COPY_COUNT=2 does not fit"),
        ({"gpus_per_copy": 3}, "ml.g5.12xlarge", None, "GPUS_PER_COPY=3 does not divide the 4 GPU(s)"),
        ({"gpus_per_copy": 2}, "ml.g5.2xlarge", None, "GPUS_PER_COPY=2 does not divide the 1 GPU(s)"),
        ({}, "ml.g5.2xlarge", existing_endpoint(managed=False), "was not created by this tool"),
        ({}, "ml.g5.2xlarge", existing_endpoint(status="Creating"), "is Creating: wait for it to settle"),
        ({}, "ml.g5.2xlarge", existing_endpoint(status="Failed"), "is Failed: remove it"),
        (
            {},
            "ml.g5.2xlarge",
            existing_endpoint(components=True),
            "is inference-component but ENDPOINT_TYPE=model-based",
        ),
        (
            {"endpoint_type": "inference-component", "gpu_instance_type": "ml.g5.4xlarge"},
            "ml.g5.4xlarge",
            existing_endpoint(components=True),
            "runs 1 x ml.g5.2xlarge, but the settings ask for 1 x ml.g5.4xlarge",
        ),
    ],
)
def test_plans_that_cannot_work_are_refused_with_the_setting_to_change(values, instance, endpoint, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        spec = settings(**values)
        build_plan(spec, observed(instance, spec, endpoint=endpoint))


def test_copies_spread_over_several_instances_fit():
    plan = build_plan(settings(endpoint_type="inference-component", copy_count=2, gpu_instance_count=2), observed())
    assert plan.copy_count == 2
    assert plan.usd_per_hour == pytest.approx(3.04)
