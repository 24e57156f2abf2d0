"""VPC, network isolation and the KMS key in the plan's requests, valid for botocore's service model."""

from __future__ import annotations

from dataclasses import replace

import botocore.session
import pytest
from botocore.validate import validate_parameters
from plan_factories import NOW, ROLE, observed, settings

from llm_engineering.catalogue.instances import GPU_INSTANCES, NVME_STORAGE_FAMILIES, has_local_nvme
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.network_encryption import Key, Network, SecurityFacts
from llm_engineering.hosting.observe import Observed
from llm_engineering.hosting.plan import Call, build_plan, render

STAGE = "s3://weights-bucket/models/qwen/"
SUBNETS = "subnet-0123456789abcdef0, subnet-0fedcba9876543210"
GROUPS = "sg-0123456789abcdef0"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")


def _valid(call: Call) -> None:
    """The request as botocore would send it (raises on anything the service model refuses)."""
    shape = SAGEMAKER.operation_model(call.operation).input_shape
    params = {**call.params}
    if "PrimaryContainer" in params:  # the environment holds plain strings here
        params["PrimaryContainer"] = {**params["PrimaryContainer"]}
    validate_parameters(params, shape)


def _calls(plan, operation: str) -> list[Call]:
    return [step for step in plan.steps if isinstance(step, Call) and step.operation == operation]


@pytest.mark.parametrize("endpoint_type", ["model-based", "inference-component"])
def test_vpc_and_isolation_reach_create_model(endpoint_type):
    spec = settings(
        vpc_subnet_ids=SUBNETS,
        vpc_security_group_ids=GROUPS,
        enable_network_isolation=True,
        model_s3_uri=STAGE,
        endpoint_type=endpoint_type,
    )
    network = Network("vpc-0123456789abcdef0", (), ())
    plan = build_plan(spec, observed(spec=spec, security=SecurityFacts(network=network)))
    (model,) = _calls(plan, "CreateModel")
    assert model.params["VpcConfig"] == {
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
        "Subnets": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    }
    assert model.params["EnableNetworkIsolation"] is True
    assert model.params["ExecutionRoleArn"] == ROLE
    for call in _calls(plan, "CreateModel") + _calls(plan, "CreateEndpointConfig"):
        _valid(call)
        assert "KmsKeyId" not in call.params
    text = render(plan)
    assert "network        VPC vpc-0123456789abcdef0, subnets subnet-0123456789abcdef0" in text
    assert "isolation      on" in text


def test_without_security_settings_the_requests_carry_none_of_it():
    plan = build_plan(settings(), observed())
    (model,) = _calls(plan, "CreateModel")
    (config,) = _calls(plan, "CreateEndpointConfig")
    assert not {"VpcConfig", "EnableNetworkIsolation"} & set(model.params)
    assert "KmsKeyId" not in config.params
    assert "network" not in render(plan) and "storage key" not in render(plan)


def test_kms_key_goes_on_the_endpoint_config_of_an_ebs_backed_type():
    # No GPU type of the table stores on EBS today; one that did (ml.p3: EBS only) gets the key.
    spec = settings(kms_key_id="alias/models", gpu_instance_type="ml.p3.2xlarge")
    row = replace(GPU_INSTANCES["ml.g5.2xlarge"], name="ml.p3.2xlarge")
    facts = SecurityFacts(key=Key(KEY_ARN, "1234abcd-12ab-34cd-56ef-1234567890ab", "Enabled"))
    seen = Observed(
        region="us-east-1",
        role_arn=ROLE,
        image_uri="image",
        token=None,
        instance=row,
        gpus_per_copy=1,
        now=NOW,
        security=facts,
    )
    plan = build_plan(spec, seen)
    (config,) = _calls(plan, "CreateEndpointConfig")
    assert config.params["KmsKeyId"] == "alias/models"
    _valid(config)
    assert f"storage key    {KEY_ARN} (KMS_KEY_ID=alias/models)" in render(plan)
    assert "encrypts the ML storage volume of each instance\n" in render(plan) + "\n"


@pytest.mark.parametrize("instance_type", sorted(GPU_INSTANCES))
def test_a_kms_key_on_an_nvme_type_is_sent_and_the_plan_says_what_it_does_not_encrypt(instance_type):
    """botocore 1.43.27 dropped "the call to CreateEndpointConfig fails" from KmsKeyId: the key encrypts the ML
    storage volume, and the instance's hardware encrypts its local NVMe storage."""
    assert has_local_nvme(instance_type)  # every GPU type the tool knows stores on local NVMe
    spec = settings(kms_key_id="alias/models", gpu_instance_type=instance_type)
    facts = SecurityFacts(key=Key(KEY_ARN, "1234abcd-12ab-34cd-56ef-1234567890ab", "Enabled"))
    seen = observed(instance_type, spec=spec, security=facts)
    plan = build_plan(spec, seen)
    (config,) = _calls(plan, "CreateEndpointConfig")
    assert config.params["KmsKeyId"] == "alias/models"
    _valid(config)
    assert (
        f"  storage key    {KEY_ARN} (KMS_KEY_ID=alias/models)\n                 encrypts the ML storage volume of "
        "each instance; its local NVMe storage is encrypted by the instance's hardware, not by this key"
    ) in render(plan)


def test_the_api_reference_no_longer_says_a_key_fails_on_local_storage():
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    text = model.shape_for("CreateEndpointConfigInput").members["KmsKeyId"].documentation
    assert "does not encrypt instance local storage" in text and "fails" not in text


def test_nvme_families_are_known_by_family_only():
    assert not has_local_nvme("ml.p3.2xlarge") and not has_local_nvme("ml.inf2.xlarge")
    assert {"g5", "g6", "p4d"} <= NVME_STORAGE_FAMILIES


def test_network_isolation_with_a_hub_model_stops_naming_model_s3_uri():
    with pytest.raises(ConfigurationError, match=r"ENABLE_NETWORK_ISOLATION=true .* set MODEL_S3_URI"):
        settings(enable_network_isolation=True)


def test_the_first_line_names_the_account_and_the_environment():
    plain = render(build_plan(settings(), observed())).splitlines()[0]
    assert plain == (
        "Plan: create model-based endpoint llm-engineering-endpoint in us-east-1 of account 123456789012, "
        "environment default (.env)"
    )
    spec = replace(settings(), environment="prod")
    assert render(build_plan(spec, observed(spec=spec))).splitlines()[0].endswith(", environment prod")
