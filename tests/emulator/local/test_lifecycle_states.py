"""The commands in every state SageMaker puts an endpoint in by itself (SystemUpdating, RollingBack, OutOfService,
UpdateRollbackFailed), a rolled-back update, and rollbacks and deletes that wait out a transition first.

The scripts run in this process (their imports paid once) against the session's emulator, each through the
same runner users get; the emulator's states are injected through `/_emulator/config`. Every state lasts
TRANSITION emulated seconds and every wait moves the emulator's clock (`EmulatedClock`): what a command sees
never depends on how fast the machine is.
"""

from __future__ import annotations

import json

import boto3
import pytest
from helpers import IMAGE_PULL, TRANSITION, EmulatedClock
from helpers import run_main as invoke

from llm_engineering.aws import connect
from llm_engineering.hosting.apply import Applier
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.local.server import configure
from llm_engineering.model.deploy import delete, deploy, status, test
from llm_engineering.resources.endpoints import Endpoint, InferenceComponent, Resource, ResourceFailed
from llm_engineering.resources.waiting import Progress, silent
from llm_engineering.settings import Settings
from llm_engineering.statuses import Status

ENDPOINT = "llm-engineering-endpoint"


def sagemaker() -> object:
    return boto3.client("sagemaker", region_name="us-east-1")


def names() -> tuple[list[str], list[str], list[str]]:
    client = sagemaker()
    return (
        [item["EndpointName"] for item in client.list_endpoints()["Endpoints"]],
        sorted(item["EndpointConfigName"] for item in client.list_endpoint_configs()["EndpointConfigs"]),
        sorted(item["ModelName"] for item in client.list_models()["Models"]),
    )


@pytest.fixture
def clock(server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> EmulatedClock:
    """The scripts' waits move the emulator's clock; every transition lasts TRANSITION emulated seconds."""
    emulated = EmulatedClock(server_env["AWS_ENDPOINT_URL"])
    emulated.drive(monkeypatch, deploy, delete)
    configure(emulated.url, transition_seconds=TRANSITION)
    return emulated


@pytest.fixture
def emulator(server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, clock: EmulatedClock) -> str:
    """This process pointed at the reset emulator, with the execution role in place; yields its URL."""
    for key, value in {**server_env, "WAIT_POLL_INTERVAL": "0.05"}.items():
        monkeypatch.setenv(key, value)
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="SageMakerExecutionRoleLLM", PolicyName="pull", PolicyDocument=json.dumps(IMAGE_PULL))
    return server_env["AWS_ENDPOINT_URL"]


@pytest.fixture
def deployed(emulator: str, capsys: pytest.CaptureFixture[str]) -> str:
    """A model-based endpoint deployed through the deploy script (its transient states last until a wait moves
    the clock past them, so the commands run meanwhile all see them)."""
    code, _, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
    assert code == 0, err
    return emulator


@pytest.mark.parametrize("state", ["SystemUpdating", "RollingBack"])
def test_a_transient_state_refuses_deploy_serves_test_and_delete_waits_it_out(deployed, capsys, monkeypatch, state):
    configure(deployed, endpoint_states={ENDPOINT: state})
    before = names()

    code, out, _ = invoke(status.main, capsys=capsys)
    assert code == 0 and f"  {ENDPOINT}: {state} (" in out
    monkeypatch.setenv("HF_MODEL_ID", "Qwen/Qwen2.5-1.5B-Instruct")
    code, _, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
    assert code == 2 and err.startswith(f"error: Endpoint {ENDPOINT} is {state} (") and "wait for it to settle" in err
    assert names() == before  # nothing created
    code, out, err = invoke(test.main, "--prompt", "hi", "--no-stream", capsys=capsys)
    assert code == 0 and out.startswith("[emulated Qwen/Qwen2.5-7B-Instruct]"), err

    code, out, err = invoke(delete.main, capsys=capsys)  # its waits move the clock past the state
    assert code == 0, err
    assert f"waiting for Endpoint {ENDPOINT}: " in out.split("- deleting endpoint")[0]  # SageMaker refuses before
    assert names() == ([], [], [])


@pytest.mark.parametrize(
    ("state", "serves"), [("OutOfService", False), ("UpdateRollbackFailed", True)], ids=["out", "mixed"]
)
def test_a_lasting_state_refuses_deploy_and_is_deleted_at_once(deployed, capsys, monkeypatch, state, serves):
    configure(deployed, endpoint_states={ENDPOINT: state})
    before = names()

    code, out, _ = invoke(status.main, capsys=capsys)
    assert code == 0 and f"  {ENDPOINT}: {state} (" in out
    monkeypatch.setenv("HF_MODEL_ID", "Qwen/Qwen2.5-1.5B-Instruct")
    code, _, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
    assert code == 2 and err.startswith(f"error: Endpoint {ENDPOINT} is {state} (")
    assert "remove it with make delete-inference-endpoint, then deploy again" in err
    assert names() == before
    code, out, err = invoke(test.main, "--prompt", "hi", "--no-stream", capsys=capsys)
    if serves:
        assert code == 0 and out.startswith("[emulated "), err
    else:
        assert code == 1
        assert err == (
            f"error: Endpoint '{ENDPOINT}' is OutOfService, not InService: it takes no requests: remove it with "
            "`make delete-inference-endpoint`, then deploy again.\n"
        )

    code, out, err = invoke(delete.main, capsys=capsys)
    assert code == 0, err
    assert "waiting for Endpoint" not in out.split("deleting endpoint ")[0]  # nothing to wait out first
    assert names() == ([], [], [])


@pytest.mark.parametrize(
    ("state", "ends_in"),
    [("SystemUpdating", None), ("RollingBack", None), ("OutOfService", "OutOfService"), ("UpdateRollbackFailed", None)],
)
def test_wait_sits_out_the_transient_states_and_fails_on_the_lasting_ones(emulator, clock, capsys, state, ends_in):
    code, _, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
    assert code == 0, err
    configure(emulator, endpoint_states={ENDPOINT: state})
    seen: list[str] = []
    endpoint = Endpoint(sagemaker(), ENDPOINT)
    try:
        endpoint.wait(clock.poller(), 3 * TRANSITION, lambda progress: seen.append(progress.status))
    except ResourceFailed as failed:
        assert failed.status == state and state in {"OutOfService", "UpdateRollbackFailed"}
        if state == "UpdateRollbackFailed":
            assert "mix of the old and the new" in str(failed)
        return
    assert ends_in is None and state in {"SystemUpdating", "RollingBack"}
    assert seen[0] == state and seen[-1] == "InService"


@pytest.mark.parametrize("keeps_reason", [True, False])
def test_a_failed_update_rolls_back_and_the_deploy_says_so(deployed, capsys, monkeypatch, keeps_reason):
    configure(
        deployed,
        health_check_failures={"Qwen/Qwen2.5-1.5B-Instruct": "oom"},
        rollback_failure_reason=keeps_reason,
    )
    running = sagemaker().describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    before = names()
    monkeypatch.setenv("HF_MODEL_ID", "Qwen/Qwen2.5-1.5B-Instruct")

    code, out, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)

    assert code == 1
    assert f"waiting for Endpoint {ENDPOINT}: RollingBack" in out
    headline = err.splitlines()[0]
    if keeps_reason:
        assert headline.startswith(f"error: Endpoint {ENDPOINT} is rolled back: Failed to update endpoint: the new")
    else:  # no FailureReason: the config it still runs tells
        assert headline.startswith(f"error: Endpoint {ENDPOINT} is rolled back: it still runs {running}, not ")
    assert "rolled back: endpoint-config" in err  # the new config and model are removed again
    assert names() == before
    code, out, _ = invoke(test.main, "--prompt", "hi", "--no-stream", capsys=capsys)
    assert code == 0 and out.startswith("[emulated Qwen/Qwen2.5-7B-Instruct]")


def test_a_rollback_waits_until_sagemaker_lets_it_delete(emulator, clock):
    """Deleting a resource that is still being created is refused: the rollback waits for it to settle."""
    client = sagemaker()
    client.create_model(
        ModelName="model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecutionRoleLLM",
        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:1"},
    )
    variant = {"VariantName": "AllTraffic", "ModelName": "model", "InstanceType": "ml.g5.2xlarge"}
    client.create_endpoint_config(
        EndpointConfigName="config", ProductionVariants=[{**variant, "InitialInstanceCount": 1}]
    )
    progress: list[Progress] = []
    reporter = type("Reporter", (), {"step": lambda self, text: None, "progress": lambda self, p: progress.append(p)})
    applier_created = [
        Resource("model", "model"),
        Resource("endpoint-config", "config"),
        Resource("endpoint", ENDPOINT),
    ]
    applier = Applier(
        connect(region="us-east-1"),
        DeploymentSpec.from_settings(Settings()),
        reporter(),
        clock.poller(),
        list(applier_created),
    )
    client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="config")

    deleted, remaining = applier.rollback()

    assert remaining == []
    assert deleted == [
        Resource("endpoint", ENDPOINT),
        Resource("endpoint-config", "config"),
        Resource("model", "model"),
    ]
    assert progress[0].status == "Creating" and names() == ([], [], [])


def test_a_rollback_of_a_component_still_creating_waits_too(emulator, clock):
    client = sagemaker()
    client.create_model(
        ModelName="model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecutionRoleLLM",
        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:1"},
    )
    client.create_endpoint_config(
        EndpointConfigName="config",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecutionRoleLLM",
        ProductionVariants=[{"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1}],
    )
    client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="config")
    Endpoint(client, ENDPOINT).wait(clock.poller(), 3 * TRANSITION)
    client.create_inference_component(
        InferenceComponentName="component",
        EndpointName=ENDPOINT,
        VariantName="AllTraffic",
        Specification={"ModelName": "model", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
        RuntimeConfig={"CopyCount": 1},
    )
    applier = Applier(
        connect(region="us-east-1"),
        DeploymentSpec.from_settings(Settings()),
        silent,
        clock.poller(),
        created=[Resource("inference-component", "component")],
    )
    assert applier.rollback() == ([Resource("inference-component", "component")], [])
    assert not InferenceComponent.get(client, "component")
    assert Status(client.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"]) == Status.IN_SERVICE
