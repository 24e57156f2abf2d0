"""The client on a component scaled to zero: one line saying so (and about how long), and --wait retrying
with a progress line until the answer. The client path still imports no boto3 and no hosting/."""

from __future__ import annotations

import pytest

from llm_engineering.cli import run
from llm_engineering.local.server import advance_clock
from llm_engineering.model.deploy import test as test_script

IC_ZERO = {
    "ENDPOINT_TYPE": "inference-component",
    "AUTOSCALING_MIN_CAPACITY": "0",
    "AUTOSCALING_MAX_CAPACITY": "1",
    "WAIT_POLL_INTERVAL": "0.05",
}


def _script(*argv: str) -> int:
    with pytest.raises(SystemExit) as stopped:
        run(lambda: test_script.main(list(argv)))
    return stopped.value.code or 0


@pytest.fixture
def scaled_to_zero(emulator, deploy, monkeypatch):
    for name, value in IC_ZERO.items():
        monkeypatch.setenv(name, value)
    deploy(
        endpoint_type="inference-component",
        autoscaling_min_capacity=0,
        autoscaling_max_capacity=1,
    )
    advance_clock(emulator, 20 * 60)  # target tracking: 15 quiet minutes, then in to zero
    return emulator


def test_a_request_to_a_component_scaled_to_zero_says_so_in_one_line(scaled_to_zero, capsys):
    assert _script("--prompt", "Hi") == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "is scaled to zero and warming up" in err[0] and "--wait" in err[0]
    # how long: what its deploy measured, from the request to a copy in service (the emulator's 0.1 s -> 1 s)
    assert "(its last deploy took about 1 s to bring a copy into service)" in err[0]


def test_without_a_measured_start_up_the_estimate_is_the_start_up_timeout(scaled_to_zero, capsys):
    import boto3

    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    arn = sagemaker.describe_inference_component(InferenceComponentName="llm-engineering-endpoint-ic")[
        "InferenceComponentArn"
    ]
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["llm-engineering:startup-seconds"])

    assert _script("--prompt", "Hi") == 1

    assert "(its container start-up may take up to 900 s)" in capsys.readouterr().err


def test_wait_retries_with_a_progress_line_until_the_answer(scaled_to_zero, capsys):
    assert _script("--prompt", "Hi", "--wait") == 0

    captured = capsys.readouterr()
    assert "waiting for a copy of llm-engineering-endpoint-ic (scaled to zero)" in captured.err
    assert captured.out.strip()


def test_status_shows_the_copies_the_range_and_since_when_a_component_is_scaled_to_zero(scaled_to_zero, capsys):
    from llm_engineering.model.deploy import status

    with pytest.raises(SystemExit):
        run(lambda: status.main([]))

    out = capsys.readouterr().out
    assert "on 0 x ml.g5.2xlarge" in out and "USD 1.52/h" not in out  # no instance bills
    assert "instances AllTraffic: 0 now, 0 desired, following the copies (0-1)" in out
    assert (
        "copies llm-engineering-endpoint-ic: 0 now, 0 desired; autoscaling 0-1 copies, "
        "SageMakerInferenceComponentInvocationsPerCopy target 20; scaled to zero since "
    ) in out
    assert "alarms llm-engineering-endpoint-ic-no-capacity" in out and "-ic-idle" not in out


def test_status_reads_the_endpoint_its_config_and_component_once(scaled_to_zero, monkeypatch, capsys):
    import botocore.client

    from llm_engineering.model.deploy import status

    reads: list[tuple[str, str]] = []
    send = botocore.client.BaseClient._make_api_call

    def spy(client, operation, params):
        if operation in {"DescribeEndpoint", "DescribeEndpointConfig", "DescribeInferenceComponent"}:
            reads.append((operation, next(iter(params.values()))))
        return send(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    with pytest.raises(SystemExit):
        run(lambda: status.main([]))

    assert "copies llm-engineering-endpoint-ic: 0 now" in capsys.readouterr().out
    assert sorted(operation for operation, _ in reads) == [
        "DescribeEndpoint",
        "DescribeEndpointConfig",
        "DescribeInferenceComponent",
    ], reads
