"""The report: status, the table people read, the JSON tools read, and secrets scrubbed from both."""

from __future__ import annotations

import json

from llm_engineering.catalogue.instances import GPU_INSTANCES
from llm_engineering.hosting.memory import weights
from llm_engineering.preflight.price import check_price
from llm_engineering.preflight.report import CheckResult, Report, render_report, report_json

REPORT = Report(
    (
        CheckResult("Identity and region", "ok", "account 123456789012, region us-east-1"),
        CheckResult(
            "Endpoint quota",
            "blocked",
            "'ml.g5.2xlarge for endpoint usage' (L-1234ABCD) is 0; in use 0; a new endpoint starts 1 instance(s): "
            "needs 1, SageMaker would refuse with ResourceLimitExceeded",
            "aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-1234ABCD "
            "--desired-value 1 --region us-east-1",
            {"quota_code": "L-1234ABCD"},
        ),
        CheckResult("Model access", "warning", "skipped: offline", "unset HF_HUB_OFFLINE"),
    ),
    "org/model on 1 x ml.g5.2xlarge in us-east-1 (endpoint e)",
)


def test_status_is_the_worst_result():
    assert REPORT.blocked and REPORT.status == "blocked"
    assert REPORT.counts() == {"ok": 1, "warning": 1, "blocked": 1}
    fine = Report((CheckResult("A", "ok", "x"), CheckResult("B", "warning", "y")))
    assert not fine.blocked and fine.status == "warning"
    assert Report(()).status == "ok"
    assert REPORT.result("Model access").fix == "unset HF_HUB_OFFLINE"


def test_the_table_wraps_evidence_and_keeps_fixes_on_one_line():
    pad = " " * 32
    assert render_report(REPORT).splitlines() == [
        "Preflight: org/model on 1 x ml.g5.2xlarge in us-east-1 (endpoint e)",
        "  CHECK                RESULT   EVIDENCE / FIX",
        "  Identity and region  ok       account 123456789012, region us-east-1",
        "  Endpoint quota       blocked  'ml.g5.2xlarge for endpoint usage' (L-1234ABCD) is 0; in use 0; a new "
        "endpoint",
        f"{pad}starts 1 instance(s): needs 1, SageMaker would refuse with",
        f"{pad}ResourceLimitExceeded",
        f"{pad}fix: {REPORT.results[1].fix}",
        "  Model access         warning  skipped: offline",
        f"{pad}fix: unset HF_HUB_OFFLINE",
        "Preflight result: blocked (1 blocked, 1 warning(s), 1 ok).",
    ]


def test_json_has_the_same_results():
    assert json.loads(report_json(REPORT)) == {
        "subject": "org/model on 1 x ml.g5.2xlarge in us-east-1 (endpoint e)",
        "status": "blocked",
        "blocked": True,
        "checks": [
            {
                "check": "Identity and region",
                "status": "ok",
                "evidence": "account 123456789012, region us-east-1",
                "fix": "",
                "details": {},
            },
            {
                "check": "Endpoint quota",
                "status": "blocked",
                "evidence": REPORT.results[1].evidence,
                "fix": REPORT.results[1].fix,
                "details": {"quota_code": "L-1234ABCD"},
            },
            {
                "check": "Model access",
                "status": "warning",
                "evidence": "skipped: offline",
                "fix": "unset HF_HUB_OFFLINE",
                "details": {},
            },
        ],
    }


def test_secrets_are_scrubbed_everywhere():
    leaky = Report(
        (CheckResult("Model access", "blocked", "refused hf_secret", "rotate hf_secret", {"seen": ["hf_secret"]}),)
    )
    clean = leaky.redacted(["hf_secret", ""])
    assert clean.results[0] == CheckResult(
        "Model access", "blocked", "refused <redacted>", "rotate <redacted>", {"seen": ["<redacted>"]}
    )
    assert leaky.redacted([]) is leaky


def test_price_states_cost_and_the_decoding_ceiling():
    row = check_price(
        instance=GPU_INSTANCES["ml.g5.2xlarge"],
        instance_count=1,
        gpus_per_copy=1,
        region="us-east-1",
        weights=weights({"BF16": 8_030_261_248}, None),
    )
    assert row.status == "ok"
    assert row.evidence == (
        "1 x ml.g5.2xlarge: about USD 1.52/hour, 36.48/day, 1,110/month if forgotten (us-east-1 list price); "
        "billed from creation until deletion; 8.0B in bf16 on one NVIDIA A10G (600 GB/s): at most ~37 tokens/s "
        "per stream"
    )
    assert row.details == {"usd_per_hour": 1.52, "usd_per_day": 36.48, "tokens_per_second_ceiling": 37.4}
    sharded = check_price(
        instance=GPU_INSTANCES["ml.g5.12xlarge"],
        instance_count=2,
        gpus_per_copy=4,
        region="eu-west-1",
        weights=None,
    )
    assert sharded.evidence == (
        "2 x ml.g5.12xlarge: about USD 14.18/hour, 340.32/day, 10,351/month if forgotten (us-east-1 list price; "
        "eu-west-1 differs); billed from creation until deletion; decoding ceiling unknown (no weight size)"
    )
