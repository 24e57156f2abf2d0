"""Applying a plan: exact requests (validated by botocore's Stubber), waits, diagnosis and rollback."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError
from botocore.stub import Stubber
from plan_factories import ROLE, STAMPED, existing_endpoint, observed, settings
from pydantic import SecretStr

from llm_engineering.aws import Aws, connect
from llm_engineering.hosting.apply import Applier, DeploymentFailed, DeploymentStopped
from llm_engineering.hosting.plan import Call, Plan, build_plan
from llm_engineering.redaction import reveal
from llm_engineering.resources.endpoints import Resource
from llm_engineering.resources.waiting import Poller, Progress

ENDPOINT = "llm-engineering-endpoint"
ENDPOINT_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"
IC = "llm-engineering-endpoint-ic"
NOT_FOUND = f'Could not find endpoint "{ENDPOINT_ARN}".'


class Recorder:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.progress_seen: list[Progress] = []

    def step(self, text: str) -> None:
        self.steps.append(text)

    def progress(self, progress: Progress) -> None:
        self.progress_seen.append(progress)

    def finish(self) -> None:
        pass


class Stubs:
    """Stubbers on the very clients the applier will use, each request checked against the service model."""

    def __init__(self, aws: Aws) -> None:
        self.sagemaker = Stubber(aws.client("sagemaker"))
        self.logs = Stubber(aws.client("logs"))
        self.quotas = Stubber(aws.client("service-quotas"))
        self.all = [self.sagemaker, self.logs, self.quotas]

    def __enter__(self) -> Stubs:
        for stub in self.all:
            stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        for stub in self.all:
            stub.deactivate()

    def verify(self) -> None:
        for stub in self.all:
            stub.assert_no_pending_responses()

    def call(self, step: Call, response: dict[str, Any]) -> None:
        """Expect exactly the plan's request, with secrets revealed as they are sent."""
        method = "_".join(part.lower() for part in _split(step.operation))
        self.sagemaker.add_response(method, response, reveal(copy.deepcopy(step.params)))

    def model_config_endpoint(self, model: Call, config: Call, endpoint: Call) -> None:
        """The three create calls of a model-based deploy, each answered with its ARN."""
        self.call(model, {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"})
        self.call(config, {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c"})
        self.call(endpoint, {"EndpointArn": ENDPOINT_ARN})

    def describe_endpoint(self, status: str, config: str = STAMPED, reason: str | None = None) -> None:
        response = {
            "EndpointName": ENDPOINT,
            "EndpointArn": ENDPOINT_ARN,
            "EndpointConfigName": config,
            "EndpointStatus": status,
            "CreationTime": "2026-11-26T10:00:00Z",
            "LastModifiedTime": "2026-11-26T10:00:00Z",
        }
        if reason:
            response["FailureReason"] = reason
        self.sagemaker.add_response("describe_endpoint", response, {"EndpointName": ENDPOINT})

    def endpoint_gone(self) -> None:
        self.sagemaker.add_client_error(
            "describe_endpoint", "ValidationException", NOT_FOUND, expected_params={"EndpointName": ENDPOINT}
        )

    def describe_component(self, status: str, model: str = STAMPED, reason: str | None = None) -> None:
        response = {
            "InferenceComponentName": IC,
            "InferenceComponentArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{IC}",
            "EndpointName": ENDPOINT,
            "EndpointArn": ENDPOINT_ARN,
            "InferenceComponentStatus": status,
            "Specification": {"ModelName": model},
            "CreationTime": "2026-11-26T10:00:00Z",
            "LastModifiedTime": "2026-11-26T10:00:00Z",
        }
        if reason:
            response["FailureReason"] = reason
        self.sagemaker.add_response("describe_inference_component", response, {"InferenceComponentName": IC})

    def log_tail(self, group: str, lines: list[str]) -> None:
        self.logs.add_response(
            "describe_log_streams",
            {"logStreams": [{"logStreamName": "AllTraffic/i-0123456789abcdef0"}]},
            {"logGroupName": group, "orderBy": "LastEventTime", "descending": True, "limit": 1},
        )
        self.logs.add_response(
            "get_log_events",
            {"events": [{"timestamp": 1, "message": line, "ingestionTime": 1} for line in lines]},
            {
                "logGroupName": group,
                "logStreamName": "AllTraffic/i-0123456789abcdef0",
                "limit": 20,
                "startFromHead": False,
            },
        )


def _split(operation: str) -> list[str]:
    import re

    return re.findall(r"[A-Z][a-z]*", operation)


@pytest.fixture
def aws() -> Aws:
    return connect(region="us-east-1")


def applier(aws: Aws, recorder: Recorder, poller: Poller | None = None, **values: object) -> Applier:
    return Applier(aws, settings(**values), recorder, poller or Poller(first=0, sleep=lambda _s: None))


def calls(plan: Plan) -> list[Call]:
    return [step for step in plan.steps if isinstance(step, Call)]


def test_model_based_create_sends_the_planned_requests_and_waits(aws):
    plan = build_plan(settings(), observed(token=SecretStr("hf_secret_token")))
    model, config, endpoint = calls(plan)
    recorder = Recorder()
    with Stubs(aws) as stubs:
        stubs.call(model, {"ModelArn": f"arn:aws:sagemaker:us-east-1:123456789012:model/{STAMPED}"})
        stubs.call(config, {"EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{STAMPED}"})
        stubs.call(endpoint, {"EndpointArn": ENDPOINT_ARN})
        stubs.describe_endpoint("Creating")
        stubs.describe_endpoint("InService")
        outcome = applier(aws, recorder).apply(plan)
        stubs.verify()
    sent_env = reveal(model.params)["PrimaryContainer"]["Environment"]
    assert sent_env["HF_TOKEN"] == "hf_secret_token"
    assert outcome.waited and outcome.retired == []
    assert [p.status for p in recorder.progress_seen] == ["Creating", "InService"]
    assert recorder.progress_seen[-1].done
    assert "hf_secret_token" not in " ".join(recorder.steps)


def test_inference_component_create_sends_endpoint_then_component_and_records_its_startup(aws):
    plan = build_plan(settings(endpoint_type="inference-component"), observed())
    config, endpoint, model, component, record = calls(plan)
    component_arn = f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{IC}"
    # sent: config 0, endpoint 10, InService 70 (60 s); model 71, component 72, InService 172 (100 s); tags 173
    ticks = iter([0.0, 10.0, 70.0, 71.0, 72.0, 172.0, 173.0])
    run = applier(aws, Recorder(), endpoint_type="inference-component")
    run.clock = lambda: next(ticks)
    with Stubs(aws) as stubs:
        stubs.call(config, {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c"})
        stubs.call(endpoint, {"EndpointArn": ENDPOINT_ARN})
        stubs.describe_endpoint("InService")
        stubs.call(model, {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"})
        stubs.call(
            component, {"InferenceComponentArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{IC}"}
        )
        stubs.describe_component("Creating")
        stubs.describe_component("InService")
        measured = [*record.params["Tags"][:-1], {"Key": "llm-engineering:startup-seconds", "Value": "160"}]
        stubs.sagemaker.add_response("add_tags", {"Tags": measured}, {"ResourceArn": component_arn, "Tags": measured})
        run.apply(plan)
        stubs.verify()
    assert config.params["ExecutionRoleArn"] == ROLE
    assert "ModelName" not in config.params["ProductionVariants"][0]


def test_redeploy_updates_then_retires_the_superseded_config_and_model(aws):
    plan = build_plan(settings(), observed(endpoint=existing_endpoint()))
    model, config, update, tags = calls(plan)
    with Stubs(aws) as stubs:
        stubs.call(model, {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"})
        stubs.call(config, {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c"})
        stubs.call(update, {"EndpointArn": ENDPOINT_ARN})
        stubs.describe_endpoint("Updating", config="llm-engineering-endpoint-old")
        stubs.describe_endpoint("InService")
        stubs.call(tags, {"Tags": tags.params["Tags"]})
        stubs.sagemaker.add_response(
            "delete_endpoint_config", {}, {"EndpointConfigName": "llm-engineering-endpoint-old"}
        )
        stubs.sagemaker.add_response("delete_model", {}, {"ModelName": "llm-engineering-endpoint-old"})
        outcome = applier(aws, Recorder()).apply(plan)
        stubs.verify()
    assert outcome.retired == ["llm-engineering-endpoint-old", "llm-engineering-endpoint-old"]


OOM_LINES = [
    "INFO text_generation_launcher: Starting shard rank=0",
    "ERROR text_generation_launcher: Method Warmup encountered an error.",
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB. GPU 0 has a total capacity of 22.09 GiB",
]
HEALTH = (
    "The primary container for production variant AllTraffic did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)


def test_failed_endpoint_is_explained_with_its_log_tail_and_rolled_back(aws):
    plan = build_plan(settings(), observed(token=SecretStr("hf_secret_token")))
    model, config, endpoint = calls(plan)
    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        stubs.describe_endpoint("Failed", reason=HEALTH)
        stubs.log_tail(f"/aws/sagemaker/Endpoints/{ENDPOINT}", [*OOM_LINES, "token hf_secret_token leaked?"])
        stubs.sagemaker.add_response("delete_endpoint", {}, {"EndpointName": ENDPOINT})
        stubs.endpoint_gone()
        stubs.sagemaker.add_response("delete_endpoint_config", {}, {"EndpointConfigName": STAMPED})
        stubs.sagemaker.add_response("delete_model", {}, {"ModelName": STAMPED})
        with pytest.raises(DeploymentFailed) as failure:
            applier(aws, Recorder()).apply(plan)
        stubs.verify()
    error = failure.value
    lines = error.diagnosis.lines()
    assert lines[0] == f"Endpoint {ENDPOINT} is Failed: {HEALTH}"
    assert f"Last container log lines (/aws/sagemaker/Endpoints/{ENDPOINT}):" in lines
    assert any("CUDA out of memory" in line for line in lines)
    assert any(line.startswith("What to do: The model does not fit the 24 GiB of GPU memory") for line in lines)
    assert not any("hf_secret_token" in line for line in lines)
    assert error.rolled_back == [
        Resource("endpoint", ENDPOINT),
        Resource("endpoint-config", STAMPED),
        Resource("model", STAMPED),
    ]
    assert error.remaining == []


def test_keep_failed_deletes_nothing_and_reports_what_is_left(aws):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)
    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        stubs.describe_endpoint("Failed", reason=HEALTH)
        stubs.logs.add_client_error(
            "describe_log_streams", "ResourceNotFoundException", "The specified log group does not exist."
        )
        with pytest.raises(DeploymentFailed) as failure:
            applier(aws, Recorder()).apply(plan, keep_failed=True)
        stubs.verify()
    assert failure.value.rolled_back == []
    assert failure.value.remaining == plan.created
    assert "the container never started" in "\n".join(failure.value.diagnosis.lines())


def test_quota_refusal_names_the_quota_and_the_command_and_rolls_back(aws):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)
    message = (
        "The account-level service limit 'ml.g5.2xlarge for endpoint usage' is 0 Instances, with current "
        "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request "
        "an increase for this quota."
    )
    with Stubs(aws) as stubs:
        stubs.call(model, {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"})
        stubs.call(config, {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c"})
        stubs.sagemaker.add_client_error(
            "create_endpoint", "ResourceLimitExceeded", message, expected_params=endpoint.params
        )
        stubs.quotas.add_response(
            "list_service_quotas",
            {"Quotas": [{"QuotaName": "ml.g5.2xlarge for endpoint usage", "QuotaCode": "L-1928E07B", "Value": 0.0}]},
            {"ServiceCode": "sagemaker"},
        )
        stubs.sagemaker.add_response("delete_endpoint_config", {}, {"EndpointConfigName": STAMPED})
        stubs.sagemaker.add_response("delete_model", {}, {"ModelName": STAMPED})
        with pytest.raises(DeploymentFailed) as failure:
            applier(aws, Recorder()).apply(plan)
        stubs.verify()
    lines = failure.value.diagnosis.lines()
    assert lines[0].startswith("SageMaker refused CreateEndpoint: ResourceLimitExceeded: The account-level")
    assert lines[1] == (
        "What to do: Ask for more 'ml.g5.2xlarge for endpoint usage' (quota L-1928E07B, now 0): "
        "aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-1928E07B "
        "--desired-value 1 --region us-east-1"
    )
    assert failure.value.rolled_back == [Resource("endpoint-config", STAMPED), Resource("model", STAMPED)]


def test_rolled_back_update_keeps_the_endpoint_and_removes_the_new_config_and_model(aws):
    plan = build_plan(settings(), observed(endpoint=existing_endpoint()))
    model, config, update, _tags = calls(plan)
    with Stubs(aws) as stubs:
        stubs.call(model, {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"})
        stubs.call(config, {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c"})
        stubs.call(update, {"EndpointArn": ENDPOINT_ARN})
        stubs.describe_endpoint("InService", config="llm-engineering-endpoint-old", reason=HEALTH)
        stubs.log_tail(
            f"/aws/sagemaker/Endpoints/{ENDPOINT}", ["huggingface_hub.errors.GatedRepoError: 401 Client Error."]
        )
        stubs.sagemaker.add_response("delete_endpoint_config", {}, {"EndpointConfigName": STAMPED})
        stubs.sagemaker.add_response("delete_model", {}, {"ModelName": STAMPED})
        with pytest.raises(DeploymentFailed) as failure:
            applier(aws, Recorder()).apply(plan)
        stubs.verify()
    lines = failure.value.diagnosis.lines()
    assert lines[0] == f"Endpoint {ENDPOINT} is rolled back: {HEALTH}"
    assert any("is gated on the Hugging Face Hub: set HUGGINGFACE_ACCESS_TOKEN" in line for line in lines)
    assert failure.value.rolled_back == [Resource("endpoint-config", STAMPED), Resource("model", STAMPED)]


def test_ctrl_c_while_waiting_deletes_nothing_and_lists_what_exists(aws):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        stubs.describe_endpoint("Creating")
        with pytest.raises(DeploymentStopped) as stopped:
            applier(aws, Recorder(), Poller(first=1, sleep=interrupt)).apply(plan)
        stubs.verify()
    assert stopped.value.exit_code == 130
    assert stopped.value.remaining == plan.created


def test_timeout_stops_waiting_without_deleting(aws):
    plan = build_plan(settings(deploy_timeout=60), observed())
    model, config, endpoint = calls(plan)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        for _ in range(9):  # polls at 0, 2, 5, 9.5, 16.25, 26.4, 41.4, 56.4 and 60 s: interval 2 s, x1.5, <= 15 s
            stubs.describe_endpoint("Creating")
        with pytest.raises(DeploymentStopped, match="gave up waiting after DEPLOY_TIMEOUT=60 s") as stopped:
            poller = Poller(first=2, factor=1.5, ceiling=15, sleep=sleep, clock=lambda: now[0])
            applier(aws, Recorder(), poller, deploy_timeout=60).apply(plan)
        stubs.verify()
    assert stopped.value.exit_code == 1
    assert stopped.value.remaining == plan.created


def test_no_wait_returns_after_the_create_calls(aws):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)
    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        outcome = applier(aws, Recorder()).apply(plan, wait=False)
        stubs.verify()
    assert not outcome.waited


def test_a_role_iam_has_not_propagated_yet_is_retried(aws):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)
    waits: list[float] = []
    message = (
        f"Could not assume role {ROLE}. Please ensure that the role exists and allows principal "
        "'sagemaker.amazonaws.com' to assume the role."
    )
    with Stubs(aws) as stubs:
        stubs.sagemaker.add_client_error(
            "create_model", "ValidationException", message, expected_params=reveal(model.params)
        )
        stubs.model_config_endpoint(model, config, endpoint)
        applier(aws, Recorder(), Poller(first=0, sleep=waits.append)).apply(plan, wait=False)
        stubs.verify()
    assert waits == [3.0]


# --- Every way out reports what exists ---------------------------------------------------------------------


def _fail_on(aws: Aws, operation: str, error: Exception) -> None:
    """Make the applier's SageMaker client raise `error` for `operation`, as botocore does when the network goes."""

    def fail(**_: object) -> None:
        raise error

    setattr(aws.client("sagemaker"), "_".join(part.lower() for part in _split(operation)), fail)


LOST = EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com/")


def test_a_lost_connection_while_waiting_reports_what_this_run_created(aws):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)
    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        _fail_on(aws, "DescribeEndpoint", LOST)
        with pytest.raises(DeploymentStopped) as stopped:
            applier(aws, Recorder()).apply(plan)
        stubs.verify()
    assert stopped.value.exit_code == 1
    assert stopped.value.remaining == plan.created and stopped.value.uncertain is None
    assert str(stopped.value) == (
        "stopped, AWS could not be reached or refused (EndpointConnectionError: Could not connect to the endpoint "
        'URL: "https://api.sagemaker.us-east-1.amazonaws.com/"); nothing was deleted'
    )


def test_a_connection_closed_mid_create_names_the_resource_that_may_exist(aws):
    plan = build_plan(settings(), observed())
    model, config, _endpoint = calls(plan)
    with Stubs(aws) as stubs:
        stubs.call(model, {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"})
        stubs.call(config, {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c"})
        _fail_on(aws, "CreateEndpoint", ConnectionClosedError(endpoint_url="https://api.sagemaker"))
        with pytest.raises(DeploymentStopped) as stopped:
            applier(aws, Recorder()).apply(plan)
        stubs.verify()
    assert stopped.value.remaining == plan.created[:2]
    assert stopped.value.uncertain == Resource("endpoint", ENDPOINT)


@pytest.mark.parametrize(
    ("code", "message"),
    [("ThrottlingException", "Rate exceeded"), ("AccessDeniedException", "not authorized: sagemaker:DescribeEndpoint")],
)
def test_throttling_or_a_refusal_that_outlives_the_retries_of_a_wait_reports_too(aws, code, message):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)
    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        stubs.describe_endpoint("Creating")
        stubs.sagemaker.add_client_error("describe_endpoint", code, message, 400, {"EndpointName": ENDPOINT})
        with pytest.raises(DeploymentStopped) as stopped:
            applier(aws, Recorder()).apply(plan)
        stubs.verify()
    assert stopped.value.remaining == plan.created
    assert f"(DescribeEndpoint refused: {code}: {message}); nothing was deleted" in str(stopped.value)


def test_rollback_counts_resources_that_vanished_as_gone_not_as_still_existing(aws):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)
    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        stubs.endpoint_gone()  # somebody (or a reset emulator) removed everything while the run waited
        stubs.log_tail(f"/aws/sagemaker/Endpoints/{ENDPOINT}", [])
        stubs.sagemaker.add_client_error("delete_endpoint", "ValidationException", NOT_FOUND)
        stubs.endpoint_gone()
        stubs.sagemaker.add_client_error(
            "delete_endpoint_config", "ValidationException", 'Could not find endpoint configuration "x".'
        )
        stubs.sagemaker.add_client_error("delete_model", "ValidationException", 'Could not find model "x".')
        with pytest.raises(DeploymentFailed) as failure:
            applier(aws, Recorder()).apply(plan)
        stubs.verify()
    assert failure.value.diagnosis.headline == (
        f"Endpoint {ENDPOINT} is gone: it was deleted by something else while this run waited"
    )
    assert failure.value.rolled_back == list(reversed(plan.created))
    assert failure.value.remaining == []


def test_a_connection_lost_during_rollback_keeps_what_is_left_in_the_report(aws):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)
    recorder = Recorder()
    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        stubs.describe_endpoint("Failed", reason=HEALTH)
        stubs.log_tail(f"/aws/sagemaker/Endpoints/{ENDPOINT}", [])
        stubs.sagemaker.add_response("delete_endpoint", {}, {"EndpointName": ENDPOINT})
        stubs.endpoint_gone()
        stubs.sagemaker.add_response("delete_endpoint_config", {}, {"EndpointConfigName": STAMPED})
        _fail_on(aws, "DeleteModel", LOST)
        with pytest.raises(DeploymentFailed) as failure:
            applier(aws, recorder).apply(plan)
        stubs.verify()
    assert failure.value.rolled_back == [Resource("endpoint", ENDPOINT), Resource("endpoint-config", STAMPED)]
    assert failure.value.remaining == [Resource("model", STAMPED)]


def test_ctrl_c_during_rollback_reports_only_what_is_left(aws):
    plan = build_plan(settings(), observed())
    model, config, endpoint = calls(plan)
    with Stubs(aws) as stubs:
        stubs.model_config_endpoint(model, config, endpoint)
        stubs.describe_endpoint("Failed", reason=HEALTH)
        stubs.log_tail(f"/aws/sagemaker/Endpoints/{ENDPOINT}", [])
        stubs.sagemaker.add_response("delete_endpoint", {}, {"EndpointName": ENDPOINT})
        stubs.endpoint_gone()
        _fail_on(aws, "DeleteEndpointConfig", KeyboardInterrupt())
        with pytest.raises(DeploymentStopped) as stopped:
            applier(aws, Recorder()).apply(plan)
        stubs.verify()
    assert stopped.value.exit_code == 130
    assert stopped.value.remaining == [Resource("model", STAMPED), Resource("endpoint-config", STAMPED)]


def test_without_waiting_the_component_start_up_is_not_measured_and_its_tag_left_out(aws):
    plan = build_plan(settings(endpoint_type="inference-component"), observed(endpoint=existing_endpoint(True)))
    model, component, record = calls(plan)
    component_arn = f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{IC}"
    with Stubs(aws) as stubs:
        stubs.call(model, {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"})
        stubs.call(component, {"InferenceComponentArn": component_arn})
        # the wait is skipped; the record names the ARN the create returned
        tags = record.params["Tags"][:-1]
        stubs.sagemaker.add_response("add_tags", {}, {"ResourceArn": component_arn, "Tags": tags})
        applier(aws, Recorder(), endpoint_type="inference-component").apply(plan, wait=False)
        stubs.verify()
    assert [tag["Key"] for tag in tags] == [tag["Key"] for tag in record.params["Tags"][:-1]]
    assert "llm-engineering:startup-seconds" not in {tag["Key"] for tag in tags}
