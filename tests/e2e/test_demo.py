"""`make demo` as a user runs it: every preflight row checked (the model through the emulator's Hub, the
second pass from the stage it made in S3), every step ok, and nothing left behind."""

from __future__ import annotations

import re
import subprocess
import sys

from helpers import REPO, clean_environment


def test_the_demo_checks_every_model_row_and_deploys_its_second_pass_from_s3(tmp_path):
    env = clean_environment(tmp_path)
    env.pop("HF_HUB_OFFLINE")  # the demo sets its own HF_ENDPOINT: the emulator's Hub
    done = subprocess.run(
        [sys.executable, "-m", "llm_engineering.local.demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    checks = "Pass role|Model access|Memory fit|Staged model|S3 read access|Price|Engine support"
    rows = re.findall(rf"^  ({checks}) +(\w+) ", out, re.MULTILINE)
    # Four deploys (TGI from the Hub, its scaling in place, a component from S3, vLLM from the Hub): every row
    # checked, and ok.
    assert len(rows) == 21 and {result for _, result in rows} == {"ok"}, rows
    assert out.count("  Model access         ok       Qwen/Qwen2.5-7B-Instruct exists, public") == 3
    assert out.count("  Memory fit           ok       7.6B in bf16") == 4
    # the second deploy changes only the autoscaling: no new model, and the endpoint is not updated
    assert "keeps serving and only its autoscaling is updated (no new model, no downtime" in out
    assert "  Staged model         ok       s3://llm-engineering-demo-models/models/Qwen--Qwen2.5-7B-Instruct/" in out
    assert "  S3 read access       ok" in out
    assert "loaded by inference component llm-engineering-demo-ic on endpoint llm-engineering-demo" in out
    assert "EMULATED: figures from the local emulator's timing model" in out  # the benchmark step says so
    assert "IAM user sagemaker-deployer (arn:aws:iam::123456789012:user/sagemaker-deployer)" in out
    assert re.search(r"^  used +sagemaker \d{4}-\d\d-\d\d in us-east-1", out, re.MULTILINE), out
    steps = (
        "stage the model in S3",
        "deploy (component, from S3)",
        "delete the staged model",
        "benchmark",
        "audit IAM",
    )
    for step in steps:
        assert any(line.strip().startswith(step) and " ok " in line for line in out.splitlines()), step
    # make metrics after the first test step: CloudWatch has that step's request and its latency
    [invocations] = [line for line in out.splitlines() if line.strip().startswith("Invocations (AllTraffic)")]
    assert invocations.split()[2] == "1", invocations
    assert any(line.strip().startswith("ModelLatency p99 (AllTraffic)") and " ms " in line for line in out.splitlines())
    # Scale to zero: the idle component has no copy (nothing bills), and --wait gets an answer from a new one.
    assert "; scaled to zero since " in out and "waiting for a copy of llm-engineering-demo-ic" in done.stderr
    assert out.rstrip().endswith("Everything was created, tested and deleted; the emulator was left empty.")
