"""`make demo`: the whole workflow against the local emulator (TGI twice, then vLLM), with a summary of every step.

The steps are the real Make targets, run as subprocesses exactly as against AWS; only AWS_ENDPOINT_URL,
dummy credentials and throwaway credential/config files differ. The Hub is the emulator's own (HF_ENDPOINT):
the first pass serves the default model from it, the second stages it in S3 and deploys it from there. The
user's `.env`, AWS files and Hugging Face token are never read or written. The emulator always stops, and the
demo checks it was left empty. The inference-component pass scales to zero when idle and back on a request,
in seconds of emulated time.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3

from llm_engineering.cli import echo, fail, run
from llm_engineering.local.hub import PREFIX as HUB_PREFIX
from llm_engineering.local.make_environment import nested_make_environment
from llm_engineering.local.server import Emulator, advance_clock

REPOSITORY = Path(__file__).resolve().parents[2]
SETTINGS_EXAMPLE = REPOSITORY / ".env.example"
"""Every setting the tool reads, one `NAME=` line each (a test of the tool keeps it complete): the demo learns
the names there, as a user would, rather than from the tool's code."""
ENV_FILE_VARIABLE = "LLM_ENGINEERING_ENV_FILE"
"""The file the tool reads instead of `./.env` (README, "the file LLM_ENGINEERING_ENV_FILE names")."""
ENVIRONMENT_VARIABLES = {"ENV", "LLM_ENGINEERING_ENV", ENV_FILE_VARIABLE}
"""What picks another settings file (README: `ENV=prod` or `LLM_ENGINEERING_ENV=prod` reads `.env.prod`)."""
DEPLOYER = "sagemaker-deployer"
"""The deployer user the demo creates, and the AWS profile its access key is stored under."""
ENDPOINT = "llm-engineering-demo"
STAGING_BUCKET = "llm-engineering-demo-models"
"""Where the demo stages the default model from the emulator's Hub; the component pass deploys from it."""
EMULATOR_OPTIONS = {"transition_seconds": 1.0, "token_delay_seconds": 0.01, "timing_model": True, "time_scale": 20}
"""The timing model paces answers by the deployed model and instance (20 times faster), so the benchmark step
measures something; its figures say they are emulated."""
SCALE_TO_ZERO = {"AUTOSCALING_MIN_CAPACITY": "0", "AUTOSCALING_MAX_CAPACITY": "1"}
"""The component pass scales to zero by target tracking after 15 quiet minutes, and back on the next request
(`hosting.autoscaling`)."""
IDLE = "<idle>"
IDLE_SECONDS = 20 * 60
AS_DEPLOYER = {"AWS_PROFILE": DEPLOYER}
"""Deploy, test and delete run as the deployer user (the profile make create-sagemaker-role stored, as it
advises), so preflight simulates iam:PassRole for the least-privilege policy, as on AWS."""


@dataclass
class StepResult:
    label: str
    code: int
    seconds: float


def documented_settings(example: Path = SETTINGS_EXAMPLE) -> set[str]:
    """The names `.env.example` assigns (`NAME=value` lines), upper-case."""
    names = set()
    for line in example.read_text(encoding="utf-8").splitlines():
        name, equals, _ = line.partition("=")
        if equals and name.strip().isidentifier() and not line.startswith("#"):
            names.add(name.strip().upper())
    return names


def demo_environment(url: str, home: Path) -> dict[str, str]:
    """The caller's environment minus AWS, Hugging Face and tool settings and make's own state (`make demo
    ARGS=...` must not reach the steps), pointed at the emulator."""
    settings_names = documented_settings() | ENVIRONMENT_VARIABLES
    env = {
        key: value
        for key, value in nested_make_environment(os.environ).items()
        if not key.startswith(("AWS_", "HF_", "HUGGING")) and key.upper() not in settings_names
    }
    env.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            ENV_FILE_VARIABLE: str(home / "demo.env"),
            "HF_HOME": str(home / "huggingface"),
            # The emulator's own Hub (its built-in catalogue): preflight checks the model without the internet.
            "HF_ENDPOINT": url + HUB_PREFIX,
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "SAGEMAKER_ENDPOINT_INFERENCE": ENDPOINT,
            "WAIT_POLL_INTERVAL": "0.5",
            "MODEL_S3_BUCKET": STAGING_BUCKET,  # the role may read the model's stages there; the Hub pass ignores it
            "SAGEMAKER_USER_NAME": DEPLOYER,
            "SAGEMAKER_USER_PROFILE": DEPLOYER,
        }
    )
    return env


_BENCHMARK = "--concurrency 1,4 --requests 4 --input-tokens 64"


def steps(scratch: Path) -> list[tuple[str, list[str], dict[str, str], bool]]:
    """(label, make arguments, extra environment, runs even after a failure) in order; results go to `scratch`."""
    model_based = {"ENDPOINT_TYPE": "model-based", **AS_DEPLOYER}
    components = {"ENDPOINT_TYPE": "inference-component", "MODEL_SOURCE": "s3", **AS_DEPLOYER}  # weights: the stage
    components.update(SCALE_TO_ZERO)
    vllm = {**model_based, "ENGINE": "vllm"}
    scaled = {**model_based, "AUTOSCALING_MIN_CAPACITY": "1", "AUTOSCALING_MAX_CAPACITY": "2"}
    one_shot = ["ARGS=--json"]
    return [
        ("create deployer user", ["create-sagemaker-role"], {}, False),
        ("create execution role", ["create-sagemaker-execution-role"], {}, False),
        ("deploy (model-based)", ["deploy-inference-endpoint", "ARGS=--yes"], model_based, False),
        ("test, streaming (model-based)", ["test-inference"], model_based, False),
        # --- a redeploy that changes only the autoscaling: no new model, the endpoint is not updated ---
        ("redeploy, autoscaling 1-2 (in place)", ["deploy-inference-endpoint", "ARGS=--yes"], scaled, False),
        # --- metrics: the test step's own requests, as CloudWatch has them ---
        ("metrics (model-based)", ["metrics", "ARGS=--since 30m"], model_based, False),
        (
            "benchmark (model-based, emulated timing)",
            ["benchmark", f"ARGS={_BENCHMARK} --out {shlex.quote(str(scratch / 'bench'))}"],
            model_based,
            False,
        ),
        ("delete (model-based)", ["delete-inference-endpoint"], model_based, True),
        ("stage the model in S3", ["stage-model"], {}, False),
        ("deploy (component, from S3)", ["deploy-inference-endpoint", "ARGS=--yes"], components, False),
        ("test, one-shot JSON (component)", ["test-inference", *one_shot], components, False),
        # --- scale to zero: idle, zero copies (nothing bills), a request wakes it, --wait gets the answer ---
        (f"idle {IDLE_SECONDS // 60} min (emulated clock)", [IDLE], {}, False),
        ("status (scaled to zero, stage)", ["status"], components, False),
        ("test --wait (wakes the component)", ["test-inference", "ARGS=--wait --no-stream"], components, False),
        ("delete (inference component)", ["delete-inference-endpoint"], components, True),
        ("delete the staged model", ["delete-staged-model"], components, True),
        # --- ENGINE=vllm: the maintained engine; the test client learns it from the endpoint's tags ---
        ("deploy (vLLM, model-based)", ["deploy-inference-endpoint", "ARGS=--yes"], vllm, False),
        ("test, JSON (vLLM, engine from tags)", ["test-inference", *one_shot], model_based, False),
        ("delete (vLLM)", ["delete-inference-endpoint"], model_based, True),
        # --- security: what the deployer and the role hold and used (IAM's access advisor, emulated) ---
        ("audit IAM (deployer, role)", ["audit-iam"], {}, False),
        ("delete execution role", ["delete-sagemaker-execution-role"], {}, True),
        ("delete deployer user", ["delete-sagemaker-role"], {}, True),
    ]


def leftovers(url: str) -> list[str]:
    """SageMaker resources still in the emulator (there should be none)."""
    client = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    found = [f"endpoint {item['EndpointName']}" for item in client.list_endpoints()["Endpoints"]]
    found += [
        f"endpoint config {item['EndpointConfigName']}" for item in client.list_endpoint_configs()["EndpointConfigs"]
    ]
    found += [f"model {item['ModelName']}" for item in client.list_models()["Models"]]
    found += [
        f"inference component {item['InferenceComponentName']}"
        for item in client.list_inference_components()["InferenceComponents"]
    ]
    # --- autoscaling: no scalable target, scaling policy or alarm stays ---
    keys = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "testing"}
    scaling = boto3.client("application-autoscaling", **keys, aws_secret_access_key="testing")
    found += [
        f"scalable target {item['ResourceId']}"
        for item in scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    ]
    found += [
        f"scaling policy {item['PolicyName']}"
        for item in scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    ]
    alarms = boto3.client("cloudwatch", **keys, aws_secret_access_key="testing").describe_alarms()["MetricAlarms"]
    found += [f"alarm {item['AlarmName']}" for item in alarms]
    # --- staged weights: the demo's bucket stays (as make delete-staged-model leaves it), its objects do not ---
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    if any(bucket["Name"] == STAGING_BUCKET for bucket in s3.list_buckets()["Buckets"]):
        found += [f"s3 object {item['Key']}" for item in s3.list_objects_v2(Bucket=STAGING_BUCKET).get("Contents", [])]
    return found


def summary(results: list[StepResult]) -> list[str]:
    width = max(len(result.label) for result in results)
    lines = [f"{'step'.ljust(width)}  result  seconds", f"{'-' * width}  ------  -------"]
    for result in results:
        outcome = "ok" if result.code == 0 else f"exit {result.code}"
        lines.append(f"{result.label.ljust(width)}  {outcome.ljust(6)}  {result.seconds:7.1f}")
    lines.append(f"{'total'.ljust(width)}          {sum(r.seconds for r in results):7.1f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    make = os.environ.get("MAKE", "make")
    results: list[StepResult] = []
    failed = False
    with (
        tempfile.TemporaryDirectory(prefix="llm-engineering-demo-") as scratch,
        Emulator(config=EMULATOR_OPTIONS) as emulator,
    ):
        base = demo_environment(emulator.url, Path(scratch))
        echo(f"Local AWS emulator on {emulator.url} (no AWS account, no credentials, nothing billed).")
        for label, arguments, extra, always in steps(Path(scratch)):
            if failed and not always:
                continue
            started = time.monotonic()
            if arguments == [IDLE]:  # scale to zero: the emulator's clock skips the idle period
                echo(f"\n==> {label}")
                advance_clock(emulator.url, IDLE_SECONDS)
                results.append(StepResult(label, 0, time.monotonic() - started))
                continue
            echo(f"\n==> {label}: make {' '.join(arguments)}")
            code = subprocess.run(
                [make, "-s", "--no-print-directory", "-C", str(REPOSITORY), *arguments],
                env={**base, **extra},
                check=False,
            ).returncode
            results.append(StepResult(label, code, time.monotonic() - started))
            failed = failed or code != 0
        left = leftovers(emulator.url)
    echo("\nDemo summary")
    for line in summary(results):
        echo(f"  {line}")
    if left:
        fail("left in the emulator: " + ", ".join(left))
        return 1
    if failed:
        fail("a step failed (see its output above)")
        return 1
    echo("Everything was created, tested and deleted; the emulator was left empty.")
    return 0


if __name__ == "__main__":
    run(main)
