"""Bad input to `make benchmark` and `make benchmark-compare`: one line, exit 2, nothing sent. The scripts run
in this process through the runner users get (`make benchmark` itself runs in tests/e2e)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from helpers import run_main as invoke

from llm_engineering.loadtest.compare import Slo
from llm_engineering.loadtest.spec import BenchmarkInputError, read_prompts, synthetic_prompts
from llm_engineering.loadtest.target import BenchmarkTargetError, describe_target
from llm_engineering.model.deploy import benchmark
from llm_engineering.model.deploy import benchmark_compare as compare


@pytest.fixture
def dead_env(monkeypatch):
    """AWS at a closed port: any request would fail with a connection error (exit 1), never with exit 2."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


def refused(result: tuple[int, str, str], *words: str) -> str:
    code, out, err = result
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for word in words:
        assert word in lines[0]
    assert out == ""
    return lines[0]


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--concurrency", "0"], ["--concurrency 0", "from 1 to 256"]),
        (["--concurrency", "1,257"], ["--concurrency 257"]),
        (["--concurrency", "1,two"], ["--concurrency", "comma-separated"]),
        (["--concurrency", "1,8", "--requests", "4"], ["--requests 4", "highest concurrency 8"]),
        (["--requests", "0"], ["--requests 0"]),
        (["--duration", "0"], ["--duration 0"]),
        (["--max-new-tokens", "0"], ["--max-new-tokens 0"]),
        (["--input-tokens", "0"], ["--input-tokens 0"]),
    ],
)
def test_bad_arguments_are_one_line_and_nothing_is_sent(dead_env, tmp_path, capsys, arguments, words):
    refused(invoke(benchmark.main, *arguments, "--out", str(tmp_path / "r"), capsys=capsys), *words)


def test_a_prompts_file_that_is_not_jsonl_or_is_empty_is_refused(dead_env, tmp_path, capsys):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('"fine"\nnot json\n')
    refused(invoke(benchmark.main, "--prompts", str(broken), capsys=capsys), "not JSONL", "line 2")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    refused(invoke(benchmark.main, "--prompts", str(empty), capsys=capsys), "holds no prompt")
    refused(invoke(benchmark.main, "--prompts", str(tmp_path / "missing.jsonl"), capsys=capsys), "cannot be read")


def test_an_out_that_cannot_be_written_is_refused(dead_env, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    refused(invoke(benchmark.main, "--out", str(blocker / "results"), capsys=capsys), "--out", "cannot be written")


def test_an_endpoint_not_in_service_is_refused():
    sagemaker = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "e",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
                "EndpointConfigName": "c",
                "EndpointStatus": "Creating",
                "CreationTime": "2026-01-01T00:00:00Z",
                "LastModifiedTime": "2026-01-01T00:00:00Z",
            },
            {"EndpointName": "e"},
        )
        with pytest.raises(BenchmarkTargetError, match="is Creating, not InService"):
            describe_target(sagemaker, "e", None)
        stub.assert_no_pending_responses()


def test_prompts_are_the_same_for_the_same_seed_and_read_from_jsonl(tmp_path):
    assert synthetic_prompts(50) == synthetic_prompts(50)
    assert len(synthetic_prompts(50)[0].split()) == 50
    assert synthetic_prompts(50, seed=1) != synthetic_prompts(50)
    lines = tmp_path / "p.jsonl"
    lines.write_text(json.dumps("first") + "\n" + json.dumps({"prompt": "second"}) + "\n")
    assert read_prompts(lines) == ("first", "second")


def test_compare_refuses_too_few_or_foreign_files_and_unreported_percentiles(dead_env, tmp_path, capsys):
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"levels": []}')
    refused(invoke(compare.main, str(foreign), capsys=capsys), "two or more result files")
    refused(invoke(compare.main, str(foreign), str(foreign), capsys=capsys), "is not a result of `make benchmark`")
    text = tmp_path / "text.json"
    text.write_text("not json")
    refused(invoke(compare.main, str(text), str(text), capsys=capsys), "is not JSON")
    with pytest.raises(BenchmarkInputError, match="--percentile 75"):
        Slo(100, None, 75)
    with pytest.raises(BenchmarkInputError, match="--slo-ttft-ms -1"):
        Slo(-1, None)


ARN = "arn:aws:sagemaker:us-east-1:123456789012"
WHEN = "2026-01-01T00:00:00Z"


def test_the_target_is_read_with_exact_requests_and_priced_and_rooflined():
    from llm_engineering.loadtest.target import with_roofline
    from llm_engineering.local.hub_catalogue import builtin_catalogue

    sagemaker = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "e",
                "EndpointArn": f"{ARN}:endpoint/e",
                "EndpointConfigName": "c",
                "EndpointStatus": "InService",
                "CreationTime": WHEN,
                "LastModifiedTime": WHEN,
                "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 2}],
            },
            {"EndpointName": "e"},
        )
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": "c",
                "EndpointConfigArn": f"{ARN}:endpoint-config/c",
                "CreationTime": WHEN,
                "ProductionVariants": [
                    {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.g5.2xlarge"}
                ],
            },
            {"EndpointConfigName": "c"},
        )
        stub.add_response(
            "describe_model",
            {
                "ModelName": "m",
                "ModelArn": f"{ARN}:model/m",
                "CreationTime": WHEN,
                "PrimaryContainer": {"Environment": {"HF_MODEL_ID": "Qwen/Qwen2.5-7B-Instruct", "SM_NUM_GPUS": "1"}},
            },
            {"ModelName": "m"},
        )
        stub.add_response(
            "list_tags",
            {"Tags": [{"Key": "llm-engineering:engine", "Value": "tgi"}]},
            {"ResourceArn": f"{ARN}:endpoint/e", "MaxResults": 100},
        )
        target = describe_target(sagemaker, "e", None)
        stub.assert_no_pending_responses()
    assert (target.instance_type, target.instances, target.engine, target.model_id) == (
        "ml.g5.2xlarge",
        2,
        "tgi",
        "Qwen/Qwen2.5-7B-Instruct",
    )
    assert target.cost is not None and target.cost.usd_per_hour == pytest.approx(2 * 1.52)
    known = builtin_catalogue()["Qwen/Qwen2.5-7B-Instruct"]
    rooflined = with_roofline(target, known.parameters, known.config)
    assert 35 < rooflined.roofline_tokens_per_second < 45
    assert with_roofline(target, None, None).roofline_tokens_per_second is None
